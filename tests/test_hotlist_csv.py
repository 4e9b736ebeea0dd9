"""Hotlist CSV parsing: delimiters, header aliases, dates, and line-numbered errors (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.hotlist_entries import HotlistRow
from ops.hotlist_csv import HotlistFileError, normalise_header, parse_csv_date, parse_hotlist_csv

ROWS = [
    ["plate", "state", "reason", "effective", "expiry", "case_number"],
    ["ABC1234", "NY", "stolen vehicle", "2025-03-01", "2025-06-30", "24-000123"],
    ["XYZ 987", "", "AMBER alert", "", "", ""],
]


def _csv(rows: list[list[str]], delimiter: str = ",") -> str:
    return "\n".join(delimiter.join(cells) for cells in rows) + "\n"


def _errors(data: str | bytes) -> list[tuple[str, str]]:
    with pytest.raises(HotlistFileError) as failed:
        parse_hotlist_csv(data)
    return [(e.field, e.rule) for e in failed.value.errors]


EXPECTED = [
    HotlistRow(
        plate="ABC1234",
        state="NY",
        reason="stolen vehicle",
        case_number="24-000123",
        effective_at=datetime(2025, 3, 1, tzinfo=UTC),
        expires_at=datetime(2025, 7, 1, tzinfo=UTC),  # expiry date inclusive: gone at midnight after
        line=2,
    ),
    HotlistRow("XYZ987", None, "AMBER alert", None, None, None, line=3),
]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_parse_reads_every_row_when_delimiter_is_comma_semicolon_or_tab(delimiter: str) -> None:
    parsed = parse_hotlist_csv(_csv(ROWS, delimiter))
    assert parsed.rows == EXPECTED
    assert parsed.delimiter == delimiter


def test_parse_recognises_columns_when_header_uses_aliases_in_any_case() -> None:
    text = (
        "Lic;ST;Alert Type;Start;Expires;Case #;Make\n"
        "ABC1234;ny;stolen vehicle;3/1/2025;6/30/2025;24-000123;Honda\n"
        "XYZ-987;;AMBER alert;;;;\n"
    )
    parsed = parse_hotlist_csv(text)
    assert parsed.rows == EXPECTED
    assert parsed.columns == {
        "plate": "Lic",
        "state": "ST",
        "reason": "Alert Type",
        "effective": "Start",
        "expiry": "Expires",
        "case_number": "Case #",
    }
    assert parsed.ignored_columns == ["Make"]


@pytest.mark.parametrize(
    ("plate", "state", "reason"),
    [
        ("PLATE_NUMBER", "REGION", "CATEGORY"),
        ("plate", "state", "category"),
        ("license plate", "plate state", "alert_type"),
    ],
)
def test_parse_accepts_header_when_named_by_common_aliases(plate: str, state: str, reason: str) -> None:
    parsed = parse_hotlist_csv(f"{plate},{state},{reason}\nABC1234,NY,stolen\n")
    assert [(r.plate, r.state, r.reason) for r in parsed.rows] == [("ABC1234", "NY", "stolen")]


def test_parse_names_line_and_field_when_a_row_is_invalid() -> None:
    text = _csv(ROWS) + "\n" + "AB$1,NY,stolen,,,\n"  # a blank line 4, the bad row on line 5
    assert _errors(text) == [("line 5.plate", "plate.charset")]


def test_parse_reports_every_error_with_its_line_when_several_rows_are_invalid() -> None:
    text = _csv(
        [
            ROWS[0],
            ["ABC1234", "ZZ", "stolen", "", "", ""],
            ["ABC1234", "NY", "", "2025-02-30", "", ""],
            ["ABC1234", "NY", "stolen", "2025-03-02", "2025-03-01", ""],
            ["ABC1234", "NY", "stolen", "", ""],
        ]
    )
    assert _errors(text) == [
        ("line 2.state", "state.unknown"),
        ("line 3.reason", "hotlist.reason.required"),
        ("line 3.effective", "date.format"),
        ("line 4.expiry", "hotlist.expiry.before_effective"),
        ("line 5", "csv.columns"),
    ]


def test_parse_counts_physical_lines_when_a_quoted_cell_spans_lines() -> None:
    text = 'plate,state,reason\nABC1234,NY,"stolen\nfrom lot 4"\nAB$1,NY,stolen\n'
    assert _errors(text) == [("line 4.plate", "plate.charset")]


def test_parse_counts_lines_when_file_uses_crlf_or_cr_line_endings() -> None:
    assert _errors("plate,state,reason\r\nABC1,NY,x\r\nAB$1,NY,x\r\n") == [("line 3.plate", "plate.charset")]
    assert _errors("plate,state,reason\rABC1,NY,x\rAB$1,NY,x\r") == [("line 3.plate", "plate.charset")]


def test_parse_refuses_file_when_a_required_column_is_missing() -> None:
    assert _errors("plate,reason\nABC1234,stolen\n") == [("line 1.state", "csv.column.missing")]


def test_parse_refuses_file_when_two_columns_name_the_same_field() -> None:
    assert _errors("plate,state,reason,category\nABC1,NY,a,b\n") == [
        ("line 1.reason", "csv.column.duplicate")
    ]


def test_parse_refuses_file_when_empty_or_header_only() -> None:
    assert _errors("") == [("line 1", "csv.empty")]
    assert _errors("\n\n") == [("line 1", "csv.empty")]
    assert _errors("plate,state,reason\n") == [("line 2", "csv.no_rows")]


def test_parse_refuses_file_when_a_quote_is_left_open() -> None:
    assert _errors('plate,state,reason\nABC1,NY,"stolen\n')[0][1] == "csv.syntax"


def test_parse_keeps_row_when_spreadsheet_adds_trailing_empty_cells() -> None:
    parsed = parse_hotlist_csv("plate,state,reason\nABC1,NY,stolen,,\n")
    assert [r.plate for r in parsed.rows] == ["ABC1"]


def test_parse_decodes_bytes_when_utf8_with_bom_or_windows_1252() -> None:
    utf8 = "\ufeffplate,state,reason\nABC1,NY,vol de véhicule\n".encode()
    assert parse_hotlist_csv(utf8).rows[0].reason == "vol de véhicule"
    cp1252 = "plate,state,reason\nABC1,QC,vol de véhicule\n".encode("cp1252")
    parsed = parse_hotlist_csv(cp1252)
    assert parsed.rows[0].reason == "vol de véhicule"
    assert parsed.sha256 == __import__("hashlib").sha256(cp1252).hexdigest()


@pytest.mark.parametrize(
    ("raw", "end_of_day", "expected"),
    [
        ("2025-03-01", False, datetime(2025, 3, 1, tzinfo=UTC)),
        ("3/1/2025", False, datetime(2025, 3, 1, tzinfo=UTC)),
        ("03/01/2025", True, datetime(2025, 3, 2, tzinfo=UTC)),
        ("2025/03/01", False, datetime(2025, 3, 1, tzinfo=UTC)),
        ("20250301", False, datetime(2025, 3, 1, tzinfo=UTC)),
        ("2025-03-01T06:00:00-05:00", True, datetime(2025, 3, 1, 11, tzinfo=UTC)),
        ("2025-03-01T06:00:00Z", False, datetime(2025, 3, 1, 6, tzinfo=UTC)),
        ("  ", False, None),
    ],
)
def test_parse_csv_date_reads_iso_and_us_dates_when_well_formed(
    raw: str, end_of_day: bool, expected: datetime | None
) -> None:
    assert parse_csv_date(raw, "expiry", end_of_day=end_of_day) == expected


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("13/1/2025", "date.format"),
        ("1/3/25", "date.format"),
        ("2025-03-01T06:00", "date.naive"),
        ("soon", "date.format"),
    ],
)
def test_parse_csv_date_refuses_value_when_malformed_or_naive(raw: str, rule: str) -> None:
    with pytest.raises(Exception) as failed:
        parse_csv_date(raw, "expiry", end_of_day=False)
    assert getattr(failed.value, "rule", None) == rule
    assert getattr(failed.value, "field", None) == "expiry"


def test_normalise_header_drops_case_and_punctuation_when_matching_aliases() -> None:
    assert normalise_header(" Plate # ") == "plate"
    assert normalise_header("Alert-Type") == "alert_type"
    assert normalise_header("LIC.") == "lic"


def test_file_error_reads_as_first_error_when_mapped_by_generic_handlers() -> None:
    with pytest.raises(HotlistFileError) as failed:
        parse_hotlist_csv("plate,state,reason\nAB$1,NY,x\nAB$2,NY,x\n")
    error = failed.value
    assert (error.field, error.rule) == ("line 2.plate", "plate.charset")
    assert "line 3.plate" in error.message and "nothing was imported" in error.message
