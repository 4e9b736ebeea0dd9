"""Which data key seals which record, under which key-encryption key, and the key store's set-up.

Every event with personal fields (``ledger.sealing.default_policy``) is sealed under the data key of
one record. That record's key sits under a KEK named for its retention class, so destroying one KEK
shreds everything of that class that falls due together:

=================  ==========================  ==================================================
class              KEK id                      falls due (``ops.retention``)
=================  ==========================  ==================================================
``reads``          ``reads:<capture day>``     end of the capture day + the profile's read retention
``searches``       ``searches:<request day>``  end of the request day + the query-log retention
``case``           ``case:<case id>``          case closed + its classification's case retention
``hold``           ``hold:<hold id>``          never by itself: a released hold's reads go back
``hotlists``       ``hotlists:<hotlist id>``   not by read retention (the list's source owns it)
``disclosures``    ``disclosures:<day>``       not by retention (no profile sets a period)
``credentials``    ``credentials:<account id>``  not by retention (TOTP secrets of live accounts)
=================  ==========================  ==================================================

A hit's personal fields are sealed under its READ's data key, so shredding a read shreds its hits.
Days are UTC days: a read captured at 23:30 local time may belong to the next UTC day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, unquote, urlsplit, urlunsplit
from uuid import UUID

from eventsourcing.utils import get_topic

from domain.account import Account
from domain.disclosure import Disclosure
from domain.hotlist import Hotlist
from domain.read import Read
from domain.search import Search
from ledger.keystore import KeyStore, LocalMasterKey, kek_id_for, load_master_key, make_kek_id
from ops.settings import Settings

READS: Final = "reads"
SEARCHES: Final = "searches"
CASE: Final = "case"
HOLD: Final = "hold"
HOTLISTS: Final = "hotlists"
DISCLOSURES: Final = "disclosures"
CREDENTIALS: Final = "credentials"

KEY_STORE_SCHEMA: Final = "alpr_keys"
KEY_DATABASE_SUFFIX: Final = "_keys"
MASTER_KEY_FILE: Final = "master.key"


def utc_day(instant: datetime) -> date:
    return instant.astimezone(UTC).date()


def read_kek(captured_at: datetime) -> str:
    return kek_id_for(READS, utc_day(captured_at))


def search_kek(requested_at: datetime) -> str:
    return kek_id_for(SEARCHES, utc_day(requested_at))


def case_kek(case_id: UUID) -> str:
    return make_kek_id(CASE, str(case_id))


def hold_kek(hold_id: UUID) -> str:
    return make_kek_id(HOLD, str(hold_id))


_READ = get_topic(Read.Captured)
_SEARCH = get_topic(Search.Requested)
_DISCLOSURE = get_topic(Disclosure.Requested)
_ENTRY = get_topic(Hotlist.EntryAdded)
_IMPORT = get_topic(Hotlist.VersionImported)
_TOTP = get_topic(Account.TotpEnrolled)


def placement(event: Any) -> tuple[UUID, str] | None:
    """``(record id, KEK id)`` for the data key that seals ``event``, or None if it needs none of
    its own (no personal fields, or sealed under another record's key, as hits are)."""
    topic = get_topic(type(event))
    if topic == _READ:
        return event.originator_id, read_kek(event.captured_at)
    if topic == _SEARCH:
        return event.originator_id, search_kek(event.timestamp)
    if topic in (_ENTRY, _IMPORT):
        return event.originator_id, make_kek_id(HOTLISTS, str(event.originator_id))
    if topic == _DISCLOSURE:
        return event.originator_id, kek_id_for(DISCLOSURES, utc_day(event.timestamp))
    if topic == _TOTP:
        return event.originator_id, make_kek_id(CREDENTIALS, str(event.originator_id))
    return None


def master_key_for(settings: Settings) -> LocalMasterKey:
    """The master key from ``ALPR_MASTER_KEY``, else ``master_key_file``, else ``data_dir/master.key``
    (created, mode 0600, on first start)."""
    if settings.master_key is not None:
        return load_master_key(text=settings.master_key.get_secret_value())
    if settings.master_key_file is not None:
        return LocalMasterKey.from_file(settings.master_key_file, create=False)
    return LocalMasterKey.from_file(settings.data_dir / MASTER_KEY_FILE, create=True)


def key_database_url(database_url: str) -> str:
    """The default key store of a PostgreSQL ledger: database ``<ledger database>_keys`` on the same
    server, so that a dump or copy of the events database never carries a single key."""
    parts = urlsplit(database_url)
    name = unquote(parts.path.lstrip("/")) or "postgres"
    return urlunsplit(parts._replace(path="/" + quote(name + KEY_DATABASE_SUFFIX)))


def ensure_key_database(database_url: str) -> str:
    """Create the default key database if it does not exist yet (needs CREATEDB; otherwise create
    it by hand or set ``ALPR_KEY_STORE_URL``); returns its URL."""
    import psycopg
    from psycopg import sql

    url = key_database_url(database_url)
    name = unquote(urlsplit(url).path.lstrip("/"))
    with psycopg.connect(database_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
                pass  # another process created it a moment ago
            except psycopg.errors.InsufficientPrivilege as exc:
                raise PermissionError(
                    f"cannot create the key database {name!r}: create it, or set ALPR_KEY_STORE_URL"
                ) from exc
    return url


def open_keystore(settings: Settings) -> KeyStore:
    """The key store the settings name: never inside the events table or its database file."""
    master = master_key_for(settings)
    url = settings.key_store_url
    if url is None:
        if settings.database_url.startswith("sqlite://"):
            url = f"sqlite:///{(settings.data_dir / 'keys.db').as_posix()}"
        else:
            url = ensure_key_database(settings.database_url)
    if url.startswith("sqlite://"):
        from ledger.keystore_sqlite import SQLiteKeyStore
        from ops.bootstrap import sqlite_path

        path = sqlite_path(url)
        if path.startswith("file:") or path == sqlite_path(settings.database_url):
            raise ValueError("key_store_url must name its own database file, apart from the events")
        return SQLiteKeyStore(Path(path), master)
    from ledger.keystore_postgres import PostgresKeyStore

    return PostgresKeyStore(url, master, schema=KEY_STORE_SCHEMA)


__all__ = [
    "CASE",
    "CREDENTIALS",
    "DISCLOSURES",
    "HOLD",
    "HOTLISTS",
    "READS",
    "SEARCHES",
    "case_kek",
    "hold_kek",
    "master_key_for",
    "open_keystore",
    "placement",
    "read_kek",
    "search_kek",
    "utc_day",
]
