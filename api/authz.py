"""Who may do what: each route names one permission; this table says which roles hold it.

Data, not branches: the authorization-matrix test walks every route of the app against every role
using this table, so a route without a permission, or a permission without a row, fails a test.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.policy import Role

R = Role


@dataclass(frozen=True, slots=True)
class Permission:
    roles: frozenset[Role]
    needs_training: bool = False  # policy: untrained accounts cannot search or disposition
    description: str = ""


def _p(*roles: Role, training: bool = False, description: str = "") -> Permission:
    return Permission(frozenset(roles), training, description)


ALL_ROLES = tuple(Role)

# Clauses: MPTC = NYS MPTC model policy 2022; IACP = IACP model policy 2010; TCSO = county
# sheriff's policy 2025; NYPD = NYPD impact and use policy 2021/2026.
PERMISSIONS: dict[str, Permission] = {
    # authentication: any authenticated caller may see who it is and end its own session
    "auth.session": _p(*ALL_ROLES, description="who am I; log out (revoke the presented token)"),
    # accounts: the agency administrator selects personnel and keeps the list of active
    # authorized users (MPTC VI.A.2, TCSO VII.B.2, IACP B.1.d); supervisors and auditors review it
    "accounts.manage": _p(R.ADMINISTRATOR, description="enrol, grant and revoke roles, revoke access"),
    "accounts.train": _p(R.ADMINISTRATOR, R.SUPERVISOR, description="record training"),
    "accounts.read": _p(R.ADMINISTRATOR, R.SUPERVISOR, R.AUDITOR),
    "tokens.issue_device": _p(R.ADMINISTRATOR, description="issue long-lived camera/pipeline tokens"),
    "tokens.revoke": _p(R.ADMINISTRATOR, description="revoke any token, raw or by id"),
    # cameras (IACP B.2: designated personnel check equipment)
    "cameras.manage": _p(R.ADMINISTRATOR, R.SUPERVISOR),
    # IACP B.2: "designated, trained personnel shall check equipment" — training required
    "cameras.check": _p(R.ADMINISTRATOR, R.SUPERVISOR, R.OFFICER, training=True),
    "cameras.read": _p(R.OFFICER, R.INVESTIGATOR, R.SUPERVISOR, R.ADMINISTRATOR, R.AUDITOR),
    # reads
    "reads.ingest": _p(R.DEVICE),
    # hotlists hold plates, so reading them is access to LPR data: training first (MPTC VII.A,
    # TCSO IX.A, IACP C.2). Auditors verify the log by hashes and need no plates (NYPD: access
    # only with an articulable need).
    "hotlists.manage": _p(R.ADMINISTRATOR, R.SUPERVISOR, training=True),
    "hotlists.manual_entry": _p(R.OFFICER, R.INVESTIGATOR, R.SUPERVISOR, training=True),
    "hotlists.read": _p(R.OFFICER, R.INVESTIGATOR, R.SUPERVISOR, R.ADMINISTRATOR, training=True),
    # hits and alerts: LPR data, training first (MPTC VII.A, IACP C.2)
    "hits.read": _p(R.OFFICER, R.SUPERVISOR, R.INVESTIGATOR, training=True),
    "hits.act": _p(R.OFFICER, R.SUPERVISOR, training=True, description="verify and disposition"),
    "hits.supervise": _p(R.SUPERVISOR, training=True, description="undispositioned hits older than a shift"),
    "alerts.stream": _p(R.OFFICER, R.SUPERVISOR, training=True),
    # searches (the query log) and cases — issue 4
    "searches.run": _p(R.INVESTIGATOR, R.SUPERVISOR, R.OFFICER, R.PARTNER_AGENCY, training=True),
    "searches.audit": _p(R.SUPERVISOR, R.ADMINISTRATOR, R.AUDITOR, R.PRIVACY_OFFICER, training=True),
    # one search record: its searcher, or anyone who audits the query log (checked in the route)
    "searches.read": _p(
        R.INVESTIGATOR,
        R.SUPERVISOR,
        R.OFFICER,
        R.PARTNER_AGENCY,
        R.ADMINISTRATOR,
        R.AUDITOR,
        R.PRIVACY_OFFICER,
        training=True,
    ),
    "cases.manage": _p(R.INVESTIGATOR, R.SUPERVISOR, training=True),
    "cases.read": _p(R.INVESTIGATOR, R.SUPERVISOR, R.PRIVACY_OFFICER, R.AUDITOR, training=True),
    # disclosures — issue 4 (which role approves which kind is the profile's, checked by the service)
    "disclosures.request": _p(R.INVESTIGATOR, R.SUPERVISOR, R.PRIVACY_OFFICER, training=True),
    "disclosures.decide": _p(R.PRIVACY_OFFICER, R.APPROVER, R.ADMINISTRATOR, R.LEGAL_REVIEWER, training=True),
    "disclosures.release": _p(R.PRIVACY_OFFICER, R.SUPERVISOR, training=True),
    "disclosures.read": _p(
        R.PRIVACY_OFFICER, R.SUPERVISOR, R.AUDITOR, R.APPROVER, R.LEGAL_REVIEWER, training=True
    ),
    "disclosures.report_unauthorized": _p(
        R.OFFICER, R.INVESTIGATOR, R.SUPERVISOR, R.ADMINISTRATOR, R.PRIVACY_OFFICER, R.AUDITOR
    ),
    "disclosures.report_to_cpo": _p(R.PRIVACY_OFFICER, training=True),
    "routine.designate": _p(R.PRIVACY_OFFICER, training=True),
    # ledger: entries carry hashes, not event content
    "ledger.entries": _p(R.AUDITOR),
    # retention audit (issue 5): record ids, days and purge times, no personal data; external
    # auditors check retention compliance (DESIGN: who uses it), privacy officers and administrators
    # answer for it
    "retention.audit": _p(R.AUDITOR, R.PRIVACY_OFFICER, R.ADMINISTRATOR, description="retention audit"),
    # holds (issue 5): keeping reads past their day for a case. Those who work cases request; a
    # supervisor (not the requester, checked by the service) approves, denies and re-justifies, so
    # no requester can keep reads past their day alone, nor extend a hold forever;
    # supervisors and the privacy officer may let reads go back to normal retention.
    "holds.request": _p(R.INVESTIGATOR, R.SUPERVISOR, training=True, description="request a hold"),
    "holds.approve": _p(
        R.SUPERVISOR, training=True, description="approve, deny or re-justify a hold (not one's own)"
    ),
    "holds.release": _p(R.SUPERVISOR, R.PRIVACY_OFFICER, training=True),
    "holds.read": _p(R.INVESTIGATOR, R.SUPERVISOR, R.PRIVACY_OFFICER, R.AUDITOR, training=True),
    # shredding one read before its day (court order, erroneous read) cannot be undone: the privacy
    # officer, who answers for retention, or a supervisor (erroneous reads found on review)
    "reads.shred": _p(R.PRIVACY_OFFICER, R.SUPERVISOR, training=True, description="shred one read now"),
    # running retention by hand (the scheduler runs it anyway): those who answer for it
    "retention.run": _p(R.PRIVACY_OFFICER, R.ADMINISTRATOR, description="apply retention now"),
    # report views (issue 6): ids, logins, codes, case numbers and counts, never a plate.
    # The query log is audited by the administrator or other designated personnel (TCSO VIII.D),
    # periodic and random audits (MPTC VI.G); the written report goes above the audit: a sign-off
    # by the administrator, privacy officer or the sheriff's designee (not a reviewer, checked by
    # the service). Misuse flags go to supervisors (NYPD 2026 §Internal Audit) and the privacy officer.
    "audits.read": _p(R.AUDITOR, R.SUPERVISOR, R.PRIVACY_OFFICER, R.ADMINISTRATOR, description="audits"),
    "audits.conduct": _p(
        R.AUDITOR, R.SUPERVISOR, R.PRIVACY_OFFICER, R.ADMINISTRATOR, description="open, sample, review"
    ),
    "audits.sign_off": _p(R.ADMINISTRATOR, R.PRIVACY_OFFICER, R.APPROVER, description="sign an audit off"),
    "misuse.read": _p(R.SUPERVISOR, R.PRIVACY_OFFICER, R.AUDITOR, description="misuse flags"),
    "misuse.act": _p(R.SUPERVISOR, R.PRIVACY_OFFICER, description="run the misuse check, acknowledge flags"),
    "reports.hits": _p(
        R.SUPERVISOR, R.ADMINISTRATOR, R.AUDITOR, R.PRIVACY_OFFICER, description="hit dispositions by source"
    ),
}
