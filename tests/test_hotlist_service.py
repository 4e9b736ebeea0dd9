"""Hotlist commands through the application service, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.errors import ConflictError, InvalidFieldError, NotFoundError
from domain.matching import MatchBasis, MatchKind
from domain.policy import Clause, Sourced
from domain.profiles import get_profile
from ops.bootstrap import Runtime, build_runtime
from ops.commands.hotlists import HOTLIST_TOPICS
from ops.hotlist_csv import HotlistFileError
from ops.settings import Settings

NCIC_CSV = (
    "plate,state,reason,effective,expiry,case_number\n"
    "ABC1234,NY,stolen vehicle,2025-01-01,,\n"
    "XYZ987,NJ,stolen plate,,,24-000123\n"
    "NOST8,,wanted person,,,\n"
)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(runtime: Runtime) -> Clock:
    fake = Clock(datetime(2025, 3, 1, 8, 0, tzinfo=UTC))
    runtime.app.clock = fake
    return fake


def _ncic(runtime: Runtime) -> object:
    return runtime.app.create_hotlist(
        "NCIC stolen", "ncic", provenance="NCIC via state switch", actor="admin"
    )


def _manual(runtime: Runtime) -> object:
    return runtime.app.create_hotlist("Manual entries", "manual", provenance="patrol officers", actor="admin")


def test_create_hotlist_stores_created_event_with_ledger_entry_when_valid(runtime: Runtime) -> None:
    hotlist_id = _ncic(runtime)
    assert runtime.ledger.size() == 1
    detail = runtime.app.get_hotlist(hotlist_id)  # type: ignore[arg-type]
    assert detail.summary.name == "NCIC stolen" and detail.summary.source == "ncic"
    assert detail.summary.created_by == "admin" and detail.entries == []


def test_create_hotlist_refuses_when_source_is_unknown(runtime: Runtime) -> None:
    with pytest.raises(InvalidFieldError) as refused:
        runtime.app.create_hotlist("X", "interpol", provenance="?", actor="admin")
    assert (refused.value.field, refused.value.rule) == ("source", "hotlist.source.unknown")
    assert runtime.ledger.size() == 0


def test_import_csv_makes_entries_matchable_when_file_is_valid(runtime: Runtime, clock: Clock) -> None:
    hotlist_id = _ncic(runtime)
    result = runtime.app.import_hotlist_csv(
        hotlist_id, NCIC_CSV.encode(), version="2025-03-01", actor="admin"
    )  # type: ignore[arg-type]
    assert (result.row_count, result.added, result.removed, result.entry_count) == (3, 3, 0, 3)
    assert runtime.ledger.size() == 2
    [exact] = runtime.app.match_plate("ABC1234", "NY")
    assert (
        exact.kind is MatchKind.EXACT and exact.reason == "stolen vehicle" and exact.hotlist_id == hotlist_id
    )
    [possible] = runtime.app.match_plate("NO5T8", "CT")  # confusable 5/S, entry without state
    assert possible.kind is MatchKind.POSSIBLE
    assert possible.basis == (MatchBasis.PLATE_CONFUSABLE, MatchBasis.ENTRY_WITHOUT_STATE)
    assert runtime.app.match_plate("ABC1234", "PA") == []
    detail = runtime.app.get_hotlist(hotlist_id)  # type: ignore[arg-type]
    [version] = detail.versions
    assert version.version == "2025-03-01" and version.row_count == 3 and version.imported_by == "admin"
    assert version.sha256 == result.sha256 and len(detail.entries) == 3


def test_import_csv_stores_nothing_and_names_line_and_field_when_file_has_an_error(
    runtime: Runtime, clock: Clock
) -> None:
    hotlist_id = _ncic(runtime)
    size = runtime.ledger.size()
    bad = NCIC_CSV + "GOOD1,NY,stolen,,,\nAB$99,NY,stolen,,,\n"  # the bad plate is on line 6
    with pytest.raises(HotlistFileError) as refused:
        runtime.app.import_hotlist_csv(hotlist_id, bad, version="v1", actor="admin")  # type: ignore[arg-type]
    assert isinstance(refused.value, InvalidFieldError)
    assert (refused.value.field, refused.value.rule) == ("line 6.plate", "plate.charset")
    assert runtime.ledger.size() == size
    assert runtime.app.match_plate("ABC1234", "NY") == []
    assert runtime.app.get_hotlist(hotlist_id).versions == []  # type: ignore[arg-type]


def test_import_csv_replaces_active_set_and_keeps_ids_of_unchanged_rows_when_new_version(
    runtime: Runtime, clock: Clock
) -> None:
    hotlist_id = _ncic(runtime)
    runtime.app.import_hotlist_csv(hotlist_id, NCIC_CSV, version="v1", actor="admin")  # type: ignore[arg-type]
    [kept_before] = runtime.app.match_plate("ABC1234", "NY")
    second = "plate;state;reason\nABC1234;NY;stolen vehicle\nNEW555;NY;stolen vehicle\n"
    # ABC1234 lost its effective date in v2, so it is a different row: removed and re-added
    result = runtime.app.import_hotlist_csv(hotlist_id, second, version="v2", actor="admin")  # type: ignore[arg-type]
    assert (result.added, result.removed, result.unchanged, result.entry_count) == (2, 3, 0, 2)
    assert runtime.app.match_plate("XYZ987", "NJ") == []
    assert len(runtime.app.match_plate("NEW555", "NY")) == 1
    [kept_after] = runtime.app.match_plate("ABC1234", "NY")
    assert kept_after.entry_id != kept_before.entry_id

    third = second + "THIRD1;NY;stolen vehicle\n"
    result = runtime.app.import_hotlist_csv(hotlist_id, third, version="v3", actor="admin")  # type: ignore[arg-type]
    assert (result.added, result.removed, result.unchanged) == (1, 0, 2)
    assert runtime.app.match_plate("ABC1234", "NY")[0].entry_id == kept_after.entry_id


def test_import_csv_refuses_when_version_label_was_already_imported(runtime: Runtime, clock: Clock) -> None:
    hotlist_id = _ncic(runtime)
    runtime.app.import_hotlist_csv(hotlist_id, NCIC_CSV, version="v1", actor="admin")  # type: ignore[arg-type]
    size = runtime.ledger.size()
    with pytest.raises(ConflictError) as refused:
        runtime.app.import_hotlist_csv(hotlist_id, NCIC_CSV, version="v1", actor="admin")  # type: ignore[arg-type]
    assert refused.value.rule == "hotlist.version.duplicate"
    assert runtime.ledger.size() == size


def test_import_csv_refuses_when_hotlist_is_manual(runtime: Runtime) -> None:
    with pytest.raises(ConflictError) as refused:
        runtime.app.import_hotlist_csv(_manual(runtime), NCIC_CSV, version="v1", actor="admin")  # type: ignore[arg-type]
    assert refused.value.rule == "hotlist.source.manual"


def test_import_csv_refuses_when_hotlist_is_unknown(runtime: Runtime) -> None:
    with pytest.raises(NotFoundError):
        runtime.app.import_hotlist_csv(uuid4(), NCIC_CSV, version="v1", actor="admin")
    with pytest.raises(InvalidFieldError) as refused:
        runtime.app.get_hotlist("not-a-uuid")
    assert refused.value.rule == "hotlist_id.format"


# --------------------------------------------------------------------------------------------
# Manual entries (TCSO C.4, IACP C.6)
# --------------------------------------------------------------------------------------------


def test_add_manual_entry_records_who_why_and_case_when_valid(runtime: Runtime, clock: Clock) -> None:
    hotlist_id = _manual(runtime)
    entry_id = runtime.app.add_manual_entry(
        hotlist_id,  # type: ignore[arg-type]
        "abc 123",
        "ny",
        reason="burglary suspect vehicle",
        case_number="25-001",
        actor="officer7",
    )
    [match] = runtime.app.match_plate("ABC123", "NY")
    assert match.entry_id == entry_id and match.kind is MatchKind.EXACT
    assert (match.reason, match.case_number, match.source) == ("burglary suspect vehicle", "25-001", "manual")
    [event] = list(runtime.app.repository.event_store.get(hotlist_id))[1:]  # type: ignore[arg-type]
    assert event.actor == "officer7" and event.plate == "ABC123"  # type: ignore[attr-defined]


@pytest.mark.parametrize("profile", ["county-sheriff-2025", "nys-mptc-2022"])
def test_add_manual_entry_refuses_without_case_number_when_policy_requires_it(
    runtime: Runtime, profile: str
) -> None:
    runtime.app.policy = get_profile(profile)
    hotlist_id = _manual(runtime)
    size = runtime.ledger.size()
    with pytest.raises(InvalidFieldError) as refused:
        runtime.app.add_manual_entry(
            hotlist_id, "ABC123", "NY", reason="suspect", case_number=None, actor="o"
        )  # type: ignore[arg-type]
    assert (refused.value.field, refused.value.rule) == ("case_number", "hotlist.case_number.required")
    assert runtime.ledger.size() == size


@pytest.mark.parametrize("profile", ["iacp-2010", "nypd-2026"])
def test_add_manual_entry_accepts_no_case_number_when_policy_does_not_require_it(
    runtime: Runtime, profile: str
) -> None:
    runtime.app.policy = get_profile(profile)
    hotlist_id = _manual(runtime)
    runtime.app.add_manual_entry(hotlist_id, "ABC123", "NY", reason="suspect", case_number=None, actor="o")  # type: ignore[arg-type]
    assert len(runtime.app.match_plate("ABC123", "NY")) == 1


def test_add_manual_entry_refuses_without_reason_when_policy_requires_it(runtime: Runtime) -> None:
    runtime.app.policy = get_profile("iacp-2010")
    hotlist_id = _manual(runtime)
    with pytest.raises(InvalidFieldError) as refused:
        runtime.app.add_manual_entry(hotlist_id, "ABC123", "NY", reason="  ", case_number=None, actor="o")  # type: ignore[arg-type]
    assert (refused.value.field, refused.value.rule) == ("reason", "hotlist.reason.required")


def test_add_manual_entry_accepts_no_reason_when_policy_does_not_require_it(runtime: Runtime) -> None:
    lenient = get_profile("iacp-2010")
    runtime.app.policy = dataclasses.replace(
        lenient, manual_hotlist_requires_reason=Sourced(False, Clause("test", "no reason needed"))
    )
    hotlist_id = _manual(runtime)
    runtime.app.add_manual_entry(hotlist_id, "ABC123", None, reason=None, case_number=None, actor="o")  # type: ignore[arg-type]
    [match] = runtime.app.match_plate("ABC123", "NY")
    assert match.reason is None and match.basis == (MatchBasis.ENTRY_WITHOUT_STATE,)


def test_add_manual_entry_refuses_when_hotlist_is_imported(runtime: Runtime) -> None:
    with pytest.raises(ConflictError) as refused:
        runtime.app.add_manual_entry(_ncic(runtime), "ABC123", "NY", reason="x", case_number="1", actor="o")  # type: ignore[arg-type]
    assert refused.value.rule == "hotlist.source.imported"


def test_add_manual_entry_stops_matching_when_its_expiry_passes(runtime: Runtime, clock: Clock) -> None:
    hotlist_id = _manual(runtime)
    runtime.app.add_manual_entry(
        hotlist_id,  # type: ignore[arg-type]
        "ABC123",
        "NY",
        reason="x",
        case_number="1",
        actor="o",
        expires_at=clock.now + timedelta(hours=2),
    )
    assert len(runtime.app.match_plate("ABC123", "NY")) == 1
    clock.now += timedelta(hours=2)
    assert runtime.app.match_plate("ABC123", "NY") == []
    with pytest.raises(InvalidFieldError) as refused:
        runtime.app.add_manual_entry(
            hotlist_id,
            "X1",
            "NY",
            reason="x",
            case_number="1",
            actor="o",
            expires_at=clock.now,  # type: ignore[arg-type]
        )
    assert refused.value.rule == "expires_at.past"


def test_imported_entry_stops_matching_when_its_expiry_date_passes(runtime: Runtime, clock: Clock) -> None:
    hotlist_id = _ncic(runtime)
    runtime.app.import_hotlist_csv(
        hotlist_id, "plate,state,reason,expiry\nABC1,NY,x,3/1/2025\n", version="v1", actor="a"
    )  # type: ignore[arg-type]
    assert len(runtime.app.match_plate("ABC1", "NY")) == 1  # 08:00 on the expiry day: still active
    clock.now = datetime(2025, 3, 2, tzinfo=UTC)
    assert runtime.app.match_plate("ABC1", "NY") == []


# --------------------------------------------------------------------------------------------
# Removal and expiry
# --------------------------------------------------------------------------------------------


def test_remove_entry_stops_matching_when_removed(runtime: Runtime, clock: Clock) -> None:
    hotlist_id = _manual(runtime)
    entry_id = runtime.app.add_manual_entry(
        hotlist_id, "ABC123", "NY", reason="x", case_number="1", actor="o"
    )  # type: ignore[arg-type]
    runtime.app.remove_entry(hotlist_id, entry_id, why="vehicle recovered", actor="sgt")  # type: ignore[arg-type]
    assert runtime.app.match_plate("ABC123", "NY") == []
    assert runtime.app.get_hotlist(hotlist_id).entries == []  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):
        runtime.app.remove_entry(hotlist_id, entry_id, why="again", actor="sgt")  # type: ignore[arg-type]


def test_expire_hotlist_stops_all_matches_and_refuses_changes_when_expired(
    runtime: Runtime, clock: Clock
) -> None:
    hotlist_id = _ncic(runtime)
    runtime.app.import_hotlist_csv(hotlist_id, NCIC_CSV, version="v1", actor="admin")  # type: ignore[arg-type]
    runtime.app.expire_hotlist(hotlist_id, why="source withdrawn", actor="admin")  # type: ignore[arg-type]
    assert runtime.app.match_plate("ABC1234", "NY") == []
    [summary] = runtime.app.list_hotlists()
    assert summary.expired_at == clock.now and summary.entry_count == 0
    with pytest.raises(ConflictError) as refused:
        runtime.app.import_hotlist_csv(hotlist_id, NCIC_CSV, version="v2", actor="admin")  # type: ignore[arg-type]
    assert refused.value.rule == "hotlist.expired"


# --------------------------------------------------------------------------------------------
# Index across processes; staleness (IACP C.3)
# --------------------------------------------------------------------------------------------


def test_hotlist_index_sees_entries_saved_by_another_application_when_refreshed(
    runtime: Runtime, settings: Settings
) -> None:
    hotlist_id = _manual(runtime)
    assert len(runtime.app.hotlist_index()) == 0  # the index is built and cached here
    other = build_runtime(settings, run_migrations=False)
    try:
        other.app.add_manual_entry(hotlist_id, "ABC123", "NY", reason="x", case_number="1", actor="o")  # type: ignore[arg-type]
        other.app.record_reads([])  # unrelated activity
    finally:
        other.close()
    index = runtime.app.hotlist_index()
    assert len(index) == 1
    assert index.match("ABC123", "NY", at=runtime.app.clock())[0].kind is MatchKind.EXACT


def test_hotlist_topics_name_every_hotlist_event_when_listed() -> None:
    assert HOTLIST_TOPICS == (
        "domain.hotlist:Hotlist.Created",
        "domain.hotlist:Hotlist.VersionImported",
        "domain.hotlist:Hotlist.EntryAdded",
        "domain.hotlist:Hotlist.EntryRemoved",
        "domain.hotlist:Hotlist.Expired",
    )


def test_hotlist_warnings_warn_when_last_import_is_older_than_a_shift(runtime: Runtime, clock: Clock) -> None:
    shift = runtime.app.policy.shift.value
    ncic = _ncic(runtime)
    _manual(runtime)
    assert [w.hotlist_id for w in runtime.app.hotlist_warnings()] == [ncic]  # never imported
    runtime.app.import_hotlist_csv(ncic, NCIC_CSV, version="v1", actor="admin")  # type: ignore[arg-type]
    assert runtime.app.hotlist_warnings() == []
    clock.now += shift
    assert runtime.app.hotlist_warnings() == []  # exactly one shift old: still current
    clock.now += timedelta(minutes=1)
    [warning] = runtime.app.hotlist_warnings()
    assert warning.hotlist_id == ncic and warning.rule == "hotlist.stale"
    assert [s.stale for s in runtime.app.list_hotlists()] == [True, False]  # the manual list never is
    assert runtime.app.get_hotlist(ncic).summary.stale  # type: ignore[arg-type]
