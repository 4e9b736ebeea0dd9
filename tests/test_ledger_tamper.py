"""Tampering with anything the log stores is caught, and the first bad index is named."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from typer.testing import CliRunner

from ledger.audit import audit
from ops.bootstrap import Runtime
from ops.cli import app as cli
from tests.ledger_support import RawDatabase, notes

SIZE = 20
VICTIM = 7
OTHER = 12


def _flip(data: bytes, at: int = 0) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def _grow(runtime: Runtime) -> None:
    batch = notes(SIZE - 2)
    runtime.app.save(*batch)
    batch[3].amend("amended")
    batch[4].amend("amended again")
    runtime.app.save(batch[3], batch[4])
    assert runtime.ledger.size() == SIZE


def _swap_events(raw: RawDatabase) -> None:
    if raw.is_sqlite:
        rows = raw.execute(f"SELECT rowid, * FROM {raw.events} ORDER BY rowid")
        a, b = rows[VICTIM], rows[OTHER]
        raw.execute(f"DELETE FROM {raw.events} WHERE rowid IN (?, ?)", (a[0], b[0]))
        insert = f"INSERT INTO {raw.events} (rowid, originator_id, originator_version, topic, state) "
        raw.execute(insert + "VALUES (?,?,?,?,?)", (a[0], *b[1:]))
        raw.execute(insert + "VALUES (?,?,?,?,?)", (b[0], *a[1:]))
    else:
        ids = [
            r[0] for r in raw.execute(f"SELECT notification_id FROM {raw.events} ORDER BY notification_id")
        ]
        a, b = ids[VICTIM], ids[OTHER]
        raw.execute(f"UPDATE {raw.events} SET notification_id = -1 WHERE notification_id = %s", (a,))
        raw.execute(f"UPDATE {raw.events} SET notification_id = %s WHERE notification_id = %s", (a, b))
        raw.execute(f"UPDATE {raw.events} SET notification_id = %s WHERE notification_id = -1", (b,))


def _swap_entries(raw: RawDatabase) -> None:
    raw.execute("UPDATE ledger_entries SET idx = -1 WHERE idx = %s", (VICTIM,))
    raw.execute("UPDATE ledger_entries SET idx = %s WHERE idx = %s", (VICTIM, OTHER))
    raw.execute("UPDATE ledger_entries SET idx = %s WHERE idx = -1", (OTHER,))


def _change_id(raw: RawDatabase) -> None:
    oid, _ = raw.key_at(VICTIM)
    text = str(oid)
    changed = text[:-1] + ("0" if text[-1] != "0" else "1")
    raw.update_event(VICTIM, "originator_id", changed)


def _ledger_column(column: str, at: int) -> Callable[[RawDatabase], None]:
    def tamper(raw: RawDatabase) -> None:
        (value,) = raw.execute(f"SELECT {column} FROM ledger_entries WHERE idx = %s", (VICTIM,))[0]
        raw.execute(
            f"UPDATE ledger_entries SET {column} = %s WHERE idx = %s", (_flip(bytes(value), at), VICTIM)
        )

    return tamper


TAMPERS: dict[str, Callable[[RawDatabase], None]] = {
    "event_state_byte": lambda raw: raw.update_event(VICTIM, "state", _flip(raw.event_at(VICTIM)[3], 5)),
    "event_topic": lambda raw: raw.update_event(VICTIM, "topic", raw.event_at(VICTIM)[2] + "x"),
    "event_originator_id": _change_id,
    "event_version": lambda raw: raw.update_event(VICTIM, "originator_version", 99),
    "event_row_deleted": lambda raw: raw.execute(
        f"DELETE FROM {raw.events} WHERE originator_id = %s AND originator_version = %s", raw.key_at(VICTIM)
    ),
    "event_rows_swapped": _swap_events,
    "entry_byte": _ledger_column("entry", 40),
    "entry_tree_node": _ledger_column("hashes", 32 * 2 + 3),  # level-2 node completed at leaf 7
    "entry_leaf_hash": _ledger_column("hashes", 0),
    "entry_chain_hash": _ledger_column("chain", 31),
    "entry_row_deleted": lambda raw: raw.execute("DELETE FROM ledger_entries WHERE idx = %s", (VICTIM,)),
    "entry_rows_swapped": _swap_entries,
}


@pytest.mark.parametrize("tamper", sorted(TAMPERS))
def test_verify_names_first_bad_index_when_store_tampered(
    runtime: Runtime, database_url: str, tamper: str
) -> None:
    _grow(runtime)
    vkey = runtime.checkpointer.signer.vkey
    assert audit(runtime.ledger, vkey).ok
    raw = RawDatabase(database_url)
    raw.drop_guards()
    TAMPERS[tamper](raw)

    report = audit(runtime.ledger, vkey)

    assert not report.ok
    assert report.first_bad_index == VICTIM, report.problems


def test_verify_fails_when_checkpoint_root_rewritten_after_tamper(
    runtime: Runtime, database_url: str
) -> None:
    _grow(runtime)
    runtime.checkpointer.checkpoint()
    raw = RawDatabase(database_url)
    raw.drop_guards()
    raw.execute("UPDATE ledger_checkpoints SET root = %s", (bytes(32),))
    report = audit(runtime.ledger, runtime.checkpointer.signer.vkey)
    assert not report.ok


def test_database_refuses_update_and_delete_when_guards_in_place(runtime: Runtime, database_url: str) -> None:
    _grow(runtime)
    raw = RawDatabase(database_url)
    for statement in (
        f"UPDATE {raw.events} SET topic = 'x'",
        f"DELETE FROM {raw.events}",
        "UPDATE ledger_entries SET chain = entry",
        "DELETE FROM ledger_entries",
    ):
        with pytest.raises(Exception, match="append-only"):
            raw.execute(statement)
    assert runtime.ledger.size() == SIZE


def test_cli_verify_exits_1_and_prints_first_bad_entry_when_state_altered(
    runtime: Runtime, database_url: str, settings: object
) -> None:
    _grow(runtime)
    runner = CliRunner()
    env = {"ALPR_DATA_DIR": str(runtime.settings.data_dir), "ALPR_LOG_ORIGIN": runtime.settings.log_origin}
    ok = runner.invoke(cli, ["verify", "--db", database_url], env=env)
    assert ok.exit_code == 0, ok.output
    raw = RawDatabase(database_url)
    raw.drop_guards()
    raw.update_event(VICTIM, "state", _flip(raw.event_at(VICTIM)[3], 3))

    bad = runner.invoke(cli, ["verify", "--db", database_url], env=env)

    assert bad.exit_code == 1
    assert f"first bad entry: {VICTIM}" in bad.stdout
