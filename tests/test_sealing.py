"""Field sealing: tokens bound to record, field and topic; the policy's state transforms."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import secrets
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import JSONTranscoder, UUIDAsHex
from eventsourcing.utils import get_topic, resolve_topic
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.account import Account
from domain.disclosure import Disclosure
from domain.hit import PERSONAL_FIELDS, Hit
from domain.hotlist import Hotlist
from domain.read import Read
from domain.search import Search
from ledger.sealing import (
    PURGED,
    SEALED_KEY,
    TOKEN_PREFIX,
    FieldRule,
    Purged,
    SealedFieldError,
    SealingPolicy,
    TopicRule,
    contains_purged,
    default_policy,
    is_sealed,
    seal,
    seal_state,
    unseal,
    unseal_state,
)

KEY = bytes(range(32))
RID = UUID("8d7f0a52-5f0c-4a55-9a0b-6f1d2c3b4a59")
TOPIC = get_topic(Read.Captured)


def _captured(**over: Any) -> dict[str, Any]:
    """What eventsourcing's mapper hands over for a Read.Captured (originator id/version popped)."""
    state: dict[str, Any] = {
        "timestamp": datetime(2026, 11, 2, 10, 0, tzinfo=UTC),
        "originator_topic": get_topic(Read),
        "plate": "KX57QWE",
        "state": "NY",
        "confidence": 0.93,
        "camera_id": "cam-7",
        "camera_kind": "fixed",
        "patrol_vehicle": None,
        "latitude": 40.71,
        "longitude": -74.0,
        "captured_at": datetime(2026, 11, 2, 9, 59, tzinfo=UTC),
        "capture_id": "c-1",
        "plate_image": "ab" * 32,
        "vehicle_image": None,
        "vehicle": {"make": "Volvo", "colour": "red"},
    }
    return state | over


# -- seal / unseal ----------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(value=json_values, field=st.from_regex(r"[a-z_]{1,12}", fullmatch=True))
def test_unseal_returns_the_value_when_sealed_with_the_same_key_and_binding(value: Any, field: str) -> None:
    token = seal(KEY, value, record_id=RID, field=field, topic=TOPIC)
    assert token.startswith(TOKEN_PREFIX) and is_sealed(token)
    assert unseal(KEY, token, record_id=RID, field=field, topic=TOPIC) == value


def test_seal_produces_a_fresh_token_each_time_so_equal_plates_do_not_match() -> None:
    a = seal(KEY, "KX57QWE", record_id=RID, field="plate", topic=TOPIC)
    b = seal(KEY, "KX57QWE", record_id=RID, field="plate", topic=TOPIC)
    assert a != b and "KX57QWE" not in a


@pytest.mark.parametrize(
    "binding",
    [
        {"record_id": uuid4(), "field": "plate", "topic": TOPIC},
        {"record_id": RID, "field": "state", "topic": TOPIC},
        {"record_id": RID, "field": "plate", "topic": get_topic(Hotlist.EntryAdded)},
    ],
    ids=["record", "field", "topic"],
)
def test_unseal_raises_sealed_field_error_when_the_binding_differs(binding: dict[str, Any]) -> None:
    token = seal(KEY, "KX57QWE", record_id=RID, field="plate", topic=TOPIC)
    with pytest.raises(SealedFieldError, match="integrity"):
        unseal(KEY, token, **binding)


def test_unseal_raises_sealed_field_error_when_the_key_differs() -> None:
    token = seal(KEY, "KX57QWE", record_id=RID, field="plate", topic=TOPIC)
    with pytest.raises(SealedFieldError):
        unseal(secrets.token_bytes(32), token, record_id=RID, field="plate", topic=TOPIC)


@pytest.mark.parametrize("position", [3, 10, 30, -1])
def test_unseal_raises_sealed_field_error_when_the_token_is_altered(position: int) -> None:
    token = seal(KEY, "KX57QWE", record_id=RID, field="plate", topic=TOPIC)
    chars = list(token)
    chars[position] = "A" if chars[position] != "A" else "B"
    with pytest.raises(SealedFieldError):
        unseal(KEY, "".join(chars), record_id=RID, field="plate", topic=TOPIC)


@pytest.mark.parametrize("token", ["KX57QWE", "s1:", "s1:abc", "s1:!!!!", "s1:" + "A" * 20])
def test_unseal_raises_sealed_field_error_when_the_token_is_malformed(token: str) -> None:
    with pytest.raises(SealedFieldError):
        unseal(KEY, token, record_id=RID, field="plate", topic=TOPIC)


def test_seal_refuses_a_key_that_is_not_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        seal(b"short", "x", record_id=RID, field="plate", topic=TOPIC)


def test_purged_is_one_marker_even_through_copy_and_pickle() -> None:
    assert Purged() is PURGED
    assert copy.deepcopy(PURGED) is PURGED and pickle.loads(pickle.dumps(PURGED)) is PURGED
    assert repr(PURGED) == "PURGED"
    assert contains_purged({"a": [1, {"b": PURGED}]}) and not contains_purged({"a": [1, None]})


def test_seal_state_refuses_to_seal_the_purged_marker() -> None:
    # A purged value copied into a new event must never be stored as if it were data.
    with pytest.raises(TypeError):
        seal_state(_captured(plate=PURGED), TOPIC, RID, KEY)


# -- state transforms -------------------------------------------------------------------------


def test_seal_state_seals_personal_fields_and_leaves_metadata_clear() -> None:
    state = _captured()
    sealed = seal_state(state, TOPIC, RID, KEY)
    assert is_sealed(sealed[SEALED_KEY])
    for name in ("plate", "state", "vehicle", "plate_image", "vehicle_image"):
        assert name not in sealed, name
    for name in (
        "camera_id",
        "confidence",
        "captured_at",
        "timestamp",
        "latitude",
        "longitude",
        "capture_id",
    ):
        assert sealed[name] == state[name], name
    assert "KX57QWE" not in repr(sealed) and "Volvo" not in repr(sealed)
    assert state == _captured()  # the event's own state is not changed
    assert unseal_state(sealed, TOPIC, RID, KEY) == state


def test_seal_state_seals_none_values_so_absence_does_not_leak() -> None:
    sealed = seal_state(_captured(state=None, vehicle=None), TOPIC, RID, KEY)
    assert "state" not in sealed and "vehicle" not in sealed and is_sealed(sealed[SEALED_KEY])
    assert unseal_state(sealed, TOPIC, RID, KEY)["state"] is None


def test_seal_state_seals_the_location_when_the_camera_is_mobile() -> None:
    state = _captured(camera_kind="mobile", patrol_vehicle="car-12")
    sealed = seal_state(state, TOPIC, RID, KEY)
    assert "latitude" not in sealed and "longitude" not in sealed
    assert sealed["patrol_vehicle"] == "car-12"
    assert unseal_state(sealed, TOPIC, RID, KEY) == state


def test_unseal_state_puts_purged_in_sealed_fields_when_the_key_is_gone() -> None:
    sealed = seal_state(_captured(camera_kind="mobile"), TOPIC, RID, KEY)
    opened = unseal_state(sealed, TOPIC, RID, None)
    for name in ("plate", "state", "vehicle", "plate_image", "vehicle_image", "latitude", "longitude"):
        assert opened[name] is PURGED, name
    assert opened["camera_id"] == "cam-7" and opened["confidence"] == 0.93


def test_unseal_state_raises_when_a_token_is_moved_to_another_event_type() -> None:
    sealed = seal_state(_captured(), TOPIC, RID, KEY)
    hit_topic = get_topic(Hit.Raised)
    with pytest.raises(SealedFieldError):
        unseal_state({"read_id": str(RID), SEALED_KEY: sealed[SEALED_KEY]}, hit_topic, RID, KEY)


def test_unseal_state_raises_when_a_field_is_both_sealed_and_clear() -> None:
    sealed = seal_state(_captured(), TOPIC, RID, KEY)
    with pytest.raises(SealedFieldError, match="plate"):
        unseal_state(dict(sealed, plate="FAKE1"), TOPIC, RID, KEY)


def test_unseal_state_raises_when_a_token_is_moved_to_another_record() -> None:
    sealed = seal_state(_captured(), TOPIC, RID, KEY)
    with pytest.raises(SealedFieldError):
        unseal_state(sealed, TOPIC, uuid4(), KEY)


def test_unseal_state_raises_when_a_personal_field_is_clear_unless_not_strict() -> None:
    state = _captured()
    with pytest.raises(SealedFieldError, match="clear value"):
        unseal_state(state, TOPIC, RID, KEY)
    assert unseal_state(state, TOPIC, RID, KEY, strict=False) == state


def test_seal_state_leaves_state_unchanged_when_the_topic_has_no_personal_fields() -> None:
    state = {"number": "2026-1", "title": "t"}
    assert seal_state(state, "domain.case:Case.Opened", RID, KEY) == state
    assert unseal_state(state, "domain.case:Case.Opened", RID, None) == state


def test_seal_state_seals_each_imported_hotlist_row_and_binds_its_position() -> None:
    topic = get_topic(Hotlist.VersionImported)
    rows = [
        {"entry_id": "e1", "plate": "AAA111", "state": "NY", "reason": "stolen"},
        {"entry_id": "e2", "plate": "BBB222", "state": None, "reason": "amber"},
    ]
    state = {"version": "v1", "added": rows, "removed": ["e0"]}
    sealed = seal_state(state, topic, RID, KEY)
    assert [r["entry_id"] for r in sealed["added"]] == ["e1", "e2"]
    assert all(is_sealed(r[SEALED_KEY]) and "plate" not in r and "state" not in r for r in sealed["added"])
    assert rows[0]["plate"] == "AAA111"  # nested dicts are copied, not changed
    assert unseal_state(sealed, topic, RID, KEY) == state
    swapped = dict(sealed, added=[dict(sealed["added"][0]), dict(sealed["added"][1])])
    swapped["added"][0][SEALED_KEY], swapped["added"][1][SEALED_KEY] = (
        sealed["added"][1][SEALED_KEY],
        sealed["added"][0][SEALED_KEY],
    )
    with pytest.raises(SealedFieldError, match=r"added\[0\]"):
        unseal_state(swapped, topic, RID, KEY)
    assert unseal_state(sealed, topic, RID, None)["added"][1] == {
        "entry_id": "e2",
        "plate": PURGED,
        "state": PURGED,
        "reason": "amber",
    }


def test_seal_state_uses_the_given_codec_for_values_json_cannot_carry() -> None:
    transcoder = JSONTranscoder()
    transcoder.register(UUIDAsHex())
    policy = SealingPolicy({"t:E": ("who",)})
    state = {"who": {"id": RID, "n": 1}}
    sealed = policy.seal_state(state, "t:E", RID, KEY, codec=transcoder)
    assert policy.unseal_state(sealed, "t:E", RID, KEY, codec=transcoder) == state


@settings(max_examples=100, deadline=None)
@given(plate=st.text(), vehicle=json_values, record=st.uuids())
def test_unseal_state_inverts_seal_state_for_arbitrary_values(plate: str, vehicle: Any, record: UUID) -> None:
    state = _captured(plate=plate, vehicle=vehicle)
    assert unseal_state(seal_state(state, TOPIC, record, KEY), TOPIC, record, KEY) == state


# -- the policy -------------------------------------------------------------------------------


def test_default_policy_names_only_fields_its_events_have() -> None:
    policy = default_policy()
    for topic in policy.topics:
        cls = resolve_topic(topic)
        names = {f.name for f in dataclasses.fields(cls)}
        for path in policy.sealed_paths(topic):
            assert path.split("[]")[0].split(".")[0] in names, (topic, path)


def test_default_policy_covers_the_personal_fields_of_issue_5() -> None:
    policy = default_policy()
    assert set(policy.sealed_paths(get_topic(Hit.Raised))) == set(PERSONAL_FIELDS)
    assert set(policy.sealed_paths(get_topic(Read.Captured))) >= {"plate", "state", "vehicle", "plate_image"}
    assert "plate" in policy.sealed_paths(get_topic(Hotlist.EntryAdded))
    assert "added[].plate" in policy.sealed_paths(get_topic(Hotlist.VersionImported))
    assert policy.sealed_paths(get_topic(Search.Requested)) == ("criteria",)
    assert set(policy.sealed_paths(get_topic(Disclosure.Requested))) == {"requesting_person", "contact"}
    assert policy.sealed_paths(get_topic(Account.TotpEnrolled)) == ("secret",)


def test_key_owner_is_the_read_for_a_hit_and_the_aggregate_otherwise() -> None:
    policy = default_policy()
    read_id, hit_id = uuid4(), uuid4()
    assert policy.key_owner(get_topic(Hit.Raised), hit_id, {"read_id": read_id}) == read_id
    assert policy.key_owner(get_topic(Hit.Raised), hit_id, {"read_id": str(read_id)}) == read_id
    assert policy.key_owner(TOPIC, hit_id, {}) == hit_id
    assert policy.key_owner("domain.case:Case.Opened", hit_id, {}) == hit_id


def test_policy_refuses_a_field_that_is_both_sealed_and_needed_in_the_clear() -> None:
    with pytest.raises(ValueError, match="both sealed and read in the clear"):
        TopicRule((FieldRule("read_id"),), key_owner="read_id")
    with pytest.raises(ValueError, match="both sealed"):
        TopicRule((FieldRule("kind"), FieldRule("x", when=("kind", frozenset({"a"})))))
    with pytest.raises(ValueError, match="field path"):
        FieldRule("a..b")
