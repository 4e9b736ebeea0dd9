"""Policy profiles: the rules of one agency policy as data, each value with the clause it comes from.

The service consults the active profile (``ALPR_POLICY``); no code branches on a profile's name.
The five profiles live in ``domain/profiles.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Generic, TypeVar

T = TypeVar("T")

NOT_STATED = "not stated; default"
"""``Clause.ref`` of a value the policy text does not set; the clause's quote then gives the reason
for the value chosen instead of an excerpt."""

LEGAL_REVIEW = "legal_review"
"""Disclosure approver for public-records (FOIL) requests: the agency's legal advisor or county
attorney reviews them (MPTC VI.H, TCSO V.E.5). Accounts holding ``Role.LEGAL_REVIEWER`` decide
them, each decision with its written reference."""

DISCLOSURE_KINDS = ("standard", "out_of_state", "public_records")
"""Keys of ``PolicyProfile.disclosure_approvers``; every profile names an approver for each."""


def calendar_years(n: int) -> timedelta:
    """The longest span ``n`` calendar years can cover (365 days each plus every leap day they may
    contain), so that a retention *minimum* expressed as a timedelta is never cut short by a leap
    year: 1 year -> 366 days, 5 -> 1,827, 6 -> 2,192, 10 -> 3,653, 25 -> 9,132."""
    return timedelta(days=365 * n + (n + 3) // 4)


def format_duration(value: timedelta | None) -> str:
    """Human form of a profile duration: "5 years", "30 days", "24 hours"; None -> "none"."""
    if value is None:
        return "none"
    for n in range(100, 0, -1):
        if value == calendar_years(n):
            return f"{n} year" + ("s" if n > 1 else "")
    # Short periods read as hours ("24 hours", the NYPD 2026 wording), longer ones as days.
    if value >= timedelta(days=2) and value % timedelta(days=1) == timedelta(0):
        return f"{value.days} days"
    if value % timedelta(hours=1) == timedelta(0):
        hours = int(value.total_seconds() // 3600)
        return f"{hours} hour" + ("s" if hours != 1 else "")
    return str(value)


@dataclass(frozen=True, slots=True)
class Clause:
    """Where a rule comes from: ``ref`` like "NYPD 2026, Retention" and a short quote."""

    ref: str
    quote: str

    @property
    def stated(self) -> bool:
        """True when the policy text sets the value (``quote`` is an excerpt of it); False for a
        default chosen where the text is silent (``ref`` is ``NOT_STATED``, ``quote`` the reason)."""
        return not self.ref.startswith("not stated")


@dataclass(frozen=True, slots=True)
class Sourced(Generic[T]):
    """A profile value and the clause that sets it."""

    value: T
    clause: Clause


class Role(StrEnum):
    DEVICE = "device"
    OFFICER = "officer"
    INVESTIGATOR = "investigator"
    SUPERVISOR = "supervisor"
    ADMINISTRATOR = "administrator"
    PRIVACY_OFFICER = "privacy_officer"
    APPROVER = "approver"  # sheriff or designee
    AUDITOR = "auditor"
    PARTNER_AGENCY = "partner_agency"  # complete-plate lookups only (NYPD 2026, New Jersey agents)
    # Agency legal advisor / county attorney: decides public-records requests, the profiles'
    # LEGAL_REVIEW approver (MPTC VI.H, TCSO V.E.5); see domain.disclosure.approver_role.
    LEGAL_REVIEWER = "legal_reviewer"


@dataclass(frozen=True, slots=True)
class Purpose:
    """A search or disclosure purpose a profile permits (``code`` is what clients send)."""

    code: str
    description: str
    clause: Clause
    requires_case_number: bool = True
    # False for uses that are real-time matching or monitoring only (routine patrol, parking): they
    # justify running a camera against hotlists, never a search of stored reads.
    historical_search: bool = True


@dataclass(frozen=True, slots=True)
class ProhibitedGround:
    """A purpose or ground the profile forbids; requests naming it are refused and recorded."""

    code: str  # e.g. "immigration_enforcement", "protected_characteristics", "political_activity"
    description: str
    clause: Clause


@dataclass(frozen=True, slots=True)
class PolicyProfile:
    name: str  # "nypd-2026", "nypd-2021", "nys-mptc-2022", "county-sheriff-2025", "iacp-2010"
    title: str
    source: str  # file name of the policy text in shared/policies
    # Retention
    read_retention: Sourced[timedelta]
    query_log_retention: Sourced[timedelta]
    # Case classification -> minimum period after the case is closed; None = no automatic purge:
    # retained permanently, or until the condition in ``case_retention_until`` when it has one.
    case_retention: dict[str, Sourced[timedelta | None]]
    # Searches
    permitted_purposes: tuple[Purpose, ...]
    prohibited_grounds: tuple[ProhibitedGround, ...]
    search_requires_case_number: Sourced[bool]
    search_requires_reason: Sourced[bool]
    # Disclosures: who approves which kind ("standard", "out_of_state", "public_records") -> role
    disclosure_approvers: dict[str, Sourced[Role | str]]
    legal_bases: tuple[Sourced[str], ...]
    unauthorized_disclosure_report_within: Sourced[timedelta | None]
    # Use of the system
    training_required: Sourced[bool]
    manual_hotlist_requires_reason: Sourced[bool]
    manual_hotlist_requires_case_number: Sourced[bool]
    hit_verification_required: Sourced[bool]  # plate characters and state checked before acting
    shift: Sourced[timedelta]  # hotlists older than this warn; undispositioned hits older than this surface
    equipment_check_interval: Sourced[timedelta | None]
    extra: dict[str, Sourced[object]] = field(default_factory=dict)
    # Classification -> event that ends retention (e.g. "person_located") for classifications whose
    # ``case_retention`` value is None but which are not permanent.
    case_retention_until: dict[str, Sourced[str]] = field(default_factory=dict)
    # True when ``read_retention`` is a MAXIMUM ("not to exceed 30 days"): every read is destroyed
    # before it is that old, so a capture day falls due from its first instant. False: a minimum
    # ("retained for a minimum of one year"): the day falls due once its last read is that old.
    # Sourced by read_retention's own clause.
    read_retention_is_maximum: bool = False

    def prohibited(self, code: str) -> ProhibitedGround | None:
        return next((g for g in self.prohibited_grounds if g.code == code), None)

    def purpose(self, code: str) -> Purpose | None:
        return next((p for p in self.permitted_purposes if p.code == code), None)

    def case_number_required(self, purpose_code: str) -> bool:
        """A search needs a case number when the profile requires one for every search or when
        its purpose does (an unknown purpose counts as requiring one: it is refused anyway)."""
        if self.search_requires_case_number.value:
            return True
        found = self.purpose(purpose_code)
        return True if found is None else found.requires_case_number

    def legal_basis(self, code: str) -> Sourced[str] | None:
        return next((b for b in self.legal_bases if b.value == code), None)

    def approver(self, kind: str) -> Role | str:
        """Who approves a disclosure of ``kind`` (one of ``DISCLOSURE_KINDS``)."""
        return self.disclosure_approvers[kind].value

    def rules(self) -> Iterator[tuple[str, str, object, Clause]]:
        """Every value of the profile with its clause, as ``(field, key, value, clause)``; ``key``
        names the entry within a collection field (a classification, a purpose code...) or is "".
        The CLI prints these rows and the tests check that each one is sourced."""
        yield "read_retention", "", self.read_retention.value, self.read_retention.clause
        yield "read_retention_is_maximum", "", self.read_retention_is_maximum, self.read_retention.clause
        yield "query_log_retention", "", self.query_log_retention.value, self.query_log_retention.clause
        for name, period in self.case_retention.items():
            yield "case_retention", name, period.value, period.clause
        for name, until in self.case_retention_until.items():
            yield "case_retention_until", name, until.value, until.clause
        for purpose in self.permitted_purposes:
            yield "permitted_purposes", purpose.code, purpose, purpose.clause
        for ground in self.prohibited_grounds:
            yield "prohibited_grounds", ground.code, ground, ground.clause
        for name in ("search_requires_case_number", "search_requires_reason"):
            sourced: Sourced[object] = getattr(self, name)
            yield name, "", sourced.value, sourced.clause
        for kind, approver in self.disclosure_approvers.items():
            yield "disclosure_approvers", kind, approver.value, approver.clause
        for basis in self.legal_bases:
            yield "legal_bases", basis.value, basis.value, basis.clause
        for name in (
            "unauthorized_disclosure_report_within",
            "training_required",
            "manual_hotlist_requires_reason",
            "manual_hotlist_requires_case_number",
            "hit_verification_required",
            "shift",
            "equipment_check_interval",
        ):
            sourced = getattr(self, name)
            yield name, "", sourced.value, sourced.clause
        for name, value in self.extra.items():
            yield "extra", name, value.value, value.clause
