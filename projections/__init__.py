"""Read models built from the log (search and report views; built in a later issue)."""
