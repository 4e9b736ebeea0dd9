"""Field sealing: personal fields of an event's state encrypted under their record's data key.

The personal fields of one container — the event itself, or one item of a list such as an imported
hotlist's rows — are taken out of it and sealed together as one token under :data:`SEALED_KEY`::

    "_sealed": "s1:" + base64url(nonce(12) || AES-256-GCM ciphertext+tag)     (no padding)

One encryption per event, not per field: sealing is on the ingest path. The plaintext is the dict
of those fields encoded as compact JSON (or by a given codec, e.g. the eventsourcing transcoder, for
values with datetimes or UUIDs). The associated data binds the token to the record id, the event
topic and the container's concrete path (``""``, ``"added[3]"``), so a token copied to another
record, event type or list item (or altered at all) fails with :class:`SealedFieldError` instead of
opening as the wrong value. :func:`seal` / :func:`unseal` seal one value on its own the same way.

When the data key is gone (destroyed by retention or by a court order), :func:`unseal_state` puts
:data:`PURGED` where each sealed value was: callers report the record as purged, never an error.

:class:`SealingPolicy` says which fields of which topics are personal (data, not code); the default
(:func:`default_policy`) follows issue 5 and the ``PERSONAL_FIELDS`` the domain declares. Paths name
a top-level field (``"plate"``) or a key inside each dict of a list (``"added[].plate"``). A rule may
apply only when a clear field has one of some values (location of mobile reads only).

Everything here is pure: no I/O, no key store. The mapper that applies it to stored events, and
which record's key seals which event (:meth:`SealingPolicy.key_owner`), is wired separately.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar, Final, Protocol, final
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

TOKEN_PREFIX: Final = "s1:"
_NONCE_BYTES = 12
_TAG_BYTES = 16
_AAD_PREFIX = b"alpr-ledger/seal/1\x00"


class SealedFieldError(ValueError):
    """A sealed field does not open: altered, bound to another record/field/topic, or the wrong key."""


@final
class Purged:
    """The marker put in place of a sealed value whose data key was destroyed. Use :data:`PURGED`."""

    __slots__ = ()
    _instance: ClassVar[Purged | None] = None

    def __new__(cls) -> Purged:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "PURGED"

    def __reduce__(self) -> str:
        return "PURGED"  # unpickles (and deep-copies) to the one instance


PURGED: Final = Purged()
"""What a purged sealed value reads as; compare with ``is``."""


class Codec(Protocol):
    """Turns a field's value into bytes and back (eventsourcing's ``Transcoder`` fits)."""

    def encode(self, obj: Any) -> bytes: ...

    def decode(self, data: bytes) -> Any: ...


class JSONCodec:
    """Compact JSON (UTF-8); refuses NaN and infinities, which JSON cannot carry."""

    def encode(self, obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()

    def decode(self, data: bytes) -> Any:
        return json.loads(data)


JSON_CODEC: Final = JSONCodec()


def is_sealed(value: object) -> bool:
    """True when ``value`` looks like a sealed token (it may still fail to open)."""
    return isinstance(value, str) and value.startswith(TOKEN_PREFIX)


def _aad_base(record_id: UUID, topic: str) -> bytes:
    # NUL separates the parts: none of them can contain it, so no two bindings share an encoding.
    return _AAD_PREFIX + f"{record_id}\x00{topic}\x00".encode()


def _aad(record_id: UUID, field: str, topic: str) -> bytes:
    return _aad_base(record_id, topic) + field.encode()


def _refuse(value: Any) -> Any:
    raise TypeError(type(value).__name__)


_PLAIN_JSON = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_refuse
).encode


def _encode(value: Any, codec: Codec) -> bytes:
    # The ingest path seals a dict of plain values per event: C-accelerated JSON is several times
    # faster than a general transcoder. A value plain JSON cannot carry (a UUID, a datetime, NaN)
    # goes to the codec; either way the codec decodes the bytes to the same values.
    if codec is not JSON_CODEC:
        try:
            return _PLAIN_JSON(value).encode()
        except (TypeError, ValueError):
            pass
    return codec.encode(value)


def _seal(aead: AESGCM, value: Any, aad: bytes, codec: Codec) -> str:
    nonce = os.urandom(_NONCE_BYTES)
    blob = nonce + aead.encrypt(nonce, _encode(value, codec), aad)
    return TOKEN_PREFIX + base64.urlsafe_b64encode(blob).rstrip(b"=").decode("ascii")


def _unseal(aead: AESGCM, token: object, aad: bytes, codec: Codec, where: str) -> Any:
    if not is_sealed(token):
        raise SealedFieldError(f"{where}: expected a sealed token, found a clear value")
    assert isinstance(token, str)
    body = token[len(TOKEN_PREFIX) :]
    try:
        blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise SealedFieldError(f"{where}: sealed token is not base64url") from None
    # base64 ignores the spare low bits of the last character: accept the canonical form only,
    # so that one sealed value has exactly one token and an altered token never opens.
    if base64.urlsafe_b64encode(blob).rstrip(b"=").decode("ascii") != body:
        raise SealedFieldError(f"{where}: sealed token is not canonical base64url")
    if len(blob) < _NONCE_BYTES + _TAG_BYTES:
        raise SealedFieldError(f"{where}: sealed token is too short")
    try:
        plaintext = aead.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], aad)
    except InvalidTag:
        raise SealedFieldError(
            f"{where}: sealed value fails its integrity check (altered, moved, or wrong key)"
        ) from None
    return codec.decode(plaintext)


def _check_key(key: bytes) -> AESGCM:
    if len(key) != 32:
        raise ValueError(f"a data key is 32 bytes (AES-256), got {len(key)}")
    return AESGCM(key)


def seal(
    key: bytes, value: Any, *, record_id: UUID, field: str, topic: str, codec: Codec = JSON_CODEC
) -> str:
    """``value`` sealed under ``key``, bound to (record id, field, topic)."""
    return _seal(_check_key(key), value, _aad(record_id, field, topic), codec)


def unseal(
    key: bytes, token: str, *, record_id: UUID, field: str, topic: str, codec: Codec = JSON_CODEC
) -> Any:
    """The value sealed in ``token``; :class:`SealedFieldError` on tamper or wrong binding/key."""
    return _unseal(_check_key(key), token, _aad(record_id, field, topic), codec, f"{topic} {field}")


# --------------------------------------------------------------------------------------------
# Policy
# --------------------------------------------------------------------------------------------

_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\[\])?(\.[A-Za-z_][A-Za-z0-9_]*(\[\])?)*")


@dataclass(frozen=True, slots=True)
class FieldRule:
    """One personal field: ``path`` (``"plate"``, ``"added[].plate"``), sealed whatever its value
    (None too, so that presence does not leak), and only when ``when`` is None or the clear
    top-level field ``when[0]`` has one of the values ``when[1]``."""

    path: str
    when: tuple[str, frozenset[str]] | None = None
    segments: tuple[tuple[str, bool], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if _PATH.fullmatch(self.path) is None:
            raise ValueError(f"field path {self.path!r} must look like 'name', 'a.b' or 'list[].key'")
        segments = tuple((s.removesuffix("[]"), s.endswith("[]")) for s in self.path.split("."))
        object.__setattr__(self, "segments", segments)

    @property
    def top(self) -> str:
        return self.segments[0][0]

    def applies(self, state: Mapping[str, Any]) -> bool:
        return self.when is None or state.get(self.when[0]) in self.when[1]


@dataclass(frozen=True, slots=True)
class TopicRule:
    """The personal fields of one event topic and whose data key seals them.

    ``key_owner`` names a clear top-level field holding the UUID of the record whose data key seals
    this event (a hit is sealed under its read's key, so shredding the read shreds the hit's copy
    of the plate); None means the event's own aggregate.
    """

    fields: tuple[FieldRule, ...]
    key_owner: str | None = None

    def __post_init__(self) -> None:
        sealed = {f.top for f in self.fields}
        clear = {f.when[0] for f in self.fields if f.when is not None}
        if self.key_owner is not None:
            clear.add(self.key_owner)
        if sealed & clear:
            raise ValueError(f"fields {sorted(sealed & clear)} cannot be both sealed and read in the clear")


_Segments = tuple[tuple[str, bool], ...]


class SealingPolicy:
    """Which fields of which event topics are personal, and the pure transforms of event state."""

    def __init__(self, rules: Mapping[str, TopicRule | Sequence[str | FieldRule]]) -> None:
        self._rules: dict[str, TopicRule] = {}
        self._group_cache: dict[tuple[int, tuple[bool, ...]], dict[_Segments, list[str]]] = {}
        for topic, rule in rules.items():
            if not isinstance(rule, TopicRule):
                rule = TopicRule(tuple(FieldRule(f) if isinstance(f, str) else f for f in rule))
            self._rules[topic] = rule

    @property
    def topics(self) -> frozenset[str]:
        return frozenset(self._rules)

    def rule(self, topic: str) -> TopicRule | None:
        return self._rules.get(topic)

    def key_owner(self, topic: str, originator_id: UUID, state: Mapping[str, Any]) -> UUID:
        """The record whose data key seals this event (see :class:`TopicRule`)."""
        rule = self._rules.get(topic)
        if rule is None or rule.key_owner is None:
            return originator_id
        owner = state[rule.key_owner]
        return owner if isinstance(owner, UUID) else UUID(str(owner))

    def _groups(self, rule: TopicRule, state: Mapping[str, Any]) -> dict[_Segments, list[str]]:
        """The applicable fields grouped by the container that holds them: ``()`` for top-level
        fields, ``(("added", True),)`` for keys inside each item of ``added``. Cached per rule and
        set of applicable fields (this runs once per sealed event)."""
        applicable = tuple(f.applies(state) for f in rule.fields)
        cache_key = (id(rule), applicable)
        groups = self._group_cache.get(cache_key)
        if groups is None:
            groups = {}
            for f, applies in zip(rule.fields, applicable, strict=True):
                if applies:
                    groups.setdefault(f.segments[:-1], []).append(f.segments[-1][0])
            self._group_cache[cache_key] = groups
        return groups

    def seal_state(
        self,
        state: Mapping[str, Any],
        topic: str,
        record_id: UUID,
        key: bytes,
        *,
        codec: Codec = JSON_CODEC,
    ) -> dict[str, Any]:
        """A copy of ``state`` with its personal fields sealed; ``state`` itself is not changed.

        The personal fields of one container (the event itself, or one item of a list) are sealed
        together as one token under :data:`SEALED_KEY`, bound to the container's concrete path
        (``""``, ``"added[3]"``): one encryption per event instead of one per field. Containers on
        the way to a sealed value are copied; everything else is shared.
        """
        rule = self._rules.get(topic)
        if rule is None:
            return dict(state)
        aead = _check_key(key)
        base = _aad_base(record_id, topic)
        out = dict(state)

        def seal_group(container: dict[str, Any], path: str, leaves: Sequence[str]) -> None:
            if SEALED_KEY in container:
                raise SealedFieldError(f"{topic} {path or 'event'}: {SEALED_KEY!r} is reserved")
            taken = {leaf: container.pop(leaf) for leaf in leaves if leaf in container}
            if taken:
                # A purged value copied into a new event must never be stored as if it were data
                # (nested ones fail in the codec, which cannot encode the marker).
                if any(v is PURGED for v in taken.values()):
                    raise TypeError(f"{topic} {path or 'event'}: a PURGED value cannot be sealed as data")
                container[SEALED_KEY] = _seal(aead, taken, base + path.encode(), codec)

        for container_path, leaves in self._groups(rule, state).items():
            if not container_path:  # top-level fields: the common case, without the walk
                seal_group(out, "", leaves)
            else:
                _each_container(out, container_path, "", functools.partial(seal_group, leaves=leaves))
        return out

    def unseal_state(
        self,
        state: Mapping[str, Any],
        topic: str,
        record_id: UUID,
        key: bytes | None,
        *,
        codec: Codec = JSON_CODEC,
        strict: bool = True,
    ) -> dict[str, Any]:
        """A copy of ``state`` with its sealed fields opened, or :data:`PURGED` where ``key`` is None.

        ``strict``: a clear personal value (no token) is an error (it cannot come from
        :meth:`seal_state`). Pass False only to read events stored before sealing was switched on.
        """
        rule = self._rules.get(topic)
        if rule is None:
            return dict(state)
        aead = None if key is None else _check_key(key)
        base = _aad_base(record_id, topic)
        out = dict(state)

        def open_group(container: dict[str, Any], path: str, leaves: Sequence[str]) -> None:
            where = f"{topic} {path or 'event'}"
            token = container.pop(SEALED_KEY, None)
            if token is None:
                clear = [leaf for leaf in leaves if leaf in container]
                if clear and strict:
                    raise SealedFieldError(
                        f"{where}.{clear[0]}: expected a sealed token, found a clear value"
                    )
                return
            if aead is None:
                for leaf in leaves:
                    container[leaf] = PURGED
                return
            values = _unseal(aead, token, base + path.encode(), codec, where)
            if not isinstance(values, dict) or not set(values) <= set(leaves):
                raise SealedFieldError(f"{where}: sealed token holds fields this policy does not seal")
            clash = [leaf for leaf in values if leaf in container]
            if clash:
                raise SealedFieldError(f"{where}.{clash[0]}: both sealed and in the clear")
            container.update(values)

        for container_path, leaves in self._groups(rule, state).items():
            if not container_path:
                open_group(out, "", leaves)
            else:
                _each_container(out, container_path, "", functools.partial(open_group, leaves=leaves))
        return out

    def sealed_paths(self, topic: str) -> tuple[str, ...]:
        rule = self._rules.get(topic)
        return () if rule is None else tuple(f.path for f in rule.fields)


SEALED_KEY: Final = "_sealed"
"""Where a container's sealed personal fields live (one token); never a name of a real field."""


def _each_container(
    container: dict[str, Any],
    segments: Sequence[tuple[str, bool]],
    prefix: str,
    fn: Callable[[dict[str, Any], str], None],
) -> None:
    """Call ``fn(dict, concrete path)`` on each dict at ``segments`` below ``container`` (a copy).

    Dicts on the way are copied before ``fn`` changes them. A missing key or a None/non-list where a
    list is expected is left alone (an optional part). Concrete paths index list items
    (``added[3]``), so a token moved between items fails to open.
    """
    if not segments:
        fn(container, prefix.rstrip("."))
        return
    (name, is_list), rest = segments[0], segments[1:]
    value = container.get(name)
    path = f"{prefix}{name}"
    if is_list:
        if not isinstance(value, list):
            return
        items = list(value)
        for i, item in enumerate(items):
            if isinstance(item, Mapping):
                items[i] = dict(item)
                _each_container(items[i], rest, f"{path}[{i}].", fn)
        container[name] = items
    elif isinstance(value, Mapping):
        container[name] = dict(value)
        _each_container(container[name], rest, path + ".", fn)


# --------------------------------------------------------------------------------------------
# Default policy and module-level shortcuts
# --------------------------------------------------------------------------------------------

MOBILE_KINDS: Final = frozenset({"mobile", "portable"})
"""Camera kinds whose read location is the vehicle's exact position, not a published camera site."""


@cache
def default_policy() -> SealingPolicy:
    """The personal fields of issue 5 in this codebase's events.

    - Read.Captured: plate, state, vehicle characteristics, image digests; the location of reads
      by mobile and portable cameras (a fixed camera's site is public, and stays clear).
    - Hit.Raised: the domain's ``PERSONAL_FIELDS``, sealed under the READ's key (``read_id``).
    - Hotlist entries: plate and state, of manual entries and of each imported row.
    - Search.Requested: the criteria (they may name a plate); type, purpose, grounds stay clear.
    - Disclosure.Requested: the requesting person and their contact details.
    - Account.TotpEnrolled: the TOTP secret (a credential, flagged in the domain for sealing).
    """
    from eventsourcing.utils import get_topic

    from domain.account import Account
    from domain.disclosure import Disclosure
    from domain.hit import PERSONAL_FIELDS as HIT_PERSONAL_FIELDS
    from domain.hit import Hit
    from domain.hotlist import Hotlist
    from domain.read import Read
    from domain.search import Search

    def rules(*paths: str | FieldRule) -> tuple[FieldRule, ...]:
        return tuple(FieldRule(p) if isinstance(p, str) else p for p in paths)

    mobile = ("camera_kind", MOBILE_KINDS)
    return SealingPolicy(
        {
            get_topic(Read.Captured): TopicRule(
                rules(
                    "plate",
                    "state",
                    "vehicle",
                    "plate_image",
                    "vehicle_image",
                    FieldRule("latitude", when=mobile),
                    FieldRule("longitude", when=mobile),
                )
            ),
            get_topic(Hit.Raised): TopicRule(rules(*HIT_PERSONAL_FIELDS), key_owner="read_id"),
            get_topic(Hotlist.EntryAdded): TopicRule(rules("plate", "state")),
            get_topic(Hotlist.VersionImported): TopicRule(rules("added[].plate", "added[].state")),
            get_topic(Search.Requested): TopicRule(rules("criteria")),
            get_topic(Disclosure.Requested): TopicRule(rules("requesting_person", "contact")),
            get_topic(Account.TotpEnrolled): TopicRule(rules("secret")),
        }
    )


def seal_state(
    state: Mapping[str, Any],
    topic: str,
    record_id: UUID,
    key: bytes,
    *,
    policy: SealingPolicy | None = None,
    codec: Codec = JSON_CODEC,
) -> dict[str, Any]:
    """:meth:`SealingPolicy.seal_state` under ``policy`` (default: :func:`default_policy`)."""
    return (policy or default_policy()).seal_state(state, topic, record_id, key, codec=codec)


def unseal_state(
    state: Mapping[str, Any],
    topic: str,
    record_id: UUID,
    key: bytes | None,
    *,
    policy: SealingPolicy | None = None,
    codec: Codec = JSON_CODEC,
    strict: bool = True,
) -> dict[str, Any]:
    """:meth:`SealingPolicy.unseal_state` under ``policy`` (default: :func:`default_policy`)."""
    return (policy or default_policy()).unseal_state(state, topic, record_id, key, codec=codec, strict=strict)


def contains_purged(value: object) -> bool:
    """True when ``value`` (a state, or any JSON-like value) holds :data:`PURGED` anywhere."""
    if value is PURGED:
        return True
    if isinstance(value, Mapping):
        return any(contains_purged(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(contains_purged(v) for v in value)
    return False


__all__ = [
    "JSON_CODEC",
    "MOBILE_KINDS",
    "PURGED",
    "SEALED_KEY",
    "TOKEN_PREFIX",
    "Codec",
    "FieldRule",
    "JSONCodec",
    "Purged",
    "SealedFieldError",
    "SealingPolicy",
    "TopicRule",
    "contains_purged",
    "default_policy",
    "is_sealed",
    "seal",
    "seal_state",
    "unseal",
    "unseal_state",
]
