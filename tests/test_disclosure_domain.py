"""Pure disclosure rules: kinds, approver roles per profile, scopes, releases, the 24-hour flag."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.disclosure import (
    DisclosureKind,
    DisclosureStatus,
    RequestDisclosure,
    approver_role,
    check_approved_scope,
    check_release,
    disclosure_kind,
    report_overdue,
    validate_request,
)
from domain.errors import ConflictError, InvalidFieldError, PolicyRefusedError
from domain.policy import Role
from domain.profiles import get_profile

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
DAY = timedelta(hours=24)


def _request(**changes: object) -> RequestDisclosure:
    base: dict[str, object] = {
        "requesting_agency": "Bergen County Sheriff",
        "requesting_person": "Det. K. Moore",
        "contact": "kmoore@bcso.example",
        "purpose": "criminal_investigation",
        "legal_basis": "law_enforcement_need",
        "scope": (str(uuid4()),),
        "case_number": "BC-1",
    }
    base.update(changes)
    return RequestDisclosure(**base)  # type: ignore[arg-type]


def test_kind_is_public_records_when_foil_even_if_out_of_state() -> None:
    assert disclosure_kind(out_of_state=True, public_records=True) is DisclosureKind.PUBLIC_RECORDS
    assert disclosure_kind(out_of_state=True, public_records=False) is DisclosureKind.OUT_OF_STATE
    assert disclosure_kind(out_of_state=False, public_records=False) is DisclosureKind.STANDARD


@pytest.mark.parametrize(
    ("profile", "kind", "role"),
    [
        ("county-sheriff-2025", "out_of_state", Role.APPROVER),  # TCSO V.E.2-3: Sheriff or designee
        ("county-sheriff-2025", "standard", Role.PRIVACY_OFFICER),
        ("county-sheriff-2025", "public_records", Role.LEGAL_REVIEWER),  # TCSO V.E.5
        ("nys-mptc-2022", "public_records", Role.LEGAL_REVIEWER),  # MPTC VI.H
        ("nypd-2026", "standard", Role.PRIVACY_OFFICER),  # NYPD: Agency Privacy Officer
        ("iacp-2010", "standard", Role.ADMINISTRATOR),  # IACP B.1.f
    ],
)
def test_approver_role_follows_profile_when_kind_is_given(profile: str, kind: str, role: Role) -> None:
    assert approver_role(get_profile(profile), kind) is role


def test_validate_refuses_unknown_legal_basis_when_not_in_profile() -> None:
    with pytest.raises(InvalidFieldError) as caught:
        validate_request(_request(legal_basis="written_consent"), get_profile("county-sheriff-2025"))
    assert (caught.value.field, caught.value.rule) == ("legal_basis", "disclosure.legal_basis.unknown")


@pytest.mark.parametrize("missing", ["case_number", "statement_of_need", "written_request_reference"])
def test_validate_requires_written_request_fields_when_out_of_state_under_county_sheriff(
    missing: str,
) -> None:
    fields = {
        "case_number": "BC-1",
        "statement_of_need": "robbery suspect",
        "written_request_reference": "letter 1",
    }
    fields[missing] = None  # type: ignore[assignment]
    with pytest.raises(InvalidFieldError) as caught:
        validate_request(_request(out_of_state=True, **fields), get_profile("county-sheriff-2025"))
    assert caught.value.rule == f"disclosure.out_of_state.{missing}_required"


def test_validate_accepts_out_of_state_without_written_fields_when_profile_does_not_ask() -> None:
    valid = validate_request(_request(out_of_state=True, case_number=None), get_profile("nys-mptc-2022"))
    assert valid.kind is DisclosureKind.OUT_OF_STATE


def test_validate_requires_designation_when_basis_is_designated_routine() -> None:
    with pytest.raises(InvalidFieldError) as caught:
        validate_request(_request(legal_basis="designated_routine"), get_profile("nypd-2026"))
    assert caught.value.rule == "disclosure.routine.designation_required"


def test_approved_scope_rejects_read_when_not_requested() -> None:
    requested = (uuid4(), uuid4())
    assert check_approved_scope(requested, [str(requested[1])]) == (requested[1],)
    with pytest.raises(InvalidFieldError) as caught:
        check_approved_scope(requested, [str(uuid4())])
    assert caught.value.rule == "disclosure.approval.scope_outside_request"


@pytest.mark.parametrize(
    ("status", "error", "rule"),
    [
        (DisclosureStatus.REQUESTED, PolicyRefusedError, "disclosure.release.not_approved"),
        (DisclosureStatus.DENIED, PolicyRefusedError, "disclosure.release.not_approved"),
        (DisclosureStatus.REVOKED, PolicyRefusedError, "disclosure.release.approval_revoked"),
        (DisclosureStatus.RELEASED, ConflictError, "disclosure.already_released"),
    ],
)
def test_release_refused_when_not_standing_approval(status: DisclosureStatus, error: type, rule: str) -> None:
    with pytest.raises(error) as caught:
        check_release(status, (uuid4(),), None)
    assert caught.value.rule == rule


def test_release_refused_when_read_outside_approved_scope() -> None:
    inside = uuid4()
    assert check_release(DisclosureStatus.APPROVED, (inside,), None) == (inside,)
    with pytest.raises(PolicyRefusedError) as caught:
        check_release(DisclosureStatus.APPROVED, (inside,), [str(inside), str(uuid4())])
    assert (caught.value.field, caught.value.rule) == ("read_ids[1]", "disclosure.release.outside_scope")


def test_report_overdue_when_24_hours_pass_without_report() -> None:
    assert not report_overdue(T0, None, DAY, T0 + DAY)
    assert report_overdue(T0, None, DAY, T0 + DAY + timedelta(seconds=1))
    assert not report_overdue(T0, T0 + timedelta(hours=23), DAY, T0 + timedelta(days=9))
    assert report_overdue(T0, T0 + timedelta(hours=25), DAY, T0 + timedelta(days=9))  # reported late
    assert not report_overdue(T0, None, None, T0 + timedelta(days=900))  # profile without the rule
