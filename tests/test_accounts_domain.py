"""Pure account rules: TOTP (RFC 6238 vectors), logins, roles by kind, token ids. No I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4, uuid5

import pytest

from domain.account import (
    ACCOUNT_NAMESPACE,
    Account,
    AccountKind,
    account_id_for,
    check_may_set_credential,
    check_role_fits_kind,
    parse_camera_id,
    parse_login,
    parse_training_date,
)
from domain.errors import ConflictError, InvalidFieldError
from domain.policy import Role
from domain.token import Token, TokenKind, hash_token, token_id_for
from domain.totp import decode_secret, encode_secret, hotp, matching_step, provisioning_uri, totp
from ops.commands.authentication import FailureCounter

SHA1_SECRET = b"12345678901234567890"
SHA256_SECRET = b"12345678901234567890123456789012"
SHA512_SECRET = b"1234567890" * 6 + b"1234"

# RFC 6238 Appendix B: (time, SHA1, SHA256, SHA512), 8 digits, 30 s steps.
RFC6238 = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


@pytest.mark.parametrize(("at", "sha1", "sha256", "sha512"), RFC6238)
def test_totp_matches_rfc6238_appendix_b_when_given_its_vectors(
    at: int, sha1: str, sha256: str, sha512: str
) -> None:
    assert totp(SHA1_SECRET, at, digits=8) == sha1
    assert totp(SHA256_SECRET, at, digits=8, algorithm="sha256") == sha256
    assert totp(SHA512_SECRET, at, digits=8, algorithm="sha512") == sha512


def test_hotp_matches_rfc4226_appendix_d_when_given_its_vectors() -> None:
    expected = [
        "755224",
        "287082",
        "359152",
        "969429",
        "338314",
        "254676",
        "287922",
        "162583",
        "399871",
        "520489",
    ]
    assert [hotp(SHA1_SECRET, c) for c in range(10)] == expected


def test_totp_accepts_datetime_when_same_instant_as_unix_seconds() -> None:
    at = datetime.fromtimestamp(1111111109, UTC)
    assert totp(SHA1_SECRET, at, digits=8) == "07081804"


def test_matching_step_accepts_one_step_of_skew_when_code_is_adjacent() -> None:
    now = 1_700_000_000
    step = now // 30
    for offset in (-1, 0, 1):
        code = hotp(SHA1_SECRET, step + offset)
        assert matching_step(SHA1_SECRET, code, now) == step + offset


def test_matching_step_refuses_code_when_two_steps_away() -> None:
    now = 1_700_000_000
    assert matching_step(SHA1_SECRET, hotp(SHA1_SECRET, now // 30 - 2), now) is None
    assert matching_step(SHA1_SECRET, hotp(SHA1_SECRET, now // 30 + 2), now) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦"])
def test_matching_step_refuses_code_when_malformed(code: str) -> None:
    assert matching_step(SHA1_SECRET, code, 59) is None


def test_secret_round_trips_when_encoded_in_base32() -> None:
    encoded = encode_secret(SHA1_SECRET)
    assert encoded == "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    assert decode_secret(encoded.lower()) == SHA1_SECRET
    uri = provisioning_uri(encoded, "jsmith")
    assert uri.startswith("otpauth://totp/alpr-ledger:jsmith?secret=GEZDGNBV")
    assert "period=30" in uri and "digits=6" in uri


def test_parse_login_folds_case_when_letters_differ() -> None:
    assert parse_login("  JSmith ") == "jsmith"
    assert account_id_for(parse_login("JSmith")) == account_id_for(parse_login("jsmith"))


@pytest.mark.parametrize("raw", ["", "-lead", "has space", "x" * 65, "semi;colon", 7])
def test_parse_login_refuses_login_when_malformed(raw: object) -> None:
    with pytest.raises(InvalidFieldError) as err:
        parse_login(raw)
    assert err.value.field == "login"


def test_role_fit_refuses_device_role_when_account_is_person() -> None:
    with pytest.raises(InvalidFieldError) as err:
        check_role_fits_kind(AccountKind.PERSON, Role.DEVICE)
    assert err.value.rule == "role.kind_mismatch"
    with pytest.raises(InvalidFieldError):
        check_role_fits_kind(AccountKind.DEVICE, Role.OFFICER)
    check_role_fits_kind(AccountKind.DEVICE, Role.DEVICE)
    check_role_fits_kind(AccountKind.PERSON, Role.OFFICER)


def test_camera_binding_refused_when_account_is_person() -> None:
    with pytest.raises(InvalidFieldError) as err:
        parse_camera_id(AccountKind.PERSON, "CAM-1")
    assert err.value.rule == "camera_id.person"
    assert parse_camera_id(AccountKind.DEVICE, "CAM-1") == "CAM-1"


def test_training_date_refused_when_in_the_future() -> None:
    today = date(2025, 3, 1)
    assert parse_training_date("2025-02-28", today) == date(2025, 2, 28)
    with pytest.raises(InvalidFieldError) as err:
        parse_training_date("2025-03-02", today)
    assert err.value.rule == "completed_on.future"


def test_principal_reflects_roles_and_training_when_events_applied() -> None:
    account = Account.enrol(
        login="jsmith", display_name="J", kind=AccountKind.PERSON, unit=None, camera_id=None, actor="t"
    )
    assert account.principal().trained is False
    account.grant_role(Role.OFFICER, actor="t")
    account.record_training("ALPR", date(2025, 1, 1), None, actor="t")
    assert account.principal().roles == {Role.OFFICER} and account.principal().trained
    assert account.grant_role(Role.OFFICER, actor="t") is False  # already held: no event
    account.revoke_role(Role.OFFICER, actor="t")
    assert account.principal().roles == frozenset()


def test_token_id_derives_from_sha256_when_token_presented() -> None:
    abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # FIPS 180-2 vector
    assert hash_token("abc") == abc
    assert token_id_for("abc") == uuid5(ACCOUNT_NAMESPACE, "token:" + abc)
    assert token_id_for("abc") != token_id_for("abd")


def test_token_expires_when_clock_reaches_expiry() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    token = Token.issue(
        "alpr_x",
        account_id=uuid4(),
        kind=TokenKind.INTERACTIVE,
        expires_at=now + timedelta(hours=8),
        actor="t",
        timestamp=now,
    )
    assert not token.expired(now + timedelta(hours=7, minutes=59))
    assert token.expired(now + timedelta(hours=8))
    device = Token.issue(
        "alpr_y", account_id=uuid4(), kind=TokenKind.DEVICE, expires_at=None, actor="t", timestamp=now
    )
    assert not device.expired(now + timedelta(days=10_000))


def test_service_hashes_passwords_with_argon2id_at_rfc9106_cost_when_unconfigured() -> None:
    from argon2 import Type

    from ops.commands.accounts import AccountCommands

    hasher = AccountCommands.password_hasher  # the other test modules swap in a cheap one
    assert hasher.type is Type.ID
    assert hasher.time_cost >= 3 and hasher.memory_cost >= 64 * 1024  # RFC 9106 low-memory profile


def test_credential_change_refused_when_someone_else_replaces_one_already_set() -> None:
    account_id = uuid4()
    check_may_set_credential(account_id=account_id, actor="admin", already_set=False, what="password")
    check_may_set_credential(account_id=account_id, actor=str(account_id), already_set=True, what="password")
    with pytest.raises(ConflictError) as err:
        check_may_set_credential(account_id=account_id, actor="admin", already_set=True, what="password")
    assert err.value.rule == "credentials.already_set"


def test_tokens_issued_up_to_the_revocation_refused_when_access_restored() -> None:
    t0 = datetime(2025, 3, 1, tzinfo=UTC)
    account = Account.enrol(
        login="a", display_name="A", kind=AccountKind.PERSON, unit=None, camera_id=None, actor="x", at=t0
    )
    assert not account.token_predates_revocation(t0)
    account.revoke_access("stolen", actor="x", at=t0 + timedelta(minutes=1))
    account.restore_access("found", actor="x", at=t0 + timedelta(minutes=2))
    assert account.token_predates_revocation(t0 + timedelta(minutes=1))  # at: refused
    assert not account.token_predates_revocation(t0 + timedelta(minutes=1, microseconds=1))
    account.reset_credentials("lost phone", actor="x", at=t0 + timedelta(minutes=3))
    assert account.token_predates_revocation(t0 + timedelta(minutes=2))
    assert (account.password_hash, account.totp_secret) == (None, None)


def test_failure_counter_locks_at_the_limit_and_unlocks_when_window_passes() -> None:
    counter = FailureCounter(limit=3, window=timedelta(minutes=15))
    t0 = datetime(2025, 3, 1, tzinfo=UTC)
    for i in range(3):
        assert not counter.locked("k", t0 + timedelta(minutes=i))
        counter.fail("k", t0 + timedelta(minutes=i))
    assert counter.locked("k", t0 + timedelta(minutes=14))
    assert not counter.locked("other", t0 + timedelta(minutes=14))
    assert not counter.locked("k", t0 + timedelta(minutes=15))  # the first failure left the window
    counter.clear("k")
    assert not counter.locked("k", t0 + timedelta(minutes=3))
