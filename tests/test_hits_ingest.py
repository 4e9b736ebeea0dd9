"""Hits raised at ingest: every read matched against active hotlist entries, hits stored in the
same transaction as their reads (on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from eventsourcing.utils import get_topic

from domain.hit import Hit, MatchKind
from domain.read import Read, validate_read
from ledger.audit import audit
from ops.bootstrap import Runtime
from ops.commands.reads import BatchRejectedError
from tests.cameras_support import read_from, register

CSV = "plate,state,reason,case_number\nABC1234,NY,stolen vehicle,24-000123\nB0S5678,NY,AMBER alert,\n"


@pytest.fixture
def hotlist(runtime: Runtime) -> object:
    hotlist_id = runtime.app.create_hotlist("NCIC stolen", "ncic", provenance="NCIC extract", actor="tests")
    runtime.app.import_hotlist_csv(hotlist_id, CSV, version="2025-03-03", actor="tests")
    register(runtime, "FX-1")
    return hotlist_id


def _hits(runtime: Runtime) -> list[Hit]:
    return runtime.app.list_hits(newest_first=False)


def test_record_reads_raises_exact_hit_when_plate_and_state_match(runtime: Runtime, hotlist: object) -> None:
    (read_id,) = runtime.app.record_reads([read_from(plate="ABC-1234", state="NY")])
    (hit,) = _hits(runtime)
    assert hit.match_kind is MatchKind.EXACT and hit.basis == ()
    assert (hit.read_id, hit.hotlist_id, hit.camera_id) == (read_id, hotlist, "FX-1")
    assert (hit.read_plate, hit.read_state, hit.entry_plate, hit.entry_state) == (
        "ABC1234",
        "NY",
        "ABC1234",
        "NY",
    )
    assert (hit.hotlist_source, hit.reason, hit.case_number) == ("ncic", "stolen vehicle", "24-000123")
    read = runtime.app.repository.get(read_id)
    assert isinstance(read, Read) and hit.captured_at == read.captured_at


@pytest.mark.parametrize(
    ("plate", "state", "basis"),
    [
        ("8OS5678", "NY", ("plate_confusable",)),  # B/8 and 0/O confused by the OCR
        ("ABC1234", None, ("read_without_state",)),  # no state read
    ],
)
def test_record_reads_raises_possible_hit_when_plate_confusable_or_state_missing(
    runtime: Runtime, hotlist: object, plate: str, state: str | None, basis: tuple[str, ...]
) -> None:
    runtime.app.record_reads([read_from(plate=plate, state=state)])
    (hit,) = _hits(runtime)
    assert hit.match_kind is MatchKind.POSSIBLE and hit.basis == basis
    assert hit.read_plate == plate and hit.entry_plate in ("B0S5678", "ABC1234")


def test_record_reads_raises_no_hit_when_state_differs_or_plate_unlisted(
    runtime: Runtime, hotlist: object
) -> None:
    runtime.app.record_reads([read_from(plate="ABC1234", state="PA"), read_from(plate="QQQ1111", state="NY")])
    assert _hits(runtime) == []


def test_record_reads_stores_hit_in_same_transaction_right_after_its_read(
    runtime: Runtime, hotlist: object
) -> None:
    start = runtime.app.latest_alert_position()
    ids = runtime.app.record_reads(
        [read_from(plate="QQQ1111"), read_from(plate="ABC1234"), read_from(plate="RRR2222")]
    )
    batch = runtime.app.recorder.select_notifications(start, 10, inclusive_of_start=False)
    topics = [n.topic for n in batch]
    assert topics == [get_topic(Read.Captured)] * 3 + [get_topic(Hit.Raised)]
    assert [n.id for n in batch] == list(range(batch[0].id, batch[0].id + 4))  # one contiguous insert
    (hit,) = _hits(runtime)
    assert hit.read_id == ids[1]
    assert audit(runtime.ledger, runtime.checkpointer.signer.vkey).ok


def test_record_reads_stores_neither_read_nor_hit_when_the_transaction_fails(
    runtime: Runtime, hotlist: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    size = runtime.ledger.size()
    recorder_class = type(runtime.app.recorder)

    def failing_clock() -> int:
        # Called by the ledger hook inside the insert transaction, after the events are written.
        raise RuntimeError("disk full")

    monkeypatch.setattr(recorder_class, "clock", staticmethod(failing_clock))
    with pytest.raises(RuntimeError):
        runtime.app.record_reads([read_from(plate="ABC1234")])
    monkeypatch.undo()
    assert runtime.ledger.size() == size
    assert _hits(runtime) == []
    assert runtime.app.alerts_after(0).alerts == []


def test_record_reads_stores_no_hit_when_batch_is_rejected(runtime: Runtime, hotlist: object) -> None:
    with pytest.raises(BatchRejectedError):
        runtime.app.record_reads([read_from(plate="ABC1234"), read_from(plate="AB$1")])
    assert _hits(runtime) == []


def test_raise_hits_builds_unsaved_hits_one_per_match_when_reads_match(
    runtime: Runtime, hotlist: object
) -> None:
    other = runtime.app.create_hotlist("DMV", "state_dmv", provenance="DMV feed", actor="tests")
    runtime.app.import_hotlist_csv(
        other, "plate,state,reason\nABC1234,,suspended registration\n", version="1", actor="tests"
    )
    now = runtime.app.clock()
    read = Read.capture(validate_read(read_from(plate="ABC1234", state="NY"), now), timestamp=now)
    hits = runtime.app.raise_hits([read])
    assert sorted((h.match_kind.value, h.hotlist_source) for h in hits) == [
        ("exact", "ncic"),
        ("possible", "state_dmv"),
    ]
    assert all(h.read_id == read.id for h in hits)
    assert runtime.app.list_hits() == []  # nothing saved: the caller saves hits with their reads
    assert runtime.app.raise_hits([]) == []
