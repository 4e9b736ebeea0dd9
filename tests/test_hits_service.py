"""Hit commands on the service, on SQLite and PostgreSQL: verify, disposition, views, alert tail."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta
from uuid import uuid4

import pytest
from eventsourcing.utils import get_topic

from domain.errors import (
    AccessDeniedError,
    ConflictError,
    InvalidFieldError,
    NotFoundError,
    PolicyRefusedError,
)
from domain.hit import Hit, MatchKind, Outcome
from domain.policy import Clause, Role, Sourced
from ledger.audit import audit
from ops.bootstrap import Runtime, build_runtime
from tests.api_support import token_for
from tests.hits_support import FakeClock, store_hit


@pytest.fixture
def clock(runtime: Runtime) -> FakeClock:
    fake = FakeClock()
    runtime.app.clock = fake
    return fake


def _officer(runtime: Runtime, *, trained: bool = True, role: Role = Role.OFFICER):  # type: ignore[no-untyped-def]
    return runtime.app.authenticate(token_for(runtime, role, trained=trained))


def _topics(runtime: Runtime, hit: Hit) -> list[str]:
    return [e.topic for e in runtime.app.recorder.select_events(hit.id)]


def test_verify_then_confirm_stores_events_with_ledger_entries_when_checks_pass(
    runtime: Runtime, clock: FakeClock
) -> None:
    hit = store_hit(runtime)
    officer = _officer(runtime)
    runtime.app.verify_hit(
        hit.id, officer=officer, plate_characters_match=True, state_matches=True, notes="ok"
    )
    clock.advance(timedelta(minutes=4))
    done = runtime.app.disposition_hit(hit.id, outcome="confirmed", notes="stopped", officer=officer)
    assert done.disposition_record is not None and done.disposition_record.at == clock.now
    assert done.disposition_record.officer_login == officer.login
    stored = runtime.app.get_hit(hit.id)
    assert stored.dispositioned and stored.last_verification is not None
    assert _topics(runtime, hit) == [
        get_topic(Hit.Raised),
        get_topic(Hit.Verified),
        get_topic(Hit.Dispositioned),
    ]
    assert audit(runtime.ledger, runtime.checkpointer.signer.vkey).ok


def test_disposition_refuses_confirmed_and_stores_nothing_when_not_verified(runtime: Runtime) -> None:
    hit = store_hit(runtime)
    with pytest.raises(PolicyRefusedError) as e:
        runtime.app.disposition_hit(hit.id, outcome="confirmed", officer=_officer(runtime))
    assert e.value.rule == "hit.verification_required"
    assert not runtime.app.get_hit(hit.id).dispositioned
    assert len(_topics(runtime, hit)) == 1


def test_disposition_confirms_unverified_hit_when_policy_does_not_require_verification(
    runtime: Runtime,
) -> None:
    policy = runtime.app.policy
    runtime.app.policy = dataclasses.replace(
        policy, hit_verification_required=Sourced(False, Clause("test", "no verification rule"))
    )
    try:
        hit = store_hit(runtime)
        runtime.app.disposition_hit(hit.id, outcome="confirmed", officer=_officer(runtime))
        assert runtime.app.get_hit(hit.id).dispositioned
    finally:
        runtime.app.policy = policy


def test_disposition_refuses_second_disposition_when_already_dispositioned(runtime: Runtime) -> None:
    hit = store_hit(runtime)
    officer = _officer(runtime)
    runtime.app.disposition_hit(hit.id, outcome="not_located", officer=officer)
    with pytest.raises(ConflictError) as e:
        runtime.app.disposition_hit(hit.id, outcome="misread", officer=officer)
    assert e.value.rule == "hit.already_dispositioned"
    with pytest.raises(ConflictError):
        runtime.app.verify_hit(hit.id, officer=officer, plate_characters_match=True, state_matches=True)
    assert len(_topics(runtime, hit)) == 2


def test_disposition_records_one_outcome_when_two_officers_act_at_once(runtime: Runtime) -> None:
    hit = store_hit(runtime)
    officers = [_officer(runtime), _officer(runtime)]
    barrier = threading.Barrier(2)
    results: list[object] = []

    def act(officer, outcome: str) -> None:  # type: ignore[no-untyped-def]
        barrier.wait()
        try:
            results.append(runtime.app.disposition_hit(hit.id, outcome=outcome, officer=officer))
        except ConflictError as exc:
            results.append(exc)

    threads = [
        threading.Thread(target=act, args=(officers[0], "misread")),
        threading.Thread(target=act, args=(officers[1], "no_action")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(type(r).__name__ for r in results) == ["ConflictError", "Hit"]
    assert len(_topics(runtime, hit)) == 2


def test_disposition_refuses_other_when_notes_are_missing(runtime: Runtime) -> None:
    hit = store_hit(runtime)
    with pytest.raises(InvalidFieldError) as e:
        runtime.app.disposition_hit(hit.id, outcome="other", notes=" ", officer=_officer(runtime))
    assert (e.value.field, e.value.rule) == ("notes", "notes.required_for_other")


def test_verify_refuses_untrained_officer_when_policy_requires_training(runtime: Runtime) -> None:
    hit = store_hit(runtime)
    untrained = _officer(runtime, trained=False)
    with pytest.raises(AccessDeniedError) as e:
        runtime.app.verify_hit(hit.id, officer=untrained, plate_characters_match=True, state_matches=True)
    assert e.value.rule == "training.required"
    with pytest.raises(AccessDeniedError):
        runtime.app.disposition_hit(hit.id, outcome="misread", officer=untrained.account_id)
    assert len(_topics(runtime, hit)) == 1


def test_disposition_accepts_account_id_when_account_is_trained(runtime: Runtime) -> None:
    hit = store_hit(runtime)
    officer = _officer(runtime)
    done = runtime.app.disposition_hit(hit.id, outcome=Outcome.MISREAD, officer=officer.account_id)
    assert done.disposition_record is not None and done.disposition_record.officer_login == officer.login


def test_verify_refuses_device_when_device_token_acts(runtime: Runtime) -> None:
    hit = store_hit(runtime)
    device = runtime.app.authenticate(token_for(runtime, Role.DEVICE))
    with pytest.raises(AccessDeniedError) as e:
        runtime.app.verify_hit(hit.id, officer=device, plate_characters_match=True, state_matches=True)
    assert e.value.rule == "role.missing"


def test_get_hit_raises_not_found_when_id_is_unknown_or_not_a_hit(runtime: Runtime) -> None:
    with pytest.raises(NotFoundError) as e:
        runtime.app.get_hit(uuid4())
    assert (e.value.field, e.value.rule) == ("hit_id", "hit.not_found")
    officer = _officer(runtime)
    with pytest.raises(NotFoundError):
        runtime.app.get_hit(officer.account_id)  # an account, not a hit
    with pytest.raises(InvalidFieldError):
        runtime.app.get_hit("not-a-uuid")


def test_undispositioned_hits_show_hits_older_than_a_shift_until_dispositioned(
    runtime: Runtime, clock: FakeClock
) -> None:
    shift = runtime.app.policy.shift.value
    old = store_hit(runtime)
    clock.advance(shift - timedelta(minutes=30))
    recent = store_hit(runtime)
    clock.advance(timedelta(minutes=31))
    assert [h.id for h in runtime.app.undispositioned_hits()] == [old.id]
    clock.advance(shift)
    assert [h.id for h in runtime.app.undispositioned_hits()] == [old.id, recent.id]  # oldest first
    runtime.app.disposition_hit(old.id, outcome="not_located", officer=_officer(runtime))
    assert [h.id for h in runtime.app.undispositioned_hits()] == [recent.id]
    assert [h.id for h in runtime.app.undispositioned_hits(older_than=timedelta(days=365))] == []


def test_list_hits_filters_by_state_age_and_camera_when_asked(runtime: Runtime, clock: FakeClock) -> None:
    first = store_hit(runtime, camera_id="cam-a")
    clock.advance(timedelta(minutes=10))
    second = store_hit(runtime, camera_id="cam-b", kind=MatchKind.POSSIBLE)
    runtime.app.disposition_hit(first.id, outcome="misread", officer=_officer(runtime))
    assert [h.id for h in runtime.app.list_hits()] == [second.id, first.id]  # newest first
    assert [h.id for h in runtime.app.list_hits(undispositioned=True)] == [second.id]
    assert [h.id for h in runtime.app.list_hits(undispositioned=False)] == [first.id]
    assert [h.id for h in runtime.app.list_hits(older_than=timedelta(minutes=5))] == [first.id]
    assert [h.id for h in runtime.app.list_hits(camera_id="cam-b")] == [second.id]
    assert [h.id for h in runtime.app.list_hits(limit=1)] == [second.id]
    assert runtime.app.list_hits(older_than=timedelta.max) == []
    with pytest.raises(InvalidFieldError):
        runtime.app.list_hits(older_than=timedelta(seconds=-1))


def test_list_hits_includes_hits_saved_by_another_process_when_sharing_the_database(runtime: Runtime) -> None:
    assert runtime.app.list_hits() == []
    other = build_runtime(runtime.settings, run_migrations=False)
    try:
        hit = store_hit(other)
        other.app.disposition_hit(hit.id, outcome="misread", officer=_officer(other))
    finally:
        other.close()
    (seen,) = runtime.app.list_hits()
    assert seen.id == hit.id and seen.dispositioned


def test_alerts_after_returns_only_hits_raised_after_position_when_tailing(runtime: Runtime) -> None:
    before = store_hit(runtime)
    position = runtime.app.latest_alert_position()
    runtime.app.verify_hit(
        before.id, officer=_officer(runtime), plate_characters_match=True, state_matches=True
    )
    after = store_hit(runtime, kind=MatchKind.POSSIBLE, state=None)
    batch = runtime.app.alerts_after(position)
    assert [a.hit_id for a in batch.alerts] == [after.id]
    alert = batch.alerts[0]
    assert alert.position > position and alert.match_kind == "possible" and alert.read_state is None
    assert alert.as_json()["basis"] == ["read_without_state"]
    assert batch.position == runtime.app.latest_alert_position()
    assert runtime.app.alerts_after(batch.position).alerts == []
    assert [a.hit_id for a in runtime.app.alerts_after(0).alerts] == [before.id, after.id]


def test_alerts_after_continues_from_last_alert_when_batch_is_full(runtime: Runtime) -> None:
    hits = [store_hit(runtime) for _ in range(3)]
    first = runtime.app.alerts_after(0, limit=2)
    assert [a.hit_id for a in first.alerts] == [h.id for h in hits[:2]]
    assert first.position == first.alerts[-1].position
    rest = runtime.app.alerts_after(first.position, limit=2)
    assert [a.hit_id for a in rest.alerts] == [hits[2].id]


def test_list_hits_returns_copies_when_caller_changes_a_listed_hit(runtime: Runtime) -> None:
    store_hit(runtime)
    (listed,) = runtime.app.list_hits()
    listed.verifications.append(listed.verifications[0] if listed.verifications else None)  # type: ignore[arg-type]
    (again,) = runtime.app.list_hits()
    assert again.verifications == []
