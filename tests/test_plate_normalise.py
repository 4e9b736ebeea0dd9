"""Plate normalisation (recognition.plates): pure functions, no I/O."""

from __future__ import annotations

import pytest

from domain.values import PlateText
from recognition.plates import (
    GENERIC_FORMATS,
    STATE_FORMATS,
    clean,
    normalise_plate,
    reject_reason,
    resolve,
)


def test_clean_strips_separators_and_folds_accents_keeping_confidences_aligned() -> None:
    text, confs = clean("ab-c 1.2·3", [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    assert text == "ABC123"
    assert confs == (0.1, 0.2, 0.4, 0.6, 0.8, 1.0)
    assert clean("MÁSS")[0] == "MASS"


def test_clean_drops_confidences_when_they_do_not_match_the_text_length() -> None:
    assert clean("ABC", [0.9, 0.9]) == ("ABC", None)


@pytest.mark.parametrize(
    ("raw", "state", "expected", "corrections"),
    [
        ("ABC-1O34", "NY", "ABC1034", ((4, "O", "0"),)),  # O in a digit position of LLLDDDD
        ("A8C1234", "PA", "ABC1234", ((1, "8", "B"),)),  # 8 in a letter position
        ("IABC234", "CA", "1ABC234", ((0, "I", "1"),)),  # CA: DLLLDDD
        ("1ABC2S4", "CA", "1ABC254", ((5, "S", "5"),)),
        ("0BC1234", "TX", "OBC1234", ((0, "0", "O"),)),  # 0 in a letter position
        ("AB1234S", "IL", "AB12345", ((6, "S", "5"),)),  # IL: LLDDDDD
        ("A12BCZ", "NJ", "A12BCZ", ()),  # NJ: LDDLLL, Z stays a letter
        ("A1ZBCD", "NJ", "A12BCD", ((2, "Z", "2"),)),
    ],
)
def test_confusables_are_resolved_by_position_when_the_state_format_decides(
    raw: str, state: str, expected: str, corrections: tuple[tuple[int, str, str], ...]
) -> None:
    plate = normalise_plate(raw, state=state)
    assert plate is not None
    assert plate.text == expected
    assert plate.corrections == corrections
    assert plate.state == state
    assert PlateText(plate.text).value == expected


def test_same_reading_resolves_differently_by_state_format() -> None:
    # "1ABC234" is a CA serial; read with I for 1 it is resolved only where a format puts a digit.
    ca = normalise_plate("IABC234", state="CA")
    ny = normalise_plate("IABC234", state="NY")  # NY formats have no 7-character D-first layout
    assert ca is not None and ca.text == "1ABC234"
    assert ny is not None and ny.text == "IABC234" and ny.format is None


def test_fewest_swaps_decide_between_formats_of_a_state() -> None:
    # FL has LLLLDD, LLLDLL, LLLDDD...: "ABCD5S" fits LLLLDD with one swap (S->5), the others
    # with two, so LLLLDD decides.
    assert resolve("ABCD5S", "FL") == ("ABCD55", "LLLLDD", ((5, "S", "5"),))
    assert resolve("ABC0ZZ", "FL") == ("ABC0ZZ", "LLLDLL", ())


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("ABC8B8", "FL"),  # LLLDLL -> ABC8BB and LLLDDD -> ABC888, one swap each
        ("AB88123", "TX"),  # LLLDDDD -> ABB8123 and LLDLDDD -> AB8B123, one swap each
    ],
)
def test_reading_is_left_as_read_when_equally_good_formats_disagree(raw: str, state: str) -> None:
    assert resolve(raw, state) == (raw, None, ())
    plate = normalise_plate(raw, state=state)
    assert plate is not None and plate.text == raw and plate.corrections == ()


@pytest.mark.parametrize("raw", ["1234567", "ABC1O34", "IABC234", "ABC8B8", "0BC1234"])
def test_unknown_state_leaves_confusables_as_read(raw: str) -> None:
    # With no state nothing decides a position: the union of every state's formats would turn
    # a good "1234567" into "I234567" (a TX-like LLLDDDD... or IL-like LDDDDDD layout).
    assert resolve(raw, None) == (raw, None, ())
    for state in (None, "XX", "VT"):  # no state, not a jurisdiction, a state without formats
        plate = normalise_plate(raw, state=state)
        assert plate is not None and plate.text == raw and plate.corrections == ()
    assert "LDDDDDD" in GENERIC_FORMATS  # the layout that would have rewritten "1234567"


def test_state_table_covers_the_most_populous_states() -> None:
    for state in "CA TX FL NY PA IL OH GA NC MI NJ VA WA AZ MA TN IN MD MO WI CO MN".split():
        assert STATE_FORMATS[state], state


@pytest.mark.parametrize("word", ["FORD", "TOYOTA", "HONDA", "STOP", "POLICE", "CHEVROLET", "F0RD", "T0Y0TA"])
def test_vehicle_words_are_rejected_even_with_a_state(word: str) -> None:
    assert normalise_plate(word) is None
    assert normalise_plate(word, state="CA") is None


@pytest.mark.parametrize("word", ["F150", "RAV4", "V8", "4X4"])
def test_model_names_with_digits_are_rejected(word: str) -> None:
    assert normalise_plate(word) is None
    assert reject_reason(word) == "a word seen on vehicles, not a plate"


def test_all_letter_reading_needs_a_state_that_issues_vanity_plates() -> None:
    assert normalise_plate("HELLO") is None
    assert reject_reason("HELLO") is not None and "digit" in reject_reason("HELLO")  # type: ignore[operator]
    vanity = normalise_plate("HELLO", state="ca")
    assert vanity is not None and vanity.text == "HELLO" and vanity.state == "CA"


@pytest.mark.parametrize("raw", ["A", "7", "", "---", "ABC123456", "1234567890"])
def test_length_outside_two_to_eight_is_rejected(raw: str) -> None:
    assert normalise_plate(raw, state="TX") is None


def test_char_confidences_follow_the_characters_through_resolution() -> None:
    plate = normalise_plate("ABC-1O34", state="NY", char_confidences=[0.9, 0.8, 0.7, 0.1, 0.6, 0.5, 0.4, 0.3])
    assert plate is not None
    assert plate.text == "ABC1034"
    assert plate.char_confidences == (0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3)


def test_unknown_jurisdiction_is_treated_as_no_state() -> None:
    plate = normalise_plate("ABC1234", state="XX")
    assert plate is not None and plate.state is None
