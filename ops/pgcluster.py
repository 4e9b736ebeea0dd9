"""A throwaway PostgreSQL cluster on 127.0.0.1 for tests, benchmarks and local development.

PostgreSQL is installed but not running on our machines, and initdb/pg_ctl refuse to run as
root, so as root every server command runs as the ``postgres`` user through ``runuser``.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def find_bindir() -> Path:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0,
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise FileNotFoundError("PostgreSQL server binaries (initdb, pg_ctl) not found")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ThrowawayCluster:
    """``start()`` returns a ``postgresql://`` URL; ``stop()`` shuts down and deletes everything."""

    def __init__(self, *, durable: bool = False, dbname: str = "alpr") -> None:
        # Tests skip fsync; benchmarks pass durable=True to measure a real configuration.
        self.durable = durable
        self.dbname = dbname
        self.bindir = find_bindir()
        self.port = 0
        self.root: Path | None = None

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> str:
        self.root = Path(tempfile.mkdtemp(prefix="alpr-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.root, user="postgres")
        data = self.root / "data"
        self._run(
            "initdb",
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
            "--locale=C",
        )
        self.port = free_port()
        options = [
            f"-p {self.port}",
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={self.root}",
            "-c max_connections=300",
            "-c shared_buffers=256MB",
        ]
        if not self.durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run(
            "pg_ctl",
            "-D",
            str(data),
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            " ".join(options),
            "start",
        )
        deadline = time.monotonic() + 30
        import psycopg

        while True:
            try:
                with psycopg.connect(self.admin_url("postgres"), autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{self.dbname}"')
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        return self.admin_url(self.dbname)

    @property
    def data_dir(self) -> Path | None:
        """The cluster's data directory while it runs (tests scan its raw files), else None."""
        return None if self.root is None else self.root / "data"

    def admin_url(self, dbname: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.admin_url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.admin_url(name)

    def stop(self) -> None:
        if self.root is None:
            return
        try:
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str]) -> int:
    """``python -m ops.pgcluster -- CMD ...``: run CMD with a throwaway cluster.

    CMD sees the server's admin URL in ``ALPR_TEST_POSTGRES_URL`` (and its data directory in
    ``ALPR_TEST_POSTGRES_DATA_DIR``); the cluster is stopped and deleted however CMD ends.
    """
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        print("usage: python -m ops.pgcluster -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    cluster = ThrowawayCluster()
    cluster.start()
    print(f"throwaway PostgreSQL on 127.0.0.1:{cluster.port}", file=sys.stderr)
    try:
        env = dict(
            os.environ,
            ALPR_TEST_POSTGRES_URL=cluster.admin_url("postgres"),
            ALPR_TEST_POSTGRES_DATA_DIR=str(cluster.data_dir),  # tests scan its raw files
        )
        return subprocess.call(argv, env=env)
    finally:
        cluster.stop()
        print("throwaway PostgreSQL stopped", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
