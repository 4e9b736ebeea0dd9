"""Value objects of the ALPR domain and the pure functions that decide their validity.

Every value object is a frozen, slotted dataclass that validates (and where stated, normalises)
on construction and raises :class:`~domain.errors.InvalidFieldError` naming its own field and a
rule code. The ``parse_*`` functions hold the decisions so that hot paths and tests can call
them without building objects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import NewType
from uuid import UUID

from domain.errors import InvalidFieldError
from ledger.sealing import PURGED

# Distinct id types. Ids of records are random (uuid4), never derived from a plate: the plate
# space is small enough to brute-force an unkeyed hash once the data key has been destroyed.
ReadId = NewType("ReadId", UUID)
CameraId = NewType("CameraId", str)
PatrolVehicleId = NewType("PatrolVehicleId", str)
CaptureId = NewType("CaptureId", str)

# --------------------------------------------------------------------------------------------
# Plates
# --------------------------------------------------------------------------------------------

PLATE_MAX_LENGTH = 8
"""Longest plate after normalising; US and Canadian plates have at most 8 characters."""

_PLATE_SEPARATORS = str.maketrans("", "", " -.")


def normalise_plate(raw: str) -> str:
    """Remove spaces, hyphens and dots, then uppercase. Does not validate: see parse_plate."""
    return raw.translate(_PLATE_SEPARATORS).upper()


def parse_plate(raw: object) -> str:
    """Return the normalised plate text of ``raw`` or raise naming the broken rule.

    Normalising removes spaces, hyphens and dots and uppercases; what is left must be 1 to
    :data:`PLATE_MAX_LENGTH` ASCII letters and digits.
    """
    if not isinstance(raw, str):
        raise InvalidFieldError("plate", "plate.type", "must be a string of plate characters")
    text = raw.translate(_PLATE_SEPARATORS)
    if not text:
        raise InvalidFieldError("plate", "plate.empty", "must contain at least one letter or digit")
    # Checked before uppercasing: str.upper() maps some non-ASCII letters to ASCII ("ß" -> "SS").
    if not (text.isascii() and text.isalnum()):
        raise InvalidFieldError(
            "plate",
            "plate.charset",
            "may contain only letters A-Z and digits 0-9 (spaces, hyphens and dots are removed)",
        )
    if len(text) > PLATE_MAX_LENGTH:
        raise InvalidFieldError(
            "plate",
            "plate.length",
            f"must have at most {PLATE_MAX_LENGTH} letters and digits, got {len(text)}",
        )
    return text.upper()


@dataclass(frozen=True, slots=True)
class PlateText:
    """Normalised plate text: 1..8 characters of A-Z and 0-9."""

    value: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", parse_plate(self.value))

    def __str__(self) -> str:
        return self.value


# --------------------------------------------------------------------------------------------
# Issuing jurisdictions
# --------------------------------------------------------------------------------------------

US_STATES: frozenset[str] = frozenset(
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ "
    "NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY".split()
)
US_DISTRICT_AND_TERRITORIES: frozenset[str] = frozenset("DC PR GU VI AS MP".split())
CANADIAN_JURISDICTIONS: frozenset[str] = frozenset("AB BC MB NB NL NS NT NU ON PE QC SK YT".split())
ISSUING_JURISDICTIONS: frozenset[str] = US_STATES | US_DISTRICT_AND_TERRITORIES | CANADIAN_JURISDICTIONS
"""Plate-issuing jurisdictions a read may name, as USPS / Canada Post two-letter codes.

The 50 states, DC and the five inhabited territories, plus the 13 Canadian provinces and
territories (their codes do not collide with US ones and Canadian plates are common near the
border). Mexican states are left out on purpose: they have no collision-free two-letter code
set (ISO 3166-2:MX uses three letters), and a read whose state the camera could not place is
recorded with no state rather than a guessed one. Federal, diplomatic and military plates are
likewise recorded with no state.
"""


def parse_state(raw: object) -> str:
    """Return the uppercase two-letter code of ``raw`` or raise naming the broken rule."""
    if not isinstance(raw, str):
        raise InvalidFieldError(
            "state", "state.type", "must be a two-letter code string, or null if no state was read"
        )
    # Shape first: str.upper() maps some non-ASCII letters to ASCII ("ſ" -> "S").
    if len(raw) != 2 or not (raw.isascii() and raw.isalpha()):
        raise InvalidFieldError(
            "state",
            "state.format",
            "must be a two-letter code such as 'NY', or null if no state was read",
        )
    code = raw.upper()
    if code not in ISSUING_JURISDICTIONS:
        raise InvalidFieldError(
            "state",
            "state.unknown",
            f"'{code}' is not a US state, DC, US territory or Canadian province/territory code",
        )
    return code


@dataclass(frozen=True, slots=True)
class StateCode:
    """Two-letter code of the jurisdiction that issued a plate (see ISSUING_JURISDICTIONS)."""

    value: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", parse_state(self.value))

    def __str__(self) -> str:
        return self.value


# --------------------------------------------------------------------------------------------
# Coordinates
# --------------------------------------------------------------------------------------------


def _parse_degrees(raw: object, field: str, limit: float) -> float:
    # bool is an int subclass; True is not a coordinate.
    if isinstance(raw, bool) or not isinstance(raw, (float, int)):
        raise InvalidFieldError(field, f"{field}.type", "must be a number in decimal degrees")
    value = float(raw)
    # NaN fails both comparisons, infinities fail one: all land here.
    if not -limit <= value <= limit:
        raise InvalidFieldError(
            field,
            f"{field}.range",
            f"must be a finite number from {-limit:g} to {limit:g} decimal degrees (WGS 84)",
        )
    return value


def parse_latitude(raw: object) -> float:
    """Latitude in decimal degrees, -90..90, as a float."""
    return _parse_degrees(raw, "latitude", 90.0)


def parse_longitude(raw: object) -> float:
    """Longitude in decimal degrees, -180..180, as a float."""
    return _parse_degrees(raw, "longitude", 180.0)


@dataclass(frozen=True, slots=True)
class Coordinates:
    """A WGS 84 position in decimal degrees."""

    latitude: float
    longitude: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "latitude", parse_latitude(self.latitude))
        object.__setattr__(self, "longitude", parse_longitude(self.longitude))


# --------------------------------------------------------------------------------------------
# Cameras
# --------------------------------------------------------------------------------------------


class CameraKind(StrEnum):
    """How an ALPR camera is deployed (definitions as in the IACP and county policies)."""

    FIXED = "fixed"
    """Permanently affixed to a structure such as a pole or an overpass."""
    MOBILE = "mobile"
    """Mounted on a patrol vehicle."""
    PORTABLE = "portable"
    """Transportable and deployed as needed, e.g. in a traffic barrel or speed radar sign."""


_CAMERA_KINDS: dict[str, CameraKind] = {kind.value: kind for kind in CameraKind}


def parse_camera_kind(raw: object) -> CameraKind:
    """The :class:`CameraKind` named by ``raw`` (exact lowercase value)."""
    kind = _CAMERA_KINDS.get(raw) if isinstance(raw, str) else None
    if kind is None:
        raise InvalidFieldError(
            "camera_kind", "camera_kind.unknown", "must be one of 'fixed', 'mobile', 'portable'"
        )
    return kind


def parse_identifier(raw: object, *, field: str, max_length: int) -> str:
    """An opaque identifier supplied by a device or pipeline, kept exactly as given.

    It must be a string of 1 to ``max_length`` printable characters without leading or trailing
    whitespace: identifiers are compared exactly (idempotency, search), so " CAM1" and "CAM1"
    must not both exist.
    """
    if not isinstance(raw, str):
        raise InvalidFieldError(field, f"{field}.type", "must be a string")
    if not 1 <= len(raw) <= max_length:
        raise InvalidFieldError(
            field, f"{field}.length", f"must be 1 to {max_length} characters, got {len(raw)}"
        )
    if not raw.isprintable() or raw != raw.strip():
        raise InvalidFieldError(
            field,
            f"{field}.charset",
            "must be printable characters with no leading or trailing whitespace",
        )
    return raw


# --------------------------------------------------------------------------------------------
# Free text
# --------------------------------------------------------------------------------------------

_CONTROL_CHARS = "\\x00-\\x1f\\x7f-\\x9f"
# Lone surrogates cannot be stored as UTF-8; JSON Schema patterns cannot name them portably, so
# they are refused here but left out of the published patterns (JSON generators never send them).
_FORBIDDEN = re.compile(f"[{_CONTROL_CHARS}\\ud800-\\udfff]")
OPTIONAL_TEXT_PATTERN = f"^[^{_CONTROL_CHARS}]*$"
"""JSON Schema pattern equivalent to :func:`parse_optional_text` (besides the length)."""
TEXT_PATTERN = f"^[^{_CONTROL_CHARS}]*[^\\s{_CONTROL_CHARS}][^{_CONTROL_CHARS}]*$"
"""JSON Schema pattern equivalent to :func:`parse_text` (besides the length), so that the API's
schema states what the domain accepts."""


def parse_text(
    raw: object,
    field: str,
    *,
    max_length: int,
    rule_prefix: str | None = None,
    blank_message: str = "must not be empty",
) -> str:
    """Free text of at most ``max_length`` characters as sent, without control characters (nor
    lone surrogates, which cannot be stored as UTF-8), not blank; returned stripped."""
    prefix = rule_prefix or field
    if not isinstance(raw, str):
        raise InvalidFieldError(field, f"{prefix}.type", "must be a string")
    if len(raw) > max_length:
        raise InvalidFieldError(field, f"{prefix}.length", f"must be at most {max_length} characters")
    if _FORBIDDEN.search(raw):
        raise InvalidFieldError(field, f"{prefix}.charset", "must be one line without control characters")
    text = raw.strip()
    if not text:
        raise InvalidFieldError(field, f"{prefix}.required", blank_message)
    return text


def parse_optional_text(
    raw: object, field: str, *, max_length: int, rule_prefix: str | None = None
) -> str | None:
    """Like :func:`parse_text`, but None or blank means "not given"."""
    if raw is None:
        return None
    if isinstance(raw, str) and not raw.strip() and len(raw) <= max_length and not _FORBIDDEN.search(raw):
        return None
    return parse_text(raw, field, max_length=max_length, rule_prefix=rule_prefix)


# --------------------------------------------------------------------------------------------
# Vehicle characteristics
# --------------------------------------------------------------------------------------------

VEHICLE_TEXT_MAX_LENGTH = 40
VEHICLE_CHARACTERISTIC_KEYS: tuple[str, ...] = ("make", "model", "colour", "body_type")


def parse_vehicle_text(raw: object, field: str) -> str:
    """One free-text vehicle characteristic: surrounding whitespace is stripped, 1..40 printable."""
    if not isinstance(raw, str):
        raise InvalidFieldError(field, f"{field}.type", "must be a string or null")
    text = raw.strip()
    if not 1 <= len(text) <= VEHICLE_TEXT_MAX_LENGTH:
        raise InvalidFieldError(
            field,
            f"{field}.length",
            f"must be 1 to {VEHICLE_TEXT_MAX_LENGTH} characters (omit it or send null if unknown)",
        )
    if not text.isprintable():
        raise InvalidFieldError(field, f"{field}.charset", "must not contain control characters")
    return text


@dataclass(frozen=True, slots=True)
class VehicleCharacteristics:
    """What the recognition pipeline saw of the vehicle; every part is optional."""

    make: str | None = None
    model: str | None = None
    colour: str | None = None
    body_type: str | None = None

    def __post_init__(self) -> None:
        for key in VEHICLE_CHARACTERISTIC_KEYS:
            raw = getattr(self, key)
            if raw is not None:
                object.__setattr__(self, key, parse_vehicle_text(raw, key))

    @classmethod
    def from_mapping(cls, raw: object) -> VehicleCharacteristics:
        """From a JSON-like mapping with the optional keys make, model, colour, body_type."""
        if not isinstance(raw, Mapping):
            raise InvalidFieldError(
                "vehicle",
                "vehicle.type",
                "must be an object with optional keys make, model, colour, body_type",
            )
        for key in raw:
            if key not in VEHICLE_CHARACTERISTIC_KEYS:
                raise InvalidFieldError(
                    str(key),
                    "vehicle.key",
                    "is not a vehicle characteristic; allowed keys are make, model, colour, body_type",
                )
        return cls(
            make=raw.get("make"),
            model=raw.get("model"),
            colour=raw.get("colour"),
            body_type=raw.get("body_type"),
        )

    def as_dict(self) -> dict[str, str]:
        """The characteristics that are known, as a dict of str (the event's stored form)."""
        return {
            key: value for key in VEHICLE_CHARACTERISTIC_KEYS if (value := getattr(self, key)) is not None
        }

    @property
    def is_empty(self) -> bool:
        return all(getattr(self, key) is None for key in VEHICLE_CHARACTERISTIC_KEYS)


# --------------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------------

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def parse_image_ref(raw: object, field: str = "image") -> str:
    """The lowercase hex SHA-256 digest of an image blob, exactly as given."""
    if not isinstance(raw, str) or _SHA256_HEX.fullmatch(raw) is None:
        raise InvalidFieldError(
            field,
            "image.format",
            "must be the SHA-256 digest of the image blob as 64 lowercase hex characters",
        )
    return raw


@dataclass(frozen=True, slots=True)
class ImageRef:
    """Reference to an image in the blob store by the SHA-256 of its bytes."""

    sha256: str

    def __post_init__(self) -> None:
        parse_image_ref(self.sha256)

    def __str__(self) -> str:
        return self.sha256


# --------------------------------------------------------------------------------------------
# Instants
# --------------------------------------------------------------------------------------------

INSTANT_MARGIN = timedelta(days=2)
"""Instants must lie this far inside datetime's range, so that converting them to UTC and the
day-sized arithmetic done on them later (end of day, retention, deadlines) cannot overflow."""

EARLIEST_INSTANT = datetime.min.replace(tzinfo=UTC) + INSTANT_MARGIN
LATEST_INSTANT = datetime.max.replace(tzinfo=UTC) - INSTANT_MARGIN


def to_utc(value: datetime, *, field: str, rule: str) -> datetime:
    """``value`` in UTC; refuses a naive time (``{rule}.naive``) or one near the ends of the
    calendar (``{rule}.range``) instead of letting an OverflowError surface as a 500."""
    offset = value.utcoffset()
    if offset is None:
        raise InvalidFieldError(field, f"{rule}.naive", "must carry a UTC offset; local times are ambiguous")
    try:
        moment = value.astimezone(UTC)
    except OverflowError:
        moment = None
    if moment is None or not EARLIEST_INSTANT <= moment <= LATEST_INSTANT:
        raise InvalidFieldError(
            field,
            f"{rule}.range",
            f"must lie between {EARLIEST_INSTANT.date().isoformat()} and {LATEST_INSTANT.date().isoformat()}",
        )
    return moment


def is_purged(value: object) -> bool:
    """True for the marker the persistence layer puts where a shredded record's personal field was
    (``ledger.sealing.PURGED``): the data key is destroyed, the value is gone for good."""
    return value is PURGED
