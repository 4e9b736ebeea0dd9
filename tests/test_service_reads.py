"""record_reads: a batch is stored whole, with its ledger entries, or rejected whole."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from domain.read import Read, RecordRead
from ledger.audit import audit
from ledger.verify._entry import decode_entry
from ops.bootstrap import Runtime
from ops.demo import SyntheticCity, camera_registrations
from ops.service import MAX_BATCH, BatchRejectedError


def _reads(runtime: Runtime, n: int) -> list[RecordRead]:
    city = SyntheticCity(seed=3, start=datetime.now(UTC) - timedelta(days=3))
    runtime.app.register_cameras(camera_registrations(city), by="test", existing_ok=True)
    return list(city.reads(n))


def test_record_reads_stores_batch_with_ledger_entries_when_valid(runtime: Runtime) -> None:
    batch = _reads(runtime, 50)
    before = runtime.ledger.size()
    ids = runtime.app.record_reads(batch)
    assert len(ids) == 50 and len(set(ids)) == 50
    assert runtime.ledger.size() == before + 50
    entries = [decode_entry(e) for _, e in runtime.ledger.entries(before, 100)]
    assert [e.originator_id for e in entries] == [str(i) for i in ids]
    assert all(e.topic.endswith("Read.Captured") for e in entries)
    read = runtime.app.repository.get(ids[7])
    assert isinstance(read, Read)
    assert audit(runtime.ledger, runtime.checkpointer.signer.vkey).ok


def test_record_reads_stores_nothing_and_names_every_bad_item_when_batch_has_errors(runtime: Runtime) -> None:
    batch = _reads(runtime, 20)
    batch[3] = dataclasses.replace(batch[3], plate="AB$12")
    batch[11] = dataclasses.replace(batch[11], latitude=123.0)
    before = runtime.ledger.size()
    with pytest.raises(BatchRejectedError) as rejected:
        runtime.app.record_reads(batch)
    errors = [(e.field, e.rule) for e in rejected.value.errors]
    assert errors == [("reads[3].plate", "plate.charset"), ("reads[11].latitude", "latitude.range")]
    assert runtime.ledger.size() == before


def test_record_reads_refuses_batch_over_limit_when_too_large(runtime: Runtime) -> None:
    batch = _reads(runtime, 1) * (MAX_BATCH + 1)
    before = runtime.ledger.size()
    with pytest.raises(BatchRejectedError) as rejected:
        runtime.app.record_reads(batch)
    assert rejected.value.errors[0].rule == "batch.size"
    assert runtime.ledger.size() == before
