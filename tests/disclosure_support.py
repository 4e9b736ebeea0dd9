"""Helpers for disclosure tests: principals, stored reads, requests, a runtime on a chosen profile."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID, uuid4

from domain.account import Principal
from domain.disclosure import RequestDisclosure
from domain.policy import PolicyProfile, Role
from domain.profiles import get_profile
from ops.bootstrap import Runtime
from tests.cameras_support import city_reads


def person(*roles: Role, login: str | None = None) -> Principal:
    account_id = uuid4()
    return Principal(account_id, login or f"p-{account_id.hex[:8]}", frozenset(roles), trained=True)


def stored_reads(runtime: Runtime, n: int = 3, *, seed: int = 3) -> list[UUID]:
    return runtime.app.record_reads(city_reads(runtime, n, seed=seed))


def request(read_ids: list[UUID], **changes: object) -> RequestDisclosure:
    base = RequestDisclosure(
        requesting_agency="Onondaga County DA",
        requesting_person="ADA J. Rivera",
        contact="jrivera@da.example",
        purpose="criminal_investigation",
        legal_basis="law_enforcement_need",
        scope=tuple(str(r) for r in read_ids),
        case_number="2025-000123",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@contextmanager
def profile(runtime: Runtime, name: str) -> Iterator[PolicyProfile]:
    """Run the service under another policy profile for the block."""
    before = runtime.app.policy
    runtime.app.policy = get_profile(name)
    try:
        yield runtime.app.policy
    finally:
        runtime.app.policy = before


def use_packages_dir(runtime: Runtime) -> None:
    """Where released packages go (until the composition root sets it)."""
    runtime.app.packages_root = runtime.settings.data_dir / "packages"
