"""``POST /v1/reads`` over HTTP: our JSON, alpr_group webhooks, multipart images (both backends)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.schemas_reads import state_from_region, vehicle_from_alpr
from domain.camera import capture_read_id
from domain.read import Read
from ledger.blobs import BlobStore, blob_digest
from ops.bootstrap import Runtime
from tests.api_support import bearer, device_token_for, token_for
from tests.cameras_support import jpeg_like, png, register, use_blob_store


@pytest.fixture
def blobs(runtime: Runtime, tmp_path: Path) -> BlobStore:
    return use_blob_store(runtime, tmp_path / "blobs")


@pytest.fixture
def client(runtime: Runtime, blobs: BlobStore) -> Iterator[TestClient]:
    register(runtime, "FX-1")
    register(runtime, "MB-1", "mobile", patrol_vehicle="CAR-12")
    register(runtime, "1414799424")  # an OpenALPR agent's numeric camera id
    with TestClient(create_app(runtime)) as c:
        yield c


@pytest.fixture
def device(runtime: Runtime) -> dict[str, str]:
    return bearer(device_token_for(runtime))


def read_json(i: int = 0, camera: str = "FX-1", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "plate": f"ABC{1000 + i}",
        "state": "NY",
        "confidence": 0.91,
        "camera_id": camera,
        "camera_kind": "fixed",
        "latitude": 43.0481,
        "longitude": -76.1474,
        "captured_at": (datetime.now(UTC) - timedelta(seconds=30)).isoformat(),
        "capture_id": f"{camera}-{i:06d}",
        "vehicle": {"make": "Honda", "colour": "blue"},
    }
    return body | changes


def alpr_group(**changes: Any) -> dict[str, Any]:
    """A realistic Rekor Scout (version 2) alpr_group, as its webhook posts it."""
    epoch = int((datetime.now(UTC) - timedelta(seconds=20)).timestamp() * 1000)
    agent = "Q2W3E4R5T6Y7U8I9O0P1A2S3D4F5G6H7J8K9L0Z1"
    group: dict[str, Any] = {
        "version": 2,
        "data_type": "alpr_group",
        "epoch_start": epoch,
        "epoch_end": epoch + 2400,
        "frame_start": 0,
        "frame_end": 41,
        "company_id": "44c9274f-8d57-432a-8cd7-8c991f22ead3",
        "agent_uid": agent,
        "agent_version": "2.7.101",
        "agent_type": "alprd",
        "camera_id": 1414799424,
        "country": "us",
        "uuids": [f"{agent}-1414799424-{epoch}", f"{agent}-1414799424-{epoch + 120}"],
        "plate_indexes": [0, 0],
        "best_plate": {
            "plate": "D2651BF",
            "confidence": 92.94,
            "matches_template": 0,
            "plate_index": 0,
            "region": "us-ny",
            "region_confidence": 57,
            "processing_time_ms": 47.0,
            "requested_topn": 10,
            "coordinates": [
                {"x": 3257, "y": 188},
                {"x": 3467, "y": 194},
                {"x": 3460, "y": 307},
                {"x": 3247, "y": 302},
            ],
            "plate_crop_jpeg": base64.b64encode(jpeg_like(7)).decode(),
            "vehicle_region": {"x": 3042, "y": 0, "width": 630, "height": 630},
        },
        "best_confidence": 92.94,
        "best_uuid": f"{agent}-1414799424-{epoch + 120}",
        "best_plate_number": "D2651BF",
        "best_region": "us-ny",
        "best_region_confidence": 57.28,
        "best_image_width": 4096,
        "best_image_height": 2160,
        "candidates": [
            {"plate": "D2651BF", "confidence": 92.94, "matches_template": 0},
            {"plate": "D265BF", "confidence": 80.09, "matches_template": 0},
        ],
        "is_parked": False,
        "is_preview": False,
        "travel_direction": 182.5,
        "gps_latitude": 0.0,
        "gps_longitude": 0.0,
        "vehicle_crop_jpeg": base64.b64encode(jpeg_like(8)).decode(),
        "vehicle": {
            "color": [{"name": "silver-gray", "confidence": 75.1}, {"name": "white", "confidence": 12.0}],
            "make": [{"name": "ford", "confidence": 81.2}],
            "make_model": [{"name": "ford_explorer", "confidence": 60.4}],
            "body_type": [{"name": "suv-standard", "confidence": 88.8}],
            "year": [{"name": "2010-2014", "confidence": 40.1}],
            "orientation": [{"name": "180", "confidence": 90.0}],
        },
    }
    return group | changes


def rules(response: Any) -> list[tuple[str, str]]:
    return [(e["field"], e["rule"]) for e in response.json()["errors"]]


def test_post_reads_stores_batch_when_json_valid(
    client: TestClient, runtime: Runtime, device: dict[str, str]
) -> None:
    response = client.post("/v1/reads", json={"reads": [read_json(i) for i in range(3)]}, headers=device)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["duplicates"] == [] and body["hits"] == []
    assert body["read_ids"] == [str(capture_read_id("FX-1", f"FX-1-{i:06d}")) for i in range(3)]
    read = runtime.app.repository.get(capture_read_id("FX-1", "FX-1-000001"))
    assert (
        isinstance(read, Read)
        and read.plate == "ABC1001"
        and read.vehicle == {"make": "Honda", "colour": "blue"}
    )


def test_post_reads_returns_same_ids_and_stores_nothing_when_retried(
    client: TestClient, runtime: Runtime, device: dict[str, str]
) -> None:
    batch = {"reads": [read_json(i) for i in range(5)]}
    first = client.post("/v1/reads", json=batch, headers=device).json()
    size = runtime.ledger.size()
    again = client.post("/v1/reads", json=batch, headers=device)
    assert again.status_code == 201
    assert again.json()["read_ids"] == first["read_ids"] and again.json()["duplicates"] == [0, 1, 2, 3, 4]
    assert runtime.ledger.size() == size


def test_post_reads_rejects_whole_batch_with_item_errors_when_items_invalid(
    client: TestClient, runtime: Runtime, device: dict[str, str]
) -> None:
    size = runtime.ledger.size()
    batch = [read_json(i) for i in range(5)]
    batch[1]["plate"] = "AB$1"
    batch[3]["camera_id"] = "FX-404"
    batch[4]["camera_kind"] = "mobile"
    batch[4]["patrol_vehicle"] = "CAR-1"
    response = client.post("/v1/reads", json={"reads": batch}, headers=device)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert rules(response) == [
        ("reads[1].plate", "plate.charset"),
        ("reads[3].camera_id", "camera.unknown"),
        ("reads[4].camera_kind", "camera_kind.mismatch"),
    ]
    assert runtime.ledger.size() == size


def test_post_reads_names_item_field_when_shape_wrong(client: TestClient, device: dict[str, str]) -> None:
    batch = [read_json(0), read_json(1)]
    del batch[1]["confidence"]
    batch[0]["speed"] = 55
    response = client.post("/v1/reads", json={"reads": batch}, headers=device)
    assert response.status_code == 422
    assert sorted(rules(response)) == [
        ("reads[0].speed", "field.unknown"),
        ("reads[1].confidence", "confidence.required"),
    ]


def test_post_reads_refused_when_camera_out_of_service(
    client: TestClient, runtime: Runtime, device: dict[str, str]
) -> None:
    runtime.app.record_camera_check("FX-1", function_ok=True, alignment_ok=False, by="sgt")
    response = client.post("/v1/reads", json={"reads": [read_json(0)]}, headers=device)
    assert response.status_code == 422 and rules(response) == [
        ("reads[0].camera_id", "camera.out_of_service")
    ]


def test_post_reads_refuses_batch_over_limit_when_too_large(
    client: TestClient, device: dict[str, str]
) -> None:
    response = client.post("/v1/reads", json={"reads": [read_json(0)] * 1001}, headers=device)
    assert response.status_code == 422 and rules(response) == [("reads", "batch.size")]


def test_post_reads_stores_base64_images_in_blob_store_when_inline(
    client: TestClient, runtime: Runtime, blobs: BlobStore, device: dict[str, str]
) -> None:
    plate = png(seed=5)
    body = read_json(0, plate_image="data:image/png;base64," + base64.b64encode(plate).decode())
    response = client.post("/v1/reads", json={"reads": [body]}, headers=device)
    assert response.status_code == 201, response.text
    read = runtime.app.repository.get(capture_read_id("FX-1", "FX-1-000000"))
    assert isinstance(read, Read) and read.plate_image == blob_digest(plate)
    assert runtime.app.read_image(read.id, blob_digest(plate)) == plate


def test_post_reads_refuses_image_ref_when_blob_missing(client: TestClient, device: dict[str, str]) -> None:
    response = client.post(
        "/v1/reads", json={"reads": [read_json(0, vehicle_image="e" * 64)]}, headers=device
    )
    assert response.status_code == 422 and rules(response) == [("reads[0].vehicle_image", "image.missing")]


def test_post_reads_refuses_image_when_not_base64(client: TestClient, device: dict[str, str]) -> None:
    response = client.post(
        "/v1/reads", json={"reads": [read_json(0, plate_image="not base64!")]}, headers=device
    )
    assert response.status_code == 422 and rules(response) == [("reads[0].plate_image", "image.base64")]


def test_post_reads_stores_multipart_images_when_parts_match_reads(
    client: TestClient, runtime: Runtime, blobs: BlobStore, device: dict[str, str]
) -> None:
    plate0, vehicle1 = png(8, 4, seed=11), png(16, 9, seed=12)
    reads = {"reads": [read_json(0), read_json(1)]}
    response = client.post(
        "/v1/reads",
        data={"reads": json.dumps(reads)},
        files=[
            ("plate_image[0]", ("p0.png", plate0, "image/png")),
            ("vehicle_image[1]", ("v1.png", vehicle1, "image/png")),
        ],
        headers=device,
    )
    assert response.status_code == 201, response.text
    first = runtime.app.repository.get(capture_read_id("FX-1", "FX-1-000000"))
    second = runtime.app.repository.get(capture_read_id("FX-1", "FX-1-000001"))
    assert isinstance(first, Read) and isinstance(second, Read)
    assert (first.plate_image, first.vehicle_image) == (blob_digest(plate0), None)
    assert (second.plate_image, second.vehicle_image) == (None, blob_digest(vehicle1))
    assert runtime.app.read_image(first.id, blob_digest(plate0)) == plate0
    assert runtime.app.read_image(second.id, blob_digest(vehicle1)) == vehicle1


def test_post_reads_refuses_multipart_when_part_has_no_read(
    client: TestClient, runtime: Runtime, device: dict[str, str]
) -> None:
    size = runtime.ledger.size()
    response = client.post(
        "/v1/reads",
        data={"reads": json.dumps({"reads": [read_json(0)]})},
        files=[("plate_image[3]", ("p.png", png(), "image/png")), ("photo", ("x.png", png(), "image/png"))],
        headers=device,
    )
    assert response.status_code == 422
    assert sorted(rules(response)) == [
        ("photo", "multipart.part_unknown"),
        ("plate_image[3]", "image.unmatched"),
    ]
    assert runtime.ledger.size() == size


def test_post_reads_refuses_multipart_when_image_given_twice(
    client: TestClient, device: dict[str, str]
) -> None:
    inline = base64.b64encode(png(seed=1)).decode()
    response = client.post(
        "/v1/reads",
        data={"reads": json.dumps({"reads": [read_json(0, plate_image=inline)]})},
        files=[
            ("plate_image[0]", ("p.png", png(seed=2), "image/png")),
            ("vehicle_image[0]", ("a.png", png(seed=3), "image/png")),
            ("vehicle_image[0]", ("b.png", png(seed=4), "image/png")),
        ],
        headers=device,
    )
    assert response.status_code == 422
    assert sorted(rules(response)) == [
        ("reads[0].plate_image", "image.conflict"),
        ("vehicle_image[0]", "multipart.part_repeated"),
    ]


def test_post_reads_stores_alpr_group_images_when_sent_as_parts(
    client: TestClient, runtime: Runtime, blobs: BlobStore, device: dict[str, str]
) -> None:
    group = alpr_group(vehicle_crop_jpeg=None)
    del group["best_plate"]["plate_crop_jpeg"]
    vehicle = png(32, 18, seed=9)
    response = client.post(
        "/v1/reads",
        data={"reads": json.dumps(group)},
        files=[("vehicle_image[0]", ("v.png", vehicle, "image/png"))],
        headers=device,
    )
    assert response.status_code == 201, response.text
    read = runtime.app.repository.get(capture_read_id("1414799424", group["best_uuid"]))
    assert isinstance(read, Read) and (read.plate_image, read.vehicle_image) == (None, blob_digest(vehicle))
    assert runtime.app.read_image(read.id, blob_digest(vehicle)) == vehicle
    extra = client.post(
        "/v1/reads",
        data={"reads": json.dumps(group)},
        files=[("plate_image[1]", ("p.png", png(), "image/png"))],
        headers=device,
    )
    assert extra.status_code == 422 and rules(extra) == [("plate_image[1]", "image.unmatched")]


def test_post_reads_refuses_multipart_when_reads_part_missing(
    client: TestClient, device: dict[str, str]
) -> None:
    response = client.post(
        "/v1/reads", files=[("plate_image[0]", ("p.png", png(), "image/png"))], headers=device
    )
    assert response.status_code == 422 and rules(response) == [("reads", "reads.required")]


def test_post_reads_ingests_alpr_group_when_webhook_posts_one(
    client: TestClient, runtime: Runtime, blobs: BlobStore, device: dict[str, str]
) -> None:
    group = alpr_group()
    response = client.post("/v1/reads", json=group, headers=device)
    assert response.status_code == 201, response.text
    [read_id] = response.json()["read_ids"]
    assert read_id == str(capture_read_id("1414799424", group["best_uuid"]))
    read = runtime.app.repository.get(capture_read_id("1414799424", group["best_uuid"]))
    assert isinstance(read, Read)
    assert (read.plate, read.state, read.camera_kind.value) == ("D2651BF", "NY", "fixed")
    assert read.confidence == pytest.approx(0.9294)
    assert read.captured_at == datetime.fromtimestamp(group["epoch_start"] / 1000, UTC)
    assert (read.latitude, read.longitude) == (43.0481, -76.1474)  # no GPS fix: the registered place
    assert read.vehicle == {
        "make": "ford",
        "model": "explorer",
        "colour": "silver-gray",
        "body_type": "suv-standard",
    }
    assert runtime.app.read_image(read.id, read.plate_image or "") == jpeg_like(7)
    assert runtime.app.read_image(read.id, read.vehicle_image or "") == jpeg_like(8)
    again = client.post("/v1/reads", json=group, headers=device)  # the webhook retried
    assert again.json() == {"read_ids": [read_id], "duplicates": [0], "hits": []}


def test_post_reads_names_webhook_fields_when_alpr_group_invalid(
    client: TestClient, device: dict[str, str]
) -> None:
    response = client.post("/v1/reads", json=alpr_group(best_plate_number="D2$51"), headers=device)
    assert response.status_code == 422 and rules(response) == [("best_plate_number", "plate.charset")]
    unknown = client.post("/v1/reads", json=alpr_group(camera_id=77), headers=device)
    assert unknown.status_code == 422 and rules(unknown) == [("camera_id", "camera.unknown")]
    no_capture = client.post("/v1/reads", json=alpr_group(best_uuid=None, uuids=[]), headers=device)
    assert no_capture.status_code == 422 and rules(no_capture) == [("best_uuid", "best_uuid.required")]


def test_post_reads_uses_gps_when_alpr_group_from_mobile_camera(
    client: TestClient, runtime: Runtime, device: dict[str, str]
) -> None:
    group = alpr_group(camera_id="MB-1", gps_latitude=43.05, gps_longitude=-76.16)
    assert client.post("/v1/reads", json=group, headers=device).status_code == 201
    read = runtime.app.repository.get(capture_read_id("MB-1", group["best_uuid"]))
    assert isinstance(read, Read)
    assert (read.camera_kind.value, read.patrol_vehicle, read.latitude) == ("mobile", "CAR-12", 43.05)
    no_fix = client.post("/v1/reads", json=alpr_group(camera_id="MB-1", best_uuid="other"), headers=device)
    assert no_fix.status_code == 422 and rules(no_fix) == [("gps_latitude", "gps.required")]


def test_post_reads_stores_nothing_when_heartbeat_or_preview(
    client: TestClient, runtime: Runtime, device: dict[str, str]
) -> None:
    size = runtime.ledger.size()
    heartbeat = {"version": 1, "data_type": "heartbeat", "timestamp": 1453426302097, "video_streams": []}
    for body in (heartbeat, alpr_group(is_preview=True)):
        response = client.post("/v1/reads", json=body, headers=device)
        assert response.status_code == 201 and response.json()["read_ids"] == []
    assert runtime.ledger.size() == size
    unsupported = client.post("/v1/reads", json={"data_type": "alpr_results", "results": []}, headers=device)
    assert unsupported.status_code == 422 and rules(unsupported) == [("data_type", "data_type.unsupported")]


def test_post_reads_forbidden_and_recorded_when_device_bound_to_other_camera(
    client: TestClient, runtime: Runtime
) -> None:
    bound = bearer(device_token_for(runtime, camera_id="FX-1"))
    size = runtime.ledger.size()
    response = client.post(
        "/v1/reads", json={"reads": [read_json(0), read_json(1, camera="MB-1")]}, headers=bound
    )
    assert response.status_code == 403 and rules(response) == [("reads[1].camera_id", "device.camera_bound")]
    assert runtime.ledger.size() == size + 1  # only the recorded denial
    ok = client.post("/v1/reads", json={"reads": [read_json(2)]}, headers=bound)
    assert ok.status_code == 201


def test_post_reads_forbidden_when_caller_not_a_device(client: TestClient, runtime: Runtime) -> None:
    officer = bearer(token_for(runtime, "officer"))
    response = client.post("/v1/reads", json={"reads": [read_json(0)]}, headers=officer)
    assert response.status_code == 403


def test_post_reads_refuses_when_content_type_unsupported(client: TestClient, device: dict[str, str]) -> None:
    response = client.post("/v1/reads", content=b"plate=ABC", headers=device | {"content-type": "text/plain"})
    assert response.status_code == 415
    bad_json = client.post("/v1/reads", content=b"{", headers=device | {"content-type": "application/json"})
    assert bad_json.status_code == 422 and rules(bad_json) == [("request", "json.invalid")]


@pytest.mark.parametrize(
    ("region", "state"),
    [
        ("us-ny", "NY"),
        ("ca-on", "ON"),
        ("mo", "MO"),
        ("mx-nle", None),
        ("us-zz", None),
        ("", None),
        (None, None),
    ],
)
def test_state_from_region_maps_openalpr_region_when_us_or_canada(
    region: str | None, state: str | None
) -> None:
    assert state_from_region(region) == state


def test_vehicle_from_alpr_keeps_best_guesses_when_lists_given() -> None:
    from api.schemas_reads import AlprVehicle

    vehicle = AlprVehicle.model_validate(
        {"make": [{"name": "toyota"}], "make_model": [{"name": "toyota_rav4"}]}
    )
    assert vehicle_from_alpr(vehicle) == {"make": "toyota", "model": "rav4"}
    assert vehicle_from_alpr(AlprVehicle()) is None
