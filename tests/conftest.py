"""Shared fixtures: every storage test runs on SQLite and on PostgreSQL.

PostgreSQL: ``ALPR_TEST_POSTGRES_URL`` names a server we may create databases on (the URL of its
admin database); without it the session starts a throwaway cluster on 127.0.0.1 and stops it at
the end. A machine without PostgreSQL fails the PostgreSQL tests rather than skipping them.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from ops.bootstrap import Runtime, build_runtime
from ops.settings import Settings

BACKENDS = ["sqlite", "postgres"]


class PostgresServer:
    def __init__(self, admin_url: str, data_dir: Path | None = None) -> None:
        self.admin_url = admin_url
        # The data directory of our own throwaway cluster; None for an external server.
        self.data_dir = data_dir
        self._names = itertools.count()

    def new_database(self) -> str:
        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        parts = urlsplit(self.admin_url)
        return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    url = os.environ.get("ALPR_TEST_POSTGRES_URL")
    if url:
        data_dir = os.environ.get("ALPR_TEST_POSTGRES_DATA_DIR")  # set by ``python -m ops.pgcluster``
        yield PostgresServer(url, Path(data_dir) if data_dir else None)
        return
    from ops.pgcluster import ThrowawayCluster

    cluster = ThrowawayCluster()
    cluster.start()
    try:
        yield PostgresServer(cluster.admin_url("postgres"), cluster.data_dir)
    finally:
        cluster.stop()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.new_database()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        log_origin="test.alpr-ledger.example/log",
        checkpoint_interval_s=3600,
    )


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = build_runtime(settings)
    try:
        yield rt
    finally:
        rt.close()
