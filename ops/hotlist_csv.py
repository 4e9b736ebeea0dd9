"""Hotlist files in the CSV shapes agencies send: pure parsing into validated rows, or every error.

A file has a header row and one entry per row. Columns are recognised by name, case-insensitively
and ignoring punctuation ("Plate #", "PLATE_NUMBER", "Lic" are all the plate); see
:data:`COLUMN_ALIASES`. ``plate``, ``state`` and ``reason`` columns are required (a state cell
may be blank: the entry then matches reads of any state as a possible hit); ``effective``,
``expiry`` and ``case_number`` are optional; other columns (make, colour...) are ignored and
reported. The delimiter (comma, semicolon or TAB) is the one that makes the most header cells
recognisable. Bytes are read as UTF-8 (with or without BOM), else Windows-1252 (spreadsheets).

Dates are ISO (2025-03-01), US (3/1/2025), YYYY/MM/DD or YYYYMMDD, taken in UTC: an effective
date starts at 00:00 of that day and an expiry date is inclusive (the entry stops matching at
00:00 UTC the day after). A date-time with a UTC offset (2025-03-01T06:00:00-05:00) is exact.

Errors name the physical line and the column ("line 7.plate"), so the person fixing the export
can find them; a file with any error yields nothing (:class:`HotlistFileError` lists them all).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from domain.errors import InvalidFieldError
from domain.hotlist_entries import HotlistRow, parse_case_number, parse_reason
from domain.values import LATEST_INSTANT, parse_plate, parse_state, to_utc

T = TypeVar("T")

DELIMITERS: tuple[str, ...] = (",", ";", "\t")
MAX_ROWS = 500_000
MAX_ERRORS = 100
"""Errors reported at most; past that the file is clearly in the wrong shape."""

COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "plate": (
        "plate", "plate_number", "plate_no", "plate_num", "platenumber", "plate_text",
        "license_plate", "licence_plate", "license", "licence", "license_number", "licence_number",
        "lic", "lic_no", "lic_num", "lic_plate", "tag", "tag_number", "tag_no", "vrm",
    ),
    "state": (
        "state", "st", "region", "plate_state", "state_code", "lis", "issuing_state",
        "jurisdiction", "province",
    ),
    "reason": (
        "reason", "category", "alert_type", "alert", "hit_type", "list_type", "offense", "offence",
    ),
    "effective": (
        "effective", "effective_date", "effective_at", "start", "start_date", "starts",
        "valid_from", "from", "begin", "entry_date", "entered",
    ),
    "expiry": (
        "expiry", "expires", "expiry_date", "expires_at", "expiration", "expiration_date",
        "expire", "expire_date", "end", "end_date", "valid_to", "until", "purge_date",
    ),
    "case_number": (
        "case_number", "case", "case_no", "case_num", "case_id", "oca", "incident_number",
        "report_number",
    ),
}  # fmt: skip
REQUIRED_COLUMNS: tuple[str, ...] = ("plate", "state", "reason")

_ALIAS_TO_COLUMN: dict[str, str] = {
    alias: col for col, aliases in COLUMN_ALIASES.items() for alias in aliases
}
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_WHITESPACE = re.compile(r"\s+")
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_YMD_SLASH = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")


class HotlistFileError(InvalidFieldError):
    """A hotlist file had errors; nothing of it was imported. ``errors`` lists each one
    (up to :data:`MAX_ERRORS`); the error itself reads as the first, so generic handlers name it."""

    def __init__(self, errors: list[InvalidFieldError], *, truncated: bool = False) -> None:
        first = errors[0]
        more = len(errors) - 1
        tail = ""
        if more:
            others = ", ".join(e.field for e in errors[1:6])
            tail = f" (and {more}{'+' if truncated else ''} more: {others}{', ...' if more > 5 else ''})"
        super().__init__(first.field, first.rule, f"{first.message}{tail}; nothing was imported")
        self.errors = errors
        self.truncated = truncated

    def __reduce__(self) -> tuple[type[HotlistFileError], tuple[list[InvalidFieldError]]]:  # type: ignore[override]
        return (type(self), (self.errors,))


@dataclass(frozen=True, slots=True)
class ParsedHotlistFile:
    rows: list[HotlistRow]
    delimiter: str
    columns: dict[str, str]
    """Recognised column -> the header as written in the file."""
    ignored_columns: list[str]
    sha256: str
    """SHA-256 (hex) of the file's bytes as received."""


def normalise_header(raw: str) -> str:
    """ "Plate #" -> "plate", "Alert Type" -> "alert_type", "LIC." -> "lic"."""
    return _NON_ALNUM.sub("_", raw.strip().lower()).strip("_")


def decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise HotlistFileError(
            [InvalidFieldError(f"line {line}", "csv.encoding", "is neither UTF-8 nor Windows-1252 text")]
        ) from None


def parse_csv_date(raw: str, field: str, *, end_of_day: bool) -> datetime | None:
    """A date or date-time cell in UTC (None when blank); see the module docstring for forms."""
    text = raw.strip()
    if not text:
        return None
    day: date | None = None
    try:
        if m := _US_DATE.fullmatch(text):
            day = date(int(m[3]), int(m[1]), int(m[2]))
        elif m := (_ISO_DATE.fullmatch(text) or _YMD_SLASH.fullmatch(text) or _COMPACT_DATE.fullmatch(text)):
            day = date(int(m[1]), int(m[2]), int(m[3]))
        else:
            moment = datetime.fromisoformat(text)
            if moment.utcoffset() is None:
                raise InvalidFieldError(
                    field,
                    "date.naive",
                    f"'{text}' has a time but no UTC offset; give a date only or add an offset (e.g. Z)",
                )
            return to_utc(moment, field=field, rule="date")
    except ValueError as exc:
        if isinstance(exc, InvalidFieldError):
            raise
        raise InvalidFieldError(
            field,
            "date.format",
            f"'{text}' is not a date; use YYYY-MM-DD, M/D/YYYY or an ISO date-time with offset",
        ) from None
    if end_of_day and day >= LATEST_INSTANT.date():
        # Agency exports write "never expires" as the last representable date (9999-12-31);
        # read it as no expiry rather than computing an end of day past the calendar.
        return None
    start = to_utc(datetime.combine(day, time(), UTC), field=field, rule="date")
    return start + timedelta(days=1) if end_of_day else start


def _pick_delimiter(header_line: str) -> tuple[str, list[str]]:
    best: tuple[int, int, str, list[str]] | None = None
    for delimiter in DELIMITERS:
        cells = next(csv.reader([header_line], delimiter=delimiter), [])
        known = sum(1 for cell in cells if normalise_header(cell) in _ALIAS_TO_COLUMN)
        score = (known, len(cells), delimiter, cells)
        if best is None or score[:2] > best[:2]:
            best = score
    assert best is not None  # DELIMITERS is not empty
    return best[2], best[3]


def _map_header(cells: list[str], line: int) -> tuple[dict[str, int], list[str], list[InvalidFieldError]]:
    positions: dict[str, int] = {}
    ignored: list[str] = []
    errors: list[InvalidFieldError] = []
    for position, cell in enumerate(cells):
        column = _ALIAS_TO_COLUMN.get(normalise_header(cell))
        if column is None:
            if cell.strip():
                ignored.append(cell.strip())
            continue
        if column in positions:
            errors.append(
                InvalidFieldError(
                    f"line {line}.{column}",
                    "csv.column.duplicate",
                    f"columns '{cells[positions[column]].strip()}' and '{cell.strip()}' both name the "
                    f"{column}; keep one",
                )
            )
            continue
        positions[column] = position
    for column in REQUIRED_COLUMNS:
        if column not in positions:
            names = ", ".join(COLUMN_ALIASES[column][:4])
            errors.append(
                InvalidFieldError(
                    f"line {line}.{column}",
                    "csv.column.missing",
                    f"the header has no {column} column (name it one of: {names}, ...)",
                )
            )
    return positions, ignored, errors


def _one_line(raw: str) -> str:
    return _WHITESPACE.sub(" ", raw)


def _parse_row(
    cells: list[str], positions: dict[str, int], line: int
) -> tuple[HotlistRow | None, list[InvalidFieldError]]:
    def cell(column: str) -> str:
        position = positions.get(column)
        return "" if position is None else cells[position]

    errors: list[InvalidFieldError] = []
    where = f"line {line}"

    def attempt(column: str, parse: Callable[[str], T]) -> T | None:
        try:
            return parse(cell(column))
        except InvalidFieldError as exc:
            errors.append(InvalidFieldError(f"{where}.{column}", exc.rule, exc.message))
            return None

    plate = attempt("plate", parse_plate)
    state = attempt("state", lambda raw: parse_state(raw.strip()) if raw.strip() else None)
    # Spreadsheets let a cell span lines; a reason is one line of text.
    reason = attempt("reason", lambda raw: parse_reason(_one_line(raw), required=True))
    case_number = attempt("case_number", lambda raw: parse_case_number(_one_line(raw), required=False))
    effective = attempt("effective", lambda raw: parse_csv_date(raw, "effective", end_of_day=False))
    expiry = attempt("expiry", lambda raw: parse_csv_date(raw, "expiry", end_of_day=True))
    if effective is not None and expiry is not None and expiry <= effective:
        errors.append(
            InvalidFieldError(
                f"{where}.expiry", "hotlist.expiry.before_effective", "must be on or after the effective date"
            )
        )
    if errors or plate is None or reason is None:  # None only when an error was recorded
        return None, errors
    return HotlistRow(plate, state, reason, case_number, effective, expiry, line), []


def parse_hotlist_csv(data: bytes | str, *, max_rows: int = MAX_ROWS) -> ParsedHotlistFile:
    """Every row of the file, validated; or :class:`HotlistFileError` naming each bad line and field."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    sha256 = hashlib.sha256(raw).hexdigest()
    text = decode(data)
    # Universal newlines, so CR-only and CRLF files count lines like LF ones.
    body = io.StringIO(text, newline=None)
    header_line = 0
    header_text = ""
    while not header_text.strip():
        header_text = body.readline()
        header_line += 1
        if not header_text:
            raise HotlistFileError(
                [InvalidFieldError("line 1", "csv.empty", "the file is empty; expected a header row")]
            )
    delimiter, header = _pick_delimiter(header_text)
    positions, ignored, errors = _map_header(header, header_line)
    if errors:
        raise HotlistFileError(errors)
    width = len(header)
    reader = csv.reader(body, delimiter=delimiter, strict=True)
    rows: list[HotlistRow] = []
    consumed = header_line  # physical lines read so far
    try:
        for cells in reader:
            line = consumed + 1
            consumed = header_line + reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > width and not any(c.strip() for c in cells[width:]):
                cells = cells[:width]  # trailing empty cells, as spreadsheets write them
            if len(cells) != width:
                errors.append(
                    InvalidFieldError(
                        f"line {line}",
                        "csv.columns",
                        f"has {len(cells)} fields but the header has {width} "
                        f"(delimiter {'TAB' if delimiter == chr(9) else repr(delimiter)})",
                    )
                )
            else:
                row, row_errors = _parse_row(cells, positions, line)
                if row is not None:
                    rows.append(row)
                errors.extend(row_errors)
            if len(errors) >= MAX_ERRORS:
                raise HotlistFileError(errors[:MAX_ERRORS], truncated=True)
            if len(rows) + len(errors) > max_rows:
                raise HotlistFileError(
                    [
                        InvalidFieldError(
                            f"line {line}", "csv.rows", f"more than {max_rows} rows; split the file"
                        )
                    ]
                )
    except csv.Error as exc:
        errors.append(InvalidFieldError(f"line {header_line + reader.line_num}", "csv.syntax", str(exc)))
    if errors:
        raise HotlistFileError(errors)
    if not rows:
        raise HotlistFileError(
            [
                InvalidFieldError(
                    f"line {header_line + 1}",
                    "csv.no_rows",
                    "the file has a header but no entries; an empty version would clear the list "
                    "(expire the hotlist instead if that is meant)",
                )
            ]
        )
    columns = {column: header[position].strip() for column, position in positions.items()}
    return ParsedHotlistFile(rows, delimiter, columns, ignored, sha256)


__all__ = [
    "COLUMN_ALIASES",
    "DELIMITERS",
    "HotlistFileError",
    "MAX_ERRORS",
    "MAX_ROWS",
    "ParsedHotlistFile",
    "REQUIRED_COLUMNS",
    "normalise_header",
    "parse_csv_date",
    "parse_hotlist_csv",
]
