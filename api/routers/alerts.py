"""``GET /v1/alerts/stream``: hits as server-sent events, delivered to officers within a second.

The stream tails the event log, so it carries hits raised by every ingest process. Each event's
id is the hit's log position: reconnecting with ``Last-Event-ID`` (EventSource does it by itself)
resumes right after the last alert received, so none is lost across a reconnect.

Limits, because the stream carries plates:

* The presented token is re-authenticated and the ``alerts.stream`` permission (roles, training)
  re-checked before every delivery and at least every second while idle; revoking the account,
  its role or the token ends the stream within about a second.
* A stream lasts at most :data:`~ops.alerts.MAX_STREAM_S` (one hour, also the default); the
  client reconnects with Last-Event-ID and is authorized afresh.
* Resuming (``after`` or Last-Event-ID) reaches back at most one shift (the policy's ``shift``)
  before now: hits raised earlier are skipped, as if the position were clamped. Older hits are
  for the hit list and recorded searches, not for a replay of the whole log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import WithJsonSchema
from starlette.concurrency import run_in_threadpool

from api.authz import PERMISSIONS
from api.deps import Authorize, RuntimeDep
from api.errors import COMMON_RESPONSES
from domain.account import Principal
from domain.errors import DomainError
from ops.alerts import MAX_STREAM_S, alert_events
from ops.bootstrap import Runtime

router = APIRouter(prefix="/v1/alerts", tags=["alerts"], responses=COMMON_RESPONSES)

_EXAMPLE = (
    "retry: 1000\n: alerts after position 41\n\n"
    "id: 42\nevent: hit\n"
    'data: {"hit_id":"0b6f3c8e-2f7a-4d43-9a55-3f0f6b1f7c11","read_id":"5c1e7d0a-9a4b-4c1e-8f6e-2b9d7a3c4e55",'
    '"camera_id":"syr-fixed-001","captured_at":"2025-03-03T14:05:09.120000+00:00",'
    '"raised_at":"2025-03-03T14:05:09.250000+00:00","match_kind":"exact","basis":[],'
    '"hotlist_id":"8d2b1c9f-6e4a-4b7d-9c3e-1a2b3c4d5e6f","entry_id":"3f4e5d6c-7b8a-4c9d-8e1f-2a3b4c5d6e7f",'
    '"hotlist_source":"ncic","hotlist_name":"NCIC stolen vehicles",'
    '"reason":"stolen vehicle","case_number":null,"read_plate":"ABC1234","read_state":"NY",'
    '"entry_plate":"ABC1234","entry_state":"NY"}\n\n'
)

_POSITION = r"^[0-9]{1,18}$"


@router.get(
    "/stream",
    summary="Hit alerts as server-sent events",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "A text/event-stream of `event: hit` frames (data: the hit as JSON, id: its log "
            "position), with `: keep-alive` comments when idle.",
            "content": {"text/event-stream": {"schema": {"type": "string"}, "example": _EXAMPLE}},
        }
    },
)
async def stream_alerts(
    request: Request,
    runtime: RuntimeDep,
    who: Annotated[Principal, Authorize("alerts.stream")],
    last_event_id: Annotated[
        str | None,
        # Documented as a plain string: the header is either absent or a position, never null.
        WithJsonSchema({"type": "string", "pattern": _POSITION}),
        Header(
            alias="Last-Event-ID",
            pattern=_POSITION,
            description="Resume after this event id (sent by EventSource when it reconnects)",
        ),
    ] = None,
    after: Annotated[
        int | None,
        Query(
            ge=0, le=10**18, description="Start after this log position; default: now. Last-Event-ID wins."
        ),
    ] = None,
    max_events: Annotated[
        int | None, Query(ge=0, le=100_000, description="End the stream after this many alerts")
    ] = None,
    timeout: Annotated[
        float | None,
        Query(
            gt=0,
            le=MAX_STREAM_S,
            description=f"End the stream after this many seconds (at most {int(MAX_STREAM_S)}, the default)",
        ),
    ] = None,
) -> StreamingResponse:
    """Each hit raised after the position (connect time by default) arrives as one event.

    The stream ends when the token, account or role is revoked (checked at least every second),
    after ``timeout`` seconds (at most one hour), and resumes no further back than one shift."""
    if last_event_id is not None:
        start = int(last_event_id)  # a reconnect: EventSource sends it, and it beats ``after``
    elif after is not None:
        start = after
    else:
        # Fixed before the response starts, so a hit raised once the client has the headers is
        # always delivered.
        start = await run_in_threadpool(runtime.app.latest_alert_position)
    return StreamingResponse(
        alert_events(
            runtime.app,
            start,
            max_events=max_events,
            timeout_s=MAX_STREAM_S if timeout is None else timeout,
            authorized=_still_authorized(runtime, _bearer_token(request)),
            not_before=runtime.app.clock() - runtime.app.policy.shift.value,
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _bearer_token(request: Request) -> str:
    # Authorize has already accepted this header, so it is "Bearer <token>".
    return request.headers.get("authorization", "").partition(" ")[2].strip()


def _still_authorized(runtime: Runtime, token: str) -> Callable[[], bool]:
    """Whether the token still authenticates and its principal still holds ``alerts.stream``
    (the same checks as :func:`api.deps.Authorize`, repeated while the stream is open)."""
    rule = PERMISSIONS["alerts.stream"]

    def check() -> bool:
        try:
            principal = runtime.app.authenticate(token)
        except DomainError:
            return False
        if not principal.roles & rule.roles:
            return False
        return not (
            rule.needs_training and runtime.app.policy.training_required.value and not principal.trained
        )

    return check
