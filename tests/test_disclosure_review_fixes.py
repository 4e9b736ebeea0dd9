"""Disclosure rules found wanting in review, through the service on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.disclosure import DesignateRoutine, Disclosure, ReportUnauthorizedDisclosure, report_overdue
from domain.errors import AccessDeniedError, PolicyRefusedError
from domain.policy import Role
from ops.bootstrap import Runtime
from tests.api_support import recorded
from tests.disclosure_support import person, profile, request, stored_reads
from tests.hits_support import FakeClock

INVESTIGATOR = person(Role.INVESTIGATOR)


def test_report_overdue_when_recorded_after_deadline_whatever_time_it_claims() -> None:
    clock = FakeClock()
    discovered = clock.now
    day = timedelta(hours=24)
    claimed = discovered + timedelta(hours=1)
    late = discovered + timedelta(hours=30)
    assert report_overdue(discovered, claimed, day, late, recorded_at=late)
    assert not report_overdue(discovered, claimed, day, late, recorded_at=discovered + timedelta(hours=2))


def test_backdated_report_to_cpo_stays_overdue_when_recorded_after_24_hours(runtime: Runtime) -> None:
    clock = FakeClock()
    runtime.app.clock = clock
    discovered = clock.now
    po = person(Role.PRIVACY_OFFICER)
    with profile(runtime, "nypd-2026"):
        report = runtime.app.report_unauthorized_disclosure(
            ReportUnauthorizedDisclosure("reads e-mailed to a friend", discovered, discovered),
            by=person(Role.OFFICER),
        )
        clock.advance(timedelta(days=2))
        runtime.app.record_unauthorized_report_to_cpo(
            report.id, reported_at=discovered + timedelta(hours=1), by=po
        )
        (stored,) = runtime.app.list_unauthorized_disclosures(overdue=True)
    assert stored.id == report.id
    assert stored.reported_to_cpo_at == discovered + timedelta(hours=1)
    assert stored.reported_to_cpo_recorded_at == clock.now


def test_report_to_cpo_refused_when_recorder_is_not_privacy_officer(runtime: Runtime) -> None:
    clock = FakeClock()
    runtime.app.clock = clock
    officer = person(Role.OFFICER)
    with profile(runtime, "nypd-2026"):
        report = runtime.app.report_unauthorized_disclosure(
            ReportUnauthorizedDisclosure("reads e-mailed to a friend", clock.now, clock.now), by=officer
        )
        with pytest.raises(AccessDeniedError) as caught:
            runtime.app.record_unauthorized_report_to_cpo(report.id, reported_at=clock.now, by=officer)
        assert caught.value.rule == "unauthorized.report_to_cpo.role"
        with pytest.raises(AccessDeniedError):
            runtime.app.report_unauthorized_disclosure(
                ReportUnauthorizedDisclosure("misdirected fax", clock.now, clock.now, clock.now), by=officer
            )
        (only,) = runtime.app.list_unauthorized_disclosures()
    assert only.id == report.id and only.reported_to_cpo_at is None


def test_designated_routine_release_refused_when_designation_withdrawn_after_approval(
    runtime: Runtime,
) -> None:
    reads = stored_reads(runtime, 1)
    po = person(Role.PRIVACY_OFFICER)
    with profile(runtime, "nypd-2026"):
        designation = runtime.app.designate_routine(
            DesignateRoutine("criminal_investigation", "NY DAs", "case data to the prosecutor", "APO 2026-3"),
            by=po,
        )
        ask = request(reads, legal_basis="designated_routine", routine_designation_id=str(designation.id))
        d = runtime.app.request_disclosure(ask, by=INVESTIGATOR)
        runtime.app.approve_disclosure(d.id, by=person(Role.PRIVACY_OFFICER), reference="ok")
        runtime.app.withdraw_routine_designation(designation.id, by=po, reason="found unlawful")
        with pytest.raises(PolicyRefusedError) as caught:
            runtime.app.release_disclosure(d.id, by=po)
    assert caught.value.rule == "disclosure.routine.designation_not_active"
    assert recorded(runtime, Disclosure.Released) == []
    assert not runtime.app.package_dir(d.id).exists()
