"""Delivery: sightings become ``RecordRead`` commands in a durable local queue, sent in order.

The queue is one SQLite file (WAL, ``synchronous=FULL``): :meth:`DeliveryQueue.put` commits
before it returns, so a capture process killed with SIGKILL loses no read it had queued. A
:class:`Sender` drains the queue oldest first in batches through a transport: in-process
(:class:`ServiceTransport`, the application service's ``ingest_reads``) or over HTTP
(:class:`HttpTransport`, ``POST /v1/reads`` with a bearer token, images base64 in the JSON). A
row is deleted only after the ledger acknowledged its batch. When the ledger is unreachable the
rows stay and the sender retries with exponential backoff. A read the ledger refuses (4xx naming
that read) is moved aside to the ``rejected`` table with the error, and the rest of its batch is
sent again without it, so one bad read does not block the others.

Resending is idempotent: each read carries a capture id, and the ledger derives the read id from
(camera, capture id). The capture id is built WITHOUT the plate: a SHA-256 over the camera, the
time the plate was first seen and the frame time and bounding box of the read's best frame. The
ledger stores capture ids in clear, so an id derived from the plate (even under a key kept beside
the queue) could be brute-forced back to it from a backup; this one holds nothing a read does not
already show in clear (camera and time), and is still the same when the same source is captured
again (the same frames give the same sightings), so a re-run stores nothing twice. Two plates of
one frame differ by their boxes.

Plates and images never wait in plaintext: each row's read and images are sealed with AES-256-GCM
under a queue key kept in a separate 0600 file beside the queue (``<queue>.key``), bound to the
row's capture id, so a copy of the queue file alone (a backup, a pulled disk image of the data
partition) reads nothing. Rows are deleted once acknowledged, with SQLite's ``secure_delete`` on so
their bytes are overwritten; deleting the key file shreds whatever is still queued or rejected. A
queue whose key file is gone while rows wait refuses to open (:class:`QueueKeyMissingError`)
rather than make a new key; a row that does not open under the key is moved to the ``unreadable``
table (only its capture id is logged) so it never blocks the queue. The queue file, its WAL and
shared-memory files are created under umask 077 (0600).

Over HTTP the ledger must be ``https`` unless it is on the loopback (or the operator said
``allow_insecure``); redirects are never followed (the bearer token must not reach another
host); a batch is acknowledged only on a 2xx JSON object whose ``read_ids`` count equals the
batch, and anything transient (connection errors, truncated answers) is retried.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import ipaddress
import json
import logging
import os
import re
import secrets
import sqlite3
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.read import RecordRead
from recognition.base import Sighting

log = logging.getLogger(__name__)

DEFAULT_BATCH = 50
MAX_BATCH_IMAGE_BYTES = 16 * 1024 * 1024
"""Image bytes per batch at most (base64 adds a third; the server takes 64 MiB bodies)."""


@dataclass(frozen=True, slots=True)
class CameraInfo:
    """What a read says about its camera; from the camera registry."""

    camera_id: str
    kind: str
    latitude: float
    longitude: float
    patrol_vehicle: str | None = None


def image_digest(data: bytes) -> str:
    """How reads reference an image: its SHA-256 hex (the blob store's reference)."""
    return hashlib.sha256(data).hexdigest()


def capture_id(camera_id: str, first_seen: datetime, captured_at: datetime, box: Sequence[int] | None) -> str:
    """The deterministic capture id of a sighting, from its camera, first-seen time, best frame's
    time and box (to the microsecond and pixel); the plate never enters it."""
    first = first_seen.astimezone(UTC)
    message = json.dumps(
        [camera_id, first.isoformat(), captured_at.astimezone(UTC).isoformat(), list(box or ())]
    ).encode()
    tag = hashlib.sha256(b"alpr-capture-id:" + message).hexdigest()[:24]
    return f"{first:%Y%m%dT%H%M%S.%f}Z-{tag}"


def sighting_read(sighting: Sighting, camera: CameraInfo) -> tuple[RecordRead, dict[str, bytes]]:
    """The ``RecordRead`` for ``sighting`` from ``camera``, and its images by digest."""
    images: dict[str, bytes] = {}
    refs: dict[str, str | None] = {"plate_image": None, "vehicle_image": None}
    for name, data in (("plate_image", sighting.plate_crop), ("vehicle_image", sighting.vehicle_image)):
        if data:
            refs[name] = image_digest(data)
            images[refs[name]] = data  # type: ignore[index]
    first_seen = sighting.first_seen or sighting.captured_at
    read = RecordRead(
        plate=sighting.plate,
        state=sighting.state,
        confidence=round(min(1.0, max(0.0, float(sighting.confidence))), 4),
        camera_id=camera.camera_id,
        camera_kind=camera.kind,
        latitude=camera.latitude,
        longitude=camera.longitude,
        captured_at=sighting.captured_at.astimezone(UTC),
        patrol_vehicle=camera.patrol_vehicle,
        capture_id=capture_id(camera.camera_id, first_seen, sighting.captured_at, sighting.box),
        plate_image=refs["plate_image"],
        vehicle_image=refs["vehicle_image"],
    )
    return read, images


def read_to_json(read: RecordRead) -> dict[str, Any]:
    body = asdict(read)
    body["captured_at"] = read.captured_at.isoformat()
    if body["vehicle"] is not None:
        body["vehicle"] = dict(body["vehicle"])
    return body


def read_from_json(body: Mapping[str, Any]) -> RecordRead:
    values = dict(body)
    values["captured_at"] = datetime.fromisoformat(values["captured_at"])
    return RecordRead(**values)


# ------------------------------------------------------------------------------------------------
# The queue
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueuedRead:
    seq: int
    read: RecordRead
    images: dict[str, bytes]

    @property
    def image_bytes(self) -> int:
        return sum(len(v) for v in self.images.values())


@dataclass(frozen=True, slots=True)
class RejectedRead:
    seq: int
    capture_id: str | None
    error: str
    rejected_at: str


def _sealing_key(path: Path) -> bytes:
    """The queue's sealing key: 32 random bytes in ``path`` (0600), made on first use."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(100):  # another process may be writing it this instant
            key = path.read_bytes()
            if len(key) == 32:
                return key
            threading.Event().wait(0.02)
        raise ValueError(f"{path.name}: not a queue key (expected 32 bytes)") from None
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
        f.flush()
        os.fsync(f.fileno())
    return key


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS pending (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    capture_id TEXT UNIQUE,
    read TEXT NOT NULL,
    images TEXT NOT NULL,
    queued_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE TABLE IF NOT EXISTS unreadable (
    seq INTEGER PRIMARY KEY,
    capture_id TEXT,
    read TEXT NOT NULL,
    images TEXT NOT NULL,
    queued_at TEXT NOT NULL,
    moved_at TEXT NOT NULL,
    error TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rejected (
    seq INTEGER PRIMARY KEY,
    capture_id TEXT,
    read TEXT NOT NULL,
    images TEXT NOT NULL,
    queued_at TEXT NOT NULL,
    rejected_at TEXT NOT NULL,
    error TEXT NOT NULL
);
"""


class QueueKeyMissingError(RuntimeError):
    """The queue's key file is gone while sealed reads wait in the queue."""


class DeliveryQueue:
    """The durable queue: one SQLite file. One instance per thread (it holds a connection);
    several processes may share the file (SQLite locks it)."""

    def __init__(self, path: Path | str, *, clock: Callable[[], datetime] | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.clock = clock or (lambda: datetime.now(UTC))
        # Plates wait here until sent: the file and its -wal / -shm companions are the owner's only.
        previous_umask = os.umask(0o077)
        try:
            fresh = not self.path.exists()
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            if fresh:
                os.chmod(self.path, 0o600)
            # Switching to WAL needs a moment alone with the file and does not wait for a busy
            # one; it is persistent, so only the first opener of a new file has to do it.
            mode = self._db.execute("PRAGMA journal_mode").fetchone()[0]
            for attempt in range(100):
                if str(mode).lower() == "wal":
                    break
                try:
                    mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                except sqlite3.OperationalError:
                    if attempt == 99:
                        raise
                    threading.Event().wait(0.05)
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA secure_delete=ON")
            self._db.executescript(_SCHEMA)
            # Queues made before capture ids left the plate out kept an HMAC key here: unused now.
            self._db.execute("DELETE FROM meta WHERE name = 'capture_key'")
            key_path = self.path.with_name(self.path.name + ".key")
            if not key_path.exists():
                waiting = self._db.execute(
                    "SELECT (SELECT count(*) FROM pending) + (SELECT count(*) FROM rejected)"
                ).fetchone()[0]
                if waiting:
                    self._db.close()
                    raise QueueKeyMissingError(
                        f"{key_path.name} is missing but {self.path.name} holds {waiting} sealed "
                        "read(s): restore the key file (a new key would leave them unreadable), or "
                        "move the queue file aside to start an empty queue"
                    )
            self._seal = AESGCM(_sealing_key(key_path))
        finally:
            os.umask(previous_umask)

    def _sealed(self, capture_id: str | None, value: Any) -> str:
        nonce = secrets.token_bytes(12)
        aad = f"alpr-capture-queue:{capture_id or ''}".encode()
        data = self._seal.encrypt(nonce, json.dumps(value).encode(), aad)
        return base64.b64encode(nonce + data).decode("ascii")

    def _opened(self, capture_id: str | None, token: str) -> Any:
        raw = base64.b64decode(token)
        aad = f"alpr-capture-queue:{capture_id or ''}".encode()
        return json.loads(self._seal.decrypt(raw[:12], raw[12:], aad))

    class _Tx:
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def __enter__(self) -> sqlite3.Connection:
            self.db.execute("BEGIN IMMEDIATE")
            return self.db

        def __exit__(self, exc_type: object, *_: object) -> None:
            self.db.execute("ROLLBACK" if exc_type is not None else "COMMIT")

    def _tx(self) -> DeliveryQueue._Tx:
        return DeliveryQueue._Tx(self._db)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> DeliveryQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- writing

    def put(self, read: RecordRead, images: Mapping[str, bytes] | None = None) -> bool:
        """Queue one read with its images; committed (and synced) on return. False when a read
        with the same capture id is already waiting (it is not queued twice)."""
        encoded = {k: base64.b64encode(v).decode("ascii") for k, v in (images or {}).items()}
        with self._tx() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO pending (capture_id, read, images, queued_at) VALUES (?, ?, ?, ?)",
                (
                    read.capture_id,
                    self._sealed(read.capture_id, read_to_json(read)),
                    self._sealed(read.capture_id, encoded),
                    self.clock().isoformat(),
                ),
            )
            return cursor.rowcount == 1

    def put_sighting(self, sighting: Sighting, camera: CameraInfo) -> bool:
        read, images = sighting_read(sighting, camera)
        return self.put(read, images)

    # ---------------------------------------------------------------- reading and settling

    def pending(self, limit: int, *, max_image_bytes: int = MAX_BATCH_IMAGE_BYTES) -> list[QueuedRead]:
        """The oldest waiting reads, at most ``limit`` and (after the first) ``max_image_bytes``.

        A row that cannot be opened (sealed under another key, damaged) is moved to the
        ``unreadable`` table, so it never blocks the reads behind it."""
        while True:
            rows = self._db.execute(
                "SELECT seq, capture_id, read, images FROM pending ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
            out: list[QueuedRead] = []
            total = 0
            moved = False
            for seq, capture_id, read, images in rows:
                try:
                    item = QueuedRead(
                        seq,
                        read_from_json(self._opened(capture_id, read)),
                        {k: base64.b64decode(v) for k, v in self._opened(capture_id, images).items()},
                    )
                except (InvalidTag, ValueError, TypeError, KeyError) as exc:
                    self._set_aside(seq, capture_id, type(exc).__name__)
                    moved = True
                    continue
                total += item.image_bytes
                if out and total > max_image_bytes:
                    break
                out.append(item)
            if out or not moved:
                return out

    def _set_aside(self, seq: int, capture_id: str | None, error: str) -> None:
        log.error("queued read %s cannot be opened (%s); moved to the unreadable table", capture_id, error)
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO unreadable"
                " (seq, capture_id, read, images, queued_at, moved_at, error)"
                " SELECT seq, capture_id, read, images, queued_at, ?, ? FROM pending WHERE seq = ?",
                (self.clock().isoformat(), error, seq),
            )
            db.execute("DELETE FROM pending WHERE seq = ?", (seq,))

    def unreadable(self) -> list[str | None]:
        """Capture ids of the rows set aside because they could not be opened, oldest first."""
        rows = self._db.execute("SELECT capture_id FROM unreadable ORDER BY seq").fetchall()
        return [row[0] for row in rows]

    def ack(self, seqs: Sequence[int]) -> None:
        """The ledger stored (or already had) these reads: forget them."""
        with self._tx() as db:
            db.executemany("DELETE FROM pending WHERE seq = ?", [(s,) for s in seqs])

    def reject(self, seq: int, error: str) -> None:
        """The ledger refused this read: keep it aside with the error, out of the way."""
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO rejected"
                " (seq, capture_id, read, images, queued_at, rejected_at, error)"
                " SELECT seq, capture_id, read, images, queued_at, ?, ? FROM pending WHERE seq = ?",
                (self.clock().isoformat(), error, seq),
            )
            db.execute("DELETE FROM pending WHERE seq = ?", (seq,))

    def note_failure(self, seqs: Sequence[int], error: str) -> None:
        with self._tx() as db:
            db.executemany(
                "UPDATE pending SET attempts = attempts + 1, last_error = ? WHERE seq = ?",
                [(error[:500], s) for s in seqs],
            )

    def requeue_rejected(self) -> int:
        """Move every rejected read back to the queue (after the cause was fixed); returns how many."""
        with self._tx() as db:
            moved = db.execute(
                "INSERT OR IGNORE INTO pending (seq, capture_id, read, images, queued_at)"
                " SELECT seq, capture_id, read, images, queued_at FROM rejected ORDER BY seq"
            ).rowcount
            db.execute("DELETE FROM rejected")
            return moved

    def pending_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM pending").fetchone()[0])

    def rejected(self) -> list[RejectedRead]:
        rows = self._db.execute(
            "SELECT seq, capture_id, error, rejected_at FROM rejected ORDER BY seq"
        ).fetchall()
        return [RejectedRead(*row) for row in rows]


# ------------------------------------------------------------------------------------------------
# Transports
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one send did. ``stored``: the batch was acknowledged (``duplicates`` of them were
    already in the ledger; ``hits`` raised). ``refused``: positions the ledger refused, with the
    error (nothing of the batch was stored). ``retry``: the ledger was unreachable or failed;
    try again later. ``fatal``: no point retrying without an operator (bad token)."""

    stored: bool = False
    duplicates: int = 0
    hits: int = 0
    refused: dict[int, str] = field(default_factory=dict)
    retry: str | None = None
    fatal: str | None = None
    split: bool = False
    """The batch as a whole was refused without naming a read: send its reads one by one."""


class Transport(Protocol):
    description: str

    def send(self, batch: Sequence[QueuedRead]) -> Outcome: ...


_POSITION = re.compile(r"^reads(?:\[(\d+)\]|\.(\d+))")


def _position(field_name: str) -> int | None:
    match = _POSITION.match(field_name or "")
    if match is None:
        return None
    return int(match.group(1) or match.group(2))


def _refusals(errors: Sequence[tuple[str, str]], size: int) -> Outcome:
    """Errors (field, text) of a refused batch -> per-read refusals, or a split when some error
    names no read of the batch."""
    refused: dict[int, str] = {}
    for field_name, text in errors:
        position = _position(field_name)
        if position is None or position >= size:
            return Outcome(split=True, refused={0: text} if size == 1 else {})
        refused[position] = f"{refused[position]}; {text}" if position in refused else text
    if not refused:
        return Outcome(split=True)
    return Outcome(refused=refused)


class ServiceTransport:
    """Appends through the application service in this process (``ingest_reads``)."""

    description = "in-process"

    def __init__(self, app: Any) -> None:
        self.app = app

    def send(self, batch: Sequence[QueuedRead]) -> Outcome:
        from domain.errors import AuthenticationError, DomainError
        from ops.commands.reads import BatchRejectedError

        images: dict[str, bytes] = {}
        for item in batch:
            images.update(item.images)
        try:
            result = self.app.ingest_reads([item.read for item in batch], images=images)
        except BatchRejectedError as exc:
            return _refusals(
                [(e.field, f"{e.field}: {e.message} [{e.rule}]") for e in exc.errors], len(batch)
            )
        except AuthenticationError as exc:
            return Outcome(fatal=str(exc))
        except DomainError as exc:
            return _refusals([(exc.field, f"{exc.field}: {exc.message} [{exc.rule}]")], len(batch))
        except Exception as exc:  # noqa: BLE001 - the database may be down: wait and retry
            return Outcome(retry=f"{type(exc).__name__}: {exc}")
        return Outcome(stored=True, duplicates=len(result.duplicates), hits=len(result.hit_ids))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are not followed: the 3xx comes back as an :class:`urllib.error.HTTPError`."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:  # noqa: ARG002
        return None


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class InsecureServerError(ValueError):
    """A plain-http ledger URL for a host other than the loopback, without ``allow_insecure``."""


class HttpTransport:
    """``POST {server}/v1/reads`` with a bearer token; images base64 inside the JSON body."""

    def __init__(
        self, server: str, token: str, *, timeout_s: float = 30.0, allow_insecure: bool = False
    ) -> None:
        from recognition.sources import redact_url

        parts = urlsplit(server)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InsecureServerError(f"{redact_url(server)}: the ledger URL must be http(s)://HOST[:PORT]")
        if parts.scheme == "http" and not allow_insecure and not _is_loopback(parts.hostname):
            raise InsecureServerError(
                f"{redact_url(server)}: plain http to a host other than the loopback would send the "
                "token and the plates in clear; use https (or --insecure-http on a trusted network)"
            )
        self.url = server.rstrip("/") + "/v1/reads"
        self._token = token
        self.timeout_s = timeout_s
        self.description = redact_url(self.url)
        self._opener = urllib.request.build_opener(_NoRedirect)

    def __repr__(self) -> str:
        return f"HttpTransport({self.description!r})"

    def send(self, batch: Sequence[QueuedRead]) -> Outcome:
        reads = []
        for item in batch:
            body = read_to_json(item.read)
            for name in ("plate_image", "vehicle_image"):
                ref = body.get(name)
                if ref is not None and ref in item.images:
                    body[name] = base64.b64encode(item.images[ref]).decode("ascii")
            reads.append(body)
        request = urllib.request.Request(
            self.url,
            data=json.dumps({"reads": reads}).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self._token}"},
        )
        try:
            with self._opener.open(request, timeout=self.timeout_s) as response:
                status = response.status
                raw = response.read()
        except urllib.error.HTTPError as exc:
            return self._refused(exc, batch)
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or f"{type(exc).__name__}: {exc}"
            return Outcome(retry=f"{self.description} unreachable: {reason}")
        if not 200 <= status < 300:
            return Outcome(retry=f"HTTP {status}: not a success answer")
        try:
            answer = json.loads(raw)
        except ValueError:
            return Outcome(retry=f"HTTP {status}: the answer is not JSON")
        read_ids = answer.get("read_ids") if isinstance(answer, dict) else None
        if not isinstance(read_ids, list) or len(read_ids) != len(batch):
            return Outcome(
                retry=f"HTTP {status}: the answer does not acknowledge the {len(batch)} read(s) sent"
            )
        return Outcome(
            stored=True,
            duplicates=len(answer.get("duplicates") or []),
            hits=len(answer.get("hits") or []),
        )

    def _refused(self, exc: urllib.error.HTTPError, batch: Sequence[QueuedRead]) -> Outcome:
        status = exc.code
        if 300 <= status < 400:
            where = exc.headers.get("Location", "another address") if exc.headers else "another address"
            from recognition.sources import redact_url

            return Outcome(
                fatal=f"HTTP {status}: the ledger redirects to {redact_url(str(where))}; redirects are "
                "not followed (the token must not go to another host): give --server the final URL"
            )
        try:
            problem = json.loads(exc.read() or b"{}")
        except (ValueError, http.client.HTTPException, OSError):
            problem = {}
        if not isinstance(problem, dict):
            problem = {}
        detail = str(problem.get("detail") or exc.reason)
        if status in (401,):
            return Outcome(fatal=f"HTTP {status}: {detail} (check the token)")
        if status == 413:
            return Outcome(split=True, refused={0: f"HTTP 413: {detail}"} if len(batch) == 1 else {})
        if status in (408, 425, 429) or status >= 500:
            return Outcome(retry=f"HTTP {status}: {detail}")
        errors = [
            (
                str(e.get("field", "")),
                f"HTTP {status} {e.get('field')}: {e.get('message')} [{e.get('rule')}]",
            )
            for e in problem.get("errors", [])
            if isinstance(e, dict)
        ] or [("", f"HTTP {status}: {detail}")]
        if status in (403, 404, 405, 415) and all(_position(f) is None for f, _ in errors):
            return Outcome(fatal=f"HTTP {status}: {detail}")  # the wrong server or token
        return _refusals(errors, len(batch))


# ------------------------------------------------------------------------------------------------
# The sender
# ------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class SendStats:
    sent: int = 0
    duplicates: int = 0
    hits: int = 0
    rejected: int = 0
    failures: int = 0
    last_error: str | None = None


class FatalDeliveryError(RuntimeError):
    """The ledger refuses every send for a reason retrying cannot fix (e.g. a bad token)."""


class Sender:
    """Drains a queue through a transport, oldest first, in batches."""

    def __init__(
        self,
        queue: DeliveryQueue,
        transport: Transport,
        *,
        batch_size: int = DEFAULT_BATCH,
        backoff_s: float = 1.0,
        max_backoff_s: float = 60.0,
    ) -> None:
        self.queue = queue
        self.transport = transport
        self.batch_size = max(1, min(1000, batch_size))
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.stats = SendStats()

    def pump(self) -> bool:
        """Send until the queue is empty (True) or the ledger is unreachable (False).

        Raises :class:`FatalDeliveryError` when retrying cannot help."""
        single = 0  # reads still to send one at a time, after a batch refused without naming one
        while True:
            batch = self.queue.pending(1 if single else self.batch_size)
            if not batch:
                return True
            outcome = self.transport.send(batch)
            if outcome.stored:
                self.queue.ack([item.seq for item in batch])
                self.stats.sent += len(batch) - outcome.duplicates
                self.stats.duplicates += outcome.duplicates
                self.stats.hits += outcome.hits
                single = max(0, single - 1)
                continue
            if outcome.fatal is not None:
                self.stats.last_error = outcome.fatal
                raise FatalDeliveryError(outcome.fatal)
            if outcome.retry is not None:
                self.stats.failures += 1
                self.stats.last_error = outcome.retry
                self.queue.note_failure([item.seq for item in batch], outcome.retry)
                return False
            if len(batch) == 1 and not outcome.refused:
                outcome = Outcome(refused={0: "refused without a reason"})
            if outcome.refused and (len(batch) == 1 or not outcome.split):
                for position, error in sorted(outcome.refused.items()):
                    item = batch[position]
                    log.warning("read %s refused: %s", item.read.capture_id, error)
                    self.queue.reject(item.seq, error)
                    self.stats.rejected += 1
                single = max(0, single - 1)
                continue
            single = len(batch)  # refused as a whole: find the bad read(s) one by one

    def run(self, stop: threading.Event, *, wake: threading.Event | None = None) -> None:
        """Pump until ``stop`` is set: after each empty queue wait for ``wake`` (new reads) and
        after each failure wait with exponential backoff."""
        delay = self.backoff_s
        while not stop.is_set():
            if self.pump():
                delay = self.backoff_s
                if wake is not None:
                    wake.wait(1.0)
                    wake.clear()
                else:
                    stop.wait(1.0)
                continue
            log.warning("ledger unreachable (%s); retrying in %.1f s", self.stats.last_error, delay)
            stop.wait(delay)
            delay = min(self.max_backoff_s, delay * 2)

    def drain(self, *, timeout_s: float | None, stop: threading.Event | None = None) -> bool:
        """Pump with backoff until the queue is empty (True) or ``timeout_s`` passed (False)."""
        import time

        stop = stop or threading.Event()
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        delay = self.backoff_s
        while not stop.is_set():
            if self.pump():
                return True
            if deadline is not None and time.monotonic() + delay > deadline:
                return False
            log.warning("ledger unreachable (%s); retrying in %.1f s", self.stats.last_error, delay)
            stop.wait(delay)
            delay = min(self.max_backoff_s, delay * 2)
        return self.queue.pending_count() == 0


__all__ = [
    "CameraInfo",
    "DeliveryQueue",
    "FatalDeliveryError",
    "HttpTransport",
    "InsecureServerError",
    "Outcome",
    "QueueKeyMissingError",
    "QueuedRead",
    "Sender",
    "ServiceTransport",
    "capture_id",
    "image_digest",
    "read_from_json",
    "read_to_json",
    "sighting_read",
]
