"""Helpers for camera and reads-ingest tests: registered cameras, reads from them, real image bytes."""

from __future__ import annotations

import dataclasses
import struct
import zlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from domain.camera import Camera, RegisterCamera
from domain.read import RecordRead
from ledger.blobs import BlobStore
from ops.bootstrap import Runtime
from ops.demo import SyntheticCity, camera_registrations


def register_city_cameras(runtime: Runtime, city: SyntheticCity) -> list[Camera]:
    return runtime.app.register_cameras(camera_registrations(city), by="tests", existing_ok=True)


def city(seed: int = 3) -> SyntheticCity:
    return SyntheticCity(seed=seed, start=datetime.now(UTC) - timedelta(days=3))


def city_reads(runtime: Runtime, n: int, *, seed: int = 3, capture_ids: bool = True) -> list[RecordRead]:
    """``n`` reads of a demo city whose cameras are registered, each with a unique capture id."""
    c = city(seed)
    register_city_cameras(runtime, c)
    reads = list(c.reads(n))
    if capture_ids:
        reads = [
            dataclasses.replace(r, capture_id=f"{r.camera_id}-{seed}-{i:06d}") for i, r in enumerate(reads)
        ]
    return reads


def register(
    runtime: Runtime,
    camera_id: str = "FX-1",
    kind: str = "fixed",
    *,
    patrol_vehicle: str | None = None,
) -> Camera:
    return runtime.app.register_camera(
        RegisterCamera(
            camera_id=camera_id,
            kind=kind,
            latitude=43.0481,
            longitude=-76.1474,
            agency="Syracuse PD (synthetic)",
            description="pole at Salina St and Fayette St",
            patrol_vehicle=patrol_vehicle,
        ),
        by="tests",
    )


def read_from(camera: str = "FX-1", kind: str = "fixed", **changes: object) -> RecordRead:
    base = RecordRead(
        plate="ABC1234",
        state="NY",
        confidence=0.93,
        camera_id=camera,
        camera_kind=kind,
        latitude=43.0481,
        longitude=-76.1474,
        captured_at=datetime.now(UTC) - timedelta(seconds=5),
        patrol_vehicle="CAR-12" if kind == "mobile" else None,
        capture_id=None,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def use_blob_store(runtime: Runtime, root: Path) -> BlobStore:
    """The blob store the service ingests images into (until the composition root wires one)."""
    store = getattr(runtime.app, "blobs", None)
    if not isinstance(store, BlobStore):
        store = BlobStore(root)
        runtime.app.blobs = store
    return store


def png(width: int = 4, height: int = 3, seed: int = 0) -> bytes:
    """A real, decodable RGB PNG (stdlib only), different for each ``seed``."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(
        b"\x00" + bytes((x * 40 + seed) % 256 for x in range(width) for _ in range(3)) for _ in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def jpeg_like(seed: int = 0) -> bytes:
    """Bytes with a JPEG signature (ingest checks the signature, not the whole image)."""
    return b"\xff\xd8\xff\xe0" + bytes([seed % 256]) * 32 + b"\xff\xd9"


def ids(cameras: Iterable[Camera]) -> list[str]:
    return [c.camera_id for c in cameras]
