"""The matcher: exact vs possible, every confusable pair, states, dates, removal (pure, no I/O)."""

from __future__ import annotations

import itertools
import random
import time
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from domain.hotlist import Hotlist
from domain.hotlist_entries import HotlistRow, HotlistSource, ManualEntry
from domain.matching import (
    CONFUSABLE_GROUPS,
    HotlistCatalog,
    HotlistIndex,
    IndexedEntry,
    MatchBasis,
    MatchKind,
    classify,
    confusable_key,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
HOTLIST = uuid4()


def entry(
    plate: str,
    state: str | None = "NY",
    *,
    effective_at: datetime | None = None,
    expires_at: datetime | None = None,
    hotlist_id: UUID = HOTLIST,
) -> IndexedEntry:
    return IndexedEntry(
        hotlist_id=hotlist_id,
        hotlist_name="NCIC stolen",
        source=HotlistSource.NCIC,
        entry_id=uuid4(),
        plate=plate,
        state=state,
        reason="stolen vehicle",
        case_number=None,
        effective_at=effective_at,
        expires_at=expires_at,
    )


CONFUSABLE_PAIRS = [
    (a, b) for group in CONFUSABLE_GROUPS for a, b in itertools.permutations(group, 2)
]  # fmt: skip


def test_confusable_key_maps_each_group_to_one_representative_when_characters_are_confusable() -> None:
    assert confusable_key("0ODQ") == "0000"
    assert confusable_key("1IL7") == "1111"
    assert confusable_key("2Z5S8B6G") == "22558866"
    assert confusable_key("ahx") == "AHX"  # uppercased; unconfusable letters unchanged


@pytest.mark.parametrize(("entry_char", "read_char"), CONFUSABLE_PAIRS)
def test_match_is_possible_when_plates_differ_by_a_confusable_pair(entry_char: str, read_char: str) -> None:
    index = HotlistIndex([entry(f"AB{entry_char}123")])
    [match] = index.match(f"AB{read_char}123", "NY", at=NOW)
    assert match.kind is MatchKind.POSSIBLE
    assert match.basis == (MatchBasis.PLATE_CONFUSABLE,)
    assert match.entry_plate == f"AB{entry_char}123" and match.read_plate == f"AB{read_char}123"


@pytest.mark.parametrize("char", sorted({c for group in CONFUSABLE_GROUPS for c in group}))
def test_match_is_exact_when_plate_and_state_are_identical(char: str) -> None:
    index = HotlistIndex([entry(f"AB{char}123")])
    [match] = index.match(f"AB{char}123", "NY", at=NOW)
    assert match.kind is MatchKind.EXACT and match.is_exact
    assert match.basis == ()


def test_match_finds_nothing_when_plates_differ_by_unconfusable_characters() -> None:
    index = HotlistIndex([entry("ABC123")])
    assert index.match("ABC124", "NY", at=NOW) == []  # 3 vs 4: not confusable
    assert index.match("ABX123", "NY", at=NOW) == []
    assert index.match("ABC1234", "NY", at=NOW) == []  # longer


def test_match_is_possible_when_read_has_no_state() -> None:
    index = HotlistIndex([entry("ABC123", "NY")])
    [match] = index.match("ABC123", None, at=NOW)
    assert match.kind is MatchKind.POSSIBLE
    assert match.basis == (MatchBasis.READ_WITHOUT_STATE,)
    assert index.match("ABC123", "", at=NOW)[0].basis == (MatchBasis.READ_WITHOUT_STATE,)


def test_match_is_possible_when_entry_has_no_state() -> None:
    index = HotlistIndex([entry("ABC123", None)])
    [match] = index.match("ABC123", "NJ", at=NOW)
    assert match.kind is MatchKind.POSSIBLE
    assert match.basis == (MatchBasis.ENTRY_WITHOUT_STATE,)


def test_match_finds_nothing_when_states_are_known_and_differ() -> None:
    index = HotlistIndex([entry("ABC123", "NY"), entry("A8C123", "NY")])
    assert index.match("ABC123", "NJ", at=NOW) == []


def test_match_marks_every_basis_when_plate_is_confusable_and_read_has_no_state() -> None:
    index = HotlistIndex([entry("ABC123", "NY")])
    [match] = index.match("A8C1Z3", None, at=NOW)
    assert match.basis == (MatchBasis.PLATE_CONFUSABLE, MatchBasis.READ_WITHOUT_STATE)


def test_match_normalises_read_plate_and_state_when_given_raw_text() -> None:
    index = HotlistIndex([entry("ABC123", "NY")])
    [match] = index.match("abc-123", "ny", at=NOW)
    assert match.kind is MatchKind.EXACT and match.read_plate == "ABC123"


def test_match_lists_exact_matches_first_when_several_entries_match() -> None:
    possible, exact = entry("A8C123"), entry("ABC123")
    index = HotlistIndex([possible, exact])
    matches = index.match("ABC123", "NY", at=NOW)
    assert [m.entry_id for m in matches] == [exact.entry_id, possible.entry_id]


def test_match_ignores_entry_when_expiry_date_has_passed() -> None:
    index = HotlistIndex([entry("ABC123", expires_at=NOW + timedelta(hours=1))])
    assert len(index.match("ABC123", "NY", at=NOW)) == 1
    assert index.match("ABC123", "NY", at=NOW + timedelta(hours=1)) == []  # expiry is exclusive


def test_match_ignores_entry_when_not_yet_effective() -> None:
    index = HotlistIndex([entry("ABC123", effective_at=NOW + timedelta(days=1))])
    assert index.match("ABC123", "NY", at=NOW) == []
    assert len(index.match("ABC123", "NY", at=NOW + timedelta(days=1))) == 1


def test_match_stops_when_entry_is_removed() -> None:
    kept, removed = entry("ABC123"), entry("ABC123", None)
    index = HotlistIndex([kept, removed])
    assert index.remove(removed.entry_id) is True
    assert [m.entry_id for m in index.match("ABC123", "NY", at=NOW)] == [kept.entry_id]
    assert index.remove(removed.entry_id) is False
    assert len(index) == 1


def test_classify_decides_kind_and_basis_when_called_directly() -> None:
    assert classify("AB1", "NY", "AB1", "NY") == (MatchKind.EXACT, ())
    assert classify("AB1", None, "ABI", None) == (
        MatchKind.POSSIBLE,
        (MatchBasis.PLATE_CONFUSABLE, MatchBasis.READ_WITHOUT_STATE, MatchBasis.ENTRY_WITHOUT_STATE),
    )
    assert classify("AB1", "NY", "AB1", "PA") is None


# --------------------------------------------------------------------------------------------
# Catalog: events -> index
# --------------------------------------------------------------------------------------------


def _row(plate: str, state: str | None = "NY", reason: str = "stolen vehicle") -> HotlistRow:
    return HotlistRow(plate, state, reason, None, None, None)


def _events(hotlist: Hotlist) -> list[Hotlist.Event]:
    events = list(hotlist.collect_events())
    return events  # type: ignore[return-value]


def test_catalog_follows_imports_removals_and_expiry_when_applying_events() -> None:
    catalog = HotlistCatalog()
    ncic = Hotlist.create("NCIC", "ncic", provenance="state switch", actor="t", actor_id=None, now=NOW)
    ncic.import_version(
        [_row("ABC123"), _row("XYZ999")],
        version="v1",
        sha256="0" * 64,
        row_count=2,
        effective_at=NOW,
        file_name=None,
        actor="t",
        actor_id=None,
        now=NOW,
    )
    for event in _events(ncic):
        catalog.apply(event)
    assert len(catalog.index) == 2

    ncic.import_version(
        [_row("XYZ999"), _row("NEW1")],
        version="v2",
        sha256="1" * 64,
        row_count=2,
        effective_at=NOW,
        file_name=None,
        actor="t",
        actor_id=None,
        now=NOW,
    )
    events = _events(ncic)
    for event in events + events:  # applying twice changes nothing
        catalog.apply(event)
    assert catalog.index.match("ABC123", "NY", at=NOW) == []
    assert len(catalog.index.match("NEW1", "NY", at=NOW)) == 1
    [xyz] = catalog.index.match("XYZ999", "NY", at=NOW)

    ncic.remove_entry(xyz.entry_id, why="recovered", actor="t", actor_id=None, now=NOW)
    for event in _events(ncic):
        catalog.apply(event)
    assert catalog.index.match("XYZ999", "NY", at=NOW) == []

    ncic.expire(why="replaced", actor="t", actor_id=None, now=NOW)
    for event in _events(ncic):
        catalog.apply(event)
    assert len(catalog.index) == 0
    [summary] = catalog.summaries(now=NOW, shift=timedelta(hours=12))
    assert summary.expired_at == NOW and summary.entry_count == 0 and not summary.stale


def test_catalog_indexes_manual_entry_with_its_expiry_when_entry_added() -> None:
    catalog = HotlistCatalog()
    manual = Hotlist.create("Manual", "manual", provenance="officers", actor="t", actor_id=None, now=NOW)
    entry_id = manual.add_entry(
        ManualEntry("ABC123", None, "burglary suspect", "C-1", NOW + timedelta(days=1)),
        actor="officer1",
        actor_id=None,
        now=NOW,
    )
    for event in _events(manual):
        catalog.apply(event)
    [match] = catalog.index.match("ABC123", "NY", at=NOW)
    assert match.entry_id == entry_id and match.source is HotlistSource.MANUAL
    assert match.reason == "burglary suspect" and match.case_number == "C-1"
    assert catalog.index.match("ABC123", "NY", at=NOW + timedelta(days=1)) == []


# --------------------------------------------------------------------------------------------
# Performance (reported, not asserted on time)
# --------------------------------------------------------------------------------------------

_PLATE_CHARS = "ABCDEFGHJKMNPRTUVWXY0123456789"


def test_index_of_100000_entries_matches_thousands_of_reads_per_second_when_measured(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rng = random.Random(7)
    states = ["NY", "NJ", "CT", "PA", None]
    plates = ["".join(rng.choices(_PLATE_CHARS, k=7)) for _ in range(100_000)]
    started = time.perf_counter()
    entries = [entry(p, rng.choice(states)) for p in plates]
    index = HotlistIndex(entries)
    built = time.perf_counter() - started
    reads = [("".join(rng.choices(_PLATE_CHARS, k=7)), "NY") for _ in range(19_000)]
    reads += [(p, "NY") for p in plates[:1000]]
    started = time.perf_counter()
    hits = sum(len(index.match(p, s, at=NOW)) for p, s in reads)
    elapsed = time.perf_counter() - started
    rate = len(reads) / elapsed
    with capsys.disabled():
        print(f"\n[matcher] 100,000 entries indexed in {built:.2f} s; {rate:,.0f} matches/s ({hits} matches)")
    assert len(index) == 100_000
    listed = sum(1 for e in entries[:1000] if e.state in ("NY", None))  # read as NY: these match
    assert hits >= listed
