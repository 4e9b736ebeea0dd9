"""Helpers for hit and alert tests: a settable clock and hits stored without the ingest path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from domain.hit import Hit, MatchKind, RaiseHit
from ops.bootstrap import Runtime
from ops.keys import read_kek


class FakeClock:
    """The service clock, moved by the test."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def raise_command(
    *,
    kind: MatchKind = MatchKind.EXACT,
    plate: str = "ABC1234",
    state: str | None = "NY",
    camera_id: str = "cam-1",
    captured_at: datetime | None = None,
) -> RaiseHit:
    return RaiseHit(
        read_id=uuid4(),
        camera_id=camera_id,
        captured_at=captured_at or datetime.now(UTC),
        hotlist_id=uuid4(),
        entry_id=uuid4(),
        match_kind=kind,
        basis=() if kind is MatchKind.EXACT else ("read_without_state",),
        hotlist_source="ncic",
        hotlist_name="NCIC stolen vehicles",
        reason="stolen vehicle",
        case_number=None,
        read_plate=plate,
        read_state=state,
        entry_plate=plate,
        entry_state=state,
    )


def store_hit(runtime: Runtime, **kwargs: object) -> Hit:
    """A raised hit saved on its own (the ingest path saves hits with their reads instead)."""
    command = raise_command(**kwargs)  # type: ignore[arg-type]
    # A hit is sealed under its read's data key: the key must exist as if the read had been stored.
    runtime.keystore.create_data_keys_under([(command.read_id, read_kek(command.captured_at))])
    hit = Hit.raise_from(command, now=runtime.app.clock())
    runtime.app.save(hit)
    return hit
