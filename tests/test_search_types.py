"""The five search types over the read index, on SQLite and PostgreSQL, against brute force.

Each search runs through the service (recorded) on reads of the demo city, and must give exactly
the reads a scan of the same reads in Python gives, in the same order, with the count and digest
of all of them recorded; the API tests walk pages and check refusals of unreadable criteria.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from domain.account import Principal
from domain.camera import RegisterCamera
from domain.errors import InvalidFieldError
from domain.matching import CONFUSABLE_GROUPS, confusable_key
from domain.policy import Role
from domain.read import RecordRead
from domain.search import SEARCH_TYPES, RunSearch, Search, result_digest
from ops.bootstrap import Runtime
from ops.commands.searches import SearchResult
from tests.api_support import bearer, recorded, token_for
from tests.cameras_support import city, city_reads, read_from
from tests.test_search import REASON, searcher

N_READS = 1500


@dataclass(frozen=True)
class Stored:
    read_id: str
    read: RecordRead

    @property
    def key(self) -> tuple[datetime, str]:
        return (self.read.captured_at, self.read_id)


def store(runtime: Runtime, n: int = N_READS, seed: int = 3) -> list[Stored]:
    reads = city_reads(runtime, n, seed=seed)
    ids = [i for start in range(0, n, 1000) for i in runtime.app.record_reads(reads[start : start + 1000])]
    return [Stored(str(i), r) for i, r in zip(ids, reads, strict=True)]


def request(search_type: str, criteria: dict[str, Any]) -> RunSearch:
    return RunSearch(
        search_type=search_type,
        criteria=criteria,
        purpose="criminal_investigation",
        reason=REASON,
        case_number="25-004211",
    )


def run_all(
    runtime: Runtime, who: Principal, search_type: str, criteria: dict[str, Any], limit: int
) -> list[Any]:
    """Every page of a search (each page a recorded search), results concatenated."""
    found: list[Any] = []
    offset: int | None = 0
    first: SearchResult | None = None
    while offset is not None:
        result = runtime.app.run_search(who, request(search_type, criteria), limit=limit, offset=offset)
        first = first or result
        assert result.count == first.count
        found.extend(result.associates if result.associates is not None else result.results)
        offset = result.next_offset
    return found


def ordered(rows: Sequence[Stored], keep: Callable[[RecordRead], bool]) -> list[str]:
    return [s.read_id for s in sorted((s for s in rows if keep(s.read)), key=lambda s: s.key)]


def check_reads_search(
    runtime: Runtime, who: Principal, search_type: str, criteria: dict[str, Any], expected: list[str]
) -> None:
    """The search returns ``expected`` in order (walked in pages), and records all of them."""
    assert expected, f"{search_type} {criteria}: the synthetic data must give results"
    limit = max(1, len(expected) // 3)
    got = run_all(runtime, who, search_type, criteria, limit)
    assert [str(r.read_id) for r in got] == expected
    executed = recorded(runtime, Search.Executed)[-1]
    assert executed.result_count == len(expected)
    assert executed.result_digest == result_digest(expected)


# ---- brute force ---------------------------------------------------------------------------------


def glob(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern))


def plate_matches(plate: str, pattern: str, confusable: bool) -> bool:
    if confusable:
        plate, pattern = confusable_key(plate), confusable_key(pattern)
    return glob(pattern).fullmatch(plate) is not None


def winding_inside(lon: float, lat: float, ring: Sequence[Sequence[float]]) -> bool:
    """Winding-number test (independent of the even-odd rule the projection uses)."""
    winding = 0
    for (x1, y1), (x2, y2) in zip(ring, ring[1:], strict=False):
        cross = (x2 - x1) * (lat - y1) - (lon - x1) * (y2 - y1)
        if y1 <= lat < y2 and cross > 0:
            winding += 1
        elif y2 <= lat < y1 and cross < 0:
            winding -= 1
    return winding != 0


def metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    r = 6_371_008.8
    a = (
        math.sin(math.radians(lat2 - lat1) / 2) ** 2
        + math.cos(math.radians(lat1))
        * math.cos(math.radians(lat2))
        * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * r * math.asin(math.sqrt(a))


def brute_associates(
    rows: Sequence[Stored],
    plate: str,
    window_s: int,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[tuple[str, int, list[str]]]:
    sightings = [
        s
        for s in rows
        if s.read.plate == plate
        and (start is None or s.read.captured_at >= start)
        and (end is None or s.read.captured_at < end)
    ]
    shared: dict[str, set[str]] = {}
    reads: dict[str, set[str]] = {}
    window = timedelta(seconds=window_s)
    for s in sightings:
        for o in rows:
            if (
                o.read.plate != plate
                and o.read.camera_id == s.read.camera_id
                and abs(o.read.captured_at - s.read.captured_at) <= window
            ):
                shared.setdefault(o.read.plate, set()).add(s.read_id)
                reads.setdefault(o.read.plate, set()).add(o.read_id)
    by_id = {s.read_id: s for s in rows}
    ranked = sorted(shared, key=lambda p: (-len(shared[p]), p))
    return [(p, len(shared[p]), sorted(reads[p], key=lambda r: by_id[r].key)) for p in ranked]


# ---- the five types ------------------------------------------------------------------------------


def _variant(plate: str) -> str | None:
    """``plate`` with one OCR-confusable character swapped for another of its class."""
    for i, char in enumerate(plate):
        for group in CONFUSABLE_GROUPS:
            if char in group:
                other = next(g for g in group if g != char)
                return plate[:i] + other + plate[i + 1 :]
    return None


def test_plate_search_complete_wildcard_and_confusable_match_brute_force(runtime: Runtime) -> None:
    rows = store(runtime)
    who = searcher(runtime)
    counts = Counter(s.read.plate for s in rows)
    # a frequent plate whose first-and-last-character wildcard also matches other plates (the
    # synthetic city depends on the time of day the test runs, so pick it from the data)
    plate = next(
        p
        for p, _ in counts.most_common()
        if len({q for q in counts if plate_matches(q, p[0] + "*" + p[-1], False)}) > 1
    )
    confusable_plate = next(p for p, _ in counts.most_common() if _variant(p) is not None)
    variant = _variant(confusable_plate)
    assert variant is not None
    first = min(s.read.captured_at for s in rows)
    middle = first + (max(s.read.captured_at for s in rows) - first) / 2
    cases: list[tuple[dict[str, Any], Callable[[RecordRead], bool]]] = [
        ({"plate": plate}, lambda r: r.plate == plate),
        (
            {"plate": plate[0] + "*" + plate[-1]},
            lambda r: plate_matches(r.plate, plate[0] + "*" + plate[-1], False),
        ),
        (
            {"plate": plate[:2] + "?" + plate[3:]},
            lambda r: plate_matches(r.plate, plate[:2] + "?" + plate[3:], False),
        ),
        ({"plate": "*" + plate[-3:]}, lambda r: r.plate.endswith(plate[-3:])),
        (
            {"plate": variant, "confusable": True},
            lambda r: confusable_key(r.plate) == confusable_key(variant),
        ),
        (
            {"plate": variant[:3] + "*", "confusable": True},
            lambda r: plate_matches(r.plate, variant[:3] + "*", True),
        ),
        (
            {"plate": plate[:2] + "*", "from": first.isoformat(), "to": middle.isoformat()},
            lambda r: r.plate.startswith(plate[:2]) and first <= r.captured_at < middle,
        ),
    ]
    state = next(s.read.state for s in rows if s.read.plate.startswith(plate[:2]) and s.read.state)
    cases.append(
        (
            {"plate": plate[:2] + "*", "state": state},
            lambda r: r.plate.startswith(plate[:2]) and r.state == state,
        )
    )
    cameras = sorted({s.read.camera_id for s in rows if s.read.plate.startswith(plate[:2])})[:3]
    cases.append(
        (
            {"plate": plate[:2] + "*", "camera_ids": cameras},
            lambda r: r.plate.startswith(plate[:2]) and r.camera_id in cameras,
        )
    )
    for criteria, keep in cases:
        check_reads_search(runtime, who, "plate", criteria, ordered(rows, keep))
    # the wildcard and confusable searches find more than one plate (they are not exact lookups)
    assert (
        len({s.read.plate for s in rows if plate_matches(s.read.plate, plate[0] + "*" + plate[-1], False)})
        > 1
    )
    assert variant not in counts or counts[variant] < len(
        ordered(rows, lambda r: confusable_key(r.plate) == confusable_key(variant))
    )
    # a result shows the read as captured, confidence included
    result = runtime.app.run_search(who, request("plate", {"plate": plate}))
    by_id = {s.read_id: s.read for s in rows}
    for r in result.results:
        read = by_id[str(r.read_id)]
        assert (r.plate, r.confidence, r.captured_at, r.camera_id) == (
            read.plate,
            read.confidence,
            read.captured_at,
            read.camera_id,
        )


def test_reader_vehicle_and_area_searches_match_brute_force(runtime: Runtime) -> None:
    rows = store(runtime)
    who = searcher(runtime)
    first = min(s.read.captured_at for s in rows)
    last = max(s.read.captured_at for s in rows)
    start, end = first + (last - first) / 5, first + (last - first) * 4 / 5
    window = {"from": start.isoformat(), "to": end.isoformat()}

    def inside(r: RecordRead) -> bool:
        return start <= r.captured_at < end

    fixed = sorted({s.read.camera_id for s in rows if s.read.camera_kind == "fixed"})[:4]
    assert fixed
    check_reads_search(
        runtime,
        who,
        "fixed_readers",
        {"camera_ids": fixed, **window},
        ordered(rows, lambda r: r.camera_id in fixed and r.camera_kind == "fixed" and inside(r)),
    )
    mobile = [s.read.camera_id for s in rows if s.read.camera_kind == "mobile"][:1]
    assert mobile, "the demo city has mobile readers"
    # a mobile camera's id is not a fixed reader: listing it among fixed readers adds nothing
    check_reads_search(
        runtime,
        who,
        "fixed_readers",
        {"camera_ids": [*fixed, *mobile], **window},
        ordered(rows, lambda r: r.camera_id in fixed and r.camera_kind == "fixed" and inside(r)),
    )
    vehicles = sorted({s.read.patrol_vehicle for s in rows if s.read.patrol_vehicle})[:2]
    check_reads_search(
        runtime,
        who,
        "mobile_readers",
        {"patrol_vehicles": vehicles, **window},
        ordered(rows, lambda r: r.patrol_vehicle in vehicles and r.camera_kind == "mobile" and inside(r)),
    )

    lats = sorted(s.read.latitude for s in rows)
    lons = sorted(s.read.longitude for s in rows)
    lat_lo, lat_hi = lats[len(lats) // 5], lats[len(lats) * 4 // 5]
    lon_lo, lon_hi = lons[len(lons) // 5], lons[len(lons) * 4 // 5]
    lon_mid = (lon_lo + lon_hi) / 2
    # a concave pentagon (an arrow head), so a bounding box alone would be wrong
    ring = [
        [lon_lo, lat_lo],
        [lon_mid, (lat_lo + lat_hi) / 2],
        [lon_hi, lat_lo],
        [lon_hi, lat_hi],
        [lon_lo, lat_hi],
        [lon_lo, lat_lo],
    ]
    polygon = {"type": "Polygon", "coordinates": [ring]}
    in_polygon = ordered(rows, lambda r: winding_inside(r.longitude, r.latitude, ring) and inside(r))
    in_box = ordered(
        rows, lambda r: lon_lo <= r.longitude <= lon_hi and lat_lo <= r.latitude <= lat_hi and inside(r)
    )
    assert len(in_polygon) < len(in_box), "the concave notch must exclude reads the box holds"
    check_reads_search(runtime, who, "area", {"polygon": polygon, **window}, in_polygon)

    centre = rows[len(rows) // 2].read
    for radius in (300.0, 1500.0):
        circle = {"center": [centre.longitude, centre.latitude], "radius_m": radius}
        check_reads_search(
            runtime,
            who,
            "area",
            {"circle": circle, **window},
            ordered(
                rows,
                lambda r, radius=radius: (  # type: ignore[misc]
                    metres(centre.longitude, centre.latitude, r.longitude, r.latitude) <= radius and inside(r)
                ),
            ),
        )


def test_associates_rank_plates_by_shared_sightings_like_brute_force(runtime: Runtime) -> None:
    rows = store(runtime, 2500)
    who = searcher(runtime)
    counts = Counter(s.read.plate for s in rows)
    leaders = [leader for leader, _ in city().convoys() if counts[leader] >= 2]
    # The city's traffic follows the hour of the day the test runs at: take a convoy leader and a
    # frequent plate that do have associates now, rather than assume the first ones do.
    candidates = [*leaders, *(p for p, n in counts.most_common(30) if n >= 2)]
    with_associates = [p for p in dict.fromkeys(candidates) if brute_associates(rows, p, 90)]
    assert with_associates, "the demo city gives associates to some plate"
    plates = [with_associates[0], max(with_associates, key=lambda p: counts[p])]
    for plate in dict.fromkeys(plates):
        for window_s in (90, 600):
            expected = brute_associates(rows, plate, window_s)
            assert expected, f"{plate} has associates in the demo city"
            got = run_all(runtime, who, "associates", {"plate": plate, "window_s": window_s}, limit=4)
            assert [(a.plate, a.shared_sightings, [str(r.read_id) for r in a.reads]) for a in got] == expected
            assert plate not in [a.plate for a in got]
            executed = recorded(runtime, Search.Executed)[-1]
            all_reads = [r for _, _, ids in expected for r in ids]
            assert executed.result_digest == result_digest(all_reads)
            assert executed.result_count == len(all_reads)
    # a window of sightings: only those sightings count
    plate = plates[-1]
    times = sorted(s.read.captured_at for s in rows if s.read.plate == plate)
    start, end = times[0], times[len(times) // 2]
    got = run_all(
        runtime,
        who,
        "associates",
        {"plate": plate, "window_s": 600, "from": start.isoformat(), "to": end.isoformat()},
        limit=1000,
    )
    assert [(a.plate, a.shared_sightings) for a in got] == [
        (p, n) for p, n, _ in brute_associates(rows, plate, 600, start, end)
    ]


def test_a_read_just_ingested_is_found_by_the_next_search_of_each_type(runtime: Runtime) -> None:
    store(runtime, 200)
    who = searcher(runtime)
    runtime.app.register_camera(
        RegisterCamera(
            camera_id="FX-NEW",
            kind="fixed",
            latitude=43.0481,
            longitude=-76.1474,
            agency="Syracuse PD (synthetic)",
            description="pole at Salina St and Fayette St",
        ),
        by="tests",
    )
    now = datetime.now(UTC)
    window = {
        "from": (now - timedelta(minutes=5)).isoformat(),
        "to": (now + timedelta(minutes=1)).isoformat(),
    }
    searches: list[tuple[str, dict[str, Any]]] = [
        ("plate", {"plate": "ZQ*"}),
        ("fixed_readers", {"camera_ids": ["FX-NEW"], **window}),
        ("area", {"circle": {"center": [-76.1474, 43.0481], "radius_m": 5.0}, **window}),
    ]
    for i, (search_type, criteria) in enumerate(searches):
        (read_id,) = runtime.app.record_reads(
            [
                read_from(
                    "FX-NEW", plate=f"ZQ{i}X9", captured_at=now - timedelta(seconds=10 + i), capture_id=None
                )
            ]
        )
        found = runtime.app.run_search(who, request(search_type, criteria))
        assert read_id in {r.read_id for r in found.results}


# ---- criteria that cannot be read: 422 naming the field and rule, nothing recorded -------------------

BAD_CRITERIA: list[tuple[str, dict[str, Any], str, str]] = [
    ("plate", {"plate": "*"}, "criteria.plate", "search.plate.too_broad"),
    ("plate", {"plate": "A_C"}, "criteria.plate", "search.plate.wildcard"),
    ("plate", {"plate": "AB*", "confusable": "yes"}, "criteria.confusable", "criteria.confusable.type"),
    ("fixed_readers", {"camera_ids": ["FX-1"]}, "criteria.from", "criteria.window.required"),
    ("fixed_readers", {"camera_ids": [], "from": "2025-03-01T00:00:00Z", "to": "2025-03-02T00:00:00Z"},
     "criteria.camera_ids", "criteria.camera_ids.required"),
    ("mobile_readers", {"patrol_vehicles": ["PV-101"], "from": "2025-03-02T00:00:00Z",
                        "to": "2025-03-01T00:00:00Z"},
     "criteria.to", "criteria.window"),
    ("mobile_readers", {"camera_ids": ["x"]}, "criteria.camera_ids", "criteria.unknown"),
    ("area", {"from": "2025-03-01T00:00:00Z", "to": "2025-03-02T00:00:00Z"}, "criteria.polygon",
     "criteria.area.required"),
    ("area", {"circle": {"center": [-76.1, 43.0], "radius_m": 0}, "from": "2025-03-01T00:00:00Z",
              "to": "2025-03-02T00:00:00Z"}, "criteria.circle.radius_m", "criteria.number.range"),
    ("area", {"circle": {"center": [-276.1, 43.0], "radius_m": 10}, "from": "2025-03-01T00:00:00Z",
              "to": "2025-03-02T00:00:00Z"}, "criteria.circle.center[0]", "criteria.number.range"),
    ("area", {"polygon": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]},
              "from": "2025-03-01T00:00:00Z", "to": "2025-03-02T00:00:00Z"},
     "criteria.polygon.coordinates[0]", "criteria.polygon.ring"),
    ("area", {"polygon": {"type": "Point", "coordinates": [0, 0]}, "from": "2025-03-01T00:00:00Z",
              "to": "2025-03-02T00:00:00Z"}, "criteria.polygon", "criteria.polygon.format"),
    ("associates", {"plate": "ABC1234"}, "criteria.window_s", "criteria.window_s.range"),
    ("associates", {"plate": "ABC1234", "window_s": 7200}, "criteria.window_s", "criteria.window_s.range"),
    ("associates", {"plate": "AB*", "window_s": 60}, "criteria.plate", "search.associates.complete_plate"),
]  # fmt: skip


@pytest.mark.parametrize(("search_type", "criteria", "field", "rule"), BAD_CRITERIA)
def test_unreadable_criteria_answer_422_naming_field_and_rule_and_record_nothing(
    runtime: Runtime, search_type: str, criteria: dict[str, Any], field: str, rule: str
) -> None:
    who = searcher(runtime)
    with pytest.raises(InvalidFieldError) as caught:
        runtime.app.run_search(who, request(search_type, criteria))
    assert (caught.value.field, caught.value.rule) == (field, rule)
    assert recorded(runtime, Search.Requested) == []


# ---- through the API -----------------------------------------------------------------------------


def _body(search_type: str, criteria: dict[str, Any]) -> dict[str, Any]:
    return {
        "search_type": search_type,
        "criteria": criteria,
        "purpose": "criminal_investigation",
        "reason": REASON,
        "case_number": "25-004211",
    }


def test_api_runs_each_type_in_pages_with_count_and_next_offset(runtime: Runtime) -> None:
    rows = store(runtime, 800)
    client = TestClient(create_app(runtime))
    inv = bearer(token_for(runtime, Role.INVESTIGATOR))
    first = min(s.read.captured_at for s in rows)
    last = max(s.read.captured_at for s in rows)
    window = {"from": first.isoformat(), "to": (last + timedelta(seconds=1)).isoformat()}
    plate = Counter(s.read.plate for s in rows).most_common(1)[0][0]
    fixed = sorted({s.read.camera_id for s in rows if s.read.camera_kind == "fixed"})[:3]
    vehicles = sorted({s.read.patrol_vehicle for s in rows if s.read.patrol_vehicle})[:1]
    centre = rows[0].read
    searches: list[tuple[str, dict[str, Any], list[str]]] = [
        ("plate", {"plate": plate[:2] + "*"}, ordered(rows, lambda r: r.plate.startswith(plate[:2]))),
        ("fixed_readers", {"camera_ids": fixed, **window}, ordered(rows, lambda r: r.camera_id in fixed)),
        (
            "mobile_readers",
            {"patrol_vehicles": vehicles, **window},
            ordered(rows, lambda r: r.patrol_vehicle in vehicles),
        ),
        (
            "area",
            {"circle": {"center": [centre.longitude, centre.latitude], "radius_m": 800}, **window},
            ordered(
                rows, lambda r: metres(centre.longitude, centre.latitude, r.longitude, r.latitude) <= 800
            ),
        ),
    ]
    for search_type, criteria, expected in searches:
        assert len(expected) > 3, search_type
        seen: list[str] = []
        offset: int | None = 0
        while offset is not None:
            response = client.post(
                f"/v1/searches?limit=3&offset={offset}", json=_body(search_type, criteria), headers=inv
            )
            assert response.status_code == 201, response.text
            body = response.json()
            assert body["count"] == len(expected) and body["limit"] == 3 and body["offset"] == offset
            assert len(body["results"]) <= 3 and body["associates"] is None
            assert all(0 <= r["confidence"] <= 1 for r in body["results"])
            seen.extend(r["read_id"] for r in body["results"])
            offset = body["next_offset"]
        assert seen == expected, search_type
        record = client.get(f"/v1/searches/{body['search_id']}", headers=inv).json()
        assert record["result_count"] == len(expected) and record["result_digest"] == result_digest(expected)

    # the city's traffic follows the clock: a frequent plate that has associates at this hour
    counts = Counter(s.read.plate for s in rows)
    seen_near = [p for p, _ in counts.most_common(40) if len(brute_associates(rows, p, 600)) >= 2]
    assert seen_near, "the demo city gives associates to some frequent plate"
    plate = seen_near[0]
    expected_associates = brute_associates(rows, plate, 600)
    response = client.post(
        "/v1/searches?limit=2", json=_body("associates", {"plate": plate, "window_s": 600}), headers=inv
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["count"] == len(expected_associates) and body["results"] == []
    assert [(a["plate"], a["shared_sightings"]) for a in body["associates"]] == [
        (p, n) for p, n, _ in expected_associates[:2]
    ]
    assert [r["read_id"] for r in body["associates"][0]["reads"]] == expected_associates[0][2]
    assert body["next_offset"] == (2 if len(expected_associates) > 2 else None)


@pytest.mark.parametrize(("search_type", "criteria", "field", "rule"), BAD_CRITERIA[::3])
def test_api_answers_422_problem_for_unreadable_criteria(
    runtime: Runtime, search_type: str, criteria: dict[str, Any], field: str, rule: str
) -> None:
    client = TestClient(create_app(runtime))
    inv = bearer(token_for(runtime, Role.INVESTIGATOR))
    response = client.post("/v1/searches", json=_body(search_type, criteria), headers=inv)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [(e["field"], e["rule"]) for e in response.json()["errors"]] == [(field, rule)]
    assert recorded(runtime, Search.Requested) == []


def test_api_answers_422_for_a_page_limit_out_of_range(runtime: Runtime) -> None:
    client = TestClient(create_app(runtime))
    inv = bearer(token_for(runtime, Role.INVESTIGATOR))
    for query in ("limit=0", "limit=1001", "offset=-1"):
        response = client.post(
            f"/v1/searches?{query}", json=_body("plate", {"plate": "ABC1234"}), headers=inv
        )
        assert response.status_code == 422, query
    assert recorded(runtime, Search.Requested) == []


def test_read_ids_are_uuids_in_results(runtime: Runtime) -> None:
    rows = store(runtime, 100)
    who = searcher(runtime)
    result = runtime.app.run_search(who, request("plate", {"plate": rows[0].read.plate}))
    assert all(isinstance(r.read_id, UUID) for r in result.results)


def test_a_search_over_the_result_cap_is_recorded_as_failed_and_answered_422(runtime: Runtime) -> None:
    from ops.search_executor import ReadIndexExecutor, TooManyResultsError

    rows = store(runtime, 300)
    plate = Counter(s.read.plate for s in rows).most_common(1)[0][0]
    seen = sum(1 for s in rows if s.read.plate == plate)
    assert seen >= 2
    app = runtime.app
    who = searcher(runtime)
    app.search_executors = [ReadIndexExecutor(app, t, max_results=seen) for t in SEARCH_TYPES]
    assert app.run_search(who, request("plate", {"plate": plate})).count == seen  # exactly the cap
    app.search_executors = [ReadIndexExecutor(app, t, max_results=seen - 1) for t in SEARCH_TYPES]
    with pytest.raises(TooManyResultsError) as caught:
        app.run_search(who, request("plate", {"plate": plate}))
    assert (caught.value.field, caught.value.rule) == ("criteria", "search.results.too_many")
    assert recorded(runtime, Search.Failed)[-1].error == "TooManyResultsError"
    assert len(recorded(runtime, Search.Executed)) == 1  # no count or digest for the failed one

    client = TestClient(create_app(runtime))
    response = client.post(
        "/v1/searches",
        json=_body("plate", {"plate": plate}),
        headers=bearer(token_for(runtime, Role.INVESTIGATOR)),
    )
    assert response.status_code == 422
    assert "search.results.too_many" in response.text and "criteria" in response.text
    assert len(recorded(runtime, Search.Failed)) == 2


def test_area_window_edges_are_exact_and_a_2d_tree_of_an_earlier_version_is_rebuilt_in_place(
    runtime: Runtime,
) -> None:
    rows = store(runtime, 400)
    who = searcher(runtime)
    ordered_rows = sorted(rows, key=lambda s: s.key)
    start = ordered_rows[100].read.captured_at  # inclusive: this read is in
    end = ordered_rows[300].read.captured_at  # exclusive: this read is out
    window = {"from": start.isoformat(), "to": end.isoformat()}
    lons = [s.read.longitude for s in rows]
    lats = [s.read.latitude for s in rows]
    ring = [
        [min(lons) - 0.01, min(lats) - 0.01],
        [max(lons) + 0.01, min(lats) - 0.01],
        [max(lons) + 0.01, max(lats) + 0.01],
        [min(lons) - 0.01, max(lats) + 0.01],
        [min(lons) - 0.01, min(lats) - 0.01],
    ]
    criteria = {"polygon": {"type": "Polygon", "coordinates": [ring]}, **window}
    expected = ordered(rows, lambda r: start <= r.captured_at < end)
    assert ordered_rows[100].read_id in expected and ordered_rows[300].read_id not in expected
    check_reads_search(runtime, who, "area", criteria, expected)

    if runtime.projections.dialect != "sqlite":
        return
    from projections.reads import GEO, READS_TABLE
    from projections.registry import runner

    db = runtime.projections
    with db.transaction() as c:  # the shape of version 1: a 2-D tree
        c.execute(f"DROP TABLE {GEO}")
        c.execute(f"CREATE VIRTUAL TABLE {GEO} USING rtree(rid, min_lon, max_lon, min_lat, max_lat)")
        c.execute(
            f"INSERT INTO {GEO} SELECT rid, longitude, longitude, latitude, latitude FROM {READS_TABLE}"
        )
    reads = runner(runtime.app, "reads")
    reads._ready = False  # as a new process opening the view would
    check_reads_search(runtime, who, "area", criteria, expected)
    with db.read() as c:
        c.execute(f"SELECT COUNT(*) FROM pragma_table_info('{GEO}')")
        assert c.fetchone()[0] == 7
        c.execute(f"SELECT COUNT(*) FROM {GEO}")
        assert c.fetchone()[0] == len(rows)
