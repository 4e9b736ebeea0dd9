"""Read paths after a purge: views drop shredded rows; hits, searches, alerts and packages say "purged".

Purges here are made the way the retention job makes them (destroy the key, record the Purge), so the
read paths are tested on their own; the job itself is tested in test_retention_*.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID

from api.routers.hits import HitOut
from api.routers.searches import SearchRecordOut
from domain.retention import RULE_COURT_ORDER, RULE_READ_RETENTION, Purge
from ledger.sealing import PURGED
from ops.bootstrap import Runtime
from ops.commands.hits import _json_value
from ops.keys import READS, read_kek, search_kek
from tests.cameras_support import city_reads
from tests.hits_support import store_hit
from tests.test_search import plate_search, searcher


def purge_day(runtime: Runtime, captured_at: datetime) -> int:
    kek = read_kek(captured_at)
    count = runtime.keystore.destroy_kek(kek, reason="test: day due")
    assert count
    now = datetime.now(UTC)
    runtime.app.save(
        Purge.record(
            key_id=kek,
            scope="kek",
            retention_class=READS,
            day=captured_at.astimezone(UTC).date(),
            record_ids=[],
            record_count=count,
            rule=RULE_READ_RETENTION,
            clause="test clause",
            profile=runtime.app.policy.name,
            due_at=now,
            destroyed_at=now,
            reason="test: day due",
            by="tests",
        )
    )
    return count


def purge_record(runtime: Runtime, record_id: UUID) -> None:
    assert runtime.keystore.destroy_dek(record_id, reason="test: court order")
    now = datetime.now(UTC)
    runtime.app.save(
        Purge.record(
            key_id=str(record_id),
            scope="record",
            retention_class=READS,
            day=None,
            record_ids=[record_id],
            record_count=1,
            rule=RULE_COURT_ORDER,
            clause="court order 2026-17",
            profile=runtime.app.policy.name,
            due_at=None,
            destroyed_at=now,
            reason="test: court order",
            by="tests",
        )
    )


def test_plate_search_drops_reads_of_a_purged_day_and_keeps_other_days(runtime: Runtime) -> None:
    reads = city_reads(runtime, 300)
    # every other read a day earlier, so the log spans two capture days
    reads = [replace(r, captured_at=r.captured_at - timedelta(days=i % 2)) for i, r in enumerate(reads)]
    ids = runtime.app.record_reads(reads)
    by_day: dict[object, list[tuple[UUID, str]]] = {}
    for rid, r in zip(ids, reads, strict=True):
        by_day.setdefault(r.captured_at.astimezone(UTC).date(), []).append((rid, r.plate))
    assert len(by_day) >= 2, "the demo city spreads reads over several days"
    day, victims = sorted(by_day.items(), key=lambda kv: len(kv[1]))[-1]
    who = searcher(runtime)
    plate = victims[0][1]
    before = {r.read_id for r in runtime.app.run_search(who, plate_search(plate)).results}  # warms the view
    assert victims[0][0] in before
    captured = next(r.captured_at for rid, r in zip(ids, reads, strict=True) if rid == victims[0][0])
    assert purge_day(runtime, captured) == len(victims)
    after = {r.read_id for r in runtime.app.run_search(who, plate_search(plate)).results}
    assert after == {rid for rid in before if rid not in {v for v, _ in victims}}
    # a read of another day is still found
    other_day = next(d for d in by_day if d != day)
    rid, other_plate = by_day[other_day][0]
    assert rid in {r.read_id for r in runtime.app.run_search(who, plate_search(other_plate)).results}


def test_read_loads_as_purged_with_clear_metadata_kept(runtime: Runtime) -> None:
    reads = city_reads(runtime, 5)
    [rid, *_] = runtime.app.record_reads(reads)
    purge_record(runtime, rid)
    read = runtime.app.repository.get(rid)
    assert read.purged and read.plate is PURGED and read.vehicle is PURGED
    assert read.camera_id == reads[0].camera_id and read.captured_at == reads[0].captured_at
    assert runtime.app.read_image(rid, "0" * 64) is None


def test_hit_of_a_purged_read_shows_purged_not_plaintext_nor_error(runtime: Runtime) -> None:
    hit = store_hit(runtime, plate="QZX4411")
    listed = runtime.app.list_hits()  # the in-memory view holds the hit with its plate
    assert [h.read_plate for h in listed] == ["QZX4411"]
    purge_record(runtime, hit.read_id)
    [after] = runtime.app.list_hits()
    assert after.purged and after.read_plate is PURGED
    out = HitOut.of(after, runtime.app).model_dump(mode="json")
    assert out["read_plate"] is None and out["entry_plate"] is None
    assert out["purged"] is not None and out["purged"]["rule"] in (RULE_COURT_ORDER, None)
    assert "QZX4411" not in repr(out)
    fresh = runtime.app.get_hit(hit.id)
    assert fresh.purged and HitOut.of(fresh, runtime.app).read_state is None


def test_search_record_shows_null_criteria_once_its_day_is_purged(runtime: Runtime) -> None:
    city_reads(runtime, 5)
    result = runtime.app.run_search(searcher(runtime), plate_search("QZX9001"))
    record = runtime.app.get_search(result.search_id)
    assert record.criteria == {"plate": "QZX9001"}
    assert runtime.keystore.destroy_kek(search_kek(record.requested_at), reason="test: query log due")
    purged = runtime.app.get_search(result.search_id)
    assert purged.criteria is None and purged.purpose == "criminal_investigation"
    assert SearchRecordOut.of(purged).criteria is None


def test_alert_json_of_a_purged_value_is_null() -> None:
    assert _json_value(PURGED) is None
