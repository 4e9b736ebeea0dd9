"""Hit aggregate and its pure decisions: verification before confirming, one disposition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.errors import ConflictError, InvalidFieldError, PolicyRefusedError
from domain.hit import (
    NOTES_MAX_LENGTH,
    PERSONAL_FIELDS,
    Hit,
    MatchKind,
    Officer,
    Outcome,
    RaiseHit,
    Verification,
    check_disposition_allowed,
    parse_outcome,
)

NOW = datetime(2025, 3, 3, 14, 0, tzinfo=UTC)
OFFICER = Officer(uuid4(), "officer.jones")


def _hit(kind: MatchKind = MatchKind.EXACT) -> Hit:
    return Hit.raise_from(
        RaiseHit(
            read_id=uuid4(),
            camera_id="cam-1",
            captured_at=NOW - timedelta(seconds=2),
            hotlist_id=uuid4(),
            entry_id=uuid4(),
            match_kind=kind,
            basis=() if kind is MatchKind.EXACT else ("read_without_state",),
            hotlist_source="ncic",
            hotlist_name="NCIC stolen vehicles",
            reason="stolen vehicle",
            case_number=None,
            read_plate="ABC1234",
            read_state="NY",
            entry_plate="ABC1234",
            entry_state="NY",
        ),
        now=NOW,
    )


def _verification(characters: bool, state: bool) -> Verification:
    return Verification(OFFICER.account_id, OFFICER.login, characters, state, "", NOW)


def test_raise_from_records_read_entry_and_personal_fields_when_raised() -> None:
    hit = _hit(MatchKind.POSSIBLE)
    (event,) = hit.collect_events()
    assert isinstance(event, Hit.Raised)
    assert event.match_kind == "possible" and hit.match_kind is MatchKind.POSSIBLE
    assert event.timestamp == NOW == hit.raised_at
    for name in PERSONAL_FIELDS:
        assert hasattr(event, name) and hasattr(hit, name)
    assert not hit.dispositioned and hit.last_verification is None
    assert hit.id.version == 4


def test_verify_records_both_checks_and_officer_when_before_disposition() -> None:
    hit = _hit()
    hit.verify(OFFICER, plate_characters_match=True, state_matches=False, notes="  PA plate  ", now=NOW)
    check = hit.last_verification
    assert check is not None
    assert (check.plate_characters_match, check.state_matches, check.notes) == (True, False, "PA plate")
    assert check.officer_id == OFFICER.account_id and check.officer_login == "officer.jones"
    assert not check.passed


@pytest.mark.parametrize("field", ["plate_characters_match", "state_matches"])
def test_verify_refuses_non_boolean_check_when_truthy_string_given(field: str) -> None:
    hit = _hit()
    checks: dict[str, object] = {"plate_characters_match": True, "state_matches": True, field: "yes"}
    with pytest.raises(InvalidFieldError) as e:
        hit.verify(OFFICER, notes="", now=NOW, **checks)  # type: ignore[arg-type]
    assert (e.value.field, e.value.rule) == (field, "check.type")
    assert hit.verifications == []


def test_verify_refuses_when_hit_already_dispositioned() -> None:
    hit = _hit()
    hit.disposition(OFFICER, outcome="not_located", notes="", now=NOW, verification_required=True)
    with pytest.raises(ConflictError) as e:
        hit.verify(OFFICER, plate_characters_match=True, state_matches=True, notes="", now=NOW)
    assert e.value.rule == "hit.already_dispositioned"
    assert hit.verifications == []


def test_disposition_refuses_confirmed_when_not_verified_and_policy_requires_it() -> None:
    hit = _hit()
    with pytest.raises(PolicyRefusedError) as e:
        hit.disposition(OFFICER, outcome="confirmed", notes="", now=NOW, verification_required=True)
    assert (e.value.field, e.value.rule) == ("outcome", "hit.verification_required")
    assert not hit.dispositioned


@pytest.mark.parametrize(("characters", "state"), [(False, True), (True, False), (False, False)])
def test_disposition_refuses_confirmed_when_latest_verification_found_mismatch(
    characters: bool, state: bool
) -> None:
    hit = _hit()
    hit.verify(OFFICER, plate_characters_match=characters, state_matches=state, notes="", now=NOW)
    with pytest.raises(PolicyRefusedError) as e:
        hit.disposition(OFFICER, outcome="confirmed", notes="", now=NOW, verification_required=True)
    assert e.value.rule == "hit.verification_failed"


def test_disposition_refuses_confirmed_when_later_verification_overrules_a_passing_one() -> None:
    hit = _hit()
    hit.verify(OFFICER, plate_characters_match=True, state_matches=True, notes="", now=NOW)
    hit.verify(OFFICER, plate_characters_match=True, state_matches=False, notes="closer look", now=NOW)
    with pytest.raises(PolicyRefusedError):
        hit.disposition(OFFICER, outcome="confirmed", notes="", now=NOW, verification_required=True)


def test_disposition_confirms_when_verification_passed() -> None:
    hit = _hit()
    hit.verify(OFFICER, plate_characters_match=True, state_matches=True, notes="", now=NOW)
    hit.disposition(
        OFFICER,
        outcome="confirmed",
        notes="stopped",
        now=NOW + timedelta(minutes=3),
        verification_required=True,
    )
    assert hit.disposition_record is not None
    assert hit.disposition_record.outcome is Outcome.CONFIRMED
    assert hit.disposition_record.at == NOW + timedelta(minutes=3)
    assert [type(e).__name__ for e in hit.collect_events()] == ["Raised", "Verified", "Dispositioned"]


def test_disposition_confirms_without_verification_when_policy_does_not_require_it() -> None:
    hit = _hit()
    hit.disposition(OFFICER, outcome="confirmed", notes="", now=NOW, verification_required=False)
    assert hit.dispositioned


def test_disposition_refuses_second_disposition_when_already_dispositioned() -> None:
    hit = _hit()
    hit.disposition(OFFICER, outcome="misread", notes="", now=NOW, verification_required=True)
    with pytest.raises(ConflictError) as e:
        hit.disposition(OFFICER, outcome="no_action", notes="", now=NOW, verification_required=True)
    assert e.value.rule == "hit.already_dispositioned"
    assert hit.disposition_record is not None and hit.disposition_record.outcome is Outcome.MISREAD


@pytest.mark.parametrize("notes", ["", "   ", None])
def test_disposition_refuses_other_when_notes_are_empty(notes: str | None) -> None:
    hit = _hit()
    with pytest.raises(InvalidFieldError) as e:
        hit.disposition(OFFICER, outcome="other", notes=notes, now=NOW, verification_required=True)
    assert (e.value.field, e.value.rule) == ("notes", "notes.required_for_other")


def test_disposition_records_other_when_notes_say_what_happened() -> None:
    hit = _hit()
    hit.disposition(
        OFFICER, outcome="other", notes="vehicle left the area", now=NOW, verification_required=True
    )
    assert hit.disposition_record is not None and hit.disposition_record.notes == "vehicle left the area"


@pytest.mark.parametrize("raw", ["arrested", "", None, 3, "CONFIRMED"])
def test_parse_outcome_refuses_unknown_outcome_when_not_in_list(raw: object) -> None:
    with pytest.raises(InvalidFieldError) as e:
        parse_outcome(raw)
    assert (e.value.field, e.value.rule) == ("outcome", "outcome.unknown")


def test_disposition_refuses_notes_when_too_long() -> None:
    hit = _hit()
    with pytest.raises(InvalidFieldError) as e:
        hit.disposition(
            OFFICER,
            outcome="misread",
            notes="x" * (NOTES_MAX_LENGTH + 1),
            now=NOW,
            verification_required=True,
        )
    assert e.value.rule == "notes.length"


def test_check_disposition_allowed_accepts_non_confirmed_outcomes_when_unverified() -> None:
    for outcome in Outcome:
        if outcome in (Outcome.CONFIRMED, Outcome.OTHER):
            continue
        check_disposition_allowed(
            outcome, "", dispositioned=False, last_verification=None, verification_required=True
        )
    check_disposition_allowed(
        Outcome.CONFIRMED,
        "",
        dispositioned=False,
        last_verification=_verification(True, True),
        verification_required=True,
        own_verification=_verification(True, True),
    )


def test_replayed_hit_equals_live_hit_when_events_are_reapplied() -> None:
    hit = _hit()
    hit.verify(OFFICER, plate_characters_match=True, state_matches=True, notes="ok", now=NOW)
    hit.disposition(OFFICER, outcome="confirmed", notes="", now=NOW, verification_required=True)
    events = hit.collect_events()
    copy: Hit | None = None
    for event in events:
        copy = event.mutate(copy)  # type: ignore[arg-type]
    assert copy is not None
    assert copy.verifications == hit.verifications
    assert copy.disposition_record == hit.disposition_record
    assert copy.version == hit.version == 3


def test_disposition_refuses_confirmed_when_only_another_officer_verified() -> None:
    hit = _hit()
    hit.verify(OFFICER, plate_characters_match=True, state_matches=True, notes="ok", now=NOW)
    other = Officer(uuid4(), "officer.smith")
    with pytest.raises(PolicyRefusedError) as caught:
        hit.disposition(other, outcome="confirmed", notes="", now=NOW, verification_required=True)
    assert caught.value.rule == "hit.verification_not_own"
    hit.verify(other, plate_characters_match=True, state_matches=True, notes="my look", now=NOW)
    hit.disposition(other, outcome="confirmed", notes="", now=NOW, verification_required=True)
    assert hit.disposition_record is not None and hit.disposition_record.officer_id == other.account_id
