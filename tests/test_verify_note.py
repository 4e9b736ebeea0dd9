"""Signed notes, verifier keys and checkpoints (ledger.verify._note) against third-party vectors,
and our writer helpers against the verifier."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger.verify import Checkpoint, VerificationError, verify_checkpoint
from ledger.verify._note import (
    assemble_note,
    format_checkpoint_body,
    format_signature_line,
    format_vkey,
    key_hash,
    parse_checkpoint_body,
    parse_vkey,
    verify_note,
)

# --- golang.org/x/mod/sumdb/note, note_test.go (TestNewVerifier, TestSign, TestOpen) ---------
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
)
PETER_SIG = (
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfq"
    "dngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnW"
    "Lox33WWd1RvMc+QQ=\n"
)

# --- github.com/transparency-dev/formats, log/note_test.go -----------------------------------
# TestSumDBNoteParsing: a real sum.golang.org checkpoint; its origin is not its key name.
SUMDB_VKEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
SUMDB_NOTE = (
    "go.sum database tree\n"
    "6476701\n"
    "mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n"
    "\n"
    "\u2014 sum.golang.org Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9LM7Us9S+1xbFIGu95949rj4nP"
    "RYfvimWEPWL+o3GeoWwOoAw=\n"
)
# TestParseCheckpoint's key pairs (Go signer keys: base64(0x01 || Ed25519 seed)).
FORMATS_KEYS = {
    "Log": (
        "Log+2271c621+AemuH5ooBpEPcr+W8onrjA1NfuzBVHdezakU81Ekarvs",
        "PRIVATE+KEY+Log+2271c621+AdEIq9FLRQni54Wg68T96VJO+iayOaulswav2DUMKgvQ",
    ),
    "Known": (
        "Known+451c786d+AXAQ0T7lbwuY4ABJ9/MYY9bWV3hmSyOGVt2x42NkmdUH",
        "PRIVATE+KEY+Known+451c786d+AQPRoE2+Z+Ed1HaHBA9F/FfracvcZ2rDU39kCecMEoci",
    ),
    "KnownAgain": (
        "KnownAgain+4893b26c+AQ+LR7BFF/F/dkpIBjBpSvT0crkteizuUkavAoGeaYMj",
        "PRIVATE+KEY+KnownAgain+4893b26c+ARhZda/l25zjGZswYLDZsLNRzNpmv5wYTN9IoTr1OJ2+",
    ),
    "Unknown": (
        "Unknown+fdbb2e08+AWgRIYZ+8x1Vl+1Q+sR8zciNHiYI1SdlBjNw+RV0rots",
        "PRIVATE+KEY+Unknown+fdbb2e08+Aav2knTC6orbhXX8pMWuNiWgO+Wwk2DB+h1eU2Q1W1nU",
    ),
}

# --- c2sp.org/tlog-checkpoint, the example in the spec (C2SP/C2SP tlog-checkpoint.md) ---------
C2SP_BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"

ROOT = bytes(range(32))


class Signer:
    """A test signer built from our writer helpers and cryptography's Ed25519."""

    def __init__(self, name: str, private: Ed25519PrivateKey | None = None) -> None:
        self.name = name
        self.private = private or Ed25519PrivateKey.generate()
        self.public = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.vkey = format_vkey(name, self.public)

    @classmethod
    def from_go_skey(cls, skey: str) -> Signer:
        _, _, name, _, key64 = skey.split("+", 4)
        seed = base64.b64decode(key64)
        assert seed[0] == 1 and len(seed) == 33
        return cls(name, Ed25519PrivateKey.from_private_bytes(seed[1:]))

    def line(self, text: str) -> str:
        signature = self.private.sign(text.encode("utf-8"))
        return format_signature_line(self.name, self.public, signature)


def signed(body: str, *signers: Signer) -> str:
    return assemble_note(body, [s.line(body) for s in signers])


LOG = Signer("example.com/log")


def reject(note: str, vkey: str = LOG.vkey, origin: str | None = None) -> VerificationError:
    with pytest.raises(VerificationError) as err:
        verify_checkpoint(note, vkey, origin=origin)
    return err.value


# --- third-party vectors --------------------------------------------------------------------


def test_verify_note_accepts_when_go_note_is_signed_by_peter_and_enoch() -> None:
    note = GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert verify_note(note, PETER_VKEY) == GO_TEXT
    assert verify_note(note, ENOCH_VKEY) == GO_TEXT


def test_writer_reproduces_go_signed_note_when_given_peters_private_key() -> None:
    peter = Signer.from_go_skey(PETER_SKEY)
    assert peter.vkey == PETER_VKEY
    assert key_hash("PeterNeumann", peter.public).hex() == "c74f20a3"
    assert assemble_note(GO_TEXT, [peter.line(GO_TEXT)]) == GO_TEXT + "\n" + PETER_SIG


def test_format_vkey_reproduces_transparency_dev_keys_when_given_their_private_keys() -> None:
    for name, (vkey, skey) in FORMATS_KEYS.items():
        signer = Signer.from_go_skey(skey)
        assert signer.name == name
        assert signer.vkey == vkey
        assert parse_vkey(vkey).public_key == signer.public


def test_verify_checkpoint_accepts_when_note_is_real_sumdb_checkpoint() -> None:
    checkpoint = verify_checkpoint(SUMDB_NOTE, SUMDB_VKEY)
    assert checkpoint == Checkpoint(
        origin="go.sum database tree",
        size=6476701,
        root=base64.b64decode("mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk="),
        extensions=(),
    )
    assert verify_checkpoint(SUMDB_NOTE, SUMDB_VKEY, origin="go.sum database tree") == checkpoint


def test_verify_checkpoint_rejects_when_sumdb_origin_is_not_the_expected_one() -> None:
    err = reject(SUMDB_NOTE, SUMDB_VKEY, origin="Go rocks but I might have the wrong ID")
    assert "go.sum database tree" in str(err)


def test_verify_checkpoint_rejects_when_sumdb_note_size_is_altered() -> None:
    reject(SUMDB_NOTE.replace("6476701", "6476702"), SUMDB_VKEY)


def test_parse_checkpoint_body_reads_c2sp_spec_example() -> None:
    checkpoint = parse_checkpoint_body(C2SP_BODY)
    assert (checkpoint.origin, checkpoint.size) == ("example.com/behind-the-sofa", 20852163)
    assert checkpoint.root == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert format_checkpoint_body(checkpoint.origin, checkpoint.size, checkpoint.root) == C2SP_BODY


def test_verify_checkpoint_rejects_when_go_note_body_is_not_a_checkpoint() -> None:
    err = reject(GO_TEXT + "\n" + PETER_SIG, PETER_VKEY)
    assert "malformed checkpoint" in str(err)


@pytest.mark.parametrize(
    ("desc", "signers", "ok"),
    [
        ("just log sig", ["Log"], True),
        ("log and known sig", ["Log", "Known"], True),
        ("log, known and unknown sig", ["Log", "Known", "Unknown"], True),
        ("all sigs in mixed order", ["KnownAgain", "Unknown", "Log", "Known"], True),
        ("log signs twice", ["Log", "Known", "Log"], True),
        ("just other keys", ["Known", "KnownAgain"], False),
    ],
)
def test_verify_checkpoint_needs_only_the_log_signature_when_several_keys_sign(
    desc: str, signers: list[str], ok: bool
) -> None:
    # The signer sets of transparency-dev/formats TestParseCheckpoint.
    keys = {name: Signer.from_go_skey(skey) for name, (_, skey) in FORMATS_KEYS.items()}
    body = format_checkpoint_body("TestParseCheckpoint", 42, ROOT)
    note = signed(body, *(keys[name] for name in signers))
    if ok:
        assert verify_checkpoint(note, FORMATS_KEYS["Log"][0]).size == 42
    else:
        assert "no signature" in str(reject(note, FORMATS_KEYS["Log"][0]))


# --- malformed notes (Go TestOpen's cases and the signed-note rules) -------------------------


@pytest.mark.parametrize(
    "note",
    [
        GO_TEXT,
        GO_TEXT + "\n",
        GO_TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + GO_TEXT + "\n" + PETER_SIG,
        "\ud800" + GO_TEXT + "\n" + PETER_SIG,  # not encodable as UTF-8
        GO_TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Bad Name"),
        GO_TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        GO_TEXT + "\n" + PETER_SIG.replace("\u2014", "-"),
        GO_TEXT + "\n" + PETER_SIG.replace("\n", "\r\n"),
        GO_TEXT + "\n" + PETER_SIG.replace("=\n", "\n"),  # base64 without its padding
        GO_TEXT + "\n" + "\u2014 PeterNeumann x08g\n",  # fewer than 5 signature bytes
        GO_TEXT + "\n" + PETER_SIG.replace("PeterNeumann", "Peter+Neumann"),
        GO_TEXT + "\n" + PETER_SIG * 101,
    ],
)
def test_verify_note_rejects_when_note_is_malformed(note: str) -> None:
    with pytest.raises(VerificationError, match="malformed note"):
        verify_note(note, PETER_VKEY)


def test_verify_note_accepts_when_note_has_sixteen_other_signatures() -> None:
    others = [Signer(f"witness{i}.example") for i in range(16)]
    note = assemble_note(GO_TEXT, [s.line(GO_TEXT) for s in others] + [PETER_SIG[:-1]])
    assert verify_note(note, PETER_VKEY) == GO_TEXT


def test_verify_note_rejects_when_signature_bytes_are_altered() -> None:
    bad = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(VerificationError, match="invalid signature"):
        verify_note(GO_TEXT + "\n" + bad, PETER_VKEY)


def test_verify_note_rejects_when_only_an_unknown_key_signed() -> None:
    with pytest.raises(VerificationError, match="no signature from key PeterNeumann"):
        verify_note(GO_TEXT + "\n" + ENOCH_SIG, PETER_VKEY)


def test_verify_note_ignores_signature_when_only_name_or_only_key_id_matches() -> None:
    misnamed = PETER_SIG.replace("PeterNeumann", "CarmenSandiego")
    with pytest.raises(VerificationError, match="no signature"):
        verify_note(GO_TEXT + "\n" + misnamed, PETER_VKEY)
    other_id = Signer("PeterNeumann").line(GO_TEXT) + "\n"  # same name, another key
    assert verify_note(GO_TEXT + "\n" + other_id + PETER_SIG, PETER_VKEY) == GO_TEXT


def test_verify_note_rejects_when_a_second_signature_from_our_key_is_bad() -> None:
    bad = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(VerificationError, match="invalid signature"):
        verify_note(GO_TEXT + "\n" + PETER_SIG + bad, PETER_VKEY)


def test_verify_note_rejects_when_signature_from_our_key_has_wrong_length() -> None:
    raw = base64.b64decode(PETER_SIG.split()[-1])
    short = "\u2014 PeterNeumann " + base64.b64encode(raw[:-1]).decode() + "\n"
    with pytest.raises(VerificationError, match="invalid signature"):
        verify_note(GO_TEXT + "\n" + short, PETER_VKEY)


# --- verifier keys --------------------------------------------------------------------------


def test_parse_vkey_rejects_when_go_key_is_cut_or_has_any_byte_changed() -> None:
    # golang.org/x/mod/sumdb/note TestNewVerifier: every proper substring and every
    # single-byte increment of a valid key must be refused.
    parse_vkey(PETER_VKEY)
    for i in range(len(PETER_VKEY) + 1):
        for j in range(i + 1, len(PETER_VKEY) + 1):
            if (i, j) != (0, len(PETER_VKEY)):
                with pytest.raises(VerificationError):
                    parse_vkey(PETER_VKEY[i:j])
    for i, char in enumerate(PETER_VKEY):
        mangled = PETER_VKEY[:i] + chr(ord(char) + 1) + PETER_VKEY[i + 1 :]
        with pytest.raises(VerificationError):
            parse_vkey(mangled)


@pytest.mark.parametrize(
    "vkey",
    [
        # Go's own extra cases: wrong key length and unknown algorithm, key hash adjusted.
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "",
        "PeterNeumann",
        "PeterNeumann+c74f20a3",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+0xc74f20+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        " PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_verify_checkpoint_rejects_when_vkey_is_malformed(vkey: str) -> None:
    reject(SUMDB_NOTE, vkey)


def test_parse_vkey_accepts_when_key_id_is_upper_case_hex() -> None:
    assert parse_vkey(PETER_VKEY.replace("c74f20a3", "C74F20A3")).name == "PeterNeumann"


# --- our writer and verifier together -------------------------------------------------------


def test_verify_checkpoint_returns_checkpoint_when_round_tripped_through_writer_helpers() -> None:
    body = format_checkpoint_body("example.com/log", 1234, ROOT)
    assert body == f"example.com/log\n1234\n{base64.b64encode(ROOT).decode()}\n"
    checkpoint = verify_checkpoint(signed(body, LOG), LOG.vkey, origin="example.com/log")
    assert checkpoint == Checkpoint("example.com/log", 1234, ROOT, ())


def test_verify_checkpoint_returns_extensions_when_body_has_extension_lines() -> None:
    body = format_checkpoint_body("example.com/log", 0, ROOT, ("ext one", "\u00e9xt two"))
    checkpoint = verify_checkpoint(signed(body, LOG), LOG.vkey)
    assert checkpoint.extensions == ("ext one", "\u00e9xt two")
    assert checkpoint.size == 0


def test_verify_checkpoint_accepts_when_other_signatures_surround_ours() -> None:
    body = format_checkpoint_body("example.com/log", 7, ROOT)
    note = signed(body, Signer("a.example"), LOG, Signer("example.com/log"), Signer("b"))
    assert verify_checkpoint(note, LOG.vkey).size == 7


@pytest.mark.parametrize(
    ("old", "new"),
    [("1234", "1235"), ("example.com/log", "example.com/lof"), ("AAEC", "AAED")],
)
def test_verify_checkpoint_rejects_when_signed_body_is_tampered(old: str, new: str) -> None:
    note = signed(format_checkpoint_body("example.com/log", 1234, ROOT), LOG)
    assert old in note
    err = reject(note.replace(old, new, 1))
    assert "invalid signature" in str(err)


def test_verify_checkpoint_rejects_when_any_bit_of_our_signature_is_flipped() -> None:
    body = format_checkpoint_body("example.com/log", 5, ROOT)
    raw = bytearray(base64.b64decode(LOG.line(body).split()[-1]))
    for bit in range(32, len(raw) * 8):  # past the key ID, every signature bit
        bad = bytearray(raw)
        bad[bit // 8] ^= 1 << (bit % 8)
        line = f"\u2014 {LOG.name} {base64.b64encode(bytes(bad)).decode()}"
        assert "invalid signature" in str(reject(assemble_note(body, [line])))


def test_verify_checkpoint_rejects_when_signed_by_another_key_with_our_name() -> None:
    impostor = Signer(LOG.name)
    note = signed(format_checkpoint_body("example.com/log", 5, ROOT), impostor)
    assert "no signature" in str(reject(note))


def test_verify_checkpoint_rejects_when_origin_is_not_the_expected_one() -> None:
    note = signed(format_checkpoint_body("example.com/other", 5, ROOT), LOG)
    assert verify_checkpoint(note, LOG.vkey).origin == "example.com/other"
    reject(note, origin="example.com/log")


@pytest.mark.parametrize(
    "body",
    [
        "example.com/log\n5\n",
        "\n5\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
        "example.com/log\n05\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
        "example.com/log\n-5\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
        "example.com/log\n+5\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
        "example.com/log\n 5\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
        "example.com/log\n\u0665\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
        "example.com/log\n18446744073709551616\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
        "example.com/log\n5\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n",
        "example.com/log\n5\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=\n",
        "example.com/log\n5\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==\n",
        "example.com/log\n5\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\next\n\n",
    ],
)
def test_verify_checkpoint_rejects_when_signed_body_is_not_a_checkpoint(body: str) -> None:
    err = reject(assemble_note(body, [LOG.line(body)]))
    assert "malformed checkpoint" in str(err)


def test_verify_checkpoint_accepts_when_size_is_largest_uint64() -> None:
    body = format_checkpoint_body("example.com/log", 2**64 - 1, ROOT)
    assert verify_checkpoint(signed(body, LOG), LOG.vkey).size == 2**64 - 1


# --- writer-side validation -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "size", "root", "extensions"),
    [
        ("", 1, ROOT, ()),
        ("a\nb", 1, ROOT, ()),
        ("log", -1, ROOT, ()),
        ("log", 2**64, ROOT, ()),
        ("log", True, ROOT, ()),
        ("log", 1, ROOT[:31], ()),
        ("log", 1, ROOT, ("",)),
        ("log", 1, ROOT, ("a\nb",)),
    ],
)
def test_format_checkpoint_body_refuses_when_values_would_not_round_trip(
    origin: str, size: int, root: bytes, extensions: tuple[str, ...]
) -> None:
    with pytest.raises(ValueError):
        format_checkpoint_body(origin, size, root, extensions)


def test_writer_helpers_refuse_when_name_key_or_signature_is_malformed() -> None:
    with pytest.raises(ValueError):
        format_vkey("bad name", LOG.public)
    with pytest.raises(ValueError):
        format_vkey("a+b", LOG.public)
    with pytest.raises(ValueError):
        key_hash("log", LOG.public[:31])
    with pytest.raises(ValueError):
        format_signature_line(LOG.name, LOG.public, bytes(63))


def test_assemble_note_refuses_when_body_or_signature_lines_are_malformed() -> None:
    body = format_checkpoint_body("example.com/log", 1, ROOT)
    line = LOG.line(body)
    with pytest.raises(ValueError):
        assemble_note(body, [])
    with pytest.raises(ValueError):
        assemble_note(body.rstrip("\n"), [line])
    with pytest.raises(ValueError):
        assemble_note(body, [line + "\n"])
    with pytest.raises(ValueError):
        assemble_note(body, ["not a signature"])
    with pytest.raises(ValueError):
        assemble_note(body, [line] * 101)
