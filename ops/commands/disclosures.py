"""Disclosures: requests, decisions by the role the profile names, releases as verifiable packages,
routine designations and unauthorized-disclosure reports (issue 4).

Listings read the notification log by topic and load the aggregates they name; the projections
issue replaces that with a view.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from domain.account import Principal
from domain.disclosure import (
    DESIGNATED_ROUTINE,
    DesignateRoutine,
    Disclosure,
    DisclosureStatus,
    ReportUnauthorizedDisclosure,
    RequestDisclosure,
    RoutineDesignation,
    UnauthorizedDisclosure,
    check_designation_usable,
    check_may_record_report_to_cpo,
    prohibited_ground,
    validate_request,
)
from domain.errors import ConflictError, InvalidFieldError, NotFoundError
from domain.read import Read
from domain.values import is_purged
from ops.commands.base import CommandsBase

if TYPE_CHECKING:
    from ledger.checkpoints import Checkpointer
    from ledger.store import LedgerStore

A = TypeVar("A", bound=Aggregate)

_PAGE = 1000
_READ_CAPTURED = get_topic(Read.Captured)


@dataclass(frozen=True, slots=True)
class ReleaseResult:
    disclosure: Disclosure
    package_dir: Path
    package_sha256: str
    checkpoint_size: int


@dataclass(frozen=True, slots=True)
class DisseminationEntry:
    """One release outside the agency: who received what, why and on whose approval (IACP D.1,
    MPTC D.3: "the reason(s) and identity of the authorized requesting person or agency")."""

    disclosure_id: UUID
    released_at: datetime
    requesting_agency: str
    requesting_person: str
    purpose: str
    legal_basis: str
    case_number: str | None
    kind: str
    read_ids: tuple[UUID, ...]
    package_sha256: str
    released_by: str
    approved_by: str
    approval_reference: str


class DisclosureCommands(CommandsBase):
    packages_root: Path | None = None  # the composition root sets ALPR_DATA_DIR/packages

    # -- requests and decisions --------------------------------------------------------------

    def request_disclosure(self, cmd: RequestDisclosure, *, by: Principal) -> Disclosure:
        """Record a request; a prohibited purpose is recorded as requested and refused, then raised."""
        valid = validate_request(cmd, self.policy)
        now = self.clock()
        self._check_reads_exist(valid.scope)
        disclosure = Disclosure.request(valid, self.policy, by=by.account_id, by_login=by.login, now=now)
        ground = prohibited_ground(self.policy, valid.purpose)
        if ground is not None:
            error = disclosure.refuse(ground, now=now)
            self.save(disclosure)
            raise error
        if valid.legal_basis == DESIGNATED_ROUTINE:
            assert valid.routine_designation_id is not None  # validate_request requires it
            designation = self._find(RoutineDesignation, valid.routine_designation_id)
            check_designation_usable(designation, valid.routine_designation_id, valid.purpose)
        self.save(disclosure)
        return disclosure

    def approve_disclosure(
        self, disclosure_id: UUID, *, by: Principal, reference: str, scope: Sequence[str | UUID] | None = None
    ) -> Disclosure:
        disclosure = self.get_disclosure(disclosure_id)
        if disclosure.routine_designation_id is not None:
            # The designation may have been withdrawn since the request.
            designation = self._find(RoutineDesignation, disclosure.routine_designation_id)
            check_designation_usable(designation, disclosure.routine_designation_id, disclosure.purpose)
        disclosure.approve(
            self.policy,
            by=by.account_id,
            by_login=by.login,
            roles=by.roles,
            reference=reference,
            scope=None if scope is None else list(scope),
            now=self.clock(),
        )
        self._save_decision(disclosure)
        return disclosure

    def deny_disclosure(
        self, disclosure_id: UUID, *, by: Principal, reference: str, reason: str
    ) -> Disclosure:
        disclosure = self.get_disclosure(disclosure_id)
        disclosure.deny(
            self.policy,
            by=by.account_id,
            by_login=by.login,
            roles=by.roles,
            reference=reference,
            reason=reason,
            now=self.clock(),
        )
        self._save_decision(disclosure)
        return disclosure

    def revoke_disclosure_approval(self, disclosure_id: UUID, *, by: Principal, reason: str) -> Disclosure:
        disclosure = self.get_disclosure(disclosure_id)
        disclosure.revoke_approval(
            self.policy, by=by.account_id, by_login=by.login, roles=by.roles, reason=reason, now=self.clock()
        )
        self._save_decision(disclosure)
        return disclosure

    def get_disclosure(self, disclosure_id: UUID) -> Disclosure:
        found = self._find(Disclosure, disclosure_id)
        if found is None:
            raise NotFoundError("disclosure_id", "disclosure.not_found", f"no disclosure {disclosure_id}")
        return found

    def list_disclosures(self, *, status: str | None = None, limit: int = 100) -> list[Disclosure]:
        """Disclosures, newest request first."""
        found = [
            d
            for d in self._all(Disclosure, Disclosure.Requested)
            if status is None or d.status.value == status
        ]
        found.sort(key=lambda d: d.requested_at, reverse=True)
        return found[:limit]

    # -- release -----------------------------------------------------------------------------

    def release_disclosure(
        self,
        disclosure_id: UUID,
        *,
        by: Principal,
        read_ids: Sequence[str | UUID] | None = None,
        out: Path | None = None,
    ) -> ReleaseResult:
        """Write the release package and record the release.

        Only an approval that still stands, and only reads inside the approved scope (all of it by
        default). The package goes to ``out`` or ``<packages root>/<disclosure id>``; it is written
        beside its final place and moved there only after the ``Released`` event is stored, so a
        refused or failed release leaves no package behind.
        """
        from ledger.package import PackageRecord, locate_entries, write_package

        disclosure = self.get_disclosure(disclosure_id)
        if disclosure.routine_designation_id is not None:
            # A designation withdrawn after approval no longer covers the release (nothing is
            # released on a basis that was found wanting).
            designation = self._find(RoutineDesignation, disclosure.routine_designation_id)
            check_designation_usable(designation, disclosure.routine_designation_id, disclosure.purpose)
        released = disclosure.check_release(None if read_ids is None else [str(r) for r in read_ids])
        final = out if out is not None else self.package_dir(disclosure_id)
        if final.exists() and any(final.iterdir()):
            raise ConflictError("out", "disclosure.package.exists", f"{final} already holds files")
        # Only the sealed bytes go into the package at rest; readable copies are rendered at download.
        states = {read_id: self._captured(read_id)[0] for read_id in released}
        checkpoint = self._checkpointer().checkpoint()
        store = self._ledger()
        located = locate_entries(store, [str(r) for r in released], checkpoint.size)
        records: list[PackageRecord] = []
        for read_id in released:
            key = str(read_id)
            if key not in located:  # a read is always stored with its entry: the log is broken
                raise RuntimeError(f"read {read_id} has no ledger entry below size {checkpoint.size}")
            entry = located[key]
            leaf, proof = store.inclusion_proof(entry.index, checkpoint.size)
            stored = states[read_id]
            records.append(
                PackageRecord(key, stored.topic, stored.state, entry.index, entry.entry, leaf, proof)
            )
        now = self.clock()
        approval = disclosure.approval
        assert approval is not None  # check_release passed: approved
        signer = self._checkpointer().signer
        staging = final.with_name(f".{final.name}.{uuid4().hex}.partial")
        try:
            digest = write_package(
                staging,
                origin=signer.origin,
                vkey=signer.vkey,
                checkpoint_note=checkpoint.note,
                checkpoint_size=checkpoint.size,
                disclosure={
                    "disclosure_id": str(disclosure.id),
                    "recipient": {
                        "agency": disclosure.requesting_agency,
                        "person": disclosure.requesting_person,
                        "contact": disclosure.contact,
                    },
                    "purpose": disclosure.purpose,
                    "case_number": disclosure.case_number,
                    "legal_basis": disclosure.legal_basis,
                    "kind": disclosure.kind.value,
                    "approval": {
                        "by": approval.by_login,
                        "role": approval.role,
                        "reference": approval.reference,
                    },
                    "released_at": now.isoformat(),
                    "released_by": by.login,
                },
                records=records,
            )
            disclosure.record_release(
                by=by.account_id,
                by_login=by.login,
                package_sha256=digest,
                read_ids=released,
                checkpoint_size=checkpoint.size,
                now=now,
            )
            try:
                self.save(disclosure)
            except IntegrityError:
                raise ConflictError(
                    "disclosure",
                    "disclosure.concurrent_change",
                    "the disclosure changed meanwhile; reload and retry",
                ) from None
            if final.exists():
                final.rmdir()  # empty, checked above
            staging.replace(final)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        return ReleaseResult(disclosure, final, digest, checkpoint.size)

    def package_dir(self, disclosure_id: UUID) -> Path:
        root = self.packages_root
        if root is None:
            # Until the composition root sets it: the data directory holding the blob store.
            root = Path(getattr(self, "blobs").root).parent / "packages"  # noqa: B009
        return root / str(disclosure_id)

    def package_zip(self, disclosure_id: UUID) -> bytes:
        """The released package of a disclosure as a zip archive, with each record's readable copy
        (``records/<read id>.json``) rendered now from the sealed record.

        The copies are not kept on disk (they would outlive a purge in plaintext): rendered here,
        a read whose key retention destroyed shows as purged, with when and under which clause.
        """
        import json

        from ledger.package import readable_json, zip_package

        disclosure = self.get_disclosure(disclosure_id)
        if disclosure.status is not DisclosureStatus.RELEASED:
            raise NotFoundError(
                "disclosure_id", "disclosure.package.not_released", "the disclosure has not been released"
            )
        path = self.package_dir(disclosure_id)
        if not (path / "manifest.json").is_file():
            raise NotFoundError(
                "disclosure_id",
                "disclosure.package.missing",
                f"the package is not on this server ({path.name})",
            )
        try:
            manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
            read_ids = [UUID(record["read_id"]) for record in manifest["records"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise RuntimeError(
                f"the package manifest of disclosure {disclosure_id} is unreadable: {exc}"
            ) from None
        # Names built from the ids, as write_package names them (never a path taken from a file).
        rendered = {
            f"records/{read_id}.json": readable_json(self._captured(read_id)[1]) for read_id in read_ids
        }
        return zip_package(path, extra=rendered)

    def dissemination_log(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> list[DisseminationEntry]:
        """Every release in [since, until), oldest first (IACP D.1, MPTC D.3)."""
        for name, value in (("from", since), ("to", until)):
            if value is not None and value.utcoffset() is None:
                raise InvalidFieldError(name, "datetime.naive", "must carry a UTC offset")
        entries: list[DisseminationEntry] = []
        for disclosure in self._all(Disclosure, Disclosure.Released):
            release, approval = disclosure.release, disclosure.approval
            if release is None or approval is None:
                continue
            if (since is not None and release.at < since) or (until is not None and release.at >= until):
                continue
            entries.append(
                DisseminationEntry(
                    disclosure_id=disclosure.id,
                    released_at=release.at,
                    requesting_agency=disclosure.requesting_agency,
                    requesting_person=disclosure.requesting_person,
                    purpose=disclosure.purpose,
                    legal_basis=disclosure.legal_basis,
                    case_number=disclosure.case_number,
                    kind=disclosure.kind.value,
                    read_ids=release.read_ids,
                    package_sha256=release.package_sha256,
                    released_by=release.by_login,
                    approved_by=approval.by_login,
                    approval_reference=approval.reference,
                )
            )
        entries.sort(key=lambda e: e.released_at)
        return entries

    # -- routine designations ----------------------------------------------------------------

    def designate_routine(self, cmd: DesignateRoutine, *, by: Principal) -> RoutineDesignation:
        designation = RoutineDesignation.designate(
            cmd, self.policy, by=by.account_id, by_login=by.login, roles=by.roles, now=self.clock()
        )
        self.save(designation)
        return designation

    def withdraw_routine_designation(
        self, designation_id: UUID, *, by: Principal, reason: str
    ) -> RoutineDesignation:
        designation = self._find(RoutineDesignation, designation_id)
        if designation is None:
            raise NotFoundError(
                "designation_id", "routine.not_found", f"no routine designation {designation_id}"
            )
        designation.withdraw(
            by=by.account_id, by_login=by.login, roles=by.roles, reason=reason, now=self.clock()
        )
        self._save_decision(designation)
        return designation

    def list_routine_designations(self) -> list[RoutineDesignation]:
        found = self._all(RoutineDesignation, RoutineDesignation.Designated)
        found.sort(key=lambda d: d.created_on)
        return found

    # -- unauthorized disclosures ------------------------------------------------------------

    def report_unauthorized_disclosure(
        self, cmd: ReportUnauthorizedDisclosure, *, by: Principal
    ) -> UnauthorizedDisclosure:
        if cmd.reported_to_cpo_at is not None:
            check_may_record_report_to_cpo(by.roles)
        report = UnauthorizedDisclosure.report(
            cmd, self.policy, by=by.account_id, by_login=by.login, now=self.clock()
        )
        self.save(report)
        return report

    def record_unauthorized_report_to_cpo(
        self, report_id: UUID, *, reported_at: datetime, by: Principal
    ) -> UnauthorizedDisclosure:
        check_may_record_report_to_cpo(by.roles)
        report = self._find(UnauthorizedDisclosure, report_id)
        if report is None:
            raise NotFoundError(
                "report_id", "unauthorized.not_found", f"no unauthorized-disclosure report {report_id}"
            )
        report.record_report_to_cpo(reported_at, by=by.account_id, by_login=by.login, now=self.clock())
        self._save_decision(report)
        return report

    def list_unauthorized_disclosures(self, *, overdue: bool | None = None) -> list[UnauthorizedDisclosure]:
        """Reports, newest discovery first; ``overdue`` filters on the 24-hour flag."""
        now = self.clock()
        found = [
            r
            for r in self._all(UnauthorizedDisclosure, UnauthorizedDisclosure.Reported)
            if overdue is None or r.overdue(now) == overdue
        ]
        found.sort(key=lambda r: r.discovered_at, reverse=True)
        return found

    # -- helpers -----------------------------------------------------------------------------

    def _find(self, kind: type[A], aggregate_id: UUID) -> A | None:
        try:
            found = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, kind) else None

    def _all(self, kind: type[A], created: type[Any]) -> list[A]:
        topic = get_topic(created)
        found: list[A] = []
        start = 1
        while True:
            page = self.recorder.select_notifications(start, _PAGE, topics=[topic])
            for notification in page:
                aggregate = self._find(kind, notification.originator_id)
                if aggregate is not None:
                    found.append(aggregate)
            if len(page) < _PAGE:
                return found
            start = page[-1].id + 1

    def _save_decision(self, aggregate: Aggregate) -> None:
        try:
            self.save(aggregate)
        except IntegrityError:
            raise ConflictError(
                "disclosure",
                "disclosure.concurrent_change",
                "changed by someone else meanwhile; reload and retry",
            ) from None

    def _check_reads_exist(self, scope: Sequence[UUID]) -> None:
        for i, read_id in enumerate(scope):
            stored = self.recorder.select_events(read_id, lte=1, limit=1)
            if not stored or stored[0].topic != _READ_CAPTURED:
                raise InvalidFieldError(f"scope[{i}]", "disclosure.scope.unknown_read", f"no read {read_id}")

    def _captured(self, read_id: UUID) -> tuple[Any, dict[str, Any]]:
        """The stored ``Captured`` event of a read (exact bytes) and a readable copy of it."""
        stored = self.recorder.select_events(read_id, lte=1, limit=1)
        if not stored or stored[0].topic != _READ_CAPTURED:
            raise NotFoundError(
                "read_ids", "disclosure.release.read_missing", f"read {read_id} is not stored"
            )
        event = self.mapper.to_domain_event(stored[0])
        readable = {"read_id": str(read_id), "event": type(event).__qualname__}
        readable.update({f.name: getattr(event, f.name) for f in dataclasses.fields(event)})
        if any(is_purged(v) for v in readable.values()):
            # Shredded: the package says so, with when and why; the sealed bytes stay for the proof.
            readable = {k: None if is_purged(v) else v for k, v in readable.items()}
            lookup = getattr(self, "purge_info", None)
            info = None if lookup is None else lookup(read_id)
            readable["purged"] = (
                {"destroyed_at": None, "rule": None, "clause": None, "profile": None, "due_at": None}
                if info is None
                else {
                    "destroyed_at": info.destroyed_at,
                    "rule": info.rule,
                    "clause": info.clause,
                    "profile": info.profile,
                    "due_at": info.due_at,
                }
            )
        return stored[0], readable

    def _ledger(self) -> LedgerStore:
        store = getattr(self, "ledger", None)
        if store is None:
            from ops.bootstrap import ledger_store

            store = ledger_store(self)  # type: ignore[arg-type]  # self is the AlprLedger
            self.ledger = store
        return store

    def _checkpointer(self) -> Checkpointer:
        checkpointer = getattr(self, "checkpointer", None)
        if checkpointer is None:
            raise RuntimeError("the composition root must set app.checkpointer before releasing disclosures")
        return checkpointer
