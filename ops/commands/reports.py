"""Reports of the record: query-log audits (the ``QueryAudit`` workflow), misuse flags, the
dissemination log, hits by hotlist source, and public statistics.

Every view is read from a projection of ``projections.reports`` after bringing it up to the log,
so a report always includes what was recorded before the call. Every step of an audit and every
flag is an event saved here, so the oversight itself is in the log and in the ledger.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError, RecordConflictError

from domain.account import Principal
from domain.errors import InvalidFieldError, NotFoundError
from domain.query_audit import (
    MAX_SEED,
    MisuseFlag,
    QueryAudit,
    draw_sample,
    parse_period,
    population_digest,
)
from domain.values import to_utc
from ops.commands.base import CommandsBase

PUBLIC_DAYS = 30
EARLIEST_DAY = date(2000, 1, 1)


def _seed() -> int:
    return secrets.randbelow(MAX_SEED + 1)


@dataclass(frozen=True, slots=True)
class ReviewView:
    search_id: str
    reviewer_login: str
    finding: str
    notes: str | None
    reviewed_at: datetime


@dataclass(frozen=True, slots=True)
class QueryAuditView:
    audit_id: UUID
    period_from: datetime
    period_to: datetime
    reason: str
    opened_by: str
    opened_at: datetime
    status: str
    seed: int | None
    population: int
    population_digest: str | None
    sample: list[str]
    reviews: list[ReviewView]
    summary: str | None
    signed_off_by: str | None
    signed_off_at: datetime | None
    statement: str | None

    @classmethod
    def of(cls, a: QueryAudit) -> QueryAuditView:
        return cls(
            audit_id=a.id,
            period_from=a.period_from,
            period_to=a.period_to,
            reason=a.reason,
            opened_by=a.opened_by_login,
            opened_at=a.opened_at,
            status=a.status,
            seed=a.seed,
            population=a.population,
            population_digest=a.population_digest,
            sample=list(a.sample),
            reviews=[
                ReviewView(r.search_id, r.reviewer_login, r.finding, r.notes, r.at)
                for r in (a.reviews[i] for i in a.sample if i in a.reviews)
            ],
            summary=a.summary,
            signed_off_by=a.signed_off_by_login,
            signed_off_at=a.signed_off_at,
            statement=a.statement,
        )


@dataclass(frozen=True, slots=True)
class MisuseFlagView:
    flag_id: UUID
    rule: str
    day: date
    account_id: UUID
    login: str
    search_ids: list[UUID]
    detail: str
    raised_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    note: str | None


@dataclass(frozen=True, slots=True)
class Report:
    """A report as named counts and rows (plain JSON values)."""

    body: dict[str, Any] = field(default_factory=dict)


def _parse_stamp(text: str | None) -> datetime | None:
    return None if text is None else datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _window(start: datetime | None, end: datetime | None) -> tuple[str, str]:
    """The stamps of an optional ``[from, to)``."""
    from projections.reports import stamp

    lo = "" if start is None else stamp(to_utc(start, field="from", rule="time"))
    hi = "~" if end is None else stamp(to_utc(end, field="to", rule="time"))
    if start is not None and end is not None and hi <= lo:
        raise InvalidFieldError("to", "time.window", "must be later than from")
    return lo, hi


class ReportCommands(CommandsBase):
    audit_seed: Callable[[], int] = staticmethod(_seed)
    """Where an audit's seed comes from when the caller gives none (tests may set their own)."""

    # ---- projections ---------------------------------------------------------------------------

    def _report_rows(self, projection: str, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        from projections.registry import runner

        runner(self, projection).catch_up()
        db = self.projection_db
        assert db is not None  # set by the composition root
        with db.read() as c:
            c.execute(db.sql(sql), params)
            return list(c.fetchall())

    def _get_of(self, aggregate_id: UUID, kind: type[Any], field_name: str, rule: str) -> Any:
        found: object
        try:
            found = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            found = None
        if not isinstance(found, kind):
            raise NotFoundError(field_name, rule, f"no {kind.__name__} has this id")
        return found

    # ---- query-log audits ----------------------------------------------------------------------

    def query_log_report(self, start: datetime | None = None, end: datetime | None = None) -> Report:
        """Searches of ``[start, end)`` per account, type, purpose and case number; refusals."""
        lo, hi = _window(start, end)
        rows = self._report_rows(
            "query_log",
            "SELECT search_id, account_id, login, search_type, purpose, case_number, status, refusal_rule,"
            " refusal_clause, criteria_purged FROM rpt_query_log WHERE requested_at >= ? AND requested_at < ?"
            " ORDER BY requested_at, search_id",
            (lo, hi),
        )
        accounts: dict[str, dict[str, Any]] = {}
        purposes: dict[str, int] = {}
        types: dict[str, int] = {}
        cases: dict[str, int] = {}
        refusals: dict[tuple[str, str], int] = {}
        statuses: dict[str, int] = {}
        for _sid, account, login, stype, purpose, case, status, rule, clause, _purged in rows:
            a = accounts.setdefault(
                str(account), {"account_id": str(account), "login": login, "searches": 0, "refused": 0}
            )
            a["searches"] += 1
            if status == "refused":
                a["refused"] += 1
                refusals[(rule, clause)] = refusals.get((rule, clause), 0) + 1
            purposes[purpose] = purposes.get(purpose, 0) + 1
            types[stype] = types.get(stype, 0) + 1
            statuses[status] = statuses.get(status, 0) + 1
            if case is not None:
                cases[case] = cases.get(case, 0) + 1
        return Report(
            {
                "from": start,
                "to": end,
                "searches": len(rows),
                "by_status": statuses,
                "criteria_purged": sum(1 for r in rows if r[9]),
                "by_account": sorted(accounts.values(), key=lambda a: (-a["searches"], a["login"])),
                "by_purpose": [{"purpose": k, "searches": v} for k, v in sorted(purposes.items())],
                "by_type": [{"search_type": k, "searches": v} for k, v in sorted(types.items())],
                "case_numbers": [{"case_number": k, "searches": v} for k, v in sorted(cases.items())],
                "refusals": [{"rule": r, "clause": c, "count": n} for (r, c), n in sorted(refusals.items())],
            }
        )

    def _population(self, audit: QueryAudit) -> dict[str, str]:
        from projections.reports import stamp

        rows = self._report_rows(
            "query_log",
            "SELECT search_id, account_id FROM rpt_query_log WHERE requested_at >= ? AND requested_at < ?",
            (stamp(audit.period_from), stamp(audit.period_to)),
        )
        return {str(r[0]): str(r[1]) for r in rows}

    def _own_searches(self, account_id: UUID, start: datetime, end: datetime) -> int:
        """How many searches ``account_id`` requested in ``[start, end)`` (refused ones too)."""
        from projections.reports import stamp

        rows = self._report_rows(
            "query_log",
            "SELECT COUNT(*) FROM rpt_query_log WHERE account_id = ? AND requested_at >= ?"
            " AND requested_at < ?",
            (str(account_id), stamp(start), stamp(end)),
        )
        return int(rows[0][0])

    def _audit(self, audit_id: UUID) -> QueryAudit:
        audit: QueryAudit = self._get_of(audit_id, QueryAudit, "audit_id", "audit.unknown")
        return audit

    def open_query_audit(
        self, period_from: object, period_to: object, reason: object, *, actor: Principal
    ) -> QueryAuditView:
        """Refused to an actor who searched in the period (independence, ``check_independent``)."""
        now = self.clock()
        start, end = parse_period(period_from, period_to, now=now)
        audit = QueryAudit.open(
            period_from=period_from,
            period_to=period_to,
            reason=reason,
            by=actor.account_id,
            by_login=actor.login,
            now=now,
            own_searches=self._own_searches(actor.account_id, start, end),
        )
        self.save(audit)
        return QueryAuditView.of(audit)

    def draw_audit_sample(self, audit_id: UUID, size: object, *, actor: Principal) -> QueryAuditView:
        """Draw the sample with a seed the service picks and records. Never the caller's: someone
        who sees the population could try seeds until the sample leaves out the searches they want
        unseen. The recorded seed lets anyone redraw the same sample from the log."""
        audit = self._audit(audit_id)
        audit.draw(
            self._population(audit), size=size, seed=self.audit_seed(), by=actor.account_id, now=self.clock()
        )
        self.save(audit)
        return QueryAuditView.of(audit)

    def check_audit_sample(self, audit_id: UUID) -> bool:
        """Redraw the sample from the log with the recorded seed: True when it is the same."""
        audit = self._audit(audit_id)
        if audit.seed is None:
            return False
        population = self._population(audit)
        return population_digest(population) == audit.population_digest and draw_sample(
            population, audit.seed, len(audit.sample)
        ) == list(audit.sample)

    def review_audited_search(
        self, audit_id: UUID, search_id: object, finding: object, notes: object, *, actor: Principal
    ) -> QueryAuditView:
        audit = self._audit(audit_id)
        audit.review(
            search_id,
            finding=finding,
            notes=notes,
            by=actor.account_id,
            by_login=actor.login,
            now=self.clock(),
            own_searches=self._own_searches(actor.account_id, audit.period_from, audit.period_to),
        )
        self.save(audit)
        return QueryAuditView.of(audit)

    def summarise_query_audit(self, audit_id: UUID, summary: object, *, actor: Principal) -> QueryAuditView:
        audit = self._audit(audit_id)
        audit.summarise(
            summary,
            by=actor.account_id,
            by_login=actor.login,
            now=self.clock(),
            own_searches=self._own_searches(actor.account_id, audit.period_from, audit.period_to),
        )
        self.save(audit)
        return QueryAuditView.of(audit)

    def sign_off_query_audit(self, audit_id: UUID, statement: object, *, actor: Principal) -> QueryAuditView:
        audit = self._audit(audit_id)
        audit.sign_off(statement=statement, by=actor.account_id, by_login=actor.login, now=self.clock())
        self.save(audit)
        return QueryAuditView.of(audit)

    def get_query_audit(self, audit_id: UUID) -> QueryAuditView:
        return QueryAuditView.of(self._audit(audit_id))

    def list_query_audits(self) -> list[QueryAuditView]:
        rows = self._report_rows(
            "query_audits", "SELECT audit_id FROM rpt_query_audits ORDER BY opened_at, audit_id"
        )
        return [self.get_query_audit(UUID(r[0])) for r in rows]

    # ---- misuse flags ---------------------------------------------------------------------------

    def raise_misuse_flags(self, day: date | None = None) -> list[MisuseFlagView]:
        """Check one UTC day (default: today by the service clock); save a flag per new finding.
        Returns the flags raised by this run (none for findings flagged by an earlier run)."""
        from ops import misuse
        from projections.registry import runner

        today = self.clock().astimezone(UTC).date()
        day = today if day is None else day
        if day > today:
            raise InvalidFieldError("day", "misuse.day.future", "must not be later than today (UTC)")
        if day < EARLIEST_DAY:
            raise InvalidFieldError("day", "misuse.day.range", f"must be {EARLIEST_DAY.isoformat()} or later")
        runner(self, "query_log").catch_up()
        raised: list[MisuseFlag] = []
        for f in misuse.find(self, day, day_ended=day < today):
            flag = MisuseFlag.raise_flag(
                rule=f.rule,
                day=day,
                account_id=UUID(f.account_id),
                login=f.login,
                search_ids=f.search_ids,
                detail=f.detail,
                metrics=f.metrics,
                now=self.clock(),
                key=f.key,
            )
            try:
                self.repository.get(flag.id)
                continue  # raised by an earlier run
            except AggregateNotFoundError:
                pass
            try:
                self.save(flag)
            except (IntegrityError, RecordConflictError):
                continue  # another process raised it a moment ago
            raised.append(flag)
        return [self._flag_view(f) for f in raised]

    def _flag_view(self, f: MisuseFlag) -> MisuseFlagView:
        return MisuseFlagView(
            flag_id=f.id,
            rule=f.rule,
            day=date.fromisoformat(f.day),
            account_id=f.account_id,
            login=f.login,
            search_ids=[UUID(s) for s in f.search_ids],
            detail=f.detail,
            raised_at=f.raised_at,
            acknowledged_by=f.acknowledged_by_login,
            acknowledged_at=f.acknowledged_at,
            note=f.note,
        )

    def list_misuse_flags(self, *, open_only: bool = False) -> list[MisuseFlagView]:
        where = " WHERE acknowledged_at IS NULL" if open_only else ""
        rows = self._report_rows(
            "misuse_flags",
            "SELECT flag_id, rule, day, account_id, login, search_ids, detail, raised_at,"
            " acknowledged_by_login, acknowledged_at, note FROM rpt_misuse_flags"
            f"{where} ORDER BY raised_at, flag_id",
        )
        return [
            MisuseFlagView(
                flag_id=UUID(r[0]),
                rule=r[1],
                day=date.fromisoformat(r[2]),
                account_id=UUID(r[3]),
                login=r[4],
                search_ids=[UUID(s) for s in r[5].split(",") if s],
                detail=r[6],
                raised_at=_parse_stamp(r[7]) or datetime.min.replace(tzinfo=UTC),
                acknowledged_by=r[8],
                acknowledged_at=_parse_stamp(r[9]),
                note=r[10],
            )
            for r in rows
        ]

    def acknowledge_misuse_flag(self, flag_id: UUID, note: object, *, actor: Principal) -> MisuseFlagView:
        flag: MisuseFlag = self._get_of(flag_id, MisuseFlag, "flag_id", "misuse.flag.unknown")
        flag.acknowledge(note=note, by=actor.account_id, by_login=actor.login, now=self.clock())
        self.save(flag)
        return self._flag_view(flag)

    # ---- disclosures and hits -------------------------------------------------------------------

    def disclosure_log(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> list[dict[str, Any]]:
        lo, hi = _window(start, end)
        rows = self._report_rows(
            "disclosure_log",
            "SELECT disclosure_id, requested_at, kind, requesting_agency, purpose, legal_basis, case_number,"
            " requested_reads, requested_by_login, status, decided_by_login, decided_at, decision_reference,"
            " refusal_rule, released_at, released_reads, package_sha256 FROM rpt_disclosures"
            " WHERE requested_at >= ? AND requested_at < ? ORDER BY requested_at, disclosure_id",
            (lo, hi),
        )
        names = (
            "disclosure_id requested_at kind requesting_agency purpose legal_basis case_number"
            " requested_reads requested_by_login status decided_by_login decided_at decision_reference"
            " refusal_rule released_at released_reads package_sha256"
        ).split()
        out = []
        for r in rows:
            item = dict(zip(names, r, strict=True))
            for key in ("requested_at", "decided_at", "released_at"):
                item[key] = _parse_stamp(item[key])
            out.append(item)
        return out

    def hits_by_source(self, start: date | None = None, end: date | None = None) -> Report:
        """Hits by hotlist source over capture days ``[start, end)``: dispositions and ratios."""
        if start is not None and end is not None and end <= start:
            raise InvalidFieldError("to", "time.window", "must be later than from")
        lo = "" if start is None else start.isoformat()
        hi = "~" if end is None else end.isoformat()
        rows = self._report_rows(
            "hits_by_source",
            "SELECT hotlist_source, outcome, COUNT(*) FROM rpt_hits WHERE day >= ? AND day < ?"
            " GROUP BY hotlist_source, outcome",
            (lo, hi),
        )
        reads_row = self._report_rows(
            "hits_by_source",
            "SELECT COALESCE(SUM(reads), 0) FROM rpt_reads_daily WHERE day >= ? AND day < ?",
            (lo, hi),
        )
        reads = int(reads_row[0][0])
        sources: dict[str, dict[str, Any]] = {}
        for source, outcome, count in rows:
            s = sources.setdefault(source, {"source": source, "hits": 0, "dispositioned": 0, "outcomes": {}})
            s["hits"] += int(count)
            if outcome is not None:
                s["dispositioned"] += int(count)
                s["outcomes"][outcome] = s["outcomes"].get(outcome, 0) + int(count)
        for s in sources.values():
            s["hit_ratio"] = s["hits"] / reads if reads else None
            confirmed = s["outcomes"].get("confirmed", 0)
            s["confirmed_ratio"] = confirmed / s["dispositioned"] if s["dispositioned"] else None
        return Report(
            {"from": start, "to": end, "reads": reads, "sources": [sources[k] for k in sorted(sources)]}
        )

    # ---- public statistics ---------------------------------------------------------------------

    def public_statistics(self) -> Report:
        """Counts and dates only: no plate, person, account, place or case number."""
        from projections.registry import runner

        runner(self, "public_statistics").catch_up()
        runner(self, "query_audits").catch_up()
        today = self.clock().astimezone(UTC).date()
        first = today - timedelta(days=PUBLIC_DAYS - 1)
        rows = self._report_rows(
            "public_statistics",
            "SELECT day, reads, hits FROM pub_daily WHERE day >= ? AND day <= ?",
            (first.isoformat(), today.isoformat()),
        )
        daily = {r[0]: (int(r[1]), int(r[2])) for r in rows}
        days = [(first + timedelta(days=i)).isoformat() for i in range(PUBLIC_DAYS)]
        cameras = self._report_rows(
            "public_statistics", "SELECT kind, COUNT(*), SUM(in_service) FROM pub_cameras GROUP BY kind"
        )
        searches = self._report_rows("public_statistics", "SELECT purpose, searches FROM pub_searches")
        disclosures = self._report_rows(
            "public_statistics", "SELECT kind, COUNT(*), SUM(released) FROM pub_disclosures GROUP BY kind"
        )
        audit = self._report_rows("public_statistics", "SELECT MAX(signed_off_at) FROM pub_audits")
        last = _parse_stamp(audit[0][0]) if audit and audit[0][0] else None
        policy = self.policy
        return Report(
            {
                "generated_at": self.clock().astimezone(UTC),
                "profile": policy.name,
                "read_retention_days": policy.read_retention.value.days,
                "query_log_retention_days": policy.query_log_retention.value.days,
                "cameras_by_kind": [
                    {"kind": k, "cameras": int(n), "in_service": int(s or 0)} for k, n, s in sorted(cameras)
                ],
                "daily": [
                    {"day": d, "reads": daily.get(d, (0, 0))[0], "hits": daily.get(d, (0, 0))[1]}
                    for d in days
                ],
                "searches_by_purpose": [{"purpose": p, "searches": int(n)} for p, n in sorted(searches)],
                "disclosures_by_recipient_type": [
                    {"recipient_type": k, "requests": int(n), "released": int(s or 0)}
                    for k, n, s in sorted(disclosures)
                ],
                "last_query_audit_signed_off": None if last is None else last.date(),
            }
        )


__all__ = ["MisuseFlagView", "QueryAuditView", "ReportCommands", "Report", "ReviewView"]
