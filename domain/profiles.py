"""The five policy profiles: each agency policy in ``shared/policies`` as data.

Every value carries the clause that sets it: ``ref`` names the policy and section, ``quote`` is a
short excerpt of the text ("..." joins two excerpts of one passage, in order). Where a policy is
silent the value is the one a careful agency would choose and the clause says so: ``ref`` is
``NOT_STATED`` and ``quote`` gives the reason. Select a profile with ``get_profile(name)``.

Codes that clients send and other modules switch on are shared by every profile that allows them:
purposes ``criminal_investigation``, ``missing_person``, ``amber_alert``, ``victim_or_witness``,
``public_safety_threat``, ``external_repository_lookup``, ``civil_litigation``,
``disciplinary_proceeding``, ``routine_patrol``, ``parking_regulation``, ``secured_area_access``;
case classifications are those of the NYPD 2021 retention schedule (``CASE_CLASSIFICATIONS``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from domain.policy import (
    LEGAL_REVIEW,
    NOT_STATED,
    Clause,
    PolicyProfile,
    ProhibitedGround,
    Purpose,
    Role,
    Sourced,
    calendar_years,
)

__all__ = [
    "CASE_CLASSIFICATIONS",
    "DEFAULT_PROFILE",
    "PROFILES",
    "UnknownProfileError",
    "get_profile",
]

DEFAULT_PROFILE = "nys-mptc-2022"

# A hotlist older than this warns and an undispositioned hit older than this surfaces, where a policy
# speaks of shifts or tours without a length: 12 h is the longest common patrol shift, so a list
# loaded at the start of any shift stays fresh to its end.
DEFAULT_SHIFT = timedelta(hours=12)
# Equipment checks where a policy names none or no interval ("on a regular basis", IACP B.2).
DEFAULT_EQUIPMENT_CHECK = timedelta(days=30)
# Query logs where a policy sets no period: 6 years (NYS Archives LGS-1, as in MPTC VI.F) outlives
# the reads of every profile, so each access to a read stays auditable while the read exists.
DEFAULT_QUERY_LOG_RETENTION = calendar_years(6)


def _c(ref: str, quote: str) -> Clause:
    return Clause(ref, quote)


def _default(reason: str) -> Clause:
    return Clause(NOT_STATED, reason)


def _x(value: object, clause: Clause) -> Sourced[object]:
    return Sourced(value, clause)


# --- Case-linked retention: the NYPD 2021 schedule -------------------------------------------------

_CASE = "NYPD 2021 §Retention (case investigation records)"
_PERMANENT_1 = (
    "classified as a homicide, suicide, arson (first, second or third degree) ... must be "
    "retained permanently"
)
_PERMANENT_2 = (
    "aggravated sexual assault (first degree), course of sexual conduct against a child (first degree), "
    "active warrant ... must be retained permanently"
)

# classification -> (period after the case is closed or None, quote)
_SCHEDULE_2021: dict[str, tuple[timedelta | None, str]] = {
    "homicide": (None, _PERMANENT_1),
    "suicide": (None, _PERMANENT_1),
    "arson_first_to_third_degree": (None, _PERMANENT_1),
    "missing_person": (None, "missing person (until located)"),
    "aggravated_sexual_assault_first_degree": (None, _PERMANENT_2),
    "course_of_sexual_conduct_against_child_first_degree": (None, _PERMANENT_2),
    "active_warrant": (None, _PERMANENT_2),
    "stolen_or_missing_firearm": (None, "stolen or missing firearms (until recovered or destroyed)"),
    "arson_fourth_degree": (
        calendar_years(10),
        "classified as a fourth degree arson or non-fatal (including vehicular accidents) must be "
        "retained for a minimum of ten (10) years after the case is closed",
    ),
    "non_fatal_incident": (
        calendar_years(10),
        "classified as a fourth degree arson or non-fatal (including vehicular accidents) must be "
        "retained for a minimum of ten (10) years after the case is closed",
    ),
    "other_felony": (
        calendar_years(25),
        "classified as any other felony must be retained for a minimum of twenty-five (25) years after "
        "the case is closed",
    ),
    "misdemeanor": (
        calendar_years(5),
        "classified as a misdemeanor must be retained for a minimum of five (5) years after the case "
        "is closed",
    ),
    "violation": (
        calendar_years(1),
        "classified as a violation or traffic infraction must be retained for a minimum of one (1) year "
        "after the case is closed",
    ),
    "traffic_infraction": (
        calendar_years(1),
        "classified as a violation or traffic infraction must be retained for a minimum of one (1) year "
        "after the case is closed",
    ),
    "child_victims_act_offense": (
        None,
        "an offense against a child as defined by the Child Victims Act ... must be retained until the "
        "child attains at least age fifty-five (55)",
    ),
    "no_offense_by_adult": (
        calendar_years(5),
        "investigation that reveals no offense has been committed by an adult must be kept for a minimum "
        "of five (5) years after the case is closed",
    ),
    "juvenile_no_arrest_or_offense": (
        None,
        "the individual involved was a juvenile and no arrest was made or no offense was committed must "
        "be kept for at least one (1) year after the juvenile attains age eighteen (18)",
    ),
}

# Classifications retained until an event rather than permanently (value None above).
_UNTIL_2021: dict[str, str] = {
    "missing_person": "person_located",
    "stolen_or_missing_firearm": "firearm_recovered_or_destroyed",
    "child_victims_act_offense": "child_reaches_age_55",
    "juvenile_no_arrest_or_offense": "one_year_after_juvenile_reaches_18",
}

CASE_CLASSIFICATIONS: tuple[str, ...] = tuple(_SCHEDULE_2021)


def _stated_case_schedule() -> tuple[dict[str, Sourced[timedelta | None]], dict[str, Sourced[str]]]:
    periods = {name: Sourced(period, _c(_CASE, quote)) for name, (period, quote) in _SCHEDULE_2021.items()}
    until = {name: Sourced(event, _c(_CASE, _SCHEDULE_2021[name][1])) for name, event in _UNTIL_2021.items()}
    return periods, until


def _default_case_schedule(
    reason: str,
) -> tuple[dict[str, Sourced[timedelta | None]], dict[str, Sourced[str]]]:
    # Same classifications everywhere, so a case keeps its meaning when an agency changes profile.
    clause = _default(reason + "; the NYPD 2021 classification schedule is used")
    periods = {name: Sourced(period, clause) for name, (period, _) in _SCHEDULE_2021.items()}
    until = {name: Sourced(event, clause) for name, event in _UNTIL_2021.items()}
    return periods, until


# --- Protected characteristics (NYPD 2021/2026 Rules of Use, TCSO VI.B.3) ---------------------------

# code -> the words of the policy's list that name it
_PROTECTED: dict[str, str] = {
    "race": "race",
    "color": "color",
    "religion_or_creed": "religion or creed",
    "age": "age",
    "national_origin": "national origin",
    "alienage": "alienage",
    "citizenship_status": "citizenship status",
    "gender": "gender",
    "gender_identity": "gender identity",
    "sexual_orientation": "sexual orientation",
    "disability": "disability",
    "marital_status": "marital status",
    "partnership_status": "partnership status",
    "military_status": "military status",
    "pregnancy_status": "pregnancy status",
    "political_affiliation": "political affiliation or beliefs",
}


def _protected_grounds(ref: str, lead: str, text_codes: tuple[str, ...]) -> tuple[ProhibitedGround, ...]:
    """One ground per listed characteristic, plus the umbrella ``protected_characteristics``."""
    grounds = [
        ProhibitedGround(
            "protected_characteristics",
            "any actual or perceived protected characteristic listed in the policy",
            _c(ref, lead),
        )
    ]
    for code in text_codes:
        words = _PROTECTED[code]
        grounds.append(ProhibitedGround(code, f"actual or perceived {words}", _c(ref, f"{lead} ... {words}")))
    return tuple(grounds)


_NYPD_PROTECTED = (
    "race",
    "color",
    "religion_or_creed",
    "age",
    "national_origin",
    "alienage",
    "citizenship_status",
    "gender",
    "gender_identity",
    "sexual_orientation",
    "disability",
    "marital_status",
    "partnership_status",
    "military_status",
    "political_affiliation",
)
_TCSO_PROTECTED = (*_NYPD_PROTECTED[:-1], "pregnancy_status", "political_affiliation")

# --- NYPD disclosure grounds (identical in 2021 and 2026) --------------------------------------------

_NYPD_LEGAL_BASES: tuple[tuple[str, str], ...] = (
    (
        "written_consent",
        "Such disclosure has been authorized in writing by the individual to whom such information "
        "pertains to",
    ),
    (
        "required_by_law",
        "Such disclosure is required by law and has been approved in writing by the Agency Privacy Officer",
    ),
    ("furthers_mission", "Such disclosure furthers the purpose or mission of the NYPD"),
    (
        "pre_approved_by_city_cpo",
        "Such disclosure has been pre-approved as in the best interests of the City by the City Chief "
        "Privacy Officer",
    ),
    (
        "designated_routine",
        "Such disclosure has been designated as routine by the Agency Privacy Officer assigned to the "
        "Legal Bureau",
    ),
    (
        "investigation_of_crime",
        "Such disclosure is in connection with an investigation of a crime that has been committed or "
        "credible information about an attempted or impending crime",
    ),
    (
        "welfare_of_minor",
        "Such disclosure is in connection with an open investigation by a City agency concerning the "
        "welfare of a minor or an individual who is otherwise not legally competent",
    ),
)


def _nypd_legal_bases(year: int) -> tuple[Sourced[str], ...]:
    return tuple(
        Sourced(code, _c(f"NYPD {year} §External Entities, disclosure ground {n}", quote))
        for n, (code, quote) in enumerate(_NYPD_LEGAL_BASES, start=1)
    )


_HISTORICAL_SEARCH_TYPES = (
    "plate",
    "fixed_readers",
    "mobile_readers",
    "area",
    "associates",
)


def _nypd_common_extra(year: int) -> dict[str, Sourced[object]]:
    ref = f"NYPD {year}"
    return {
        "historical_search_types": _x(
            _HISTORICAL_SEARCH_TYPES,
            _c(
                f"{ref} §Retention, Access & Use",
                "Historical searches of LPR data may be conducted: ... in order to identify possible "
                "associates",
            ),
        ),
        "partner_agency_specific_plate_search_only": _x(
            True,
            _c(
                f"{ref} §External Entities",
                "Authorized agents of NJ law enforcement agencies are capable of conducting a search for "
                "pings of a specific license plate",
            ),
        ),
        "unauthorized_disclosure_report_to": _x(
            "NYC Chief Privacy Officer",
            _c(f"{ref} §External Entities", "must report the disclosure to the NYC Chief Privacy Officer"),
        ),
        "affected_individuals_notified_in_writing": _x(
            True,
            _c(
                f"{ref} §External Entities",
                "must make reasonable efforts to notify individuals",
            ),
        ),
        "verify_requester_before_release": _x(
            True,
            _c(
                f"{ref} §Safeguards",
                "must confirm the identity and affiliation of individuals requesting information from the "
                "NYPD and determine that the release of information is lawful prior to disclosure",
            ),
        ),
        "criminal_case_data_to_prosecutor": _x(
            True,
            _c(
                f"{ref} §External Entities",
                "the NYPD will turn the data over to the prosecutor with jurisdiction over the matter",
            ),
        ),
        "remote_access_requires_two_factor": _x(
            True,
            _c(
                f"{ref} §Safeguards",
                "Accessing NYPD computer systems remotely requires dual factor authentication.",
            ),
        ),
        "public_view_only": _x(
            True, _c(f"{ref} §Rules of Use", "is strictly limited to public areas and locations")
        ),
        "biometric_measurement": _x(
            False, _c(f"{ref} §Capabilities", "NYPD LPRs do not use any biometric measurement technologies.")
        ),
    }


def _nypd_purposes(year: int, abstract: dict[str, str], litigation: tuple[str, str]) -> tuple[Purpose, ...]:
    ref = f"NYPD {year}"
    repository = _c(
        f"{ref} §{'Safeguards' if year == 2026 else 'Retention, Access & Use'}",
        "The commercial repository will not be used unless there is an articulable reason to believe the "
        "queried vehicle has left the boundaries of NYC.",
    )
    return (
        Purpose(
            "criminal_investigation",
            "locate a stolen or wanted vehicle, or one connected to an abduction or other crime",
            _c(f"{ref} §Abstract", abstract["criminal_investigation"]),
        ),
        Purpose(
            "amber_alert",
            "vehicle connected to an AMBER or Silver alert",
            _c(f"{ref} §Abstract", abstract["amber_alert"]),
            requires_case_number=False,
        ),
        Purpose(
            "missing_person",
            "vehicle connected to a missing person",
            _c(f"{ref} §Abstract", abstract["missing_person"]),
            requires_case_number=False,
        ),
        Purpose(
            "external_repository_lookup",
            "query the commercial LPR repository: the reason must say why the vehicle is believed to have "
            "left New York City",
            repository,
        ),
        Purpose(
            "civil_litigation",
            "civil litigation involving the department (docket number as case number)",
            _c(litigation[0], litigation[1]),
        ),
        Purpose(
            "disciplinary_proceeding",
            "disciplinary proceeding (proceeding number as case number)",
            _c(litigation[0], litigation[1]),
        ),
        Purpose(
            "routine_patrol",
            "routine vehicle patrol",
            _c(f"{ref} §Rules of Use", "Routine vehicle patrol"),
            requires_case_number=False,
            historical_search=False,
        ),
    )


def _nypd_prohibited(year: int, protected_lead: str, personal_use: Clause) -> tuple[ProhibitedGround, ...]:
    ref = f"NYPD {year}"
    return (
        ProhibitedGround(
            "immigration_enforcement",
            "immigration enforcement: no use or sharing in its furtherance",
            _c(
                f"{ref} §External Entities",
                "Information is not shared in furtherance of immigration enforcement.",
            ),
        ),
        ProhibitedGround(
            "real_time_tracking",
            "tracking a vehicle in real time",
            _c(f"{ref} §Capabilities", "cannot be used to track a vehicle in real-time"),
        ),
        ProhibitedGround(
            "personal_use",
            "personal or any other non-official use",
            personal_use,
        ),
        ProhibitedGround(
            "political_activity",
            "investigations involving political activity: reserved to the Intelligence unit under the "
            "Handschu rules, refused here",
            _c(f"{ref} §Rules of Use", "may conduct investigations involving political activity"),
        ),
        *_protected_grounds(f"{ref} §Rules of Use", protected_lead, _NYPD_PROTECTED),
        ProhibitedGround(
            "ethnicity",
            "actual or perceived ethnicity as a motivating factor",
            _c(
                f"{ref} §Disparate Impacts",
                "Race, color, ethnicity, or national origin may not be used as a motivating factor",
            ),
        ),
    )


_NYPD_SEARCH_CASE_NUMBER = _default(
    "NYPD requires an articulable need for every inquiry but no case number; each purpose says whether it "
    "needs one (investigations, litigation, discipline and external lookups do; urgent AMBER and "
    "missing-person searches do not)"
)
_NYPD_MANUAL_REASON = _default(
    "NYPD permits 'creation of alerts for specified complete or partial plate numbers' without saying what "
    "is recorded; a reason keeps the articulable need on record, as TCSO V.C.4 and IACP C.6 require"
)
_NYPD_MANUAL_CASE = _default("NYPD names no case number for alerts; a reason suffices, as in IACP C.6")
_NYPD_QUERY_LOGS = _default(
    "NYPD makes every DAS search 'auditable by ITB' but sets no period; 6 years (NYS Archives, MPTC VI.F) "
    "covers the 5-year life of the reads searched"
)
_NYPD_SHIFT = _default(
    "NYPD works in tours ('at least once each tour') of unstated length and sets no hotlist refresh; 12 h, "
    "the longest common tour, so a list loaded at the start of a tour stays fresh to its end"
)
_NO_EQUIPMENT_CHECK = (
    " names no equipment check; every 30 days, following IACP B.2 (check function and camera alignment "
    "'on a regular basis')"
)
_NYPD_CASE_CLOSED_WHEN = ("appeals_exhausted", "settlement", "no_arrest", "restitution_no_longer_sought")


def _nypd_read_retention(year: int) -> Sourced[timedelta]:
    return Sourced(
        calendar_years(5),
        _c(
            f"NYPD {year} §Retention, Access & Use",
            "Data collected through NYPD's LPRs is retained for five (5) years.",
        ),
    )


def _nypd_disclosure_approvers(year: int, public_records_quote: str) -> dict[str, Sourced[Role | str]]:
    """The same approvers in 2021 and 2026; only the wording on public records changed."""
    ref = f"NYPD {year}"
    return {
        "standard": Sourced(
            Role.PRIVACY_OFFICER,
            _c(
                f"{ref} §External Entities",
                "has been approved in writing by the Agency Privacy Officer assigned to the Legal Bureau",
            ),
        ),
        "out_of_state": Sourced(
            Role.PRIVACY_OFFICER,
            _default(
                f"{ref} names no separate approver for agencies outside New York; the Agency Privacy "
                "Officer approves every external disclosure"
            ),
        ),
        "public_records": Sourced(LEGAL_REVIEW, _c(f"{ref} §Public Access", public_records_quote)),
    }


def _nypd_equipment_check(year: int) -> Sourced[timedelta | None]:
    return Sourced(DEFAULT_EQUIPMENT_CHECK, _default(f"NYPD {year}" + _NO_EQUIPMENT_CHECK))


def _nypd_2026() -> PolicyProfile:
    ref = "NYPD 2026"
    periods, until = _default_case_schedule(
        "NYPD 2026 says a case investigation record's retention 'depends on its classification' under the "
        "department's schedule without listing it"
    )
    return PolicyProfile(
        name="nypd-2026",
        title="NYPD License Plate Readers: Impact and Use Policy (February 4, 2026)",
        source="nypd-lpr-impact-and-use-policy-2026.txt",
        read_retention=_nypd_read_retention(2026),
        query_log_retention=Sourced(DEFAULT_QUERY_LOG_RETENTION, _NYPD_QUERY_LOGS),
        case_retention=periods,
        case_retention_until=until,
        permitted_purposes=_nypd_purposes(
            2026,
            {
                "criminal_investigation": "helping NYPD personnel locate vehicles that are stolen or wanted",
                "amber_alert": "connected to AMBER alerts, Silver alerts",
                "missing_person": "Silver alerts, missing persons, abductions",
            },
            (
                f"{ref} §External Entities",
                "pursuant to on-going criminal investigations, civil litigation, and disciplinary "
                "proceedings",
            ),
        ),
        prohibited_grounds=_nypd_prohibited(
            2026,
            "no person will be the subject of police action because of actual or perceived",
            _c(
                f"{ref} §Rules of Use",
                "NYPD LPRs may only be used for legitimate law enforcement purposes or other official "
                "business of the NYPD.",
            ),
        ),
        search_requires_case_number=Sourced(False, _NYPD_SEARCH_CASE_NUMBER),
        search_requires_reason=Sourced(
            True,
            _c(
                f"{ref} §Safeguards",
                "NYPD personnel's access to DAS is limited to an articulable need to use the software in "
                "furtherance of a lawful duty or other official business.",
            ),
        ),
        disclosure_approvers=_nypd_disclosure_approvers(
            2026,
            "The NYPD will review and evaluate such requests in accordance with applicable provisions "
            "of the law.",
        ),
        legal_bases=_nypd_legal_bases(2026),
        unauthorized_disclosure_report_within=Sourced(
            timedelta(hours=24),
            _c(
                f"{ref} §External Entities",
                "must report the disclosure to the NYC Chief Privacy Officer within 24 hours",
            ),
        ),
        training_required=Sourced(
            True,
            _c(
                f"{ref} §Training",
                "NYPD officers using LPRs receive command-level training on the proper operation of "
                "the technology",
            ),
        ),
        manual_hotlist_requires_reason=Sourced(True, _NYPD_MANUAL_REASON),
        manual_hotlist_requires_case_number=Sourced(False, _NYPD_MANUAL_CASE),
        hit_verification_required=Sourced(
            True,
            _c(
                f"{ref} §Disparate Impacts",
                'An officer is required to verify any potential "hit" to ensure its accuracy.',
            ),
        ),
        shift=Sourced(DEFAULT_SHIFT, _NYPD_SHIFT),
        equipment_check_interval=_nypd_equipment_check(2026),
        extra={
            **_nypd_common_extra(2026),
            "political_activity_investigations_by": _x(
                "Intelligence Division",
                _c(
                    f"{ref} §Rules of Use",
                    "the Intelligence Division, which is the sole entity in the NYPD that may conduct "
                    "investigations involving political activity",
                ),
            ),
            "access_rescinded_when_assignment_ends": _x(
                True,
                _c(
                    f"{ref} §Safeguards",
                    "is rescinded when that officer's assignment no longer requires its use",
                ),
            ),
            "case_closed_when": _x(
                _NYPD_CASE_CLOSED_WHEN,
                _c(
                    f"{ref} §Retention, Access & Use",
                    "case investigations are not considered closed unless they result in: prosecution and "
                    "appeals are exhausted, a settlement, no arrest, or when restitution is no longer sought",
                ),
            ),
        },
    )


def _nypd_2021() -> PolicyProfile:
    ref = "NYPD 2021"
    periods, until = _stated_case_schedule()
    return PolicyProfile(
        name="nypd-2021",
        title="NYPD License Plate Readers: Impact and Use Policy (April 11, 2021)",
        source="nypd-lpr-impact-and-use-policy-2021.txt",
        read_retention=_nypd_read_retention(2021),
        query_log_retention=Sourced(DEFAULT_QUERY_LOG_RETENTION, _NYPD_QUERY_LOGS),
        case_retention=periods,
        case_retention_until=until,
        permitted_purposes=_nypd_purposes(
            2021,
            {
                "criminal_investigation": "help NYPD personnel locate stolen or wanted vehicles",
                "amber_alert": "vehicles connected to AMBER alerts, Silver alerts",
                "missing_person": "Silver alerts, missing persons reports, abductions reports",
            },
            (
                f"{ref} §Retention, Access & Use",
                "including in furtherance of criminal investigations, civil litigations, and "
                "disciplinary proceedings",
            ),
        ),
        prohibited_grounds=_nypd_prohibited(
            2021,
            "No person will be the subject of police action solely because of actual or perceived",
            _c(
                f"{ref} §Retention, Access & Use",
                "LPR data may only be used for legitimate law enforcement purposes or other official "
                "business of the NYPD",
            ),
        ),
        search_requires_case_number=Sourced(False, _NYPD_SEARCH_CASE_NUMBER),
        search_requires_reason=Sourced(
            True,
            _c(
                f"{ref} §Safeguards",
                "Access to DAS is limited to NYPD personnel with an articulable need to use the software in "
                "furtherance of a lawful duty.",
            ),
        ),
        disclosure_approvers=_nypd_disclosure_approvers(
            2021,
            "The NYPD will review and evaluate such requests in accordance with applicable provisions "
            "of law and NYPD policy.",
        ),
        legal_bases=_nypd_legal_bases(2021),
        unauthorized_disclosure_report_within=Sourced(
            None,
            _c(
                f"{ref} §External Entities (no fixed deadline)",
                "must report the disclosure to the NYC Chief Privacy Officer as soon as practicable",
            ),
        ),
        training_required=Sourced(
            True,
            _c(
                f"{ref} §Training",
                "NYPD officers using LPRs receive command level training on the proper operation of "
                "the technology",
            ),
        ),
        manual_hotlist_requires_reason=Sourced(True, _NYPD_MANUAL_REASON),
        manual_hotlist_requires_case_number=Sourced(False, _NYPD_MANUAL_CASE),
        hit_verification_required=Sourced(
            True,
            _default(
                "NYPD 2021 does not say; its 2026 revision and every other profile require the officer to "
                "verify a hit, since an OCR match alone does not establish the plate"
            ),
        ),
        shift=Sourced(DEFAULT_SHIFT, _NYPD_SHIFT),
        equipment_check_interval=_nypd_equipment_check(2021),
        extra={
            **_nypd_common_extra(2021),
            "political_activity_investigations_by": _x(
                "Intelligence Bureau",
                _c(
                    f"{ref} §Rules of Use",
                    "NYPD investigations involving political activity are conducted by the "
                    "Intelligence Bureau",
                ),
            ),
            "access_rescinded_when_assignment_ends": _x(
                True,
                _c(
                    f"{ref} §Safeguards",
                    "DAS access to LPR data is removed when access is no longer necessary",
                ),
            ),
            "case_closed_when": _x(
                _NYPD_CASE_CLOSED_WHEN,
                _c(
                    f"{ref} §Retention, Access & Use",
                    "case investigations are not considered closed unless it results in prosecution and "
                    "appeals are exhausted, it results in a settlement, it results in no arrest, or when "
                    "restitution is no longer sought",
                ),
            ),
            "suspect_files_retention": _x(
                "5 years after death, or 90 years after birth with no arrest in the last 5 years, whichever "
                "is shorter",
                _c(
                    f"{ref} §Retention, Access & Use",
                    "Personal information data files on criminals and suspects must be retained for at least "
                    "five (5) years after the death of the criminal or suspect",
                ),
            ),
            "other_agency_access_by_written_agreement": _x(
                True,
                _c(
                    f"{ref} §External Entities",
                    "subject to the terms of written agreements between the NYPD and the agency "
                    "receiving access",
                ),
            ),
        },
    )


def _nys_mptc_2022() -> PolicyProfile:
    ref = "MPTC"
    periods, until = _default_case_schedule(
        "MPTC VI.C archives data of investigative or prosecution value 'in accordance with applicable "
        "statutory timeframes' without listing them"
    )
    every_inquiry = _c(
        f"{ref} VI.E",
        "All LPR inquiries shall document reason(s) for search, a case or incident number, and identity of "
        "the authorized inquirer.",
    )
    first_amendment = f"{ref} V.B"
    solely = (
        "shall not be used for investigatory purposes when the request for identification is "
        "based solely upon"
    )
    views = "Religious, political, or social views or activities"
    return PolicyProfile(
        name="nys-mptc-2022",
        title="NYS Municipal Police Training Council: License Plate Reader Model Policy (June 2022)",
        source="nys-mptc-lpr-model-policy-2022.txt",
        read_retention=Sourced(
            calendar_years(1),
            _c(
                f"{ref} VI.B",
                "shall be retained for a minimum of one year in accordance with NYS Archives retention and "
                "disposition schedule",
            ),
        ),
        query_log_retention=Sourced(
            calendar_years(6),
            _c(
                f"{ref} VI.F",
                "LPR Data Query Logs shall be securely maintained and retained for audit purposes for "
                "a period "
                "of six years",
            ),
        ),
        case_retention=periods,
        case_retention_until=until,
        permitted_purposes=(
            Purpose(
                "criminal_investigation",
                "identify or locate a vehicle related to an investigation, or its owner or occupants who "
                "committed or are planning a crime",
                _c(
                    f"{ref} IV.B.1-2",
                    "Attempt to identify and/or locate a vehicle related to an investigation",
                ),
            ),
            Purpose(
                "missing_person",
                "owner or occupant who is a possible missing person",
                _c(
                    f"{ref} IV.B.2.c",
                    "is a possible missing person, crime victim, or witness to criminal activity",
                ),
            ),
            Purpose(
                "victim_or_witness",
                "owner or occupant who is a possible crime victim or witness",
                _c(
                    f"{ref} IV.B.2.c",
                    "is a possible missing person, crime victim, or witness to criminal activity",
                ),
            ),
            Purpose(
                "amber_alert",
                "vehicle on an AMBER or Missing Persons/Vulnerable Adult alert",
                _c(
                    f"{ref} III.C",
                    "license plates associated with AMBER Alerts or Missing Persons/Vulnerable Adult Alerts",
                ),
            ),
            Purpose(
                "public_safety_threat",
                "prevent, detect or assess a safety threat to the public or public officials",
                _c(
                    f"{ref} IV.B.3",
                    "Prevent, detect, and/or assess potential safety threats to members of the public and/or "
                    "public officials.",
                ),
            ),
            Purpose(
                "routine_patrol",
                "routine patrol for suspended or revoked registrations",
                _c(
                    f"{ref} IV.B.4",
                    "Identify vehicles during routine patrol with suspended or revoked vehicle "
                    "registrations.",
                ),
                historical_search=False,
            ),
            Purpose(
                "parking_regulation",
                "regulate public parking areas",
                _c(f"{ref} IV.B.5", "Regulate public parking areas."),
                historical_search=False,
            ),
            Purpose(
                "secured_area_access",
                "monitor access to secured areas",
                _c(f"{ref} IV.B.6", "Monitor access to secured areas."),
                historical_search=False,
            ),
        ),
        prohibited_grounds=(
            ProhibitedGround(
                "personal_use",
                "personal or any other non-official use",
                _c(
                    f"{ref} V.A",
                    "Use of license plate reader technology for personal or other non-official purposes is a "
                    "violation of this policy.",
                ),
            ),
            ProhibitedGround(
                "religious_activity",
                "identification based solely on religious views or activities",
                _c(first_amendment, f"{solely} ... {views}"),
            ),
            ProhibitedGround(
                "political_activity",
                "identification based solely on political views or activities",
                _c(first_amendment, f"{solely} ... {views}"),
            ),
            ProhibitedGround(
                "social_activity",
                "identification based solely on social views or activities",
                _c(first_amendment, f"{solely} ... {views}"),
            ),
            ProhibitedGround(
                "lawful_association",
                "identification based solely on participation in a noncriminal organization or lawful event",
                _c(
                    first_amendment,
                    f"{solely} ... Participation in a noncriminal organization or lawful event",
                ),
            ),
        ),
        search_requires_case_number=Sourced(True, every_inquiry),
        search_requires_reason=Sourced(True, every_inquiry),
        disclosure_approvers={
            "standard": Sourced(
                Role.PRIVACY_OFFICER,
                _default(
                    "MPTC IV.D.3 requires documenting the reason and the requester of every "
                    "dissemination but "
                    "names no approver; the privacy officer approves so the check happens before release"
                ),
            ),
            "out_of_state": Sourced(
                Role.PRIVACY_OFFICER,
                _default(
                    "MPTC sets no separate rule for agencies outside New York; as for standard disclosures"
                ),
            ),
            "public_records": Sourced(
                LEGAL_REVIEW,
                _c(
                    f"{ref} VI.H",
                    "Any requests for such data should be reviewed by the agency's legal advisor.",
                ),
            ),
        },
        legal_bases=(
            Sourced(
                "law_enforcement_need",
                _c(
                    f"{ref} IV.D.2.b",
                    "disseminated to any law enforcement agency or official with a need to know such "
                    "information "
                    "in the performance of official duties",
                ),
            ),
            Sourced("evidence_discovery", _c(f"{ref} VI.H", "evidence discovery and disclosure")),
            Sourced(
                "freedom_of_information_law",
                _c(f"{ref} VI.H", "disclosure pursuant to the Freedom of Information Law (FOIL)"),
            ),
        ),
        unauthorized_disclosure_report_within=Sourced(
            None,
            _default(
                "MPTC sets no deadline for reporting an improper disclosure; misuse surfaces through the "
                "periodic and random audits of VI.G"
            ),
        ),
        training_required=Sourced(
            True,
            _c(
                f"{ref} VII.A",
                "Authorized personnel with access to LPR data, at a minimum, will have received "
                "initial training",
            ),
        ),
        manual_hotlist_requires_reason=Sourced(
            True,
            _default(
                "MPTC counts manually entered plates as hotlist data (III.C) without saying what is "
                "recorded; "
                "a reason is required, as for every inquiry (VI.E)"
            ),
        ),
        manual_hotlist_requires_case_number=Sourced(
            True,
            _default(
                "MPTC VI.E requires a case or incident number for every LPR inquiry; a manual hotlist entry "
                "is a standing inquiry"
            ),
        ),
        hit_verification_required=Sourced(
            True,
            _c(
                f"{ref} IV.C.2",
                "the law enforcement professional shall verify that the captured plate image matches "
                "the plate "
                "number of the vehicle and State of registration",
            ),
        ),
        shift=Sourced(
            DEFAULT_SHIFT,
            _c(
                f"{ref} IV.C.1 (shift length not stated; 12 h default)",
                "should ensure the most current hotlist data available is uploaded",
            ),
        ),
        equipment_check_interval=Sourced(DEFAULT_EQUIPMENT_CHECK, _default("MPTC" + _NO_EQUIPMENT_CHECK)),
        extra={
            "case_or_incident_number_accepted": _x(True, _c(f"{ref} VI.E", "a case or incident number")),
            "dissemination_documented": _x(
                True,
                _c(
                    f"{ref} IV.D.3",
                    "the reason(s) and identity of the authorized requesting person or agency shall be "
                    "documented",
                ),
            ),
            "destruction_requires_administrator_approval": _x(
                True, _c(f"{ref} VI.D", "with approval from the agency administrator")
            ),
            "periodic_and_random_audits": _x(
                True, _c(f"{ref} VI.G", "including the performance of periodic and random audits")
            ),
            "vendor_may_not_add_users": _x(
                True, _c(f"{ref} VI.A.3", "ensuring a vendor does not add users without coordinating")
            ),
            "public_view_only": _x(
                True,
                _c(
                    f"{ref} II",
                    "shall only be used to scan license plates of vehicles that are exposed to public view",
                ),
            ),
        },
    )


def _county_sheriff_2025() -> PolicyProfile:
    ref = "TCSO"
    periods, until = _default_case_schedule(
        "TCSO VII.A hands reads incorporated into a case file to 'the laws, regulations, and policies "
        "applicable' to investigative records without listing periods"
    )
    historical = _c(
        f"{ref} V.D.2",
        "Searches of historical data within an ALPR system shall require the officer to enter a "
        "reason/justification and the associated case number.",
    )
    solely = (
        "shall not be used for investigatory purposes when the request for identification is "
        "based solely upon"
    )
    views = "religious, political, or social views or activities"
    return PolicyProfile(
        name="county-sheriff-2025",
        title=(
            "County Sheriff's Office: Automated License Plate Recognition Systems (2024, amended July 2025)"
        ),
        source="county-sheriff-alpr-policy-2025.txt",
        read_retention=Sourced(
            timedelta(days=30),
            _c(f"{ref} VII.A", "will be stored for a period not to exceed 30 days"),
        ),
        read_retention_is_maximum=True,
        query_log_retention=Sourced(
            calendar_years(6),
            _c(
                f"{ref} VII.B.8 (period from the NYS Archives schedule: six years, as in MPTC VI.F)",
                "ALPR Data Query Logs shall be securely maintained and retained for audit purposes in "
                "accordance with NYS Archives retention and disposition schedule",
            ),
        ),
        case_retention=periods,
        case_retention_until=until,
        permitted_purposes=(
            Purpose(
                "criminal_investigation",
                "identify or locate a vehicle related to a criminal investigation, or its owner or occupants "
                "who committed or are planning a crime",
                _c(
                    f"{ref} V.C.1 (permissible use)",
                    "Attempt to identify and/or locate a vehicle related to a criminal investigation",
                ),
            ),
            Purpose(
                "missing_person",
                "owner or occupant who is a possible missing person",
                _c(
                    f"{ref} V.C.2.c (permissible use)",
                    "is a possible missing person, crime victim, or witness to criminal activity",
                ),
            ),
            Purpose(
                "victim_or_witness",
                "owner or occupant who is a possible crime victim or witness",
                _c(
                    f"{ref} V.C.2.c (permissible use)",
                    "is a possible missing person, crime victim, or witness to criminal activity",
                ),
            ),
            Purpose(
                "amber_alert",
                "vehicle on an AMBER or Missing Persons/Vulnerable Adult alert",
                _c(
                    f"{ref} III (Hotlist)",
                    "license plates associated with AMBER Alerts or Missing Persons/Vulnerable Adult Alerts",
                ),
            ),
            Purpose(
                "public_safety_threat",
                "prevent, detect or assess a safety threat to the public or public officials",
                _c(
                    f"{ref} V.C.3 (permissible use)",
                    "Prevent, detect, and/or assess potential safety threats to members of the public and/or "
                    "public officials.",
                ),
            ),
            Purpose(
                "routine_patrol",
                "routine patrol for vehicles on the hotlist",
                _c(
                    f"{ref} V.C.4 (permissible use)",
                    "Identify vehicles during routine patrol which have been added to the hotlist.",
                ),
                historical_search=False,
            ),
        ),
        prohibited_grounds=(
            ProhibitedGround(
                "immigration_enforcement",
                "investigations related to a person's immigration status",
                _c(
                    f"{ref} VI.C",
                    "The Office shall not use or allow the use of the ALPR system or its data to conduct "
                    "investigations related to a person's immigration status.",
                ),
            ),
            ProhibitedGround(
                "personal_use",
                "personal or any other non-official use",
                _c(
                    f"{ref} VI.A",
                    "Use of license plate recognition technology for personal or other non-official "
                    "purposes is "
                    "a violation of this policy",
                ),
            ),
            ProhibitedGround(
                "religious_activity",
                "identification based solely on religious views or activities",
                _c(f"{ref} VI.B.1", f"{solely} ... {views}"),
            ),
            ProhibitedGround(
                "political_activity",
                "identification based solely on political views or activities",
                _c(f"{ref} VI.B.1", f"{solely} ... {views}"),
            ),
            ProhibitedGround(
                "social_activity",
                "identification based solely on social views or activities",
                _c(f"{ref} VI.B.1", f"{solely} ... {views}"),
            ),
            ProhibitedGround(
                "lawful_association",
                "identification based solely on participation in a noncriminal organization or lawful event",
                _c(
                    f"{ref} VI.B.2",
                    f"{solely} ... participation in a noncriminal organization or lawful event",
                ),
            ),
            *_protected_grounds(f"{ref} VI.B.3", f"{solely} ... actual or perceived", _TCSO_PROTECTED),
        ),
        search_requires_case_number=Sourced(True, historical),
        search_requires_reason=Sourced(True, historical),
        disclosure_approvers={
            "standard": Sourced(
                Role.PRIVACY_OFFICER,
                _default(
                    "TCSO V.E.1 allows sharing with in-state law enforcement and prosecutors 'for "
                    "official law "
                    "enforcement purposes' without naming an approver; the privacy officer approves"
                ),
            ),
            "out_of_state": Sourced(
                Role.APPROVER,
                _c(
                    f"{ref} V.E.3",
                    "The request shall be reviewed by the Sheriff or their authorized designee and approved "
                    "before the request is fulfilled.",
                ),
            ),
            "public_records": Sourced(
                LEGAL_REVIEW,
                _c(
                    f"{ref} V.E.5",
                    "will be routed to the County Attorney's Office for processing and compliance with "
                    "the New "
                    "York State Freedom of Information Act",
                ),
            ),
        },
        legal_bases=(
            Sourced(
                "law_enforcement_need",
                _c(
                    f"{ref} V.E.1",
                    "may only be shared with other in-state law enforcement or prosecutorial agencies for "
                    "official law enforcement purposes",
                ),
            ),
            Sourced(
                "evidence_discovery",
                _c(
                    f"{ref} VII.B.10", "applicable statutes regarding, but not limited to, evidence discovery"
                ),
            ),
            Sourced(
                "freedom_of_information_law",
                _c(f"{ref} V.E.5", "compliance with the New York State Freedom of Information Act"),
            ),
        ),
        unauthorized_disclosure_report_within=Sourced(
            None,
            _c(
                f"{ref} VIII.E (misuse by another agency; no fixed deadline)",
                "the member shall promptly report that information to the Undersheriff",
            ),
        ),
        training_required=Sourced(
            True,
            _c(
                f"{ref} IX.A",
                "Authorized personnel with access to ALPR data, at a minimum, will have received "
                "initial training",
            ),
        ),
        manual_hotlist_requires_reason=Sourced(
            True,
            _c(
                f"{ref} V.C.4 (use of hotlists)",
                "Whenever a plate is manually entered into the ALPR system, the officer should "
                "document the reason why",
            ),
        ),
        manual_hotlist_requires_case_number=Sourced(
            True,
            _c(
                f"{ref} V.C.4 (use of hotlists; 'if applicable' read as always, as for searches in V.D.2)",
                "include a case number if applicable",
            ),
        ),
        hit_verification_required=Sourced(
            True,
            _c(
                f"{ref} V.C.2 (use of hotlists)",
                "shall verify that the captured plate image matches both the alphanumeric character of the "
                "license plate of the vehicle and state of registration",
            ),
        ),
        shift=Sourced(
            DEFAULT_SHIFT,
            _c(
                f"{ref} V.C.1 (use of hotlists; shift length not stated; 12 h default)",
                "should ensure the most current hotlist data available is uploaded",
            ),
        ),
        equipment_check_interval=Sourced(DEFAULT_EQUIPMENT_CHECK, _default("TCSO" + _NO_EQUIPMENT_CHECK)),
        extra={
            "in_state_access_only": _x(
                True,
                _c(
                    f"{ref} V.B",
                    "will only be accessible by law enforcement agencies within the State of New York",
                ),
            ),
            "national_search_database": _x(
                False,
                _c(f"{ref} V.E.1", "does not participate in Flock's National Search Database function"),
            ),
            "out_of_state_request_contents": _x(
                ("agency_name", "requester_name", "purpose", "case_number"),
                _c(
                    f"{ref} V.E.2.a",
                    "The name of the agency. ... The name of the person requesting. ... The intended "
                    "purpose of "
                    "obtaining the information to include a case number.",
                ),
            ),
            "approved_request_retained": _x(
                True, _c(f"{ref} V.E.4", "The approved request is retained on file.")
            ),
            "hit_disposition_required": _x(
                True,
                _c(
                    f"{ref} V.C.3 (use of hotlists)",
                    "the user should record the disposition of the alert and the hit into the ALPR system",
                ),
            ),
            "status_check_before_stop": _x(
                True,
                _c(
                    f"{ref} V.C.2 (use of hotlists)",
                    "Officers should verify the current status through dispatch or vehicle query when "
                    "circumstances allow.",
                ),
            ),
            "reads_purged_automatically": _x(
                True, _c(f"{ref} VII.A", "the information will be automatically purged")
            ),
            "case_file_copies_follow_case_rules": _x(
                True,
                _c(
                    f"{ref} VII.A",
                    "Once an ALPR record is downloaded by Office personnel and incorporated into a criminal "
                    "intelligence record or investigative case file",
                ),
            ),
            "read_retention_schedule_reference": _x(
                "VII.B.4 also cites LGS-1 item #1241 (a one-year minimum in MPTC VI.B); the 30-day maximum "
                "of VII.A governs reads in the system itself",
                _c(
                    f"{ref} VII.B.4",
                    "shall be retained in accordance with NYS Archives retention and disposition schedule "
                    "(LGS-1 Public Safety Item #1241)",
                ),
            ),
            "destruction_requires_administrator_approval": _x(
                True, _c(f"{ref} VII.B.6", "with approval from the office administrator")
            ),
            "query_audit_interval": _x(
                timedelta(days=183),
                _c(
                    f"{ref} VIII.D ('bi-annual' read as twice a year)",
                    "will audit all queries held by the office on a bi-annual basis, and provide a written "
                    "report to the Undersheriff",
                ),
            ),
            "unique_login_required": _x(
                True,
                _c(
                    f"{ref} VIII.C",
                    "Each authorized User will have a unique log-in identification and password",
                ),
            ),
            "public_usage_statistics": _x(
                True,
                _c(
                    f"{ref} VIII.G",
                    "will make usage statistics available to the public through a transparency portal",
                ),
            ),
            "public_view_only": _x(
                True,
                _c(
                    f"{ref} II",
                    "shall only be used to scan license plates of vehicles that are exposed to public view",
                ),
            ),
            "biometric_measurement": _x(
                False, _c(f"{ref} IV.A", "TCSO ALPRs do not use any biometric measurement technologies.")
            ),
        },
    )


def _iacp_2010() -> PolicyProfile:
    ref = "IACP"
    periods, until = _default_case_schedule("IACP E defers retention to the LPR Concepts and Issues Paper")
    administrator = _c(
        f"{ref} B.1.f",
        "Authorizing any requests for LPR systems use or data access according to the policies and "
        "guidelines of this agency",
    )
    searches = "IACP C.8 leaves historical searches to 'established departmental policies and procedures'; "
    return PolicyProfile(
        name="iacp-2010",
        title="IACP National Law Enforcement Policy Center: License Plate Readers Model Policy (August 2010)",
        source="iacp-lpr-model-policy-2010.txt",
        read_retention=Sourced(
            calendar_years(1),
            _default(
                "IACP E defers retention to the LPR Concepts and Issues Paper; 1 year, the NYS Archives "
                "minimum used by MPTC VI.B (agencies under other law set their own)"
            ),
        ),
        query_log_retention=Sourced(
            DEFAULT_QUERY_LOG_RETENTION,
            _default(
                "IACP sets no period for query logs; 6 years (NYS Archives, MPTC VI.F) outlives the reads "
                "searched"
            ),
        ),
        case_retention=periods,
        case_retention_until=until,
        permitted_purposes=(
            Purpose(
                "criminal_investigation",
                "vehicle related to a stolen or wanted vehicle or another investigation",
                _c(
                    f"{ref} III (Hit)",
                    "stolen vehicles, wanted vehicles, or other factors supporting investigation",
                ),
            ),
            Purpose(
                "amber_alert",
                "vehicle associated with an AMBER Alert",
                _c(f"{ref} III (Hot list)", "vehicles associated with AMBER Alerts"),
            ),
            Purpose(
                "routine_patrol",
                "patrol alerting against hot lists (officer safety)",
                _c(f"{ref} III (Hot list)", "These lists serve an officer safety function"),
                historical_search=False,
            ),
        ),
        prohibited_grounds=(
            ProhibitedGround(
                "personal_use",
                "personal or any other non-official use",
                _c(
                    f"{ref} C.1",
                    "LPR operation and access to LPR collected data shall be for official agency "
                    "purposes only.",
                ),
            ),
        ),
        search_requires_case_number=Sourced(
            True,
            _default(
                searches
                + "a case or incident number is required, as in MPTC VI.E, so every query can be audited"
            ),
        ),
        search_requires_reason=Sourced(
            True,
            _default(searches + "a reason is required, as in MPTC VI.E and TCSO V.D.2"),
        ),
        disclosure_approvers={
            "standard": Sourced(Role.ADMINISTRATOR, administrator),
            "out_of_state": Sourced(Role.ADMINISTRATOR, administrator),
            "public_records": Sourced(
                LEGAL_REVIEW,
                _default("IACP does not address public-records requests; legal review, as in MPTC VI.H"),
            ),
        },
        legal_bases=(
            Sourced(
                "law_enforcement_need",
                _c(f"{ref} D", "can be shared for legitimate law enforcement purposes"),
            ),
            Sourced(
                "interagency_agreement",
                _c(
                    f"{ref} D.2",
                    "Information sharing among agencies should be dictated in accordance with MOUs",
                ),
            ),
        ),
        unauthorized_disclosure_report_within=Sourced(
            None,
            _default(
                "IACP sets no reporting rule for an improper disclosure; misuse is handled by sanctions (A.2)"
            ),
        ),
        training_required=Sourced(
            True,
            _c(
                f"{ref} C.2",
                "Only officers who have been properly trained in the use and operational protocols of "
                "the LPR "
                "systems shall be permitted to use it.",
            ),
        ),
        manual_hotlist_requires_reason=Sourced(
            True,
            _c(
                f"{ref} C.6",
                "Whenever a plate is manually entered into the LPR system, the officer should document "
                "the reason.",
            ),
        ),
        manual_hotlist_requires_case_number=Sourced(
            False, _default("IACP C.6 asks only for the reason of a manual entry")
        ),
        hit_verification_required=Sourced(
            True,
            _c(
                f"{ref} C.4.a",
                "Visually verify that the vehicle plate number matches the plate number run by the LPR "
                "system, "
                "including both alphanumeric characters of the license plate and the state of issuance.",
            ),
        ),
        shift=Sourced(
            DEFAULT_SHIFT,
            _c(
                f"{ref} C.3 (shift length not stated; 12 h default)",
                "At the start of each shift users must ensure that the LPR system has been updated with the "
                "most current hot lists available.",
            ),
        ),
        equipment_check_interval=Sourced(
            DEFAULT_EQUIPMENT_CHECK,
            _c(
                f"{ref} B.2 (interval not stated; 30-day default)",
                "Designated, trained personnel shall check equipment on a regular basis to ensure "
                "functionality "
                "and camera alignment.",
            ),
        ),
        extra={
            "remove_from_service_on_failed_check": _x(
                True,
                _c(
                    f"{ref} B.2",
                    "Any equipment that falls outside expected functionality shall be removed from "
                    "service until "
                    "deficiencies have been corrected.",
                ),
            ),
            "hit_disposition_required": _x(
                True,
                _c(
                    f"{ref} C.5",
                    "the user should record the disposition of the alert and the hit into the LPR system",
                ),
            ),
            "status_check_before_stop": _x(
                True,
                _c(
                    f"{ref} C.4.b",
                    "Verify the current status of the plate through dispatch or MDT query when "
                    "circumstances allow.",
                ),
            ),
            "special_details_require_administrator_approval": _x(
                True,
                _c(
                    f"{ref} C.7",
                    "LPR use during nontraditional deployments (e.g., special operations or during a "
                    "criminal "
                    "investigation) must be approved by the administrator.",
                ),
            ),
            "secondary_dissemination_log": _x(
                True,
                _c(
                    f"{ref} D.1",
                    "When LPR data are disseminated outside the agency, it should be documented in a "
                    "secondary "
                    "dissemination log.",
                ),
            ),
        },
    )


# Purposes this product refuses under every profile, whatever a policy text leaves unsaid: the
# product's own commitment (README, "non-negotiables"). Where a profile's policy prohibits one
# itself, its own clause stands; otherwise the clause says it is the product's default.
BASELINE_PROHIBITED: tuple[tuple[str, str], ...] = (
    ("immigration_enforcement", "civil immigration enforcement"),
    ("protected_characteristics", "targeting people for protected characteristics"),
    ("political_activity", "monitoring political activity"),
    ("religious_activity", "monitoring religious activity"),
    ("personal_use", "personal use"),
)


def with_baseline_prohibitions(profile: PolicyProfile) -> PolicyProfile:
    """The profile with every baseline prohibited purpose its policy does not already state."""
    missing = tuple(
        ProhibitedGround(
            code,
            description,
            _default(
                f"the policy text does not prohibit {description} expressly; alpr-ledger refuses it "
                "under every profile (product commitment)"
            ),
        )
        for code, description in BASELINE_PROHIBITED
        if profile.prohibited(code) is None
    )
    return replace(profile, prohibited_grounds=profile.prohibited_grounds + missing) if missing else profile


PROFILES: dict[str, PolicyProfile] = {
    profile.name: with_baseline_prohibitions(profile)
    for profile in (_nypd_2026(), _nypd_2021(), _nys_mptc_2022(), _county_sheriff_2025(), _iacp_2010())
}


class UnknownProfileError(KeyError, ValueError):
    """No profile has that name; the message lists the valid ones (caught as KeyError or ValueError)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.message = (
            f"unknown policy profile {name!r}: choose one of {', '.join(sorted(PROFILES))} "
            "(setting ALPR_POLICY)"
        )
        super().__init__(self.message)

    def __str__(self) -> str:  # KeyError would print the message with quotes around it
        return self.message


def get_profile(name: str) -> PolicyProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise UnknownProfileError(name) from None
