"""The eventsourcing mapper that seals personal fields on the way into the event store.

Events stay plain in the domain; this mapper seals the fields the :class:`SealingPolicy` names,
under the data key of the record the policy says owns the event (:meth:`SealingPolicy.key_owner`),
before the transcoder's bytes are stored, and opens them when events are read back. When that data
key has been destroyed the fields read as :data:`ledger.sealing.PURGED`; never an error, never
plaintext. Tokens are bound to the event's own aggregate id, topic and field path.

Values are encoded for sealing with the application's own transcoder, so UUIDs and datetimes inside
personal fields survive. An event of a sealed topic whose owner has no data key is refused
(:class:`MissingDataKeyError`) rather than stored in the clear: the service creates data keys
(``KeyStore.create_data_keys``) before it saves.

eventsourcing constructs the mapper itself (``MAPPER_TOPIC``) with only a transcoder, a cipher and
a compressor, so a key store is bound to a subclass registered under its own topic::

    env["MAPPER_TOPIC"] = sealing_mapper_topic(keystore)      # before the Application is built

An Application may instead override ``construct_mapper`` and pass ``keystore=`` directly.

Views that need only an event's clear fields (counts by day, by kind) decode with
``to_domain_events(..., open_sealed=False)``: no key-store lookup and no AES; each sealed field
then reads as :data:`UNOPENED` — neither the plaintext nor :data:`ledger.sealing.PURGED`, since
nothing was learnt about its key.

Not covered here: snapshots and the aggregate cache hold plaintext and
must stay off for sealed aggregates; each event read costs one key-store lookup.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar, Final, final
from uuid import UUID, uuid4

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Cipher, Compressor, Mapper, StoredEvent, Transcoder
from eventsourcing.utils import get_topic, register_topic

from ledger.keystore import KeyStore
from ledger.sealing import PURGED, SEALED_KEY, SealingPolicy, default_policy


@final
class Unopened:
    """The marker in place of a sealed value that was not opened (``open_sealed=False``): the
    value is still sealed in the log; whether its key lives was not asked. Use :data:`UNOPENED`."""

    __slots__ = ()
    _instance: ClassVar[Unopened | None] = None

    def __new__(cls) -> Unopened:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNOPENED"

    def __reduce__(self) -> str:
        return "UNOPENED"


UNOPENED: Final = Unopened()
"""What a sealed value reads as when the caller asked not to open it; compare with ``is``."""


def _mark_unopened(value: Any) -> Any:
    """``value`` with every PURGED (put by ``unseal_state`` without a key) replaced by UNOPENED."""
    if value is PURGED:
        return UNOPENED
    if isinstance(value, dict):
        for k, v in value.items():
            if v is PURGED or isinstance(v, (dict, list)):
                value[k] = _mark_unopened(v)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            if v is PURGED or isinstance(v, (dict, list)):
                value[i] = _mark_unopened(v)
    return value


class MissingDataKeyError(LookupError):
    """An event with personal fields was to be stored, but its record has no data key."""


class SealingMapper(Mapper[UUID]):
    bound_keystore: ClassVar[KeyStore | None] = None
    bound_policy: ClassVar[SealingPolicy | None] = None

    def __init__(
        self,
        transcoder: Transcoder,
        compressor: Compressor | None = None,
        cipher: Cipher | None = None,
        *,
        keystore: KeyStore | None = None,
        policy: SealingPolicy | None = None,
    ) -> None:
        super().__init__(transcoder, compressor=compressor, cipher=cipher)
        # None: a mapper that can store and read only events without personal fields (a schema
        # migration, a tool that never touches records); any sealed topic is refused, never stored clear.
        self.keystore = keystore or type(self).bound_keystore
        self.policy = policy or type(self).bound_policy or default_policy()
        self._staged = threading.local()
        # Per sealed topic: its top-level fields and conditions, or () when some field is nested.
        self._flat_fields: dict[str, tuple[tuple[str, tuple[str, frozenset[str]] | None], ...]] = {}

    @classmethod
    def bind(cls, keystore: KeyStore, policy: SealingPolicy | None = None) -> type[SealingMapper]:
        """A subclass whose instances use ``keystore`` and ``policy`` (for ``MAPPER_TOPIC``)."""
        return type(
            f"{cls.__name__}_{uuid4().hex}",
            (cls,),
            {"bound_keystore": keystore, "bound_policy": policy, "__module__": cls.__module__},
        )

    @contextlib.contextmanager
    def staged_keys(self, keys: Mapping[UUID, bytes]) -> Iterator[None]:
        """Within the block (this thread), seal with these data keys without asking the key store.

        For ingest: the keys just returned by ``create_data_keys`` save a round trip per event.
        """
        previous = getattr(self._staged, "keys", None)
        self._staged.keys = keys
        try:
            yield
        finally:
            self._staged.keys = previous

    def _store(self) -> KeyStore:
        if self.keystore is None:
            raise MissingDataKeyError(
                "no key store is configured: events with personal fields cannot be handled"
            )
        return self.keystore

    def _key(self, owner: UUID) -> bytes | None:
        staged: Mapping[UUID, bytes] | None = getattr(self._staged, "keys", None)
        if staged is not None and owner in staged:
            return staged[owner] or None  # b"": looked up a moment ago, and the record has no key
        return self._store().data_key(owner)

    def _key_for_sealing(self, owner: UUID) -> bytes:
        key = self._key(owner)
        if key is None:
            raise MissingDataKeyError(f"record {owner} has no data key: create it before saving")
        return key

    def to_domain_events(
        self, stored_events: Sequence[StoredEvent], *, open_sealed: bool = True
    ) -> list[DomainEventProtocol[UUID]]:
        """:meth:`to_domain_event` for many events, fetching the data keys of their own records in
        one key-store query (the catch-up path of views; hits still look up their read's key).

        ``open_sealed=False``: the key store is not asked and nothing is decrypted; every sealed
        field reads as :data:`UNOPENED` (for views that count by clear fields only)."""
        if not open_sealed:
            return [self._to_domain_event_unopened(e) for e in stored_events]
        owners = [
            e.originator_id if isinstance(e.originator_id, UUID) else UUID(str(e.originator_id))
            for e in stored_events
            if self.policy.rule(e.topic) is not None
        ]
        if not owners:
            return [self.to_domain_event(e) for e in stored_events]
        found = self._store().data_keys(owners)
        keys = {owner: found.get(owner, b"") for owner in owners}
        with self.staged_keys(keys):
            return [self.to_domain_event(e) for e in stored_events]

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        topic = get_topic(domain_event.__class__)
        if self.policy.rule(topic) is None:
            return super().to_stored_event(domain_event)
        event_state = dict(vars(domain_event))
        originator_id = event_state.pop("originator_id")
        originator_version = event_state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            event_state["class_version"] = class_version
        owner = self.policy.key_owner(topic, originator_id, event_state)
        key = self._key_for_sealing(owner)
        sealed = self.policy.seal_state(event_state, topic, originator_id, key, codec=self.transcoder)
        stored_state = self.transcoder.encode(sealed)
        if self.compressor:
            stored_state = self.compressor.compress(stored_state)
        if self.cipher:
            stored_state = self.cipher.encrypt(stored_state)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=topic,
            state=stored_state,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        domain_event = super().to_domain_event(stored_event)
        topic = stored_event.topic
        if self.policy.rule(topic) is None:
            return domain_event
        state: dict[str, Any] = vars(domain_event)
        originator_id = state["originator_id"]
        owner = self.policy.key_owner(topic, originator_id, state)
        key = self._key(owner)
        opened = self.policy.unseal_state(state, topic, originator_id, key, codec=self.transcoder)
        object.__setattr__(domain_event, "__dict__", opened)
        return domain_event

    def _to_domain_event_unopened(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        domain_event = super().to_domain_event(stored_event)
        topic = stored_event.topic
        rule = self.policy.rule(topic)
        if rule is None:
            return domain_event
        state: dict[str, Any] = vars(domain_event)
        flat = self._flat_fields.get(topic)
        if flat is None:
            flat = self._flat_fields[topic] = (
                tuple((f.top, f.when) for f in rule.fields)
                if all(len(f.segments) == 1 for f in rule.fields)
                else ()
            )
        if flat:
            # Top-level fields only (every topic of the default policy but hotlist imports): the
            # token is dropped and the fields it held are marked, without a copy or a walk.
            if state.pop(SEALED_KEY, None) is not None:
                for top, when in flat:
                    if when is None or state.get(when[0]) in when[1]:
                        state[top] = UNOPENED
            return domain_event
        # Nested fields: without a key, unseal_state only moves each token away and marks its
        # fields (no crypto); those marks are then told apart from a real purge.
        closed = self.policy.unseal_state(
            state, topic, state["originator_id"], None, codec=self.transcoder, strict=False
        )
        object.__setattr__(domain_event, "__dict__", _mark_unopened(closed))
        return domain_event


def sealing_mapper_topic(keystore: KeyStore, policy: SealingPolicy | None = None) -> str:
    """Register a :class:`SealingMapper` bound to ``keystore`` and return its topic for ``MAPPER_TOPIC``."""
    bound = SealingMapper.bind(keystore, policy)
    topic = f"{bound.__module__}:{bound.__name__}"
    register_topic(topic, bound)
    return topic


__all__ = ["UNOPENED", "MissingDataKeyError", "SealingMapper", "Unopened", "sealing_mapper_topic"]
