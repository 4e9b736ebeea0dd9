"""Unit tests of the synthetic demo city (ops.demo): determinism, order, validity, realism."""

from __future__ import annotations

import random
import re
import types
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.read import validate_read
from domain.values import CameraKind
from ops.demo import (
    CENTRE,
    PLATE_FORMATS,
    SyntheticCity,
    misread,
    plate_pattern,
    random_plate,
)

START = datetime(2025, 3, 3, 5, 0, tzinfo=UTC)  # Monday 00:00 US Eastern
N = 60_000

# Written out independently of PLATE_FORMATS, from the states' real passenger formats.
REAL_FORMATS = {
    "NY": r"[A-Z]{3}[0-9]{4}",
    "PA": r"[A-Z]{3}[0-9]{4}",
    "OH": r"[A-Z]{3}[0-9]{4}",
    "TX": r"[A-Z]{3}[0-9]{4}",
    "VA": r"[A-Z]{3}[0-9]{4}",
    "NJ": r"[A-Z][0-9]{2}[A-Z]{3}",
    "MA": r"[0-9][A-Z]{3}[0-9]{2}",
    "CA": r"[1-9][A-Z]{3}[0-9]{3}",
    "FL": r"[A-Z]{4}[0-9]{2}",
    "ON": r"[A-Z]{4}[0-9]{3}",
}
CONFUSABLE = {frozenset(pair) for pair in ("0O", "0D", "8B", "5S", "2Z", "6G", "1I")}


@pytest.fixture(scope="module")
def city() -> SyntheticCity:
    return SyntheticCity(seed=7, start=START)


@pytest.fixture(scope="module")
def reads(city):
    return list(city.reads(N))


def one_swap_apart(a: str, b: str) -> bool:
    diffs = [(x, y) for x, y in zip(a, b, strict=True) if x != y] if len(a) == len(b) else []
    return len(diffs) == 1 and frozenset(diffs[0]) in CONFUSABLE


# -------------------------------------------------------------------------------- stream


def test_reads_yields_exactly_n_when_asked(city):
    assert len(list(city.reads(1))) == 1
    assert len(list(city.reads(1234))) == 1234
    assert list(city.reads(0)) == []


def test_reads_streams_when_called(city):
    assert isinstance(city.reads(10**9), types.GeneratorType)  # nothing built up front


def test_reads_are_in_time_order_when_generated(reads):
    assert all(a.captured_at <= b.captured_at for a, b in zip(reads, reads[1:], strict=False))
    assert reads[0].captured_at >= START


def test_reads_all_validate_when_now_is_last_capture_time(reads):
    now = reads[-1].captured_at
    for cmd in reads:
        validate_read(cmd, now)


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    cameras=st.integers(3, 30),
    vehicles=st.integers(2, 300),
    grid=st.integers(6, 16),
    hour=st.integers(0, 23),
    images=st.booleans(),
)
def test_reads_always_validate_and_stay_ordered_when_city_varies(seed, cameras, vehicles, grid, hour, images):
    city = SyntheticCity(
        seed=seed,
        start=START + timedelta(hours=hour),
        cameras=cameras,
        vehicles=vehicles,
        grid=grid,
        images=images,
    )
    reads = list(city.reads(400))
    assert len(reads) == 400
    now = reads[-1].captured_at
    for cmd in reads:
        validate_read(cmd, now)
    assert all(a.captured_at <= b.captured_at for a, b in zip(reads, reads[1:], strict=False))


def test_reads_are_identical_when_seed_and_start_are_the_same(reads):
    again = list(SyntheticCity(seed=7, start=START).reads(2_000))
    assert again == reads[:2_000]  # a fresh city, and a shorter stream is a prefix


def test_reads_differ_when_seed_differs(reads):
    other = list(SyntheticCity(seed=8, start=START).reads(2_000))
    assert other != reads[:2_000]


def test_city_rejects_start_when_naive():
    with pytest.raises(ValueError, match="timezone-aware"):
        SyntheticCity(start=datetime(2025, 3, 3))


def test_city_converts_start_to_utc_when_given_another_offset(city):
    from datetime import timezone

    eastern = SyntheticCity(seed=7, start=START.astimezone(timezone(timedelta(hours=-5))))
    assert list(eastern.reads(300)) == list(city.reads(300))


# -------------------------------------------------------------------------------- layout


def test_cameras_include_every_kind_when_city_is_built(city):
    cameras = city.cameras()
    kinds = Counter(c.kind for c in cameras)
    assert kinds[CameraKind.FIXED] > kinds[CameraKind.MOBILE] > 0
    assert kinds[CameraKind.PORTABLE] > 0
    assert len({c.camera_id for c in cameras}) == len(cameras) == 48
    for camera in cameras:
        assert (camera.patrol_vehicle is not None) == (camera.kind is CameraKind.MOBILE)
        assert abs(camera.location.latitude - CENTRE.latitude) < 0.05
        assert abs(camera.location.longitude - CENTRE.longitude) < 0.05


def test_vehicle_plates_match_their_state_format_when_generated(city):
    vehicles = city.vehicles()
    assert len({v.plate for v in vehicles}) == len(vehicles)
    for vehicle in vehicles:
        assert re.fullmatch(REAL_FORMATS[vehicle.state], vehicle.plate), vehicle
    states = Counter(v.state for v in vehicles)
    assert states["NY"] > 0.75 * len(vehicles)  # mostly local
    assert len(states) >= 6  # and some from out of state


@given(state=st.sampled_from(sorted(PLATE_FORMATS)), seed=st.integers(0, 2**32))
def test_random_plate_matches_real_format_when_drawn(state, seed):
    plate = random_plate(state, random.Random(seed))
    assert re.fullmatch(REAL_FORMATS[state], plate)
    assert re.fullmatch(plate_pattern(state), plate)


@given(plate=st.text(alphabet="ABCDEFGHJKLMNPRSTUVWXYZ0123456789", min_size=1, max_size=8))
def test_misread_swaps_one_confusable_character_when_plate_has_one(plate):
    result = misread(plate, random.Random(0))
    if any(c in "0ODB85SZ2G61I" for c in plate):
        assert one_swap_apart(plate, result)
    else:
        assert result == plate


# -------------------------------------------------------------------------------- realism


def test_reads_reuse_camera_metadata_when_camera_is_static_or_mobile(city, reads):
    cameras = {c.camera_id: c for c in city.cameras()}
    for cmd in reads:
        camera = cameras[cmd.camera_id]
        assert cmd.camera_kind == camera.kind
        assert cmd.patrol_vehicle == camera.patrol_vehicle
        if camera.kind is not CameraKind.MOBILE:
            assert (cmd.latitude, cmd.longitude) == (
                camera.location.latitude,
                camera.location.longitude,
            )
    assert Counter(cmd.camera_kind for cmd in reads).keys() == {"fixed", "mobile", "portable"}


def test_reads_show_recognition_noise_when_many_are_generated(city, reads):
    plates = {v.plate for v in city.vehicles()}
    confidences = [cmd.confidence for cmd in reads]
    assert sum(0.85 <= c <= 0.99 for c in confidences) > 0.8 * len(reads)
    assert sum(c < 0.85 for c in confidences) > 0.05 * len(reads)
    no_state = sum(cmd.state is None for cmd in reads)
    assert 0.02 * len(reads) < no_state < 0.08 * len(reads)
    misreads = [cmd.plate for cmd in reads if cmd.plate not in plates]
    assert 0.005 * len(reads) < len(misreads) < 0.03 * len(reads)
    for wrong in misreads:
        originals = {
            wrong[:i] + other + wrong[i + 1 :]
            for i, c in enumerate(wrong)
            for pair in CONFUSABLE
            if c in pair
            for other in pair - {c}
        }
        assert originals & plates, wrong  # one OCR-confusable swap away from a real plate


def test_same_plate_is_seen_by_several_cameras_when_vehicles_drive(reads):
    cameras_by_plate: dict[str, set[str]] = defaultdict(set)
    for cmd in reads:
        cameras_by_plate[cmd.plate].add(cmd.camera_id)
    well_travelled = [p for p, cams in cameras_by_plate.items() if len(cams) >= 4]
    assert len(well_travelled) > 100


def test_commuters_pass_the_same_fixed_camera_on_several_days_when_weekdays_repeat(reads):
    days_by_sighting: dict[tuple[str, str], set[int]] = defaultdict(set)
    for cmd in reads:
        if cmd.camera_kind == "fixed":
            days_by_sighting[(cmd.plate, cmd.camera_id)].add(cmd.captured_at.toordinal())
    assert sum(len(days) >= 2 for days in days_by_sighting.values()) > 100


def test_followers_trail_leaders_at_same_cameras_when_in_convoy(city, reads):
    convoys = city.convoys()
    assert convoys
    seen: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for cmd in reads:
        if cmd.camera_kind != "mobile":
            seen[(cmd.plate, cmd.camera_id)].append(cmd.captured_at)
    leader_passes = trailed = 0
    for leader, follower in convoys:
        for (plate, camera), times in seen.items():
            if plate != leader:
                continue
            for when in times:
                if when > reads[-1].captured_at - timedelta(seconds=30):
                    continue  # the follower's read may lie beyond the sample
                leader_passes += 1
                trailed += any(
                    timedelta(seconds=2) <= t - when <= timedelta(seconds=10)
                    for t in seen.get((follower, camera), [])
                )
    assert leader_passes > 20
    assert trailed >= 0.9 * leader_passes  # the rest are misreads of the follower's plate


def test_convoy_members_are_recorded_as_ground_truth_when_city_is_built(city):
    follows = {v.plate: v.follows for v in city.vehicles() if v.follows}
    assert follows == {follower: leader for leader, follower in city.convoys()}


def test_fixed_reads_peak_at_rush_hours_when_commuters_drive(reads):
    local_hours = Counter(
        (cmd.captured_at - timedelta(hours=5)).hour for cmd in reads if cmd.camera_kind == "fixed"
    )
    assert local_hours[8] > 3 * local_hours[3]
    assert local_hours[17] > 3 * local_hours[3]


def test_images_are_sha256_refs_when_enabled():
    cmds = list(SyntheticCity(seed=1, start=START, images=True).reads(200))
    assert all(cmd.plate_image and re.fullmatch("[0-9a-f]{64}", cmd.plate_image) for cmd in cmds)
    assert all(cmd.plate_image is None for cmd in SyntheticCity(seed=1, start=START).reads(200))
