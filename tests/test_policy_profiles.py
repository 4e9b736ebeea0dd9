"""Policy profiles: every value sourced from its policy text, and the values a regression would break.

Pure data: no database. The quote check reads the policy texts from ``shared/policies`` beside the
repository.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from domain.policy import (
    DISCLOSURE_KINDS,
    LEGAL_REVIEW,
    NOT_STATED,
    PolicyProfile,
    Role,
    calendar_years,
    format_duration,
)
from domain.profiles import (
    CASE_CLASSIFICATIONS,
    DEFAULT_PROFILE,
    PROFILES,
    UnknownProfileError,
    get_profile,
)

POLICIES = Path(__file__).resolve().parents[2] / "shared" / "policies"
NAMES = ["nypd-2026", "nypd-2021", "nys-mptc-2022", "county-sheriff-2025", "iacp-2010"]
# Fields that describe the profile rather than set a rule.
IDENTITY_FIELDS = {"name", "title", "source"}


def _normalise(text: str) -> str:
    # The texts are conversions of PDFs: typographic quotes and dashes, and line breaks mid-sentence.
    for fancy, plain in (("\u2018", "'"), ("\u2019", "'"), ("\u201c", '"'), ("\u201d", '"'), ("\u2013", "-")):
        text = text.replace(fancy, plain)
    return re.sub(r"\s+", " ", text).strip()


def _profiles() -> list[PolicyProfile]:
    return [PROFILES[name] for name in NAMES]


def test_profiles_exist_when_one_per_policy_text() -> None:
    assert list(PROFILES) == NAMES
    assert DEFAULT_PROFILE == "nys-mptc-2022"
    assert {p.source for p in PROFILES.values()} == {
        "nypd-lpr-impact-and-use-policy-2026.txt",
        "nypd-lpr-impact-and-use-policy-2021.txt",
        "nys-mptc-lpr-model-policy-2022.txt",
        "county-sheriff-alpr-policy-2025.txt",
        "iacp-lpr-model-policy-2010.txt",
    }
    assert all(PROFILES[name].name == name for name in NAMES)


@pytest.mark.parametrize("profile", _profiles(), ids=NAMES)
def test_every_value_names_its_clause_when_profile_listed(profile: PolicyProfile) -> None:
    rows = list(profile.rules())
    for field, key, _value, clause in rows:
        assert clause.ref.strip(), f"{field} {key}: empty ref"
        assert clause.quote.strip(), f"{field} {key}: empty quote"
        if clause.stated:
            assert clause.ref.split()[0] in {"NYPD", "MPTC", "TCSO", "IACP"}, clause.ref
        else:
            assert clause.ref == NOT_STATED
            assert len(clause.quote) > 30, f"{field} {key}: a default must give its reason"
    # rules() must walk every rule field, so a field added later cannot go unsourced.
    walked = {field for field, *_ in rows}
    rule_fields = {f.name for f in dataclasses.fields(PolicyProfile)} - IDENTITY_FIELDS
    optional = {"extra", "case_retention_until"}  # may be empty in a profile
    assert rule_fields - optional <= walked, rule_fields - walked
    assert set(profile.disclosure_approvers) == set(DISCLOSURE_KINDS)


@pytest.mark.parametrize("profile", _profiles(), ids=NAMES)
def test_every_quote_occurs_in_policy_text_when_value_stated(profile: PolicyProfile) -> None:
    if not POLICIES.is_dir():
        pytest.skip(f"policy texts not found at {POLICIES} (shared/policies beside the repository)")
    text = _normalise((POLICIES / profile.source).read_text(encoding="utf-8"))
    missing = []
    for field, key, _value, clause in profile.rules():
        if not clause.stated:
            continue
        # "..." joins excerpts of one passage: each must occur, in order.
        position = 0
        for fragment in _normalise(clause.quote).split(" ... "):
            found = text.find(fragment, position)
            if found < 0:
                missing.append(f"{field} {key} ({clause.ref}): {fragment!r}")
                break
            position = found + len(fragment)
    assert not missing, "\n".join(missing)


def test_county_sheriff_values_match_policy_when_loaded() -> None:
    tcso = get_profile("county-sheriff-2025")
    assert tcso.read_retention.value == timedelta(days=30)
    assert tcso.query_log_retention.value == calendar_years(6)
    assert tcso.search_requires_case_number.value and tcso.search_requires_reason.value
    assert tcso.approver("out_of_state") == Role.APPROVER
    assert tcso.approver("public_records") == LEGAL_REVIEW
    assert tcso.manual_hotlist_requires_reason.value and tcso.manual_hotlist_requires_case_number.value
    assert tcso.hit_verification_required.value
    for code in ("immigration_enforcement", "personal_use", "political_activity", "race", "pregnancy_status"):
        assert tcso.prohibited(code) is not None, code
    assert tcso.extra["in_state_access_only"].value is True


def test_mptc_values_match_policy_when_loaded() -> None:
    mptc = get_profile("nys-mptc-2022")
    assert mptc.read_retention.value >= timedelta(days=365)
    assert mptc.query_log_retention.value >= timedelta(days=6 * 365)
    assert mptc.search_requires_case_number.value and mptc.search_requires_reason.value
    assert mptc.approver("public_records") == LEGAL_REVIEW
    assert {p.code for p in mptc.permitted_purposes if not p.historical_search} == {
        "routine_patrol",
        "parking_regulation",
        "secured_area_access",
    }
    for code in ("personal_use", "religious_activity", "political_activity", "lawful_association"):
        assert mptc.prohibited(code) is not None, code


def test_nypd_2026_requires_report_within_24_hours_when_disclosure_unauthorized() -> None:
    nypd = get_profile("nypd-2026")
    assert nypd.unauthorized_disclosure_report_within.value == timedelta(hours=24)
    assert nypd.unauthorized_disclosure_report_within.clause.stated
    # The 2021 policy said "as soon as practicable": a rule, but no deadline to enforce.
    assert get_profile("nypd-2021").unauthorized_disclosure_report_within.value is None


def test_nypd_profiles_list_seven_legal_bases_when_disclosing() -> None:
    for name in ("nypd-2026", "nypd-2021"):
        nypd = get_profile(name)
        assert [b.value for b in nypd.legal_bases] == [
            "written_consent",
            "required_by_law",
            "furthers_mission",
            "pre_approved_by_city_cpo",
            "designated_routine",
            "investigation_of_crime",
            "welfare_of_minor",
        ]
        assert nypd.legal_basis("welfare_of_minor") is not None
        assert nypd.approver("standard") == Role.PRIVACY_OFFICER
        assert nypd.read_retention.value == calendar_years(5)


def test_immigration_enforcement_prohibited_when_policy_forbids_it() -> None:
    for name in ("nypd-2026", "nypd-2021", "county-sheriff-2025"):
        assert get_profile(name).prohibited("immigration_enforcement") is not None, name
    for name in ("nypd-2026", "nypd-2021"):
        assert get_profile(name).prohibited("real_time_tracking") is not None, name


def test_external_repository_lookup_needs_reason_and_case_when_nypd() -> None:
    nypd = get_profile("nypd-2026")
    lookup = nypd.purpose("external_repository_lookup")
    assert lookup is not None and lookup.requires_case_number
    assert "left the boundaries of NYC" in lookup.clause.quote
    assert nypd.search_requires_reason.value
    assert nypd.case_number_required("external_repository_lookup")
    assert not nypd.case_number_required("amber_alert")
    assert nypd.case_number_required("no_such_purpose")
    # Where every search needs a case number the purpose's own flag does not matter.
    assert get_profile("nys-mptc-2022").case_number_required("amber_alert")


def test_case_retention_follows_2021_schedule_when_case_closed() -> None:
    nypd = get_profile("nypd-2021")
    assert tuple(nypd.case_retention) == CASE_CLASSIFICATIONS
    assert nypd.case_retention["homicide"].value is None and "homicide" not in nypd.case_retention_until
    assert nypd.case_retention["missing_person"].value is None
    assert nypd.case_retention_until["missing_person"].value == "person_located"
    assert nypd.case_retention["other_felony"].value == calendar_years(25)
    assert nypd.case_retention["arson_fourth_degree"].value == calendar_years(10)
    assert nypd.case_retention["misdemeanor"].value == calendar_years(5)
    assert nypd.case_retention["traffic_infraction"].value == calendar_years(1)
    assert nypd.case_retention["other_felony"].clause.stated
    # Other profiles defer to statute: same classifications, marked as a default, never as a quote.
    for name in ("nypd-2026", "nys-mptc-2022", "county-sheriff-2025", "iacp-2010"):
        other = get_profile(name)
        assert tuple(other.case_retention) == CASE_CLASSIFICATIONS
        assert all(not s.clause.stated for s in other.case_retention.values())


def test_iacp_values_match_policy_when_loaded() -> None:
    iacp = get_profile("iacp-2010")
    assert iacp.approver("standard") == Role.ADMINISTRATOR
    assert iacp.manual_hotlist_requires_reason.value and not iacp.manual_hotlist_requires_case_number.value
    assert iacp.equipment_check_interval.value == timedelta(days=30)
    assert iacp.equipment_check_interval.clause.ref.startswith("IACP B.2")
    assert iacp.shift.clause.ref.startswith("IACP C.3")
    stated = [g.code for g in iacp.prohibited_grounds if g.clause.ref != NOT_STATED]
    assert stated == ["personal_use"]  # the rest of the baseline is the product's, not IACP's


@pytest.mark.parametrize("profile", _profiles(), ids=NAMES)
def test_core_use_rules_hold_when_any_profile_active(profile: PolicyProfile) -> None:
    assert profile.training_required.value
    assert profile.hit_verification_required.value
    assert profile.manual_hotlist_requires_reason.value
    assert profile.shift.value == timedelta(hours=12)
    assert profile.query_log_retention.value >= profile.read_retention.value
    permitted = {p.code for p in profile.permitted_purposes}
    prohibited = {g.code for g in profile.prohibited_grounds}
    assert not permitted & prohibited
    assert len(permitted) == len(profile.permitted_purposes)
    assert len(prohibited) == len(profile.prohibited_grounds)
    assert profile.purpose("criminal_investigation") is not None
    assert profile.prohibited("personal_use") is not None
    assert {profile.approver(kind) for kind in DISCLOSURE_KINDS} <= {*Role, LEGAL_REVIEW}


def test_get_profile_lists_valid_names_when_name_unknown() -> None:
    with pytest.raises(UnknownProfileError) as raised:
        get_profile("nypd-1999")
    message = str(raised.value)
    assert "nypd-1999" in message
    assert all(name in message for name in NAMES)
    assert isinstance(raised.value, KeyError) and isinstance(raised.value, ValueError)


@pytest.mark.parametrize("years", [1, 5, 6, 10, 25])
def test_calendar_years_never_short_when_span_has_leap_days(years: int) -> None:
    start = date(1996, 1, 1)
    for offset in range(0, 366 * 8, 7):
        day = start + timedelta(days=offset)
        try:
            same_day_later = day.replace(year=day.year + years)
        except ValueError:  # 29 February
            same_day_later = date(day.year + years, 3, 1)
        assert day + calendar_years(years) >= same_day_later


def test_format_duration_reads_naturally_when_printed() -> None:
    assert format_duration(calendar_years(5)) == "5 years"
    assert format_duration(calendar_years(1)) == "1 year"
    assert format_duration(timedelta(days=30)) == "30 days"
    assert format_duration(timedelta(hours=24)) == "24 hours"
    assert format_duration(None) == "none"


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_profile_prohibits_baseline_purposes_when_policy_text_is_silent(name: str) -> None:
    from domain.profiles import BASELINE_PROHIBITED

    profile = PROFILES[name]
    for code, _ in BASELINE_PROHIBITED:
        ground = profile.prohibited(code)
        assert ground is not None, f"{name} does not prohibit {code}"
        assert ground.clause.ref and ground.clause.quote
