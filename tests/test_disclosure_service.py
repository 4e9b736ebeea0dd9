"""Disclosure rules through the application service, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from domain.disclosure import DesignateRoutine, Disclosure, DisclosureStatus, ReportUnauthorizedDisclosure
from domain.errors import AccessDeniedError, ConflictError, InvalidFieldError, PolicyRefusedError
from domain.policy import Role
from ops.bootstrap import Runtime
from tests.api_support import recorded
from tests.disclosure_support import person, profile, request, stored_reads, use_packages_dir
from tests.hits_support import FakeClock

INVESTIGATOR = person(Role.INVESTIGATOR)


def test_request_refused_and_recorded_when_purpose_is_immigration_enforcement(runtime: Runtime) -> None:
    reads = stored_reads(runtime, 1)
    with profile(runtime, "nypd-2026"), pytest.raises(PolicyRefusedError) as caught:
        runtime.app.request_disclosure(
            request(reads, purpose="immigration_enforcement", legal_basis="required_by_law"), by=INVESTIGATOR
        )
    assert (caught.value.field, caught.value.rule) == ("purpose", "disclosure.purpose.prohibited")
    (refused,) = recorded(runtime, Disclosure.Refused)
    assert refused.ground == "immigration_enforcement" and "NYPD" in refused.clause
    stored = runtime.app.get_disclosure(refused.originator_id)
    assert stored.status is DisclosureStatus.REFUSED and stored.purpose == "immigration_enforcement"


def test_request_refused_when_read_is_not_stored(runtime: Runtime) -> None:
    with pytest.raises(InvalidFieldError) as caught:
        runtime.app.request_disclosure(request([uuid4()]), by=INVESTIGATOR)
    assert (caught.value.field, caught.value.rule) == ("scope[0]", "disclosure.scope.unknown_read")
    assert recorded(runtime, Disclosure.Requested) == []


def test_out_of_state_request_goes_to_sheriff_role_when_county_sheriff_profile(runtime: Runtime) -> None:
    reads = stored_reads(runtime, 1)
    with profile(runtime, "county-sheriff-2025"):
        d = runtime.app.request_disclosure(
            request(
                reads, out_of_state=True, statement_of_need="robbery suspect", written_request_reference="L-1"
            ),
            by=INVESTIGATOR,
        )
        assert d.approver_role is Role.APPROVER
        with pytest.raises(AccessDeniedError) as caught:
            runtime.app.approve_disclosure(d.id, by=person(Role.PRIVACY_OFFICER), reference="memo")
        assert caught.value.rule == "disclosure.approver.role"
        approved = runtime.app.approve_disclosure(d.id, by=person(Role.APPROVER), reference="Sheriff memo 7")
    assert approved.status is DisclosureStatus.APPROVED
    assert approved.written_request_reference == "L-1"  # TCSO V.E.4: the approved request on file


def test_public_records_request_is_decided_by_legal_review_which_may_approve_part(runtime: Runtime) -> None:
    reads = stored_reads(runtime, 3)
    d = runtime.app.request_disclosure(
        request(reads, public_records=True, purpose="foil_request", legal_basis="freedom_of_information_law"),
        by=INVESTIGATOR,
    )
    assert d.approver_role is Role.LEGAL_REVIEWER
    with pytest.raises(AccessDeniedError):
        runtime.app.approve_disclosure(d.id, by=person(Role.PRIVACY_OFFICER), reference="memo")
    approved = runtime.app.approve_disclosure(
        d.id, by=person(Role.LEGAL_REVIEWER), reference="County Attorney 25-4", scope=[str(reads[0])]
    )
    assert approved.scope == (reads[0],)
    with pytest.raises(PolicyRefusedError) as caught:
        runtime.app.release_disclosure(d.id, by=person(Role.PRIVACY_OFFICER), read_ids=[str(reads[1])])
    assert caught.value.rule == "disclosure.release.outside_scope"


def test_approval_refused_when_approver_requested_it_themselves(runtime: Runtime) -> None:
    reads = stored_reads(runtime, 1)
    both = person(Role.INVESTIGATOR, Role.PRIVACY_OFFICER)
    d = runtime.app.request_disclosure(request(reads), by=both)
    with pytest.raises(AccessDeniedError) as caught:
        runtime.app.approve_disclosure(d.id, by=both, reference="memo")
    assert caught.value.rule == "disclosure.approval.self"


def test_approval_needs_written_reference(runtime: Runtime) -> None:
    reads = stored_reads(runtime, 1)
    d = runtime.app.request_disclosure(request(reads), by=INVESTIGATOR)
    with pytest.raises(InvalidFieldError) as caught:
        runtime.app.approve_disclosure(d.id, by=person(Role.PRIVACY_OFFICER), reference="  ")
    assert caught.value.rule == "reference.required"


def test_release_refused_when_before_approval_or_after_revocation(runtime: Runtime) -> None:
    use_packages_dir(runtime)
    reads = stored_reads(runtime, 2)
    po = person(Role.PRIVACY_OFFICER)
    d = runtime.app.request_disclosure(request(reads), by=INVESTIGATOR)
    with pytest.raises(PolicyRefusedError) as caught:
        runtime.app.release_disclosure(d.id, by=po)
    assert caught.value.rule == "disclosure.release.not_approved"
    runtime.app.approve_disclosure(d.id, by=po, reference="memo 1")
    runtime.app.revoke_disclosure_approval(d.id, by=po, reason="case dismissed")
    with pytest.raises(PolicyRefusedError) as caught:
        runtime.app.release_disclosure(d.id, by=po)
    assert caught.value.rule == "disclosure.release.approval_revoked"
    with pytest.raises(ConflictError):
        runtime.app.approve_disclosure(d.id, by=po, reference="memo 2")  # revocation is final
    assert not runtime.app.package_dir(d.id).exists()
    assert runtime.app.dissemination_log() == []


def test_release_appears_in_dissemination_log_with_requester_and_approval(runtime: Runtime) -> None:
    use_packages_dir(runtime)
    reads = stored_reads(runtime, 2)
    po = person(Role.PRIVACY_OFFICER, login="apo")
    d = runtime.app.request_disclosure(request(reads), by=INVESTIGATOR)
    runtime.app.approve_disclosure(d.id, by=po, reference="APO memo 17")
    result = runtime.app.release_disclosure(d.id, by=po, read_ids=[str(reads[0])])
    (entry,) = runtime.app.dissemination_log()
    assert entry.disclosure_id == d.id and entry.read_ids == (reads[0],)
    assert (entry.requesting_agency, entry.requesting_person) == ("Onondaga County DA", "ADA J. Rivera")
    assert (entry.approved_by, entry.approval_reference, entry.package_sha256) == (
        "apo",
        "APO memo 17",
        result.package_sha256,
    )
    assert runtime.app.dissemination_log(until=entry.released_at) == []
    with pytest.raises(ConflictError):
        runtime.app.release_disclosure(d.id, by=po)


def test_designated_routine_needs_an_active_designation_for_the_purpose(runtime: Runtime) -> None:
    reads = stored_reads(runtime, 1)
    po = person(Role.PRIVACY_OFFICER)
    with profile(runtime, "nypd-2026"):
        ask = request(reads, legal_basis="designated_routine", routine_designation_id=str(uuid4()))
        with pytest.raises(PolicyRefusedError) as caught:
            runtime.app.request_disclosure(ask, by=INVESTIGATOR)
        assert caught.value.rule == "disclosure.routine.designation_not_active"
        with pytest.raises(AccessDeniedError):
            runtime.app.designate_routine(
                DesignateRoutine("criminal_investigation", "NY DAs", "case data", "ref"), by=INVESTIGATOR
            )
        designation = runtime.app.designate_routine(
            DesignateRoutine("criminal_investigation", "NY DAs", "case data to the prosecutor", "APO 2025-3"),
            by=po,
        )
        ask = request(reads, legal_basis="designated_routine", routine_designation_id=str(designation.id))
        d = runtime.app.request_disclosure(ask, by=INVESTIGATOR)
        assert d.routine_designation_id == designation.id
        runtime.app.withdraw_routine_designation(designation.id, by=po, reason="superseded")
        with pytest.raises(PolicyRefusedError):
            runtime.app.approve_disclosure(d.id, by=po, reference="memo")  # withdrawn since


def test_unauthorized_disclosure_flagged_overdue_when_not_reported_within_24_hours(runtime: Runtime) -> None:
    clock = FakeClock()
    runtime.app.clock = clock
    now = clock.now
    with profile(runtime, "nypd-2026"):
        report = runtime.app.report_unauthorized_disclosure(
            ReportUnauthorizedDisclosure("reads e-mailed to a vendor", now - timedelta(days=2), now),
            by=person(Role.OFFICER),
        )
        clock.advance(timedelta(hours=23))
        assert runtime.app.list_unauthorized_disclosures(overdue=True) == []
        clock.advance(timedelta(hours=2))
        (late,) = runtime.app.list_unauthorized_disclosures(overdue=True)
        assert late.id == report.id and late.due_at == now + timedelta(hours=24)
        runtime.app.record_unauthorized_report_to_cpo(
            report.id, reported_at=clock.now, by=person(Role.PRIVACY_OFFICER)
        )
        (still,) = runtime.app.list_unauthorized_disclosures()
        assert still.overdue(clock.now)  # reported, but after the 24 hours
        on_time = runtime.app.report_unauthorized_disclosure(
            ReportUnauthorizedDisclosure("misdirected fax", clock.now, clock.now, clock.now),
            by=person(Role.PRIVACY_OFFICER),
        )
        clock.advance(timedelta(days=3))
        assert not runtime.app.list_unauthorized_disclosures()[0].overdue(clock.now)
        assert runtime.app.list_unauthorized_disclosures()[0].id == on_time.id
