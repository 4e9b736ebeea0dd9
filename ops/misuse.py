"""Misuse flags: patterns in a day of searches that a supervisor should look at.

Run daily by the scheduler (``add_misuse_job``) and on demand (``POST /v1/misuse-flags/run``).
Each finding is saved as a ``MisuseFlag.Raised`` event, so the flags are in the log (and in the
``misuse_flags`` view); the flag's id derives from its rule, account and day (and first search),
so a second run over the same day raises nothing new. The rules, for one UTC day ``D`` and each account:

``misuse.repeat_plate_without_case``
    :data:`REPEAT_THRESHOLD` or more executed searches of the same plate (plate and associates
    searches; complete plates, compared normalised) within :data:`REPEAT_WINDOW` days up to the end
    of ``D``, at least one on ``D``, counting only searches whose own case number does not *link*
    the plate. A case links a plate when a read of that plate is attached to the case. The plate
    comes from the ``query_log`` view's ``plate`` column, filled from the sealed criteria while
    their key lives and cleared when it is destroyed; the flag names search ids, never the plate
    (stalking by officers has been found by victims, not audits: this is that pattern).
``misuse.case_number_without_activity``
    an executed search on ``D`` under a case number that nothing else in the record uses: no Case
    opened under it, and no other search (by anyone, at any time) names it.
``misuse.unusual_hour``
    with at least :data:`MIN_HISTORY` searches of the account in the :data:`HISTORY` days before
    ``D``: searches on ``D`` at an hour of day (UTC) at least :data:`HOUR_DISTANCE` hours (around
    the clock) from every hour the account searched at before.
``misuse.new_purpose``
    with the same history: a search on ``D`` under a purpose the account never used before.
``misuse.area_associate_volume``
    more area and associates searches on ``D`` than the account's limit: the larger of the fixed
    default :data:`AREA_ASSOCIATE_DAILY_DEFAULT` (or the profile's ``extra``
    ``misuse_area_associate_daily_limit``) and twice the account's busiest day in its history.
    These searches sweep up everyone in a place or near a car, so a fixed floor keeps a new
    account from a sweep while the relative part lets a busy unit work.

The rules are pure functions over :class:`SearchRow` s (tests call them directly); :func:`find`
loads the rows, plates included, from the ``query_log`` view in one query, and from the log only
the cases named by searches that could make a finding (and their reads), so a check over a day
costs one scan of the view's rows, not one Search aggregate per search.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from domain.case import case_number_or_none as _parse_case_number
from domain.values import normalise_plate

REPEAT_THRESHOLD = 3
REPEAT_WINDOW = 30
HISTORY = 90
MIN_HISTORY = 20
HOUR_DISTANCE = 4
AREA_ASSOCIATE_DAILY_DEFAULT = 10
SWEEP_TYPES = ("area", "associates")
PLATE_TYPES = ("plate", "associates")

RULE_REPEAT = "misuse.repeat_plate_without_case"
RULE_ORPHAN_CASE = "misuse.case_number_without_activity"
RULE_HOUR = "misuse.unusual_hour"
RULE_PURPOSE = "misuse.new_purpose"
RULE_VOLUME = "misuse.area_associate_volume"
RULES = (RULE_REPEAT, RULE_ORPHAN_CASE, RULE_HOUR, RULE_PURPOSE, RULE_VOLUME)


@dataclass(frozen=True, slots=True)
class SearchRow:
    search_id: str
    requested_at: datetime
    account_id: str
    login: str
    search_type: str
    purpose: str
    case_number: str | None
    status: str
    plate: str | None = None
    """The normalised complete plate searched for; None for other searches and once purged."""


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    account_id: str
    login: str
    search_ids: tuple[str, ...]
    detail: str
    metrics: dict[str, Any] = field(default_factory=dict)
    key: str = ""
    """What tells two findings of one rule, account and day apart (see ``misuse_flag_id``)."""


@functools.lru_cache(maxsize=65536)
def case_number_or_none(raw: str | None) -> str | None:
    """:func:`domain.case.case_number_or_none`, remembered: a day of searches names few case
    numbers many times, and normalising one is most of a check's time without this."""
    return _parse_case_number(raw)


def _by_account(rows: Iterable[SearchRow]) -> dict[str, list[SearchRow]]:
    found: dict[str, list[SearchRow]] = defaultdict(list)
    for r in rows:
        found[r.account_id].append(r)
    return found


def _on(day: date, r: SearchRow) -> bool:
    return r.requested_at.astimezone(UTC).date() == day


def repeated_plates(
    day: date,
    window: Sequence[SearchRow],
    plate_of: Callable[[str], str | None],
    links: Callable[[str | None, str], bool],
) -> list[Finding]:
    """``window``: searches of the :data:`REPEAT_WINDOW` days up to the end of ``day``. ``links``
    is asked only about the searches of groups that could reach the threshold (it may load cases)."""
    candidates: dict[tuple[str, str], list[SearchRow]] = defaultdict(list)
    for r in window:
        if r.status != "executed" or r.search_type not in PLATE_TYPES:
            continue
        plate = plate_of(r.search_id)
        if plate is not None:
            candidates[(r.account_id, plate)].append(r)
    groups: dict[tuple[str, str], list[SearchRow]] = {}
    for (account, plate), found in candidates.items():
        if len(found) < REPEAT_THRESHOLD or not any(_on(day, r) for r in found):
            continue  # cannot make a finding, whatever the cases link
        unlinked = [r for r in found if not links(r.case_number, plate)]
        if unlinked:
            groups[(account, plate)] = unlinked
    findings = []
    for (_, _plate), rows in sorted(groups.items(), key=lambda kv: kv[1][0].search_id):
        if len(rows) >= REPEAT_THRESHOLD and any(_on(day, r) for r in rows):
            findings.append(
                Finding(
                    RULE_REPEAT,
                    rows[0].account_id,
                    rows[0].login,
                    tuple(sorted(r.search_id for r in rows)),
                    f"{len(rows)} searches of one plate in {REPEAT_WINDOW} days, none under a case that"
                    " links the plate",
                    {"searches": len(rows), "window_days": REPEAT_WINDOW},
                    # the group's FIRST search: a later search of the same plate the same day keeps
                    # the key (a random id could sort before it), so the flag is not raised twice
                    min(rows, key=lambda r: (r.requested_at, r.search_id)).search_id,
                )
            )
    return findings


def orphan_case_numbers(
    day_rows: Sequence[SearchRow], uses: dict[str, int], case_exists: Callable[[str], bool]
) -> list[Finding]:
    """``uses``: how many searches name each normalised case number, over the whole query log."""
    findings = []
    for r in day_rows:
        number = case_number_or_none(r.case_number)
        if r.status != "executed" or number is None:
            continue
        if uses.get(number, 0) <= 1 and not case_exists(number):
            findings.append(
                Finding(
                    RULE_ORPHAN_CASE,
                    r.account_id,
                    r.login,
                    (r.search_id,),
                    "a search under a case number that no case and no other search uses",
                    key=r.search_id,
                )
            )
    return findings


def _hour_distance(a: int, b: int) -> int:
    d = abs(a - b) % 24
    return min(d, 24 - d)


def unusual_patterns(day_rows: Sequence[SearchRow], history: Sequence[SearchRow]) -> list[Finding]:
    """Hours and purposes far from the account's own history (:data:`MIN_HISTORY` searches at least)."""
    past = _by_account(history)
    findings = []
    for account, rows in sorted(_by_account(day_rows).items()):
        before = past.get(account, [])
        if len(before) < MIN_HISTORY:
            continue
        hours = {r.requested_at.astimezone(UTC).hour for r in before}
        odd = [
            r
            for r in rows
            if min(_hour_distance(r.requested_at.astimezone(UTC).hour, h) for h in hours) >= HOUR_DISTANCE
        ]
        if odd:
            findings.append(
                Finding(
                    RULE_HOUR,
                    account,
                    rows[0].login,
                    tuple(sorted(r.search_id for r in odd)),
                    f"searches at hours at least {HOUR_DISTANCE} h from any hour this account searched at"
                    f" in {HISTORY} days",
                    {
                        "history": len(before),
                        "hours": sorted({r.requested_at.astimezone(UTC).hour for r in odd}),
                    },
                )
            )
        purposes = {r.purpose for r in before}
        new = [r for r in rows if r.purpose not in purposes]
        if new:
            findings.append(
                Finding(
                    RULE_PURPOSE,
                    account,
                    rows[0].login,
                    tuple(sorted(r.search_id for r in new)),
                    f"searches under a purpose this account never used in {HISTORY} days",
                    {"history": len(before), "purposes": sorted({r.purpose for r in new})},
                )
            )
    return findings


def sweep_volume(
    day_rows: Sequence[SearchRow], history: Sequence[SearchRow], default_limit: int
) -> list[Finding]:
    past = _by_account(r for r in history if r.search_type in SWEEP_TYPES)
    findings = []
    for account, rows in sorted(_by_account(r for r in day_rows if r.search_type in SWEEP_TYPES).items()):
        per_day: dict[date, int] = defaultdict(int)
        for r in past.get(account, []):
            per_day[r.requested_at.astimezone(UTC).date()] += 1
        limit = max(default_limit, 2 * max(per_day.values(), default=0))
        if len(rows) > limit:
            findings.append(
                Finding(
                    RULE_VOLUME,
                    account,
                    rows[0].login,
                    tuple(sorted(r.search_id for r in rows)),
                    f"{len(rows)} area and associates searches in a day; this account's limit is {limit}",
                    {"searches": len(rows), "limit": limit},
                )
            )
    return findings


# --------------------------------------------------------------------------------------------
# Loading from the record, and raising the flags
# --------------------------------------------------------------------------------------------

_COLUMNS = "search_id, requested_at, account_id, login, search_type, purpose, case_number, status, plate"


def _rows(app: Any, start: datetime, end: datetime) -> list[SearchRow]:
    from projections.reports import stamp

    db = app.projection_db
    with db.read() as c:
        c.execute(
            db.sql(
                f"SELECT {_COLUMNS} FROM rpt_query_log WHERE requested_at >= ? AND requested_at < ?"
                " ORDER BY requested_at, search_id"
            ),
            (stamp(start), stamp(end)),
        )
        found = c.fetchall()
    return [
        SearchRow(
            str(r[0]),
            datetime.fromisoformat(r[1]),  # "...Z": UTC-aware, ~70x faster than strptime
            str(r[2]),
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            r[8],
        )
        for r in found
    ]


def _case_number_uses(app: Any, numbers: set[str]) -> dict[str, int]:
    if not numbers:
        return {}
    db = app.projection_db
    with db.read() as c:
        c.execute(
            "SELECT case_number, COUNT(*) FROM rpt_query_log WHERE case_number IS NOT NULL"
            " GROUP BY case_number"
        )
        found = c.fetchall()
    uses: dict[str, int] = defaultdict(int)
    for raw, count in found:
        number = case_number_or_none(raw)
        if number in numbers:
            uses[number] += int(count)
    return uses


class _Record:
    """Cases, and the plates of their reads, read from the log once each."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._cases: dict[str, Any] = {}
        self._read_plates: dict[UUID, str | None] = {}

    def _get(self, aggregate_id: UUID) -> Any:
        from eventsourcing.application import AggregateNotFoundError

        try:
            return self.app.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def case(self, number: str) -> Any:
        from domain.case import Case, case_id_for

        if number not in self._cases:
            found = self._get(case_id_for(number))
            self._cases[number] = found if isinstance(found, Case) else None
        return self._cases[number]

    def case_exists(self, number: str) -> bool:
        return self.case(number) is not None

    def links(self, raw_number: str | None, plate: str) -> bool:
        number = case_number_or_none(raw_number)
        case = None if number is None else self.case(number)
        if case is None:
            return False
        for read_id in case.read_ids:
            if read_id not in self._read_plates:
                read = self._get(read_id)
                text = getattr(read, "plate", None)
                self._read_plates[read_id] = normalise_plate(text) if isinstance(text, str) else None
            if self._read_plates[read_id] == plate:
                return True
        return False


def default_limit(app: Any) -> int:
    setting = app.policy.extra.get("misuse_area_associate_daily_limit")
    value = getattr(setting, "value", None)
    return (
        value
        if isinstance(value, int) and not isinstance(value, bool) and value > 0
        else AREA_ASSOCIATE_DAILY_DEFAULT
    )


def find(app: Any, day: date, *, day_ended: bool = True) -> list[Finding]:
    """Every finding of ``day`` (the ``query_log`` view must be caught up). A case number is judged
    "without other activity" only once its day has ended (``day_ended``): the first search of a new
    investigation is not misuse because its case was opened, or searched again, an hour later."""
    start = datetime.combine(day, time(), tzinfo=UTC)
    end = start + timedelta(days=1)
    window = _rows(app, start - timedelta(days=HISTORY), end)
    day_rows = [r for r in window if r.requested_at >= start]
    history = [r for r in window if r.requested_at < start]
    recent = [r for r in window if r.requested_at >= end - timedelta(days=REPEAT_WINDOW)]
    record = _Record(app)
    plates = {r.search_id: r.plate for r in recent}
    numbers = {n for n in (case_number_or_none(r.case_number) for r in day_rows) if n is not None}
    return [
        *repeated_plates(day, recent, plates.get, record.links),
        *(
            orphan_case_numbers(day_rows, _case_number_uses(app, numbers), record.case_exists)
            if day_ended
            else ()
        ),
        *unusual_patterns(day_rows, history),
        *sweep_volume(day_rows, history, default_limit(app)),
    ]


__all__ = [
    "AREA_ASSOCIATE_DAILY_DEFAULT",
    "RULES",
    "Finding",
    "SearchRow",
    "find",
    "orphan_case_numbers",
    "repeated_plates",
    "sweep_volume",
    "unusual_patterns",
]
