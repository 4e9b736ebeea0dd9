"""Reads ingest through the service: camera gate, idempotency, images, atomicity (both backends)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from domain.camera import capture_read_id
from domain.errors import AccessDeniedError
from domain.read import Read
from ledger.audit import audit
from ledger.blobs import blob_digest
from ops.bootstrap import Runtime
from ops.service import BatchRejectedError
from tests.cameras_support import city_reads, jpeg_like, png, read_from, register, use_blob_store


@pytest.fixture(autouse=True)
def _blob_store(runtime: Runtime, tmp_path: Path) -> None:
    use_blob_store(runtime, tmp_path / "blobs")


def errors_of(runtime: Runtime, batch: list, **kwargs: object) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    with pytest.raises(BatchRejectedError) as rejected:
        runtime.app.ingest_reads(batch, **kwargs)  # type: ignore[arg-type]
    return [(e.field, e.rule) for e in rejected.value.errors]


def test_ingest_refuses_batch_when_camera_unknown(runtime: Runtime) -> None:
    register(runtime, "FX-1")
    size = runtime.ledger.size()
    batch = [read_from("FX-1"), read_from("FX-404"), read_from("FX-1")]
    assert errors_of(runtime, batch) == [("reads[1].camera_id", "camera.unknown")]
    assert runtime.ledger.size() == size


def test_ingest_refuses_batch_when_camera_out_of_service(runtime: Runtime) -> None:
    register(runtime, "FX-1")
    runtime.app.record_camera_check("FX-1", function_ok=False, alignment_ok=True, by="sgt")
    size = runtime.ledger.size()
    assert errors_of(runtime, [read_from("FX-1")]) == [("reads[0].camera_id", "camera.out_of_service")]
    assert runtime.ledger.size() == size


def test_ingest_accepts_reads_again_when_camera_returned_to_service(runtime: Runtime) -> None:
    register(runtime, "FX-1")
    runtime.app.take_camera_out_of_service("FX-1", reason="road works", by="sgt")
    runtime.app.return_camera_to_service("FX-1", by="sgt")
    assert len(runtime.app.record_reads([read_from("FX-1")])) == 1


def test_ingest_refuses_read_when_kind_differs_from_registered_camera(runtime: Runtime) -> None:
    register(runtime, "FX-1")
    register(runtime, "MB-1", "mobile", patrol_vehicle="CAR-12")
    batch = [read_from("FX-1", "portable"), read_from("MB-1", "mobile"), read_from("MB-1", "fixed")]
    assert errors_of(runtime, batch) == [
        ("reads[0].camera_kind", "camera_kind.mismatch"),
        ("reads[2].camera_kind", "camera_kind.mismatch"),
    ]


def test_ingest_stores_nothing_and_names_every_error_when_batch_mixes_rules(runtime: Runtime) -> None:
    batch = city_reads(runtime, 30)
    size = runtime.ledger.size()
    batch[4] = dataclasses.replace(batch[4], plate="AB$1")
    batch[9] = dataclasses.replace(batch[9], camera_id="nowhere")
    batch[17] = dataclasses.replace(batch[17], plate_image="f" * 64)
    assert errors_of(runtime, batch) == [
        ("reads[4].plate", "plate.charset"),
        ("reads[9].camera_id", "camera.unknown"),
        ("reads[17].plate_image", "image.missing"),
    ]
    assert runtime.ledger.size() == size


def test_ingest_returns_same_ids_and_stores_nothing_when_batch_retried(runtime: Runtime) -> None:
    batch = city_reads(runtime, 40)
    first = runtime.app.ingest_reads(batch)
    size = runtime.ledger.size()
    again = runtime.app.ingest_reads(batch)
    assert again.read_ids == first.read_ids
    assert again.duplicates == tuple(range(40)) and first.duplicates == ()
    assert runtime.ledger.size() == size
    assert audit(runtime.ledger, runtime.checkpointer.signer.vkey).ok  # the failed insert left no gap


def test_ingest_stores_only_new_reads_when_batch_partly_stored(runtime: Runtime) -> None:
    batch = city_reads(runtime, 20)
    stored = runtime.app.record_reads(batch[5:10])
    size = runtime.ledger.size()
    result = runtime.app.ingest_reads(batch)
    assert result.read_ids[5:10] == tuple(stored)
    assert result.duplicates == (5, 6, 7, 8, 9)
    assert runtime.ledger.size() == size + 15


def test_ingest_derives_read_id_from_camera_and_capture_not_plate_when_capture_id_given(
    runtime: Runtime,
) -> None:
    register(runtime, "FX-1")
    [rid] = runtime.app.record_reads([read_from("FX-1", capture_id="cap-1")])
    assert rid == capture_read_id("FX-1", "cap-1")
    read = runtime.app.repository.get(rid)
    assert isinstance(read, Read) and read.plate == "ABC1234"


def test_ingest_counts_repeat_once_when_capture_repeated_within_batch(runtime: Runtime) -> None:
    register(runtime, "FX-1")
    size = runtime.ledger.size()
    one = read_from("FX-1", capture_id="cap-7")
    result = runtime.app.ingest_reads([one, read_from("FX-1", capture_id="cap-8"), one])
    assert result.read_ids[0] == result.read_ids[2] != result.read_ids[1]
    assert result.duplicates == (2,)
    assert runtime.ledger.size() == size + 2


def test_ingest_stores_each_read_when_no_capture_id(runtime: Runtime) -> None:
    register(runtime, "FX-1")
    one = read_from("FX-1")
    ids = runtime.app.record_reads([one, one])
    assert ids[0] != ids[1]


def test_ingest_stores_images_in_blob_store_when_sent_with_batch(runtime: Runtime, tmp_path: Path) -> None:
    blobs = use_blob_store(runtime, tmp_path / "blobs")
    register(runtime, "FX-1")
    plate, vehicle = png(seed=1), jpeg_like(2)
    refs = {blob_digest(plate): plate, blob_digest(vehicle): vehicle}
    read = read_from("FX-1", plate_image=blob_digest(plate), vehicle_image=blob_digest(vehicle))
    [rid] = runtime.app.ingest_reads([read], images=refs).read_ids
    app = runtime.app
    assert (
        app.read_image(rid, blob_digest(plate)) == plate
        and app.read_image(rid, blob_digest(vehicle)) == vehicle
    )
    stored = runtime.app.repository.get(rid)
    assert isinstance(stored, Read) and stored.plate_image == blob_digest(plate)
    # images are sealed per read: another read cannot borrow this one's image without sending it
    assert errors_of(runtime, [read_from("FX-1", plate_image=blob_digest(plate))]) == [
        ("reads[0].plate_image", "image.missing")
    ]
    assert plate not in b"".join(p.read_bytes() for p in blobs.root.rglob("*") if p.is_file())


def test_ingest_refuses_and_stores_no_image_when_batch_rejected(runtime: Runtime, tmp_path: Path) -> None:
    blobs = use_blob_store(runtime, tmp_path / "blobs")
    register(runtime, "FX-1")
    plate = png(seed=3)
    batch = [read_from("FX-1", plate_image=blob_digest(plate)), read_from("FX-404")]
    assert errors_of(runtime, batch, images={blob_digest(plate): plate}) == [
        ("reads[1].camera_id", "camera.unknown")
    ]
    assert not [p for p in blobs.root.rglob("*") if p.is_file()]


def test_ingest_refuses_image_when_not_jpeg_or_png(runtime: Runtime, tmp_path: Path) -> None:
    use_blob_store(runtime, tmp_path / "blobs")
    register(runtime, "FX-1")
    text = b"GIF89a not allowed"
    batch = [read_from("FX-1", vehicle_image=blob_digest(text))]
    assert errors_of(runtime, batch, images={blob_digest(text): text}) == [
        ("reads[0].vehicle_image", "image.type")
    ]


def test_ingest_refuses_batch_when_device_bound_to_other_camera(runtime: Runtime) -> None:
    register(runtime, "FX-1")
    register(runtime, "FX-2")
    size = runtime.ledger.size()
    with pytest.raises(AccessDeniedError) as denied:
        runtime.app.ingest_reads([read_from("FX-1"), read_from("FX-2")], bound_camera_id="FX-1")
    assert (denied.value.field, denied.value.rule) == ("reads[1].camera_id", "device.camera_bound")
    assert runtime.ledger.size() == size
    assert len(runtime.app.ingest_reads([read_from("FX-1")], bound_camera_id="FX-1").read_ids) == 1


def test_ingest_stores_batch_once_when_same_batch_sent_concurrently(runtime: Runtime) -> None:
    import threading

    batch = city_reads(runtime, 60, seed=5)
    size = runtime.ledger.size()
    results: list[object] = []
    barrier = threading.Barrier(3)

    def send() -> None:
        barrier.wait()
        results.append(runtime.app.ingest_reads(batch))

    threads = [threading.Thread(target=send) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3
    assert len({r.read_ids for r in results}) == 1  # type: ignore[attr-defined]
    assert runtime.ledger.size() == size + 60
    assert audit(runtime.ledger, runtime.checkpointer.signer.vkey).ok
