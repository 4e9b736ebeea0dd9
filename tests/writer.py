"""A writer process for concurrency and crash tests: appends batches of notes, acknowledging each
batch on stdout only after its save returned (so an ack means committed)."""

from __future__ import annotations

import sys
from pathlib import Path

from ops.bootstrap import build_runtime
from ops.settings import Settings
from tests.ledger_support import notes


def main() -> None:
    url, data_dir, name, batches, per_batch = sys.argv[1:6]
    settings = Settings(database_url=url, data_dir=Path(data_dir))
    runtime = build_runtime(settings, run_migrations=False)
    print("ready", flush=True)
    if "--wait-for-go" in sys.argv:
        sys.stdin.readline()  # a start barrier so that the writers really overlap
    for b in range(int(batches)):
        batch_id = f"{name}-{b}"
        runtime.app.save(*notes(int(per_batch), batch=batch_id, size=200))
        print(f"ack {batch_id}", flush=True)
    runtime.close()


if __name__ == "__main__":
    main()
