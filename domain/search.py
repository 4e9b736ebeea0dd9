"""The ``Search`` aggregate (the query log) and the pure decisions about whether a search may run.

A search of stored reads is recorded *before* it runs (MPTC VI.E, TCSO V.D.3: "a log of such
queries will be securely maintained"): :meth:`Search.request` makes the ``Requested`` event
naming who, why (purpose, reason, case number), what (search type and criteria), and which
profile clauses allowed it; the service saves it, runs the executor, then saves ``Executed``
(result count and a digest of the result ids). A request the policy refuses is recorded too:
``Requested`` followed by ``Refused`` (the rule, the clause it comes from, the message).

Which failures are recorded: every decision of the policy or of the caller's standing (who may
search, for what, with which justification, what kind of search) is a refusal and is recorded.
Input that cannot be read at all (a field of the wrong type, text with control characters, a
plate with characters no plate has) is answered 422 and stores nothing: it is not a search the
policy decided on, and the log must not fill with malformed payloads.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain.case import case_number_or_none
from domain.errors import AccessDeniedError, DomainError, InvalidFieldError, PolicyRefusedError
from domain.policy import PolicyProfile, Role
from domain.values import is_purged, parse_plate, parse_state, to_utc

# --------------------------------------------------------------------------------------------
# Limits and rules
# --------------------------------------------------------------------------------------------

SEARCH_TYPES: tuple[str, ...] = (
    "plate",
    "fixed_readers",
    "mobile_readers",
    "area",
    "associates",
)
"""The five historical search types (NYPD 2026 §Retention, Access & Use, items 1-5): a complete or
partial plate; all plates at chosen fixed readers in a window; all plates seen by chosen patrol
vehicles' mobile readers in a window; all plates in an area in a window; the associates of a plate.
Which of them can run depends on the executors installed; others are refused
``search.type.unsupported``."""

SEARCH_TYPE_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
CODE_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
"""Purpose and ground codes as clients send them (``criminal_investigation``)."""

REASON_MAX_LENGTH = 1000
REASON_MIN_LENGTH = 15
REASON_MIN_WORDS = 3
"""A reason must be at least 15 characters and three words. Audits of ALPR programmes found
searches justified by a single word ("investigation"); MPTC VI.E and TCSO V.D.2 require the
*reason(s) for the search*, NYPD 2026 §Safeguards an *articulable need*. Three words is the least
that can articulate one ("stolen vehicle sighting", "suspect vehicle in robbery")."""
CASE_NUMBER_MAX_LENGTH = 64
MAX_GROUNDS = 16
MAX_CAMERA_IDS = 100
MAX_CRITERIA_BYTES = 4096
WILDCARDS = frozenset("*?%_")
"""Characters that make a plate partial. ``?`` (one character) and ``*`` (any run) are searched;
``%`` and ``_`` (SQL's) are refused ``search.plate.wildcard`` so a pattern means one thing."""
PARTIAL_PLATE_MIN_KNOWN = 2
"""A partial plate names at least 2 known characters: ``*`` alone would list every read, which is
a dragnet (NYPD 2026 limits historical searches to specific investigative needs)."""
PLATE_PATTERN_MAX_LENGTH = 16
MAX_PATROL_VEHICLES = 100
MAX_POLYGON_POSITIONS = 200
MAX_RADIUS_M = 50_000.0
MAX_ASSOCIATE_WINDOW_S = 3600
"""Associates: at most an hour either side of a sighting (beyond that "seen together" means little)."""

PARTNER_SCOPE_REF = "NYPD 2026 §External Entities"
PARTNER_SCOPE_QUOTE = (
    "Authorized agents of NJ law enforcement agencies are capable of conducting a search for pings "
    "of a specific license plate"
)

_CONTROL = re.compile("[\\x00-\\x1f\\x7f-\\x9f\\ud800-\\udfff]")
_CODE = re.compile(CODE_PATTERN)


# --------------------------------------------------------------------------------------------
# The request as the caller sends it, and its parsed form
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunSearch:
    """Run one historical search (raw, unvalidated input)."""

    search_type: str
    criteria: Mapping[str, Any]
    purpose: str
    reason: str | None = None
    case_number: str | None = None
    grounds: Sequence[str] = ()
    left_jurisdiction_reason: str | None = None


@dataclass(frozen=True, slots=True)
class PlateCriteria:
    """Criteria of an exact plate search: the complete plate, optionally its state, readers and a
    time window (``captured_from`` inclusive, ``captured_to`` exclusive)."""

    plate: str
    state: str | None = None
    camera_ids: tuple[str, ...] = ()
    captured_from: datetime | None = None
    captured_to: datetime | None = None
    confusable: bool = False
    """Also match plates that differ only by OCR-confusable characters (domain.matching)."""

    @property
    def partial(self) -> bool:
        """The plate holds wildcards: ``?`` one character, ``*`` any run (possibly empty)."""
        return "*" in self.plate or "?" in self.plate

    def as_dict(self) -> dict[str, Any]:
        """The canonical form recorded in the Search (JSON-friendly)."""
        out: dict[str, Any] = {"plate": self.plate}
        if self.confusable:
            out["confusable"] = True
        if self.state is not None:
            out["state"] = self.state
        if self.camera_ids:
            out["camera_ids"] = list(self.camera_ids)
        if self.captured_from is not None:
            out["from"] = self.captured_from.isoformat()
        if self.captured_to is not None:
            out["to"] = self.captured_to.isoformat()
        return out


def _text(raw: object, field: str, max_length: int) -> str | None:
    """Optional one-line text, stripped; None or blank -> None."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise InvalidFieldError(field, f"{field}.type", "must be a string")
    if len(raw) > max_length:
        raise InvalidFieldError(field, f"{field}.length", f"must be at most {max_length} characters")
    if _CONTROL.search(raw):
        raise InvalidFieldError(field, f"{field}.charset", "must be one line without control characters")
    return raw.strip() or None


def _code(raw: object, field: str) -> str:
    if not isinstance(raw, str) or not _CODE.fullmatch(raw):
        raise InvalidFieldError(
            field,
            "code.format",
            "must be a code of 1 to 64 characters a-z, 0-9 and '_', starting with a letter",
        )
    return raw


def _json_safe(value: object, depth: int = 0) -> Any:
    """``value`` as JSON primitives (datetimes as ISO text), or raise: criteria are recorded."""
    if depth > 5:  # a GeoJSON Polygon's numbers sit 5 deep: criteria.polygon.coordinates[ring][pos][i]
        raise InvalidFieldError("criteria", "criteria.depth", "is nested too deeply")
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v, depth + 1) for v in value]
    raise InvalidFieldError("criteria", "criteria.type", "must hold only JSON values")


def parse_criteria(raw: object) -> dict[str, Any]:
    """The criteria as recorded: a JSON object of at most 4 KiB."""
    if not isinstance(raw, Mapping):
        raise InvalidFieldError("criteria", "criteria.type", "must be an object")
    criteria: dict[str, Any] = _json_safe(raw)
    if len(json.dumps(criteria, ensure_ascii=False)) > MAX_CRITERIA_BYTES:
        raise InvalidFieldError(
            "criteria", "criteria.size", f"must be at most {MAX_CRITERIA_BYTES} characters"
        )
    return criteria


@dataclass(frozen=True, slots=True)
class ParsedSearch:
    """A :class:`RunSearch` whose fields could be read (the policy has not decided yet)."""

    search_type: str
    criteria: dict[str, Any]
    purpose: str
    reason: str | None
    case_number: str | None
    grounds: tuple[str, ...]
    left_jurisdiction_reason: str | None


def parse_search(cmd: RunSearch) -> ParsedSearch:
    """Read the fields of ``cmd`` or raise :class:`InvalidFieldError` (nothing is recorded)."""
    if not isinstance(cmd.search_type, str) or not re.fullmatch(SEARCH_TYPE_PATTERN, cmd.search_type):
        raise InvalidFieldError(
            "search_type", "search_type.format", f"must be one of: {', '.join(SEARCH_TYPES)}"
        )
    criteria = parse_criteria(cmd.criteria)
    purpose = _code(cmd.purpose, "purpose")
    if isinstance(cmd.grounds, str) or not isinstance(cmd.grounds, Sequence):
        raise InvalidFieldError("grounds", "grounds.type", "must be a list of codes")
    if len(cmd.grounds) > MAX_GROUNDS:
        raise InvalidFieldError("grounds", "grounds.length", f"must name at most {MAX_GROUNDS} grounds")
    grounds = tuple(dict.fromkeys(_code(g, f"grounds[{i}]") for i, g in enumerate(cmd.grounds)))
    return ParsedSearch(
        search_type=cmd.search_type,
        criteria=criteria,
        purpose=purpose,
        reason=_text(cmd.reason, "reason", REASON_MAX_LENGTH),
        case_number=_text(cmd.case_number, "case_number", CASE_NUMBER_MAX_LENGTH),
        grounds=grounds,
        left_jurisdiction_reason=_text(
            cmd.left_jurisdiction_reason, "left_jurisdiction_reason", REASON_MAX_LENGTH
        ),
    )


def _aware(raw: object, field: str) -> datetime | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        try:
            raw = datetime.fromisoformat(raw)
        except ValueError:
            raise InvalidFieldError(field, "criteria.time.format", "must be an ISO 8601 date-time") from None
    if not isinstance(raw, datetime):
        raise InvalidFieldError(field, "criteria.time.format", "must be an ISO 8601 date-time")
    return to_utc(raw, field=field, rule="criteria.time")


def is_complete_plate(criteria: Mapping[str, Any]) -> bool:
    """True when ``criteria`` name one complete plate (no wildcard, readable as a plate)."""
    plate = criteria.get("plate")
    if not isinstance(plate, str) or any(c in WILDCARDS for c in plate):
        return False
    try:
        parse_plate(plate)
    except InvalidFieldError:
        return False
    return True


def parse_plate_criteria(criteria: Mapping[str, Any]) -> PlateCriteria:
    """Criteria of a plate search, ``{plate, confusable?, state?, camera_ids?, from?, to?}``; the
    plate complete or partial (``?`` one character, ``*`` any run)."""
    _only(criteria, "plate", ("plate", "confusable", "state", "camera_ids", "from", "to"))
    plate = criteria.get("plate")
    if isinstance(plate, str) and any(c in WILDCARDS for c in plate):
        text = parse_plate_pattern(plate)
    else:
        try:
            text = parse_plate(plate)
        except InvalidFieldError as e:
            raise e.renamed("criteria.plate") from None
    confusable = criteria.get("confusable", False)
    if not isinstance(confusable, bool):
        raise InvalidFieldError("criteria.confusable", "criteria.confusable.type", "must be true or false")
    state = criteria.get("state")
    if state is not None:
        try:
            state = parse_state(state)
        except InvalidFieldError as e:
            raise e.renamed("criteria.state") from None
    camera_ids = _ids(criteria, "camera_ids", "camera_id", MAX_CAMERA_IDS, required=False)
    start, end = _window(criteria, required=False)
    return PlateCriteria(text, state, camera_ids, start, end, confusable)


def _only(criteria: Mapping[str, Any], search_type: str, allowed: Sequence[str]) -> None:
    unknown = sorted(set(criteria) - set(allowed))
    if unknown:
        raise InvalidFieldError(
            f"criteria.{unknown[0]}",
            "criteria.unknown",
            f"{search_type} searches take {', '.join(allowed)}",
        )


def parse_plate_pattern(raw: str) -> str:
    """A partial plate: separators removed, uppercased, runs of ``*`` collapsed; at least
    :data:`PARTIAL_PLATE_MIN_KNOWN` known characters."""
    field = "criteria.plate"
    if any(c in "%_" for c in raw):
        raise InvalidFieldError(
            field, "search.plate.wildcard", "wildcards are ? (one character) and * (any run)"
        )
    text = re.sub(r"\*+", "*", re.sub(r"[\s.\-]", "", raw))
    known = [c for c in text if c not in "*?"]
    if not all(c.isascii() and c.isalnum() for c in known):
        raise InvalidFieldError(
            field, "plate.charset", "may contain only letters A-Z, digits 0-9 and the wildcards ? and *"
        )
    if len(text) > PLATE_PATTERN_MAX_LENGTH or len(known) > 8:
        raise InvalidFieldError(
            field,
            "plate.length",
            f"must have at most 8 known characters and {PLATE_PATTERN_MAX_LENGTH} in all",
        )
    if len(known) < PARTIAL_PLATE_MIN_KNOWN:
        raise InvalidFieldError(
            field,
            "search.plate.too_broad",
            f"a partial plate must name at least {PARTIAL_PLATE_MIN_KNOWN} known characters",
        )
    return text.upper()


def _ids(criteria: Mapping[str, Any], name: str, item: str, limit: int, *, required: bool) -> tuple[str, ...]:
    """A list of reader or vehicle ids: stripped, unique, in the order given."""
    raw = criteria.get(name)
    if raw is None and not required:
        return ()
    if not isinstance(raw, list) or len(raw) > limit:
        raise InvalidFieldError(
            f"criteria.{name}", f"criteria.{name}.type", f"must be a list of at most {limit} ids"
        )
    if required and not raw:
        raise InvalidFieldError(f"criteria.{name}", f"criteria.{name}.required", "must name at least one id")
    found: list[str] = []
    for i, value in enumerate(raw):
        if not isinstance(value, str) or not value.strip() or len(value) > 64 or _CONTROL.search(value):
            raise InvalidFieldError(f"criteria.{name}[{i}]", f"criteria.{item}.format", f"must be a {item}")
        found.append(value.strip())
    return tuple(dict.fromkeys(found))


def _window(criteria: Mapping[str, Any], *, required: bool) -> tuple[datetime | None, datetime | None]:
    """``from`` (inclusive) and ``to`` (exclusive), with a UTC offset; both required for the
    reader, vehicle and area searches (a window bounds what they list)."""
    start = _aware(criteria.get("from"), "criteria.from")
    end = _aware(criteria.get("to"), "criteria.to")
    if required:
        for value, name in ((start, "from"), (end, "to")):
            if value is None:
                raise InvalidFieldError(
                    f"criteria.{name}", "criteria.window.required", "a time window is required"
                )
    if start is not None and end is not None and end <= start:
        raise InvalidFieldError("criteria.to", "criteria.window", "must be later than criteria.from")
    return start, end


def _window_dict(out: dict[str, Any], start: datetime | None, end: datetime | None) -> dict[str, Any]:
    if start is not None:
        out["from"] = start.isoformat()
    if end is not None:
        out["to"] = end.isoformat()
    return out


@dataclass(frozen=True, slots=True)
class ReadersCriteria:
    """``fixed_readers`` (camera ids of fixed cameras) or ``mobile_readers`` (patrol vehicles):
    every read they took in [``captured_from``, ``captured_to``)."""

    search_type: str
    ids: tuple[str, ...]
    captured_from: datetime
    captured_to: datetime

    @property
    def key(self) -> str:
        return "camera_ids" if self.search_type == "fixed_readers" else "patrol_vehicles"

    def as_dict(self) -> dict[str, Any]:
        return _window_dict({self.key: list(self.ids)}, self.captured_from, self.captured_to)


def parse_readers_criteria(search_type: str, criteria: Mapping[str, Any]) -> ReadersCriteria:
    key, item, limit = (
        ("camera_ids", "camera_id", MAX_CAMERA_IDS)
        if search_type == "fixed_readers"
        else ("patrol_vehicles", "patrol_vehicle", MAX_PATROL_VEHICLES)
    )
    _only(criteria, search_type, (key, "from", "to"))
    ids = _ids(criteria, key, item, limit, required=True)
    start, end = _window(criteria, required=True)
    assert start is not None and end is not None
    return ReadersCriteria(search_type, ids, start, end)


@dataclass(frozen=True, slots=True)
class AreaCriteria:
    """``area``: reads inside a polygon (``polygon``: the exterior ring then holes, each a list of
    (longitude, latitude), closed) or a circle (``center`` (longitude, latitude), ``radius_m``)
    in [``captured_from``, ``captured_to``)."""

    captured_from: datetime
    captured_to: datetime
    polygon: tuple[tuple[tuple[float, float], ...], ...] | None = None
    center: tuple[float, float] | None = None
    radius_m: float | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any]
        if self.polygon is not None:
            out = {
                "polygon": {
                    "type": "Polygon",
                    "coordinates": [[list(p) for p in ring] for ring in self.polygon],
                }
            }
        else:
            assert self.center is not None
            out = {"circle": {"center": list(self.center), "radius_m": self.radius_m}}
        return _window_dict(out, self.captured_from, self.captured_to)


def _number(raw: object, field: str, low: float, high: float) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not low <= raw <= high:
        raise InvalidFieldError(field, "criteria.number.range", f"must be a number from {low:g} to {high:g}")
    return float(raw)


def _position(raw: object, field: str) -> tuple[float, float]:
    if not isinstance(raw, list) or len(raw) != 2:
        raise InvalidFieldError(field, "criteria.position.format", "must be [longitude, latitude]")
    return (_number(raw[0], f"{field}[0]", -180.0, 180.0), _number(raw[1], f"{field}[1]", -90.0, 90.0))


def parse_area_criteria(criteria: Mapping[str, Any]) -> AreaCriteria:
    """``{polygon: GeoJSON Polygon | circle: {center: [lon, lat], radius_m}, from, to}``."""
    _only(criteria, "area", ("polygon", "circle", "from", "to"))
    if ("polygon" in criteria) == ("circle" in criteria):
        raise InvalidFieldError(
            "criteria.polygon", "criteria.area.required", "give exactly one of polygon or circle"
        )
    start, end = _window(criteria, required=True)
    assert start is not None and end is not None
    if "circle" in criteria:
        circle = criteria["circle"]
        if not isinstance(circle, Mapping) or set(circle) != {"center", "radius_m"}:
            raise InvalidFieldError(
                "criteria.circle",
                "criteria.circle.format",
                "must be {center: [longitude, latitude], radius_m}",
            )
        center = _position(circle["center"], "criteria.circle.center")
        radius = _number(circle["radius_m"], "criteria.circle.radius_m", 0.0, MAX_RADIUS_M)
        if radius <= 0:
            raise InvalidFieldError(
                "criteria.circle.radius_m", "criteria.number.range", "must be more than 0"
            )
        return AreaCriteria(start, end, center=center, radius_m=radius)
    polygon = criteria["polygon"]
    field = "criteria.polygon"
    if (
        not isinstance(polygon, Mapping)
        or polygon.get("type") != "Polygon"
        or set(polygon) != {"type", "coordinates"}
    ):
        raise InvalidFieldError(
            field,
            "criteria.polygon.format",
            "must be a GeoJSON Polygon {type: Polygon, coordinates: [rings]}",
        )
    rings_raw = polygon["coordinates"]
    if not isinstance(rings_raw, list) or not rings_raw:
        raise InvalidFieldError(f"{field}.coordinates", "criteria.polygon.format", "must be a list of rings")
    rings: list[tuple[tuple[float, float], ...]] = []
    total = 0
    for i, ring_raw in enumerate(rings_raw):
        where = f"{field}.coordinates[{i}]"
        if not isinstance(ring_raw, list) or len(ring_raw) < 4:
            raise InvalidFieldError(where, "criteria.polygon.ring", "a ring needs at least 4 positions")
        total += len(ring_raw)
        if total > MAX_POLYGON_POSITIONS:
            raise InvalidFieldError(
                where, "criteria.polygon.size", f"a polygon has at most {MAX_POLYGON_POSITIONS} positions"
            )
        ring = tuple(_position(p, f"{where}[{j}]") for j, p in enumerate(ring_raw))
        if ring[0] != ring[-1]:
            raise InvalidFieldError(where, "criteria.polygon.ring", "a ring must end at its first position")
        if len(set(ring)) < 3:
            raise InvalidFieldError(
                where, "criteria.polygon.ring", "a ring needs at least 3 distinct positions"
            )
        rings.append(ring)
    return AreaCriteria(start, end, polygon=tuple(rings))


@dataclass(frozen=True, slots=True)
class AssociatesCriteria:
    """``associates``: plates read at the same readers within ``window_s`` seconds before or
    after a sighting of ``plate`` (sightings in [``captured_from``, ``captured_to``) if given)."""

    plate: str
    window_s: int
    state: str | None = None
    captured_from: datetime | None = None
    captured_to: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"plate": self.plate, "window_s": self.window_s}
        if self.state is not None:
            out["state"] = self.state
        return _window_dict(out, self.captured_from, self.captured_to)


def parse_associates_criteria(criteria: Mapping[str, Any]) -> AssociatesCriteria:
    _only(criteria, "associates", ("plate", "window_s", "state", "from", "to"))
    plate = criteria.get("plate")
    if isinstance(plate, str) and any(c in WILDCARDS for c in plate):
        raise InvalidFieldError(
            "criteria.plate",
            "search.associates.complete_plate",
            "associates are searched for one complete plate",
        )
    try:
        text = parse_plate(plate)
    except InvalidFieldError as e:
        raise e.renamed("criteria.plate") from None
    window = criteria.get("window_s")
    if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= MAX_ASSOCIATE_WINDOW_S:
        raise InvalidFieldError(
            "criteria.window_s",
            "criteria.window_s.range",
            f"must be a whole number of seconds from 1 to {MAX_ASSOCIATE_WINDOW_S}",
        )
    state = criteria.get("state")
    if state is not None:
        try:
            state = parse_state(state)
        except InvalidFieldError as e:
            raise e.renamed("criteria.state") from None
    start, end = _window(criteria, required=False)
    return AssociatesCriteria(text, window, state, start, end)


TypedCriteria = PlateCriteria | ReadersCriteria | AreaCriteria | AssociatesCriteria


def parse_type_criteria(search_type: str, criteria: Mapping[str, Any]) -> TypedCriteria:
    """The criteria of ``search_type`` parsed, or :class:`InvalidFieldError` naming the field and
    rule (checked before a search is recorded)."""
    if search_type == "plate":
        return parse_plate_criteria(criteria)
    if search_type in ("fixed_readers", "mobile_readers"):
        return parse_readers_criteria(search_type, criteria)
    if search_type == "area":
        return parse_area_criteria(criteria)
    if search_type == "associates":
        return parse_associates_criteria(criteria)
    raise InvalidFieldError("search_type", "search.type.unsupported", f"one of: {', '.join(SEARCH_TYPES)}")


# --------------------------------------------------------------------------------------------
# The decision
# --------------------------------------------------------------------------------------------

ErrorKind = Literal["invalid", "policy", "access"]
_ERRORS: dict[str, type[DomainError]] = {
    "invalid": InvalidFieldError,
    "policy": PolicyRefusedError,
    "access": AccessDeniedError,
}


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a search may not run: the rule, the clause it comes from, and the error to answer."""

    kind: ErrorKind  # invalid -> 422, policy/access -> 403
    field: str
    rule: str
    clause_ref: str
    message: str

    def error(self) -> DomainError:
        return _ERRORS[self.kind](self.field, self.rule, self.message)


@dataclass(frozen=True, slots=True)
class Allowed:
    """The search may run; ``clause_refs`` are the checks passed and the clauses behind them."""

    clause_refs: tuple[dict[str, str], ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Standing:
    """The searcher as the record says now (not as the token said): roles, training, revocation."""

    roles: frozenset[Role]
    trained: bool
    revoked: bool
    known: bool = True


def is_sufficient_reason(reason: str) -> bool:
    """At least :data:`REASON_MIN_LENGTH` characters and :data:`REASON_MIN_WORDS` words."""
    return len(reason) >= REASON_MIN_LENGTH and len(reason.split()) >= REASON_MIN_WORDS


def decide_search(
    search: ParsedSearch,
    *,
    policy: PolicyProfile,
    standing: Standing,
    supported: bool,
    case_closed: bool,
) -> Allowed | Refusal:
    """Whether ``search`` may run under ``policy`` for a searcher of ``standing``.

    ``supported``: an executor can run its search type; ``case_closed``: its case number names a
    closed Case. Checks run in a fixed order so the rule reported is predictable: who searches,
    why (prohibited, unknown, not historical), what (partner scope, search type), then the
    justification (case number, reason, external-repository reason), then the case.
    """
    refs: list[dict[str, str]] = []
    training = policy.training_required.clause.ref
    if not standing.known:
        return Refusal("access", "account", "account.unknown", training, "no such account")
    if standing.revoked:
        return Refusal("access", "account", "account.revoked", training, "access of this account is revoked")
    if policy.training_required.value:
        if not standing.trained:
            return Refusal(
                "access", "account", "training.required", training, "searching needs recorded training first"
            )
        refs.append({"check": "training.recorded", "ref": training})

    for where, code in [
        ("purpose", search.purpose),
        *((f"grounds[{i}]", g) for i, g in enumerate(search.grounds)),
    ]:
        ground = policy.prohibited(code)
        if ground is not None:
            return Refusal(
                "policy",
                where,
                "search.purpose.prohibited",
                ground.clause.ref,
                f"'{code}' is prohibited by the {policy.name} policy: {ground.description}",
            )
    purpose = policy.purpose(search.purpose)
    if purpose is None:
        codes = ", ".join(p.code for p in policy.permitted_purposes if p.historical_search)
        return Refusal(
            "invalid",
            "purpose",
            "search.purpose.unknown",
            policy.name,
            f"'{search.purpose}' is not a purpose of the {policy.name} policy; one of: {codes}",
        )
    if not purpose.historical_search:
        return Refusal(
            "policy",
            "purpose",
            "search.purpose.not_historical",
            purpose.clause.ref,
            f"'{purpose.code}' justifies real-time hotlist matching only, not a search of stored reads",
        )
    refs.append({"check": f"purpose.permitted:{purpose.code}", "ref": purpose.clause.ref})

    if Role.PARTNER_AGENCY in standing.roles:
        clause = policy.extra.get("partner_agency_specific_plate_search_only")
        partner_ref = clause.clause.ref if clause is not None else PARTNER_SCOPE_REF
        if search.search_type != "plate":
            return Refusal(
                "policy",
                "search_type",
                "search.partner_scope",
                partner_ref,
                "partner-agency accounts may only look up one complete plate (search_type 'plate')",
            )
        if not is_complete_plate(search.criteria) or search.criteria.get("confusable"):
            # OCR-confusable folding matches every plate that looks alike: not one specific plate.
            return Refusal(
                "policy",
                "criteria.plate",
                "search.partner_scope",
                partner_ref,
                "partner-agency accounts may only look up one complete plate, without wildcards or "
                "confusable matching",
            )
        refs.append({"check": "partner_scope.complete_plate", "ref": partner_ref})

    if not supported:
        return Refusal(
            "invalid",
            "search_type",
            "search.type.unsupported",
            policy.name,
            f"search type '{search.search_type}' cannot be run; one of: {', '.join(SEARCH_TYPES)}",
        )

    if policy.case_number_required(purpose.code):
        clause_ref = (
            policy.search_requires_case_number.clause.ref
            if policy.search_requires_case_number.value
            else purpose.clause.ref
        )
        if search.case_number is None:
            return Refusal(
                "invalid",
                "case_number",
                "search.case_number.required",
                clause_ref,
                f"a case or incident number is required for a '{purpose.code}' search under {policy.name}",
            )
        # A number that cannot be a case number cannot be checked against closed cases, so a
        # misspelling would otherwise let a search run under a closed case.
        if case_number_or_none(search.case_number) is None:
            return Refusal(
                "invalid",
                "case_number",
                "search.case_number.format",
                clause_ref,
                "must be a case or incident number: 1 to 64 letters, digits and . _ : # - "
                "(spaces, dash variants, invisible characters and a 'Case' label are normalised)",
            )
        refs.append({"check": "case_number.given", "ref": clause_ref})

    if policy.search_requires_reason.value:
        clause_ref = policy.search_requires_reason.clause.ref
        if search.reason is None:
            return Refusal(
                "invalid",
                "reason",
                "search.reason.required",
                clause_ref,
                "a reason for the search is required",
            )
        if not is_sufficient_reason(search.reason):
            return Refusal(
                "invalid",
                "reason",
                "search.reason.insufficient",
                clause_ref,
                f"a reason must articulate the need: at least {REASON_MIN_WORDS} words and "
                f"{REASON_MIN_LENGTH} characters",
            )
        refs.append({"check": "reason.given", "ref": clause_ref})

    if purpose.code == "external_repository_lookup":
        if search.left_jurisdiction_reason is None:
            return Refusal(
                "invalid",
                "left_jurisdiction_reason",
                "search.left_jurisdiction_reason.required",
                purpose.clause.ref,
                "an external repository lookup needs the reason to believe the vehicle left the jurisdiction",
            )
        # The same sufficiency as the search reason: one character is no articulated reason.
        if not is_sufficient_reason(search.left_jurisdiction_reason):
            return Refusal(
                "invalid",
                "left_jurisdiction_reason",
                "search.left_jurisdiction_reason.insufficient",
                purpose.clause.ref,
                f"the reason to believe the vehicle left the jurisdiction must articulate it: at least "
                f"{REASON_MIN_WORDS} words and {REASON_MIN_LENGTH} characters",
            )
        refs.append({"check": "left_jurisdiction_reason.given", "ref": purpose.clause.ref})

    if case_closed:
        return Refusal(
            "policy",
            "case_number",
            "search.case.closed",
            policy.name,
            f"case {search.case_number} is closed; no new searches are run under it",
        )
    return Allowed(tuple(refs))


def result_digest(read_ids: Iterable[UUID | str]) -> str:
    """SHA-256 (hex) of the result ids: lowercase hyphenated UUIDs, sorted, joined by newlines."""
    return hashlib.sha256("\n".join(sorted(str(i).lower() for i in read_ids)).encode()).hexdigest()


# --------------------------------------------------------------------------------------------
# Aggregate
# --------------------------------------------------------------------------------------------

SearchStatus = Literal["requested", "executed", "refused", "failed"]


class Search(Aggregate):
    """One historical search, from its request to its outcome. Snapshots are not used."""

    if TYPE_CHECKING:  # Declared for type checkers only.
        account_id: UUID
        login: str
        roles: list[str]
        search_type: str
        criteria: dict[str, Any]
        purpose: str
        grounds: list[str]
        reason: str | None
        case_number: str | None
        left_jurisdiction_reason: str | None
        profile: str
        clause_refs: list[dict[str, str]]
        requested_at: datetime
        status: SearchStatus
        result_count: int | None
        result_digest: str | None
        executed_at: datetime | None
        refusal: dict[str, str] | None

    class Event(Aggregate.Event):
        """Base class of every event of a Search."""

    @dataclass(frozen=True)
    class Requested(Event, Aggregate.Created):
        """Someone asked to search stored reads (recorded before anything runs)."""

        account_id: UUID
        login: str
        roles: list[str]
        search_type: str
        criteria: dict[str, Any]
        purpose: str
        grounds: list[str]
        reason: str | None
        case_number: str | None
        left_jurisdiction_reason: str | None
        profile: str
        clause_refs: list[dict[str, str]]

        def apply(self, aggregate: Search) -> None:
            aggregate.account_id = self.account_id
            aggregate.login = self.login
            aggregate.roles = list(self.roles)
            aggregate.search_type = self.search_type
            # PURGED once the query log's retention has passed: the criteria may name a plate.
            criteria: Any = self.criteria
            aggregate.criteria = criteria if is_purged(criteria) else dict(criteria)
            aggregate.purpose = self.purpose
            aggregate.grounds = list(self.grounds)
            aggregate.reason = self.reason
            aggregate.case_number = self.case_number
            aggregate.left_jurisdiction_reason = self.left_jurisdiction_reason
            aggregate.profile = self.profile
            aggregate.clause_refs = [dict(r) for r in self.clause_refs]
            aggregate.requested_at = self.timestamp
            aggregate.status = "requested"
            aggregate.result_count = None
            aggregate.result_digest = None
            aggregate.executed_at = None
            aggregate.refusal = None

    @dataclass(frozen=True)
    class Executed(Event):
        """The search ran: how many reads it returned and the digest of their ids."""

        result_count: int
        result_digest: str
        executed_at: datetime

        def apply(self, aggregate: Search) -> None:
            aggregate.status = "executed"
            aggregate.result_count = self.result_count
            aggregate.result_digest = self.result_digest
            aggregate.executed_at = self.executed_at

    @dataclass(frozen=True)
    class Refused(Event):
        """The search was refused: the rule broken and the clause it comes from."""

        field: str
        rule: str
        clause_ref: str
        message: str

        def apply(self, aggregate: Search) -> None:
            aggregate.status = "refused"
            aggregate.refusal = {
                "field": self.field,
                "rule": self.rule,
                "clause_ref": self.clause_ref,
                "message": self.message,
            }

    @dataclass(frozen=True)
    class Failed(Event):
        """The executor raised after the request was recorded (the error's class name only)."""

        error: str

        def apply(self, aggregate: Search) -> None:
            aggregate.status = "failed"

    @classmethod
    def request(
        cls,
        search: ParsedSearch,
        *,
        account_id: UUID,
        login: str,
        roles: Iterable[Role | str],
        profile: str,
        clause_refs: Iterable[Mapping[str, str]] = (),
        at: datetime | None = None,
    ) -> Search:
        return cls._create(
            cls.Requested,
            id=uuid4(),
            timestamp=at,
            account_id=account_id,
            login=login,
            roles=sorted(str(r) for r in roles),
            search_type=search.search_type,
            criteria=dict(search.criteria),
            purpose=search.purpose,
            grounds=list(search.grounds),
            reason=search.reason,
            case_number=search.case_number,
            left_jurisdiction_reason=search.left_jurisdiction_reason,
            profile=profile,
            clause_refs=[dict(r) for r in clause_refs],
        )

    def execute(self, read_ids: Sequence[UUID | str], *, at: datetime) -> None:
        self.trigger_event(
            self.Executed,
            timestamp=at,
            result_count=len(read_ids),
            result_digest=result_digest(read_ids),
            executed_at=at,
        )

    def refuse(self, refusal: Refusal, *, at: datetime | None = None) -> None:
        self.trigger_event(
            self.Refused,
            timestamp=at,
            field=refusal.field,
            rule=refusal.rule,
            clause_ref=refusal.clause_ref,
            message=refusal.message,
        )

    def fail(self, error: str, *, at: datetime | None = None) -> None:
        self.trigger_event(self.Failed, timestamp=at, error=error)


SEARCH_EVENT_CLASSES = (Search.Requested, Search.Executed, Search.Refused, Search.Failed)

__all__ = [
    "SEARCH_EVENT_CLASSES",
    "SEARCH_TYPES",
    "Allowed",
    "AreaCriteria",
    "AssociatesCriteria",
    "ParsedSearch",
    "PlateCriteria",
    "ReadersCriteria",
    "TypedCriteria",
    "Refusal",
    "RunSearch",
    "Search",
    "Standing",
    "decide_search",
    "is_complete_plate",
    "is_sufficient_reason",
    "parse_area_criteria",
    "parse_associates_criteria",
    "parse_plate_criteria",
    "parse_plate_pattern",
    "parse_readers_criteria",
    "parse_search",
    "parse_type_criteria",
    "result_digest",
]
