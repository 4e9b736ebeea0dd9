"""Report views of the log: the query log, query audits, misuse flags, the dissemination log, hits
by hotlist source, and public statistics. Each is a :class:`~projections.base.Projection` in the
registry, so ``alpr-ledger projections rebuild NAME`` replays it and a rebuild gives the same rows.

None of these rows holds a location or search criteria: ids, codes, counts, times, and the logins
and case numbers the audits are about (clear in the log as well). One column holds a plate:
``query_log.plate``, the normalised complete plate of a plate or associates search, which the misuse
check groups by (``ops.misuse``) without opening one Search per row. A purge of a search's key
clears it: ``criteria_purged`` marks the searches whose criteria are shredded (the query log's
retention has passed) and their ``plate`` becomes NULL in the same statement, then the runner makes
the change final on disk (``secure_delete`` / VACUUM FULL), like the read index; a rebuild gives
the same rows (their criteria arrive ``PURGED``).

Times are stored as UTC text ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` so text order is time order on both
backends.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from eventsourcing.utils import get_topic

from domain.camera import Camera
from domain.disclosure import Disclosure
from domain.hit import Hit
from domain.query_audit import MisuseFlag, QueryAudit
from domain.read import Read
from domain.retention import Purge
from domain.search import WILDCARDS, Search
from domain.values import is_purged, normalise_plate
from projections.base import Projection
from projections.registry import register
from projections.store import Cursor, ProjectionDB


def stamp(moment: datetime) -> str:
    """The sortable UTC text of ``moment``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _table(db: ProjectionDB, ddl: str) -> str:
    unlogged = "UNLOGGED " if db.dialect == "postgres" else ""
    return f"CREATE {unlogged}TABLE IF NOT EXISTS {ddl}"


class _Reports(Projection):
    """Tables declared as (name, columns) and created UNLOGGED on PostgreSQL."""

    ddl: ClassVar[tuple[str, ...]] = ()
    indexes: ClassVar[tuple[str, ...]] = ()

    def create(self, c: Cursor, db: ProjectionDB) -> None:
        for ddl in self.ddl:
            c.execute(_table(db, ddl))
        for index in self.indexes:
            c.execute(f"CREATE INDEX IF NOT EXISTS {index}")


# --------------------------------------------------------------------------------------------
# The query log (audits of searches, misuse detection)
# --------------------------------------------------------------------------------------------


def searched_plate(search_type: str, criteria: object) -> str | None:
    """The normalised complete plate a plate or associates search names; None for other types,
    partial patterns (wildcards) and purged criteria."""
    if search_type not in ("plate", "associates") or is_purged(criteria) or not isinstance(criteria, dict):
        return None
    plate = criteria.get("plate")
    if not isinstance(plate, str) or not plate or any(ch in WILDCARDS for ch in plate):
        return None
    return normalise_plate(plate) or None


class QueryLogProjection(_Reports):
    """One row per search: who, when, which type, purpose and case number, outcome, refusal, and
    the plate searched for (complete plates only) while the search's key lives."""

    name: ClassVar[str] = "query_log"
    version: ClassVar[int] = 2
    opens_sealed: ClassVar[bool] = True  # the plate column is read from the sealed criteria
    topics: ClassVar[tuple[str, ...]] = (
        get_topic(Search.Requested),
        get_topic(Search.Executed),
        get_topic(Search.Refused),
        get_topic(Search.Failed),
        get_topic(Purge.Executed),
    )
    tables: ClassVar[tuple[str, ...]] = ("rpt_query_log",)
    ddl = (
        "rpt_query_log (search_id TEXT PRIMARY KEY, requested_at TEXT NOT NULL, day TEXT NOT NULL,"
        " hour INTEGER NOT NULL, account_id TEXT NOT NULL, login TEXT NOT NULL, search_type TEXT NOT NULL,"
        " purpose TEXT NOT NULL, case_number TEXT, status TEXT NOT NULL, refusal_rule TEXT,"
        " refusal_clause TEXT, result_count BIGINT, criteria_purged INTEGER NOT NULL, plate TEXT)",
    )
    indexes = (
        "rpt_query_log_time ON rpt_query_log (requested_at)",
        "rpt_query_log_account ON rpt_query_log (account_id, requested_at)",
        "rpt_query_log_case ON rpt_query_log (case_number)",
    )

    def __init__(self, app: Any = None) -> None:
        self.app = app

    def apply(self, c: Cursor, db: ProjectionDB, events: Sequence[Any]) -> bool:
        cleared = False
        for e in events:
            sid = str(e.originator_id)
            if isinstance(e, Search.Requested):
                at = e.timestamp.astimezone(UTC)
                c.execute(
                    db.sql(
                        "INSERT INTO rpt_query_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'requested',"
                        " NULL, NULL, NULL, ?, ?) ON CONFLICT (search_id) DO NOTHING"
                    ),
                    (
                        sid,
                        stamp(at),
                        at.date().isoformat(),
                        at.hour,
                        str(e.account_id),
                        e.login,
                        e.search_type,
                        e.purpose,
                        e.case_number,
                        1 if is_purged(e.criteria) else 0,
                        searched_plate(e.search_type, e.criteria),
                    ),
                )
            elif isinstance(e, Search.Executed):
                c.execute(
                    db.sql(
                        "UPDATE rpt_query_log SET status = 'executed', result_count = ? WHERE search_id = ?"
                    ),
                    (e.result_count, sid),
                )
            elif isinstance(e, Search.Refused):
                c.execute(
                    db.sql(
                        "UPDATE rpt_query_log SET status = 'refused', refusal_rule = ?, refusal_clause = ?"
                        " WHERE search_id = ?"
                    ),
                    (e.rule, e.clause_ref, sid),
                )
            elif isinstance(e, Search.Failed):
                c.execute(db.sql("UPDATE rpt_query_log SET status = 'failed' WHERE search_id = ?"), (sid,))
            elif isinstance(e, Purge.Executed) and e.retention_class == "searches":
                if e.scope == "kek" and e.day:
                    c.execute(
                        db.sql("SELECT 1 FROM rpt_query_log WHERE day = ? AND plate IS NOT NULL LIMIT 1"),
                        (e.day,),
                    )
                    cleared = cleared or c.fetchone() is not None
                    c.execute(
                        db.sql("UPDATE rpt_query_log SET criteria_purged = 1, plate = NULL WHERE day = ?"),
                        (e.day,),
                    )
                ids = [(str(r),) for r in e.record_ids]
                if ids:
                    cleared = True
                    c.executemany(
                        db.sql(
                            "UPDATE rpt_query_log SET criteria_purged = 1, plate = NULL WHERE search_id = ?"
                        ),
                        ids,
                    )
        # True: the runner makes the cleared plates final on disk (secure_delete / VACUUM FULL)
        return cleared


class QueryAuditsProjection(_Reports):
    """One row per query audit: its period, where it stands, who opened and signed it off."""

    name: ClassVar[str] = "query_audits"
    topics: ClassVar[tuple[str, ...]] = tuple(
        get_topic(t)
        for t in (
            QueryAudit.Opened,
            QueryAudit.SampleDrawn,
            QueryAudit.Summarised,
            QueryAudit.SignedOff,
        )
    )
    tables: ClassVar[tuple[str, ...]] = ("rpt_query_audits",)
    ddl = (
        "rpt_query_audits (audit_id TEXT PRIMARY KEY, opened_at TEXT NOT NULL, period_from TEXT NOT NULL,"
        " period_to TEXT NOT NULL, opened_by_login TEXT NOT NULL, status TEXT NOT NULL, sample_size INTEGER,"
        " signed_off_at TEXT, signed_off_by_login TEXT)",
    )

    def __init__(self, app: Any = None) -> None:
        self.app = app

    def apply(self, c: Cursor, db: ProjectionDB, events: Sequence[Any]) -> bool:
        for e in events:
            aid = str(e.originator_id)
            if isinstance(e, QueryAudit.Opened):
                c.execute(
                    db.sql(
                        "INSERT INTO rpt_query_audits VALUES (?, ?, ?, ?, ?, 'opened', NULL, NULL, NULL)"
                        " ON CONFLICT (audit_id) DO NOTHING"
                    ),
                    (aid, stamp(e.timestamp), stamp(e.period_from), stamp(e.period_to), e.by_login),
                )
            elif isinstance(e, QueryAudit.SampleDrawn):
                c.execute(
                    db.sql(
                        "UPDATE rpt_query_audits SET status = 'sampled', sample_size = ? WHERE audit_id = ?"
                    ),
                    (len(e.search_ids), aid),
                )
            elif isinstance(e, QueryAudit.Summarised):
                c.execute(
                    db.sql("UPDATE rpt_query_audits SET status = 'summarised' WHERE audit_id = ?"), (aid,)
                )
            elif isinstance(e, QueryAudit.SignedOff):
                c.execute(
                    db.sql(
                        "UPDATE rpt_query_audits SET status = 'signed_off', signed_off_at = ?,"
                        " signed_off_by_login = ? WHERE audit_id = ?"
                    ),
                    (stamp(e.timestamp), e.by_login, aid),
                )
        return False


class MisuseFlagsProjection(_Reports):
    """One row per misuse flag, open until a supervisor acknowledges it."""

    name: ClassVar[str] = "misuse_flags"
    topics: ClassVar[tuple[str, ...]] = (get_topic(MisuseFlag.Raised), get_topic(MisuseFlag.Acknowledged))
    tables: ClassVar[tuple[str, ...]] = ("rpt_misuse_flags",)
    ddl = (
        "rpt_misuse_flags (flag_id TEXT PRIMARY KEY, raised_at TEXT NOT NULL, day TEXT NOT NULL,"
        " rule TEXT NOT NULL, account_id TEXT NOT NULL, login TEXT NOT NULL, search_ids TEXT NOT NULL,"
        " detail TEXT NOT NULL, acknowledged_at TEXT, acknowledged_by_login TEXT, note TEXT)",
    )

    def __init__(self, app: Any = None) -> None:
        self.app = app

    def apply(self, c: Cursor, db: ProjectionDB, events: Sequence[Any]) -> bool:
        for e in events:
            fid = str(e.originator_id)
            if isinstance(e, MisuseFlag.Raised):
                c.execute(
                    db.sql(
                        "INSERT INTO rpt_misuse_flags VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL)"
                        " ON CONFLICT (flag_id) DO NOTHING"
                    ),
                    (
                        fid,
                        stamp(e.timestamp),
                        e.day,
                        e.rule,
                        str(e.account_id),
                        e.login,
                        ",".join(e.search_ids),
                        e.detail,
                    ),
                )
            elif isinstance(e, MisuseFlag.Acknowledged):
                c.execute(
                    db.sql(
                        "UPDATE rpt_misuse_flags SET acknowledged_at = ?, acknowledged_by_login = ?, note = ?"
                        " WHERE flag_id = ?"
                    ),
                    (stamp(e.timestamp), e.by_login, e.note, fid),
                )
        return False


# --------------------------------------------------------------------------------------------
# Disclosures and hits
# --------------------------------------------------------------------------------------------


class DisclosureLogProjection(_Reports):
    """The dissemination log: one row per request for data from outside the agency and its fate.

    The requesting person and contact (sealed in the log) are not copied: the log names the agency,
    the purpose and legal basis, the decision and the release."""

    name: ClassVar[str] = "disclosure_log"
    topics: ClassVar[tuple[str, ...]] = tuple(
        get_topic(t)
        for t in (
            Disclosure.Requested,
            Disclosure.Refused,
            Disclosure.Approved,
            Disclosure.Denied,
            Disclosure.ApprovalRevoked,
            Disclosure.Released,
        )
    )
    tables: ClassVar[tuple[str, ...]] = ("rpt_disclosures",)
    ddl = (
        "rpt_disclosures (disclosure_id TEXT PRIMARY KEY, requested_at TEXT NOT NULL, kind TEXT NOT NULL,"
        " requesting_agency TEXT NOT NULL, purpose TEXT NOT NULL, legal_basis TEXT NOT NULL,"
        " case_number TEXT,"
        " requested_reads INTEGER NOT NULL, requested_by_login TEXT NOT NULL, status TEXT NOT NULL,"
        " decided_by_login TEXT, decided_at TEXT, decision_reference TEXT, refusal_rule TEXT,"
        " released_at TEXT, released_reads INTEGER, package_sha256 TEXT)",
    )
    indexes = ("rpt_disclosures_time ON rpt_disclosures (requested_at)",)

    def __init__(self, app: Any = None) -> None:
        self.app = app

    def apply(self, c: Cursor, db: ProjectionDB, events: Sequence[Any]) -> bool:
        for e in events:
            did = str(e.originator_id)
            if isinstance(e, Disclosure.Requested):
                c.execute(
                    db.sql(
                        "INSERT INTO rpt_disclosures VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'requested',"
                        " NULL, NULL, NULL, NULL, NULL, NULL, NULL) ON CONFLICT (disclosure_id) DO NOTHING"
                    ),
                    (
                        did,
                        stamp(e.timestamp),
                        e.kind,
                        e.requesting_agency,
                        e.purpose,
                        e.legal_basis,
                        e.case_number,
                        len(e.scope),
                        e.requested_by_login,
                    ),
                )
            elif isinstance(e, Disclosure.Refused):
                c.execute(
                    db.sql(
                        "UPDATE rpt_disclosures SET status = 'refused', refusal_rule = ?"
                        " WHERE disclosure_id = ?"
                    ),
                    (e.rule, did),
                )
            elif isinstance(e, (Disclosure.Approved, Disclosure.Denied, Disclosure.ApprovalRevoked)):
                status = {
                    Disclosure.Approved: "approved",
                    Disclosure.Denied: "denied",
                    Disclosure.ApprovalRevoked: "revoked",
                }[type(e)]
                c.execute(
                    db.sql(
                        "UPDATE rpt_disclosures SET status = ?, decided_by_login = ?, decided_at = ?,"
                        " decision_reference = COALESCE(?, decision_reference) WHERE disclosure_id = ?"
                    ),
                    (status, e.by_login, stamp(e.timestamp), getattr(e, "reference", None), did),
                )
            elif isinstance(e, Disclosure.Released):
                c.execute(
                    db.sql(
                        "UPDATE rpt_disclosures SET status = 'released', released_at = ?, released_reads = ?,"
                        " package_sha256 = ? WHERE disclosure_id = ?"
                    ),
                    (stamp(e.timestamp), len(e.read_ids), e.package_sha256, did),
                )
        return False


class HitsBySourceProjection(_Reports):
    """Hits and their dispositions by hotlist source, and reads per day (the ratio's denominator).
    Hit ids, sources, outcomes and days only: no plate, no read id."""

    name: ClassVar[str] = "hits_by_source"
    topics: ClassVar[tuple[str, ...]] = (
        get_topic(Hit.Raised),
        get_topic(Hit.Dispositioned),
        get_topic(Read.Captured),
    )
    tables: ClassVar[tuple[str, ...]] = ("rpt_hits", "rpt_reads_daily")
    opens_sealed: ClassVar[bool] = False  # days, sources, kinds and outcomes: all clear fields
    ddl = (
        "rpt_hits (hit_id TEXT PRIMARY KEY, day TEXT NOT NULL, hotlist_source TEXT NOT NULL,"
        " match_kind TEXT NOT NULL, outcome TEXT, dispositioned_at TEXT)",
        "rpt_reads_daily (day TEXT PRIMARY KEY, reads BIGINT NOT NULL)",
    )
    indexes = ("rpt_hits_day ON rpt_hits (day)",)

    def __init__(self, app: Any = None) -> None:
        self.app = app

    def apply(self, c: Cursor, db: ProjectionDB, events: Sequence[Any]) -> bool:
        reads: dict[str, int] = {}
        for e in events:
            if isinstance(e, Read.Captured):
                day = e.captured_at.astimezone(UTC).date().isoformat()
                reads[day] = reads.get(day, 0) + 1
            elif isinstance(e, Hit.Raised):
                c.execute(
                    db.sql(
                        "INSERT INTO rpt_hits VALUES (?, ?, ?, ?, NULL, NULL) ON CONFLICT (hit_id) DO NOTHING"
                    ),
                    (
                        str(e.originator_id),
                        e.captured_at.astimezone(UTC).date().isoformat(),
                        e.hotlist_source,
                        e.match_kind,
                    ),
                )
            elif isinstance(e, Hit.Dispositioned):
                c.execute(
                    db.sql("UPDATE rpt_hits SET outcome = ?, dispositioned_at = ? WHERE hit_id = ?"),
                    (e.outcome, stamp(e.timestamp), str(e.originator_id)),
                )
        _add_counts(c, db, "rpt_reads_daily", "day", "reads", reads)
        return False


def _add_counts(
    c: Cursor, db: ProjectionDB, table: str, key: str, column: str, counts: dict[str, int]
) -> None:
    if counts:
        c.executemany(
            db.sql(
                f"INSERT INTO {table} ({key}, {column}) VALUES (?, ?) ON CONFLICT ({key})"
                f" DO UPDATE SET {column} = {table}.{column} + excluded.{column}"
            ),
            sorted(counts.items()),
        )


# --------------------------------------------------------------------------------------------
# Public statistics
# --------------------------------------------------------------------------------------------


class PublicStatisticsProjection(_Reports):
    """Counts for the transparency portal (TCSO VIII.G): cameras by kind, reads and hits per day,
    searches by purpose, disclosures by recipient type, signed-off query audits. The camera and
    disclosure rows hold ids and kinds only, to count changes of state; nothing is published but
    counts and dates."""

    name: ClassVar[str] = "public_statistics"
    topics: ClassVar[tuple[str, ...]] = tuple(
        get_topic(t)
        for t in (
            Camera.Registered,
            Camera.TakenOutOfService,
            Camera.ReturnedToService,
            Read.Captured,
            Hit.Raised,
            Search.Requested,
            Disclosure.Requested,
            Disclosure.Released,
            QueryAudit.SignedOff,
        )
    )
    opens_sealed: ClassVar[bool] = False  # days, kinds and purposes: all clear fields
    tables: ClassVar[tuple[str, ...]] = (
        "pub_cameras",
        "pub_daily",
        "pub_searches",
        "pub_disclosures",
        "pub_audits",
    )
    ddl = (
        "pub_cameras (aggregate_id TEXT PRIMARY KEY, kind TEXT NOT NULL, in_service INTEGER NOT NULL)",
        "pub_daily (day TEXT PRIMARY KEY, reads BIGINT NOT NULL DEFAULT 0, hits BIGINT NOT NULL DEFAULT 0)",
        "pub_searches (purpose TEXT PRIMARY KEY, searches BIGINT NOT NULL)",
        "pub_disclosures (disclosure_id TEXT PRIMARY KEY, kind TEXT NOT NULL, released INTEGER NOT NULL)",
        "pub_audits (audit_id TEXT PRIMARY KEY, signed_off_at TEXT NOT NULL)",
    )

    def __init__(self, app: Any = None) -> None:
        self.app = app

    def apply(self, c: Cursor, db: ProjectionDB, events: Sequence[Any]) -> bool:
        reads: dict[str, int] = {}
        hits: dict[str, int] = {}
        purposes: dict[str, int] = {}
        for e in events:
            oid = str(e.originator_id)
            if isinstance(e, Read.Captured):
                day = e.captured_at.astimezone(UTC).date().isoformat()
                reads[day] = reads.get(day, 0) + 1
            elif isinstance(e, Hit.Raised):
                day = e.captured_at.astimezone(UTC).date().isoformat()
                hits[day] = hits.get(day, 0) + 1
            elif isinstance(e, Search.Requested):
                purposes[e.purpose] = purposes.get(e.purpose, 0) + 1
            elif isinstance(e, Camera.Registered):
                c.execute(
                    db.sql("INSERT INTO pub_cameras VALUES (?, ?, 1) ON CONFLICT (aggregate_id) DO NOTHING"),
                    (oid, e.kind),
                )
            elif isinstance(e, (Camera.TakenOutOfService, Camera.ReturnedToService)):
                flag = 1 if isinstance(e, Camera.ReturnedToService) else 0
                c.execute(db.sql("UPDATE pub_cameras SET in_service = ? WHERE aggregate_id = ?"), (flag, oid))
            elif isinstance(e, Disclosure.Requested):
                c.execute(
                    db.sql(
                        "INSERT INTO pub_disclosures VALUES (?, ?, 0) ON CONFLICT (disclosure_id) DO NOTHING"
                    ),
                    (oid, e.kind),
                )
            elif isinstance(e, Disclosure.Released):
                c.execute(db.sql("UPDATE pub_disclosures SET released = 1 WHERE disclosure_id = ?"), (oid,))
            elif isinstance(e, QueryAudit.SignedOff):
                c.execute(
                    db.sql("INSERT INTO pub_audits VALUES (?, ?) ON CONFLICT (audit_id) DO NOTHING"),
                    (oid, stamp(e.timestamp)),
                )
        _add_counts(c, db, "pub_daily", "day", "reads", reads)
        _add_counts(c, db, "pub_daily", "day", "hits", hits)
        _add_counts(c, db, "pub_searches", "purpose", "searches", purposes)
        return False


REPORT_PROJECTIONS: tuple[type[_Reports], ...] = (
    QueryLogProjection,
    QueryAuditsProjection,
    MisuseFlagsProjection,
    DisclosureLogProjection,
    HitsBySourceProjection,
    PublicStatisticsProjection,
)

for _projection in REPORT_PROJECTIONS:
    register(_projection.name, _projection)

__all__ = [
    "REPORT_PROJECTIONS",
    "DisclosureLogProjection",
    "HitsBySourceProjection",
    "MisuseFlagsProjection",
    "PublicStatisticsProjection",
    "QueryAuditsProjection",
    "QueryLogProjection",
    "searched_plate",
    "stamp",
]
