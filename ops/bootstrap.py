"""The composition root: the one place that builds adapters from settings."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ledger.blobs import BlobStore
from ledger.checkpoints import Checkpointer, CheckpointSigner, load_or_create_signing_key
from ledger.keystore import KeyStore
from ledger.postgres import ChainedPostgresApplicationRecorder, PostgresLedgerStore
from ledger.sqlite import ChainedSQLiteApplicationRecorder, SQLiteLedgerStore
from ledger.store import LedgerStore
from ops.service import AlprLedger
from ops.settings import Settings
from projections.store import ProjectionDB, open_projection_db

_MIGRATION_LOCK = 7_346_221  # arbitrary advisory-lock key shared by every alpr-ledger process


class ConfigurationError(ValueError):
    """A setting cannot be turned into a working adapter."""


def sqlite_path(database_url: str) -> str:
    path = database_url[len("sqlite://") :]
    if path.startswith("/"):
        path = path[1:]  # sqlite:///relative, sqlite:////absolute
    if path in ("", ":memory:"):
        return "file::memory:?cache=shared"
    return path


def persistence_env(database_url: str, *, create_table: bool) -> dict[str, str]:
    """eventsourcing's configuration for a database URL (the database chosen by configuration)."""
    env = {
        "CREATE_TABLE": "y" if create_table else "n",
        "IS_SNAPSHOTTING_ENABLED": "n",
        # Never enable: it skips the table lock that keeps the ledger index gap-free.
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
    }
    if database_url.startswith("sqlite://"):
        path = sqlite_path(database_url)
        if not path.startswith("file:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        env |= {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "30",
            "APPLICATION_RECORDER_TOPIC": "ledger.sqlite:ChainedSQLiteApplicationRecorder",
        }
        return env
    parts = urlsplit(database_url)
    if parts.scheme not in ("postgresql", "postgres") or not parts.hostname:
        raise ConfigurationError(f"database_url: unsupported URL {database_url!r}")
    env |= {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": unquote(parts.path.lstrip("/")) or "postgres",
        "POSTGRES_HOST": parts.hostname,
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_POOL_SIZE": "4",
        "POSTGRES_MAX_OVERFLOW": "8",
        "POSTGRES_LOCK_TIMEOUT": "30",
        "APPLICATION_RECORDER_TOPIC": "ledger.postgres:ChainedPostgresApplicationRecorder",
    }
    return env


def ledger_store(app: AlprLedger) -> LedgerStore:
    recorder = app.recorder
    if isinstance(recorder, ChainedSQLiteApplicationRecorder):
        return SQLiteLedgerStore(recorder.datastore, recorder.events_table_name)
    if isinstance(recorder, ChainedPostgresApplicationRecorder):
        return PostgresLedgerStore(recorder.datastore, recorder.events_table_name)
    raise ConfigurationError(f"recorder {type(recorder).__name__} does not keep a ledger")


@contextlib.contextmanager
def _migration_lock(database_url: str) -> Iterator[None]:
    if not database_url.startswith(("postgresql://", "postgres://")):
        yield
        return
    import psycopg

    # Several processes creating tables at once collide; serialise the migrate step.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))


def migrate(settings: Settings) -> None:
    """Create every table once, before any worker starts with table creation off."""
    with _migration_lock(settings.database_url):
        app = AlprLedger(env=persistence_env(settings.database_url, create_table=True))
        app.close()


@dataclass
class Runtime:
    settings: Settings
    app: AlprLedger
    ledger: LedgerStore
    checkpointer: Checkpointer
    keystore: KeyStore
    projections: ProjectionDB

    def close(self) -> None:
        self.app.close()
        self.keystore.close()
        self.projections.close()


def signer_for(settings: Settings) -> CheckpointSigner:
    if settings.signing_key_file is not None:
        key = load_or_create_signing_key(settings.signing_key_file, create=False)
    else:
        key = load_or_create_signing_key(settings.data_dir / "signing-key.pem", create=True)
    return CheckpointSigner(settings.log_origin, key)


def build_runtime(settings: Settings, *, run_migrations: bool = True) -> Runtime:
    if run_migrations:
        migrate(settings)
    from domain.profiles import get_profile
    from domain.retention import MAXIMUM_MARGIN
    from ops.keys import open_keystore

    profile = get_profile(settings.policy)
    if profile.read_retention_is_maximum and settings.retention_interval_s > MAXIMUM_MARGIN.total_seconds():
        raise ConfigurationError(
            f"retention_interval_s: the {profile.name} profile sets a maximum read retention, so the "
            f"retention job must run at least every {MAXIMUM_MARGIN.total_seconds():.0f} s"
        )
    keystore = open_keystore(settings)
    app = AlprLedger(
        env=persistence_env(settings.database_url, create_table=False),
        policy=profile,
        blobs=BlobStore(settings.blob_dir),
        token_ttl=timedelta(seconds=settings.token_ttl_s),
        keystore=keystore,
    )
    store = ledger_store(app)
    checkpointer = Checkpointer(store, signer_for(settings))
    # Commands that hand out proofs (disclosure packages) need the ledger and its signer.
    app.ledger = store
    app.checkpointer = checkpointer
    app.packages_root = settings.data_dir / "packages"
    # Keyed digests of unknown log-on names (a password typed into the login field never lands
    # in the log as text); the key stays with the deployment's data.
    app.audit_pepper_path = settings.data_dir / "audit-pepper"
    projections = open_projection_db(settings.database_url, settings.data_dir, settings.projections_url)
    app.projection_db = projections
    return Runtime(settings, app, store, checkpointer, keystore, projections)
