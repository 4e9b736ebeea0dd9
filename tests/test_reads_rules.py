"""Pure decisions of reads ingest and of the alpr_group mapping (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.schemas_reads import AlprGroup, read_from_alpr_group
from domain.errors import InvalidFieldError
from ops.commands.reads import MAX_IMAGE_BYTES, BatchRejectedError, check_image_bytes, foreign_camera_position
from tests.cameras_support import png, read_from


def test_check_image_bytes_refuses_when_too_large() -> None:
    check_image_bytes(png(), "plate_image")
    with pytest.raises(InvalidFieldError, match="MiB") as info:
        check_image_bytes(b"\xff\xd8\xff" + b"\0" * MAX_IMAGE_BYTES, "plate_image")
    assert info.value.rule == "image.size"
    with pytest.raises(InvalidFieldError) as gif:
        check_image_bytes(b"GIF89a", "vehicle_image")
    assert (gif.value.field, gif.value.rule) == ("vehicle_image", "image.type")


def test_foreign_camera_position_finds_first_other_camera_when_bound() -> None:
    batch = [read_from("A"), read_from("B"), read_from("C")]
    assert foreign_camera_position(batch, None) is None
    assert foreign_camera_position(batch, "A") == 1
    assert foreign_camera_position(batch[:1], "A") is None


def group(**changes: object) -> AlprGroup:
    base: dict[str, object] = {
        "data_type": "alpr_group",
        "epoch_start": 1741010709120,
        "camera_id": 7,
        "best_uuid": "agent-7-1741010709120",
        "best_plate_number": "ABC1234",
        "best_confidence": 91.5,
        "best_region": "us-pa",
    }
    return AlprGroup.model_validate(base | changes)


def test_read_from_alpr_group_falls_back_to_best_plate_and_uuids_when_top_level_missing() -> None:
    mapped = read_from_alpr_group(
        group(
            best_plate_number=None,
            best_confidence=None,
            best_uuid=None,
            best_region=None,
            uuids=["agent-7-1", "agent-7-2"],
            best_plate={"plate": "XYZ987", "confidence": 80.0, "region": "ca-qc"},
        ),
        None,
    )
    [read] = mapped.reads
    assert (read.plate, read.confidence, read.capture_id, read.state) == ("XYZ987", 0.8, "agent-7-1", "QC")
    assert read.captured_at == datetime(2025, 3, 3, 14, 5, 9, 120000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"best_plate_number": None}, ("best_plate_number", "best_plate_number.required")),
        ({"best_confidence": None}, ("best_confidence", "best_confidence.required")),
        ({"epoch_start": 10**20}, ("epoch_start", "epoch_start.range")),
        ({"vehicle_crop_jpeg": "%%%"}, ("vehicle_crop_jpeg", "image.base64")),
    ],
)
def test_read_from_alpr_group_names_webhook_field_when_missing_or_bad(
    changes: dict[str, object], expected: tuple[str, str]
) -> None:
    with pytest.raises(BatchRejectedError) as rejected:
        read_from_alpr_group(group(**changes), None)
    assert [(e.field, e.rule) for e in rejected.value.errors] == [expected]


def test_reads_from_batch_refuses_empty_part_when_image_has_no_bytes() -> None:
    from api.schemas_reads import ReadsBatch, reads_from_batch

    batch = ReadsBatch.model_validate(
        {
            "reads": [
                {
                    "plate": "ABC1234",
                    "confidence": 0.9,
                    "camera_id": "FX-1",
                    "camera_kind": "fixed",
                    "latitude": 43.0,
                    "longitude": -76.0,
                    "captured_at": "2025-03-03T14:00:00Z",
                }
            ]
        }
    )
    with pytest.raises(BatchRejectedError) as rejected:
        reads_from_batch(batch, {("plate_image", 0): b""})
    assert [(e.field, e.rule) for e in rejected.value.errors] == [("plate_image[0]", "image.empty")]
    assert reads_from_batch(batch, {("plate_image", 0): png()}).images
