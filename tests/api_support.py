"""Bearer tokens for API tests, made through the application service (no HTTP, no log-on).

token = token_for(runtime, Role.OFFICER)
client.get("/v1/hits", headers=bearer(token))
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable
from typing import Any

from eventsourcing.utils import get_topic

from domain.account import AccountKind
from domain.policy import Role
from ops.bootstrap import Runtime

_serial = itertools.count()


def _unique(prefix: str) -> str:
    # uuid part: several runtimes share one process, and a PostgreSQL database may be reused
    return f"{prefix}-{next(_serial)}-{uuid.uuid4().hex[:8]}"


def token_for(runtime: Runtime, role: Role | str, *, trained: bool = True, login: str | None = None) -> str:
    """A raw interactive token of a fresh person account holding ``role``.

    Training is recorded unless ``trained=False``. ``role`` "device" gives a device token
    (devices hold only that role).
    """
    role = Role(role)
    if role is Role.DEVICE:
        return device_token_for(runtime)
    app = runtime.app
    account_id = app.enrol_account(
        login or _unique(f"test-{role.value}"),
        f"Test {role.value}",
        roles=[role],
        actor="tests",
    )
    if trained:
        app.record_training(account_id, "ALPR system and policy", trainer="tests", actor="tests")
    token, _ = app.issue_interactive_token(account_id, actor="tests")
    return token


def token_for_roles(runtime: Runtime, roles: Iterable[Role | str], *, trained: bool = True) -> str:
    """A raw interactive token of a fresh person holding every one of ``roles`` (not "device":
    people never hold it; use :func:`device_token_for` for device routes)."""
    app = runtime.app
    account_id = app.enrol_account(_unique("test-multi"), "Test multi-role", roles=list(roles), actor="tests")
    if trained:
        app.record_training(account_id, "ALPR system and policy", trainer="tests", actor="tests")
    token, _ = app.issue_interactive_token(account_id, actor="tests")
    return token


def device_token_for(runtime: Runtime, camera_id: str | None = None, *, login: str | None = None) -> str:
    """A raw device token of a fresh device account (bound to ``camera_id`` when given)."""
    app = runtime.app
    account_id = app.enrol_account(
        login or _unique("test-device"),
        f"Test device {camera_id or ''}".strip(),
        kind=AccountKind.DEVICE,
        camera_id=camera_id,
        actor="tests",
    )
    return app.issue_device_token(account_id, actor="tests")


def bearer(token: str) -> dict[str, str]:
    """Request headers presenting ``token``."""
    return {"Authorization": f"Bearer {token}"}


def recorded(runtime: Runtime, event_class: type[Any]) -> list[Any]:
    """Every stored event of ``event_class`` (e.g. ``AccessDenial.AccessDenied``), oldest first."""
    app = runtime.app
    notifications = app.recorder.select_notifications(1, 1_000_000, topics=[get_topic(event_class)])
    return [app.mapper.to_domain_event(n) for n in notifications]


__all__ = ["bearer", "device_token_for", "recorded", "token_for", "token_for_roles"]
