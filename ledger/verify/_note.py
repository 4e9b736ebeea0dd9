"""C2SP signed notes, Ed25519 verifier keys and tlog checkpoints: verify and format.

References: https://c2sp.org/signed-note, https://c2sp.org/tlog-checkpoint, and the reference
implementation golang.org/x/mod/sumdb/note, whose parsing rules are followed here so that any
note it accepts for one of our keys is accepted here and vice versa, with these deliberate
differences:

* Every signature line carrying our key's name and key ID is verified, not only the first
  (the spec says verifiers MUST verify signatures from known keys); one bad one rejects the
  note. Ed25519 is deterministic, so a correct signer never produces two different ones.
* Base64 must be canonical (re-encoding gives the same text).

Decisions on the checkpoint body:

* The origin is NOT required to equal the key name. tlog-checkpoint only says the key name
  SHOULD match the origin, and real logs differ (sum.golang.org signs the origin
  ``go.sum database tree``). Pass ``origin=`` to :func:`verify_checkpoint` (the bundle verifier
  does, with the origin from the bundle manifest) to pin it.
* Extension lines are returned, uninterpreted; they must be non-empty as the spec says, so a
  body ending in a blank line is malformed.
* The size must be canonical decimal (no sign, no leading zeros) and fit in 64 bits, and the
  root must be exactly 32 bytes of canonical standard base64.

Writer side: the server signs ``format_checkpoint_body(...).encode()`` with its Ed25519 key and
builds the note with :func:`format_signature_line` and :func:`assemble_note`, so the signed
bytes and the verified bytes come from this one module.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ._merkle import HASH_SIZE, VerificationError

ALG_ED25519 = 0x01
MAX_SIGNATURES = 100  # as golang.org/x/mod/sumdb/note; the spec requires at least 16
_SIG_PREFIX = "\u2014 "  # em dash, space
_PUBLIC_KEY_SIZE = 32
_SIGNATURE_SIZE = 64
_MAX_UINT64 = (1 << 64) - 1
_SIZE_RE = re.compile(r"0|[1-9][0-9]*")
_KEY_ID_RE = re.compile(r"[0-9a-fA-F]{8}")
# Any ASCII control character other than newline makes a note malformed (signed-note).
_CONTROL_RE = re.compile(r"[\x00-\x09\x0b-\x1f]")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A verified tlog checkpoint: the log ``origin``, tree ``size`` and 32-byte ``root``."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class VerifierKey:
    """A parsed Ed25519 signed-note verifier key (``name+keyid+base64(0x01||pubkey)``)."""

    name: str
    key_id: bytes
    public_key: bytes


# --- verification ---------------------------------------------------------------------------


def parse_vkey(vkey: str) -> VerifierKey:
    """Parse and self-check an Ed25519 verifier key, raising :class:`VerificationError`."""
    if not isinstance(vkey, str):
        raise VerificationError("verifier key must be a string")
    name, sep1, rest = vkey.partition("+")
    key_id_hex, sep2, key_b64 = rest.partition("+")
    if not (sep1 and sep2) or not _is_valid_name(name):
        raise VerificationError(f"malformed verifier key {vkey!r}")
    if not _KEY_ID_RE.fullmatch(key_id_hex):
        raise VerificationError(f"malformed key ID in verifier key {vkey!r}")
    encoded = _b64decode(key_b64)
    if encoded is None or not encoded:
        raise VerificationError(f"malformed public key in verifier key {vkey!r}")
    if encoded[0] != ALG_ED25519:
        raise VerificationError(
            f"verifier key {vkey!r} uses signature type 0x{encoded[0]:02x}, only Ed25519 (0x01) is supported"
        )
    public_key = encoded[1:]
    if len(public_key) != _PUBLIC_KEY_SIZE:
        raise VerificationError(f"Ed25519 public key in {vkey!r} is not 32 bytes")
    key_id = bytes.fromhex(key_id_hex)
    computed = _key_id(name, public_key)
    if key_id != computed:
        raise VerificationError(
            f"verifier key {vkey!r} says key ID {key_id.hex()}, the key hashes to {computed.hex()}",
            expected=key_id,
            computed=computed,
        )
    return VerifierKey(name=name, key_id=key_id, public_key=public_key)


def verify_note(note: str, vkey: str) -> str:
    """Verify a signed note against one Ed25519 verifier key and return its text.

    The note must be well formed as a whole (signed-note rules: valid UTF-8 without control
    characters except newline, text ending in newline, a blank line, then 1 to 100
    well-formed signature lines). Signatures from other keys are ignored; at least one from
    ``vkey`` must be present and every one from ``vkey`` must verify. The returned text
    includes its final newline. Raises :class:`VerificationError` otherwise.
    """
    key = parse_vkey(vkey)
    text, signatures = _split_note(note)
    message = text.encode("utf-8")
    try:
        verifier = Ed25519PublicKey.from_public_bytes(key.public_key)
    except ValueError:
        raise VerificationError(f"unusable Ed25519 public key in {vkey!r}") from None
    found = 0
    for name, key_id, signature in signatures:
        if name != key.name or key_id != key.key_id:
            continue
        found += 1
        try:
            if len(signature) != _SIGNATURE_SIZE:
                raise InvalidSignature
            verifier.verify(signature, message)
        except InvalidSignature:
            raise VerificationError(f"invalid signature from key {key.name}+{key.key_id.hex()}") from None
    if not found:
        raise VerificationError(f"note has no signature from key {key.name}+{key.key_id.hex()}")
    return text


def verify_checkpoint(note: str, vkey: str, *, origin: str | None = None) -> Checkpoint:
    """Verify a signed tlog checkpoint note and return the :class:`Checkpoint` it carries.

    ``vkey`` is the log's signed-note verifier key. If ``origin`` is given the checkpoint's
    origin line must equal it (see the module docstring for why it is not compared with the
    key name). Raises :class:`VerificationError` on a malformed note or body, a missing or
    bad signature, or an origin mismatch.
    """
    text = verify_note(note, vkey)
    checkpoint = parse_checkpoint_body(text)
    if origin is not None and checkpoint.origin != origin:
        raise VerificationError(
            f"checkpoint origin {checkpoint.origin!r} is not the expected {origin!r}",
            size=checkpoint.size,
        )
    return checkpoint


def parse_checkpoint_body(text: str) -> Checkpoint:
    """Parse (without any signature check) a tlog-checkpoint note text ending in newline."""
    if not text.endswith("\n"):
        raise VerificationError("malformed checkpoint: text does not end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise VerificationError(f"malformed checkpoint: {len(lines)} lines, need origin, size and root")
    origin, size_text, root_text, *extensions = lines
    if not origin:
        raise VerificationError("malformed checkpoint: empty origin line")
    if not _SIZE_RE.fullmatch(size_text) or int(size_text) > _MAX_UINT64:
        raise VerificationError(f"malformed checkpoint: bad tree size {size_text!r}")
    size = int(size_text)
    root = _b64decode(root_text)
    if root is None or len(root) != HASH_SIZE:
        raise VerificationError(
            f"malformed checkpoint: root {root_text!r} is not a base64 32-byte hash",
            size=size,
        )
    if any(not line for line in extensions):
        raise VerificationError("malformed checkpoint: empty extension line", size=size)
    return Checkpoint(origin=origin, size=size, root=root, extensions=tuple(extensions))


def _split_note(note: str) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    if not isinstance(note, str):
        raise VerificationError("malformed note: not a string")
    try:
        note.encode("utf-8")
    except UnicodeEncodeError:
        raise VerificationError("malformed note: not valid UTF-8") from None
    if _CONTROL_RE.search(note):
        raise VerificationError("malformed note: contains a control character")
    split = note.rfind("\n\n")
    if split < 0:
        raise VerificationError("malformed note: no blank line before the signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block or not block.endswith("\n"):
        raise VerificationError("malformed note: signature block does not end with newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise VerificationError(f"malformed note: {len(lines)} signatures, at most {MAX_SIGNATURES} accepted")
    return text, [_parse_signature_line(line) for line in lines]


def _parse_signature_line(line: str) -> tuple[str, bytes, bytes]:
    if not line.startswith(_SIG_PREFIX):
        raise VerificationError(f"malformed note: bad signature line {line!r}")
    name, _, b64 = line[len(_SIG_PREFIX) :].partition(" ")
    raw = _b64decode(b64)
    # At least one signature byte after the 4-byte key ID, as the Go implementation requires.
    if not _is_valid_name(name) or raw is None or len(raw) < 5:
        raise VerificationError(f"malformed note: bad signature line {line!r}")
    return name, raw[:4], raw[4:]


# --- writing --------------------------------------------------------------------------------


def format_checkpoint_body(origin: str, size: int, root: bytes, extensions: tuple[str, ...] = ()) -> str:
    """Return the canonical tlog-checkpoint note text (ends with a newline) to be signed.

    Raises ``ValueError`` for values that would not parse back to the same checkpoint.
    """
    if not origin or "\n" in origin or _CONTROL_RE.search(origin):
        raise ValueError(f"origin must be one non-empty line, got {origin!r}")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= _MAX_UINT64:
        raise ValueError(f"size must be an integer in [0, 2**64), got {size!r}")
    if not isinstance(root, bytes) or len(root) != HASH_SIZE:
        raise ValueError("root must be 32 bytes")
    for line in extensions:
        if not line or "\n" in line or _CONTROL_RE.search(line):
            raise ValueError(f"extension lines must be non-empty single lines, got {line!r}")
    b64_root = base64.b64encode(root).decode("ascii")
    return "".join(f"{line}\n" for line in (origin, str(size), b64_root, *extensions))


def key_hash(name: str, public_key: bytes) -> bytes:
    """Return the 4-byte signed-note key ID of an Ed25519 key.

    ``SHA-256(name || "\\n" || 0x01 || public_key)[:4]``.
    """
    _check_writer_key(name, public_key)
    return _key_id(name, public_key)


def format_vkey(name: str, public_key: bytes) -> str:
    """Return the signed-note verifier key ``name+<hex key ID>+base64(0x01 || public_key)``."""
    _check_writer_key(name, public_key)
    encoded = base64.b64encode(bytes([ALG_ED25519]) + public_key).decode("ascii")
    return f"{name}+{_key_id(name, public_key).hex()}+{encoded}"


def format_signature_line(name: str, public_key: bytes, signature: bytes) -> str:
    """Return the signature line ``— name base64(key ID || signature)``, without newline.

    ``signature`` is the 64-byte Ed25519 signature of the note text's UTF-8 bytes.
    """
    _check_writer_key(name, public_key)
    if not isinstance(signature, bytes) or len(signature) != _SIGNATURE_SIZE:
        raise ValueError("an Ed25519 signature is 64 bytes")
    encoded = base64.b64encode(_key_id(name, public_key) + signature).decode("ascii")
    return f"{_SIG_PREFIX}{name} {encoded}"


def assemble_note(body: str, signature_lines: list[str]) -> str:
    """Return the signed note: ``body``, a blank line, then one line per signature.

    ``body`` must end with a newline; each signature line must be well formed (as from
    :func:`format_signature_line`, without its newline). Raises ``ValueError`` otherwise.
    """
    if not body.endswith("\n"):
        raise ValueError("note text must end with a newline")
    if not signature_lines:
        raise ValueError("a signed note needs at least one signature")
    if len(signature_lines) > MAX_SIGNATURES:
        raise ValueError(f"at most {MAX_SIGNATURES} signatures")
    note = body + "\n" + "".join(f"{line}\n" for line in signature_lines)
    try:
        text, _ = _split_note(note)
    except VerificationError as exc:
        raise ValueError(str(exc)) from None
    if text != body:
        # A signature line containing a blank line would move the text/signature split.
        raise ValueError("signature lines must not contain newlines")
    return note


# --- helpers --------------------------------------------------------------------------------


def _key_id(name: str, public_key: bytes) -> bytes:
    data = name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + public_key
    return hashlib.sha256(data).digest()[:4]


def _check_writer_key(name: str, public_key: bytes) -> None:
    if not _is_valid_name(name):
        raise ValueError(f"key name must be non-empty without spaces or '+', got {name!r}")
    if not isinstance(public_key, bytes) or len(public_key) != _PUBLIC_KEY_SIZE:
        raise ValueError("an Ed25519 public key is 32 bytes")


def _is_valid_name(name: str) -> bool:
    # Non-empty, no Unicode whitespace, no '+' (signed-note). str.isspace differs from Go's
    # unicode.IsSpace only on ASCII control characters, which notes may not contain anyway.
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def _b64decode(text: str) -> bytes | None:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    # Only canonical encodings: otherwise several strings would name one key or root.
    if base64.b64encode(raw).decode("ascii") != text:
        return None
    return raw
