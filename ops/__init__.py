"""Operations: settings, the composition root, the application service, CLI, scheduler, demo data."""
