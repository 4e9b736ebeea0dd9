"""Plate normalisation: a recognizer's raw reading -> our plate value, or a reason to drop it.

Pure functions, no I/O. Steps, in :func:`normalise_plate`:

1. **Clean:** fold accents to ASCII ("Á" -> "A"), uppercase, drop separators and any other
   character that is not A-Z or 0-9; per-character confidences follow the characters they
   belong to.
2. **Resolve confusables by position:** the serial formats of the plate's state are patterns
   of letter (``L``), digit (``D``) and either (``A``) positions. A reading that fits a format
   after swapping O/0, Q/0, I/1, B/8, S/5, Z/2 or G/6 in the positions the format decides is
   rewritten to it, with the fewest swaps; when two formats fit equally well with different
   results the reading is left as it was (the format does not decide it). With no known state
   (or a state without listed formats) the reading is left as read: the union of every
   state's formats would rewrite a good plate of one state ("1234567") into another state's
   layout ("I234567").
3. **Plausibility:** 2 to 8 characters; at least one digit unless the state is known (every US
   state issues vanity plates, so an all-letter reading is plausible only with a state); not a
   word seen on vehicles and plates (makes, models, trims, state names, signs: FORD, TOYOTA,
   STOP, POLICE...), also when a recognizer read a letter of it as a digit (F0RD).

The formats are the common passenger serial layouts of the most populous states, not an
exhaustive registry: specialty and vanity plates fall outside them and are kept as read.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from domain.values import ISSUING_JURISDICTIONS, US_STATES, PlateText

STATE_FORMATS: dict[str, tuple[str, ...]] = {
    "CA": ("DLLLDDD",),
    "TX": ("LLLDDDD", "LLDLDDD", "LLLDDD"),
    "FL": ("LLLLDD", "LLLDLL", "DDDLLL", "LLLDDD", "DDLLLL"),
    "NY": ("LLLDDDD", "LLLDDD"),
    "PA": ("LLLDDDD",),
    "IL": ("LLDDDDD", "LDDDDDD", "LLLDDDD"),
    "OH": ("LLLDDDD", "LLDDDD"),
    "GA": ("LLLDDDD", "DDDLLL"),
    "NC": ("LLLDDDD",),
    "MI": ("LLLDDDD", "DLLLDD", "LLLDDD"),
    "NJ": ("LDDLLL", "LLLDDL"),
    "VA": ("LLLDDDD", "LLLDDD"),
    "WA": ("LLLDDDD", "DDDLLL"),
    "AZ": ("LLLDDDD", "LLLDDLL"),
    "MA": ("DLLDDD", "DLLLDD", "DDDLLD"),
    "TN": ("LLLDDDD", "DDDLLL", "LDDDDL"),
    "IN": ("DDDLLL", "DDDLL", "DDDL"),
    "MD": ("DLLDDDD", "DLLLDD"),
    "MO": ("LLDLDL",),
    "WI": ("LLLDDDD", "DDDLLL"),
    "CO": ("LLLLDD", "DDDLLL", "LLLDLL"),
    "MN": ("DDDLLL", "LLLDDD"),
}
"""Common standard passenger formats per state (``L`` letter, ``D`` digit, ``A`` either)."""

GENERIC_FORMATS: tuple[str, ...] = tuple(
    sorted({f for fs in STATE_FORMATS.values() for f in fs} | {"DDDDLL", "LDDDLL", "DDDLLDD", "LLDDDD"})
)
"""The union of the state formats and a few layouts of smaller states: what a plate of some
state may look like. Never used to rewrite a reading (see :func:`formats_for`)."""

VANITY_STATES: frozenset[str] = US_STATES | frozenset({"DC"})
"""Jurisdictions whose all-letter plates are plausible (personalised plates)."""

LETTER_TO_DIGIT: dict[str, str] = {"O": "0", "Q": "0", "D": "0", "I": "1", "B": "8", "S": "5",
                                   "Z": "2", "G": "6"}  # fmt: skip
DIGIT_TO_LETTER: dict[str, str] = {"0": "O", "1": "I", "8": "B", "5": "S", "2": "Z", "6": "G"}

VEHICLE_WORDS: frozenset[str] = frozenset(
    """
    FORD TOYOTA HONDA CHEVY CHEVROLET NISSAN BMW AUDI KIA JEEP DODGE RAM GMC TESLA SUBARU MAZDA
    LEXUS ACURA BUICK CADILLAC LINCOLN VOLVO HYUNDAI MERCEDES BENZ PORSCHE INFINITI MINI FIAT
    CHRYSLER JAGUAR LAND ROVER MITSU GENESIS SAAB SCION SATURN PONTIAC MERCURY VW VOLKSWAGEN
    CIVIC ACCORD CAMRY COROLLA PRIUS SIENNA TACOMA TUNDRA HIGHLANDER ALTIMA SENTRA MAXIMA ROGUE
    MUSTANG FOCUS FUSION ESCAPE EXPLORER RANGER BRONCO EDGE MALIBU IMPALA TAHOE SILVERADO EQUINOX
    ELANTRA SONATA TUCSON OPTIMA SORENTO SOUL OUTBACK FORESTER IMPREZA LEGACY WRANGLER CHEROKEE
    CHARGER DURANGO CARAVAN ODYSSEY PILOT JETTA PASSAT GOLF MODEL CRV HRV CX5 CX9 RAV4 F150 F250
    HYBRID SPORT LIMITED TURBO AWD FWD RWD XLE XSE LE SE EX LX GT GTI SRT RT SS ZR2 TRD V6 V8 4X4
    4WD DIESEL ELECTRIC PLUS PREMIUM TOURING
    STOP POLICE SHERIFF TAXI CAB DEALER TEMP TEMPORARY EXPIRES EXP USA AMERICA STATE COUNTY
    EXIT ONLY ONE WAY SPEED LIMIT YIELD PARKING PARK BUS SCHOOL FIRE AMBULANCE EMERGENCY DMV GOV
    COM WWW ORG NET THE AND OF TO IN ON AT NO MPH KMH SLOW DANGER CAUTION ENTER DO NOT
    ALABAMA ALASKA ARIZONA ARKANSAS COLORADO DELAWARE FLORIDA GEORGIA HAWAII IDAHO ILLINOIS
    INDIANA IOWA KANSAS KENTUCKY LOUISIANA MAINE MARYLAND MICHIGAN MISSOURI MONTANA NEBRASKA
    NEVADA NEWYORK NEWJERSEY OHIO OKLAHOMA OREGON TEXAS UTAH VERMONT VIRGINIA WYOMING DMVGOV
    """.split()
)
"""Words seen on vehicles and around them; a reading equal to one is not a plate."""

_SEPARATORS = frozenset(" -.·•:_/\\|'\"`,")


@dataclass(frozen=True, slots=True)
class NormalisedPlate:
    """A plausible plate: ``text`` is a valid :class:`~domain.values.PlateText` value."""

    text: str
    state: str | None
    format: str | None
    """The state (or generic) format the text fits, ``None`` when it fits none."""
    char_confidences: tuple[float, ...] | None
    corrections: tuple[tuple[int, str, str], ...] = ()
    """(position, read, written) for each confusable resolved by the format."""


def clean(raw: str, char_confidences: Sequence[float] | None = None) -> tuple[str, tuple[float, ...] | None]:
    """Uppercase ASCII letters and digits of ``raw``, with the confidences of the kept characters.

    Confidences of a length other than ``raw``'s are dropped (they cannot be aligned)."""
    confs = list(char_confidences) if char_confidences is not None else None
    if confs is not None and len(confs) != len(raw):
        confs = None
    text: list[str] = []
    kept: list[float] = []
    for i, ch in enumerate(raw):
        folded = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode().upper()
        for c in folded[:1]:
            if ("A" <= c <= "Z") or ("0" <= c <= "9"):
                text.append(c)
                if confs is not None:
                    kept.append(float(confs[i]))
    return "".join(text), (tuple(kept) if confs is not None else None)


def formats_for(state: str | None) -> tuple[str, ...]:
    """The formats that decide positions for ``state``; none when the state is unknown or has no
    listed formats (then nothing decides a position and the reading is kept as read)."""
    return STATE_FORMATS.get((state or "").upper(), ())


def fit(text: str, fmt: str) -> tuple[str, tuple[tuple[int, str, str], ...]] | None:
    """``text`` rewritten to ``fmt`` with its swaps, or ``None`` if no swap makes it fit."""
    if len(text) != len(fmt):
        return None
    out: list[str] = []
    swaps: list[tuple[int, str, str]] = []
    for i, (ch, kind) in enumerate(zip(text, fmt, strict=True)):
        if kind == "D" and not ch.isdigit():
            if ch not in LETTER_TO_DIGIT:
                return None
            swaps.append((i, ch, LETTER_TO_DIGIT[ch]))
            ch = LETTER_TO_DIGIT[ch]
        elif kind == "L" and ch.isdigit():
            if ch not in DIGIT_TO_LETTER:
                return None
            swaps.append((i, ch, DIGIT_TO_LETTER[ch]))
            ch = DIGIT_TO_LETTER[ch]
        out.append(ch)
    return "".join(out), tuple(swaps)


def resolve(text: str, state: str | None) -> tuple[str, str | None, tuple[tuple[int, str, str], ...]]:
    """Resolve confusables in cleaned ``text`` by the formats of ``state``.

    Returns ``(text, format, corrections)``: the format is ``None`` when no format fits; the text
    is left unchanged when the best-fitting formats disagree on it."""
    fits = [(f, *r) for f in formats_for(state) if (r := fit(text, f)) is not None]
    if not fits:
        return text, None, ()
    fewest = min(len(swaps) for _, _, swaps in fits)
    best = [(f, t, s) for f, t, s in fits if len(s) == fewest]
    if len({t for _, t, _ in best}) > 1:
        return text, None, ()
    fmt, resolved, swaps = best[0]
    return resolved, fmt, swaps


def reject_reason(text: str, state: str | None = None) -> str | None:
    """Why cleaned ``text`` is not a plausible plate of ``state``, or ``None`` if it is."""
    if not 2 <= len(text) <= 8:
        return f"length {len(text)} outside 2-8"
    if not any(c.isdigit() for c in text) and (state or "").upper() not in VANITY_STATES:
        return "no digit (all-letter plates need a state that issues vanity plates)"
    lettered = "".join(DIGIT_TO_LETTER.get(c, c) for c in text)
    if text in VEHICLE_WORDS or lettered in VEHICLE_WORDS:
        return "a word seen on vehicles, not a plate"
    return None


def normalise_plate(
    raw: str, *, state: str | None = None, char_confidences: Sequence[float] | None = None
) -> NormalisedPlate | None:
    """Normalise a raw reading; ``None`` when it is not a plausible plate (see the module doc)."""
    state = state.upper() if state and state.upper() in ISSUING_JURISDICTIONS else None
    text, confs = clean(raw, char_confidences)
    if reject_reason(text, state) is not None:
        return None
    resolved, fmt, swaps = resolve(text, state)
    if reject_reason(resolved, state) is not None:
        return None
    return NormalisedPlate(
        text=PlateText(resolved).value, state=state, format=fmt, char_confidences=confs, corrections=swaps
    )


__all__ = [
    "GENERIC_FORMATS",
    "STATE_FORMATS",
    "VEHICLE_WORDS",
    "NormalisedPlate",
    "clean",
    "fit",
    "formats_for",
    "normalise_plate",
    "reject_reason",
    "resolve",
]
