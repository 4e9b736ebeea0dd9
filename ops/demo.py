"""A synthetic city that produces plausible ALPR reads for demos, tests and benchmarks.

The city is a square street grid centred on downtown Syracuse, NY (43.0481 N, 76.1474 W),
so its plates are mostly New York ones, with neighbours (PA, NJ, MA, OH, Ontario) and a few
from far away. Nothing here is real data: plates, vehicles and trips are drawn from a seeded
``random.Random``, and all times are offsets from an injected start time, so one seed and one
start always give the same city and the same reads.

What it models (enough for every search type the design names):

* Fixed cameras at intersections, mostly on arterials (every fourth street); portable cameras
  parked a few metres from a few other intersections. Both read every vehicle passing.
* Mobile cameras on patrol vehicles that wander the grid and read parked vehicles at each
  intersection they pass (grid canvassing), at the patrol vehicle's GPS position.
* Vehicles with homes, most with workplaces, commuting on weekdays (same route every day) and
  running errands, often to a few shopping centres; every trip is an L-shaped route whose
  camera passes are timed from the vehicle's speed plus waits at lights.
* Convoys: a few vehicles always travel with a leader and pass its cameras 2-8 s after it.
* Recognition noise: confidence mostly 0.85-0.99 with a low tail, OCR-confusable misreads
  (0/O, 8/B, 5/S, ...) and reads where no state was read.

Local time is US Eastern Standard Time all year (daylight saving is ignored) - good enough for
rush hours. Image references are off by default because no image blobs exist for them. With
the defaults about 60% of reads are mobile, 37% fixed and 3% portable, and a million reads
span about seven weeks. Generation streams (memory stays flat) at well over 100,000 reads/s.

    city = SyntheticCity(seed=7, start=datetime(2025, 3, 3, 5, tzinfo=UTC))
    for command in city.reads(10_000):
        ...  # each one passes domain.read.validate_read
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import math
import random
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.camera import RegisterCamera
from domain.read import RecordRead
from domain.values import CameraId, CameraKind, Coordinates, PatrolVehicleId

CITY_NAME = "Syracuse, NY (synthetic)"
CENTRE = Coordinates(43.0481, -76.1474)
LOCAL_STATE = "NY"
UTC_OFFSET = timedelta(hours=-5)

# Real passenger-plate formats, as normalised: L = letter, D = digit, N = digit 1-9.
PLATE_FORMATS: dict[str, str] = {
    "NY": "LLLDDDD",  # ABC-1234
    "PA": "LLLDDDD",  # ABC-1234
    "OH": "LLLDDDD",  # ABC 1234
    "TX": "LLLDDDD",  # ABC-1234
    "VA": "LLLDDDD",  # ABC-1234
    "NJ": "LDDLLL",  # A12-BCD
    "MA": "NLLLDD",  # 1ABC 23
    "CA": "NLLLDDD",  # 1ABC234
    "FL": "LLLLDD",  # ABC D12
    "ON": "LLLLDDD",  # ABCD 123
}
STATE_WEIGHTS: dict[str, float] = {
    "NY": 85.0,
    "PA": 4.0,
    "ON": 2.5,
    "NJ": 2.0,
    "MA": 2.0,
    "OH": 1.5,
    "FL": 1.0,
    "CA": 0.7,
    "TX": 0.7,
    "VA": 0.6,
}
# Many issuers leave out I, O and Q because they read as 1 and 0.
_PLATE_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
_OCR_CONFUSIONS = {"0": "OD", "O": "0", "D": "0", "8": "B", "B": "8", "5": "S", "S": "5"}
_OCR_CONFUSIONS |= {"2": "Z", "Z": "2", "6": "G", "G": "6", "1": "I", "I": "1"}

_VEHICLE_TYPES = (
    ("Toyota", "Camry", "sedan"),
    ("Toyota", "RAV4", "SUV"),
    ("Honda", "Civic", "sedan"),
    ("Honda", "CR-V", "SUV"),
    ("Honda", "Odyssey", "minivan"),
    ("Ford", "F-150", "pickup"),
    ("Ford", "Escape", "SUV"),
    ("Ford", "Transit", "van"),
    ("Chevrolet", "Silverado", "pickup"),
    ("Chevrolet", "Equinox", "SUV"),
    ("Nissan", "Altima", "sedan"),
    ("Subaru", "Outback", "wagon"),
    ("Jeep", "Grand Cherokee", "SUV"),
    ("Hyundai", "Elantra", "sedan"),
    ("Kia", "Sorento", "SUV"),
    ("Ram", "1500", "pickup"),
    ("Tesla", "Model 3", "sedan"),
    ("Volkswagen", "Jetta", "sedan"),
)
_COLOURS = ("white", "black", "grey", "silver", "blue", "red", "green", "brown", "beige")
_COLOUR_WEIGHTS = (24, 22, 17, 13, 10, 9, 2, 2, 1)

_DAY = 86_400.0
_HOUR = 3_600.0
_PASS, _PARKED_READ, _PATROL, _DEPART, _PLAN_DAY = range(5)
_KIND_CODE = {CameraKind.FIXED: 0, CameraKind.PORTABLE: 1, CameraKind.MOBILE: 2}


@dataclass(frozen=True, slots=True)
class CameraSpec:
    """A camera of the demo city; ``patrol_vehicle`` is set for mobile cameras only."""

    camera_id: CameraId
    kind: CameraKind
    location: Coordinates
    patrol_vehicle: PatrolVehicleId | None = None


@dataclass(frozen=True, slots=True)
class VehicleSpec:
    """Ground truth about one vehicle; ``follows`` is the leader's plate for convoy members."""

    plate: str
    state: str
    make: str
    model: str
    colour: str
    body_type: str
    home: Coordinates
    work: Coordinates | None
    follows: str | None = None


def plate_pattern(state: str) -> str:
    """A regular expression for the normalised plates that :data:`PLATE_FORMATS` gives ``state``."""
    parts = {"L": f"[{_PLATE_LETTERS}]", "D": "[0-9]", "N": "[1-9]"}
    return "".join(parts[c] for c in PLATE_FORMATS[state])


def random_plate(state: str, rng: random.Random) -> str:
    """A plate in the real format of ``state``."""
    pools = {"L": _PLATE_LETTERS, "D": "0123456789", "N": "123456789"}
    return "".join(rng.choice(pools[c]) for c in PLATE_FORMATS[state])


def misread(plate: str, rng: random.Random) -> str:
    """``plate`` with one character swapped for one OCR confuses it with (unchanged if none)."""
    positions = [i for i, c in enumerate(plate) if c in _OCR_CONFUSIONS]
    if not positions:
        return plate
    i = rng.choice(positions)
    return plate[:i] + rng.choice(_OCR_CONFUSIONS[plate[i]]) + plate[i + 1 :]


class SyntheticCity:
    """A deterministic synthetic city: its cameras, its vehicles and a stream of their reads."""

    def __init__(
        self,
        *,
        seed: int = 7,
        start: datetime,
        cameras: int = 48,
        vehicles: int = 3_000,
        grid: int = 24,
        block_m: float = 160.0,
        images: bool = False,
    ) -> None:
        if start.utcoffset() is None:
            raise ValueError("start must be timezone-aware")
        if cameras < 3 or vehicles < 2 or grid < 4:
            raise ValueError("need at least 3 cameras, 2 vehicles and a 4x4 grid")
        self.seed = seed
        self.start = start.astimezone(UTC)
        self.grid = grid
        self.block_m = block_m
        self.images = images
        rng = random.Random(seed)
        dlat = block_m / 111_320.0
        dlon = dlat / math.cos(math.radians(CENTRE.latitude))
        half = (grid - 1) / 2
        self._node_lat = [CENTRE.latitude + (n // grid - half) * dlat for n in range(grid * grid)]
        self._node_lon = [CENTRE.longitude + (n % grid - half) * dlon for n in range(grid * grid)]
        self._build_cameras(rng, cameras, dlat)
        self._build_vehicles(rng, vehicles)

    # ---------------------------------------------------------------- layout

    def _build_cameras(self, rng: random.Random, count: int, dlat: float) -> None:
        g = self.grid
        mobile = max(1, count // 8)
        portable = max(1, count // 12)
        fixed = count - mobile - portable
        if fixed + portable > g * g:
            raise ValueError(f"a {g}x{g} grid has room for {g * g} static cameras")
        arterial = [n for n in range(g * g) if (n // g) % 4 == 0 or (n % g) % 4 == 0]
        other = [n for n in range(g * g) if (n // g) % 4 and (n % g) % 4]
        rng.shuffle(arterial)
        rng.shuffle(other)
        fixed_nodes = (arterial + other)[:fixed]
        taken = set(fixed_nodes)
        static_nodes = fixed_nodes + [n for n in other + arterial if n not in taken][:portable]
        self._cameras: list[CameraSpec] = []
        self._static_node: list[int] = []  # camera index -> node (fixed and portable)
        for i, node in enumerate(static_nodes):
            is_fixed = i < fixed
            lat = self._node_lat[node] + (0.0 if is_fixed else dlat * 0.15)  # parked ~25 m away
            self._cameras.append(
                CameraSpec(
                    camera_id=CameraId(f"FX-{i + 1:03d}" if is_fixed else f"PT-{i - fixed + 1:03d}"),
                    kind=CameraKind.FIXED if is_fixed else CameraKind.PORTABLE,
                    location=Coordinates(round(lat, 6), round(self._node_lon[node], 6)),
                )
            )
            self._static_node.append(node)
        self._patrol_base: list[int] = []
        for i in range(mobile):
            base = rng.randrange(g * g)
            self._patrol_base.append(base)
            self._cameras.append(
                CameraSpec(
                    camera_id=CameraId(f"MB-{i + 1:03d}"),
                    kind=CameraKind.MOBILE,
                    location=Coordinates(round(self._node_lat[base], 6), round(self._node_lon[base], 6)),
                    patrol_vehicle=PatrolVehicleId(f"PV-{101 + i}"),
                )
            )
        # Static cameras per street, sorted by position along it, for quick route lookups.
        self._row_cams: list[list[tuple[int, int]]] = [[] for _ in range(g)]
        self._col_cams: list[list[tuple[int, int]]] = [[] for _ in range(g)]
        for cam, node in enumerate(self._static_node):
            self._row_cams[node // g].append((node % g, cam))
            self._col_cams[node % g].append((node // g, cam))
        for street in self._row_cams + self._col_cams:
            street.sort()
        self._row_xs = [[x for x, _ in street] for street in self._row_cams]
        self._col_ys = [[y for y, _ in street] for street in self._col_cams]

    def _build_vehicles(self, rng: random.Random, count: int) -> None:
        g = self.grid
        states = list(STATE_WEIGHTS)
        weights = list(STATE_WEIGHTS.values())
        self._shops = [rng.randrange(g * g) for _ in range(max(2, g // 4))]
        seen: set[str] = set()
        self._plate: list[str] = []
        self._state: list[str] = []
        self._kind: list[tuple[str, str, str, str]] = []
        self._home: list[int] = []
        self._work: list[int] = []  # -1: no workplace
        self._block_s: list[float] = []  # seconds per block
        self._leave: list[float] = []  # usual hour of leaving for work
        self._route: list[bool] = []  # commute goes along the row first
        self._leader: list[int] = [-1] * count
        self._lag: list[float] = [0.0] * count
        self._followers: list[list[int]] = [[] for _ in range(count)]
        for _ in range(count):
            state = rng.choices(states, weights)[0]
            plate = random_plate(state, rng)
            while plate in seen:
                plate = random_plate(state, rng)
            seen.add(plate)
            make, model, body = rng.choice(_VEHICLE_TYPES)
            colour = rng.choices(_COLOURS, _COLOUR_WEIGHTS)[0]
            self._plate.append(plate)
            self._state.append(state)
            self._kind.append((make, model, colour, body))
            self._home.append(rng.randrange(g * g))
            self._work.append(rng.randrange(g * g) if rng.random() < 0.7 else -1)
            self._block_s.append(self.block_m / rng.uniform(8.0, 14.0))
            self._leave.append(rng.uniform(6.5, 9.0))
            self._route.append(rng.random() < 0.5)
        # About 2% of vehicles (at least one) travel in convoy behind a distinct leader.
        order = list(range(count))
        rng.shuffle(order)
        pairs = max(1, count // 50)
        for leader, follower in zip(order[:pairs], order[pairs : 2 * pairs], strict=True):
            self._leader[follower] = leader
            self._followers[leader].append(follower)
            self._lag[follower] = rng.uniform(2.0, 8.0)
            self._home[follower] = self._home[leader]

    # ---------------------------------------------------------------- views

    def cameras(self) -> list[CameraSpec]:
        """Every camera: fixed, then portable, then mobile."""
        return list(self._cameras)

    def vehicles(self) -> list[VehicleSpec]:
        """Ground truth about every vehicle (plates before any misread)."""

        def at(node: int) -> Coordinates:
            return Coordinates(self._node_lat[node], self._node_lon[node])

        return [
            VehicleSpec(
                plate=self._plate[v],
                state=self._state[v],
                make=self._kind[v][0],
                model=self._kind[v][1],
                colour=self._kind[v][2],
                body_type=self._kind[v][3],
                home=at(self._home[v]),
                work=None if self._work[v] < 0 else at(self._work[v]),
                follows=None if self._leader[v] < 0 else self._plate[self._leader[v]],
            )
            for v in range(len(self._plate))
        ]

    def convoys(self) -> list[tuple[str, str]]:
        """(leader plate, follower plate) of every convoy."""
        return [(self._plate[lead], self._plate[f]) for f, lead in enumerate(self._leader) if lead >= 0]

    # ---------------------------------------------------------------- simulation

    def reads(self, n: int) -> Iterator[RecordRead]:
        """Exactly ``n`` reads in non-decreasing ``captured_at`` order; streamed, not stored.

        Each call replays the same simulation from the start, so a shorter stream is a prefix
        of a longer one.
        """
        rng = random.Random(f"alpr-ledger demo reads {self.seed}")
        run_tag = f"{self.seed}-{int(self.start.timestamp())}"
        g = self.grid
        rand = rng.random
        push = heapq.heappush
        pop = heapq.heappop
        seq = itertools.count()
        heap: list[tuple[float, int, int, int, Any]] = []
        start = self.start
        cams = self._cameras
        node_lat, node_lon = self._node_lat, self._node_lon
        plate_of, state_of, kind_of = self._plate, self._state, self._kind
        followers, lag = self._followers, self._lag
        parked: list[set[int]] = [set() for _ in range(g * g)]
        location = list(self._home)  # where each vehicle is (or will be, once planned)
        free_at = [0.0] * len(plate_of)
        parked_since = [0.0] * len(plate_of)
        for v, home in enumerate(location):
            parked[home].add(v)
        patrol_prev = list(self._patrol_base)
        neighbours = [
            [m for m in (node - g, node + g) if 0 <= m < g * g]
            + [m for m in (node - 1, node + 1) if m // g == node // g and m >= 0]
            for node in range(g * g)
        ]
        first_mobile = len(self._static_node)
        captures = [0] * len(cams)
        for p, base in enumerate(self._patrol_base):
            push(heap, (rand() * 30.0, next(seq), _PATROL, p, base))
        local = start + UTC_OFFSET
        since_midnight = local.hour * _HOUR + local.minute * 60.0 + local.second
        push(heap, (0.0, next(seq), _PLAN_DAY, 0, -since_midnight))

        # Per camera: id, kind value, kind code (0 fixed, 1 portable, 2 mobile), lat, lon, car.
        info = [
            (c.camera_id, c.kind.value, _KIND_CODE[c.kind], c.location.latitude,
             c.location.longitude, c.patrol_vehicle)
            for c in cams
        ]  # fmt: skip
        images = self.images
        emitted = 0
        while emitted < n:
            t, _, kind, a, b = pop(heap)
            if kind == _PASS or kind == _PARKED_READ:
                v = a
                cam = b if kind == _PASS else first_mobile + b
                camera_id, kind_value, code, lat, lon, patrol_vehicle = info[cam]
                if kind == _PASS:
                    for f in followers[v]:
                        push(heap, (t + lag[f] + rand() * 1.5, next(seq), _PASS, f, b))
                else:  # GPS position of the patrol vehicle, a few metres of noise
                    node = patrol_prev[b]
                    lat = node_lat[node] + (rand() - 0.5) * 1e-4
                    lon = node_lon[node] + (rand() - 0.5) * 1e-4
                r = rand()
                plate = plate_of[v]
                state: str | None = state_of[v]
                if r < 0.015:
                    plate = misread(plate, rng)
                    milli = 550 + int(rand() * 300)
                elif r < 0.055:
                    state = None
                    milli = 700 + int(rand() * 250)
                elif r < 0.11:
                    milli = 400 + int(rand() * 450)
                else:
                    milli = 850 + int(rand() * 141)
                make, model, colour, body = kind_of[v]
                if code == 0:
                    vehicle = {"make": make, "model": model, "colour": colour, "body_type": body}
                elif code == 1:
                    vehicle = {"colour": colour, "body_type": body}
                else:
                    vehicle = None
                captures[cam] += 1
                # Unique per city run (seed and start), so a second seeding adds new reads while a
                # replay of the same run is recognised as a retry.
                capture_id = None if code == 1 else f"{camera_id}:{run_tag}:{captures[cam]:09d}"
                plate_image = vehicle_image = None
                if images:
                    key = f"{self.seed}/{camera_id}/{captures[cam]}"
                    plate_image = hashlib.sha256(f"{key}/plate".encode()).hexdigest()
                    if vehicle is not None:
                        vehicle_image = hashlib.sha256(f"{key}/vehicle".encode()).hexdigest()
                yield RecordRead(
                    plate=plate,
                    state=state,
                    confidence=milli / 1000,
                    camera_id=camera_id,
                    camera_kind=kind_value,
                    latitude=lat,
                    longitude=lon,
                    captured_at=start + timedelta(seconds=t),
                    patrol_vehicle=patrol_vehicle,
                    capture_id=capture_id,
                    plate_image=plate_image,
                    vehicle_image=vehicle_image,
                    vehicle=vehicle,
                )
                emitted += 1
            elif kind == _PATROL:
                p, node = a, b
                patrol_prev[p] = node
                k = 0
                for v in parked[node]:
                    if parked_since[v] <= t and rand() < 0.3:
                        k += 1
                        push(heap, (t + 0.3 * k + rand() * 0.3, next(seq), _PARKED_READ, v, p))
                nb = neighbours[node]
                step = nb[int(rand() * len(nb))]
                push(heap, (t + 40.0 + rand() * 40.0, next(seq), _PATROL, p, step))
            elif kind == _DEPART:
                v = a
                origin, dest, passes, arrival = b
                # Parked at the destination from the arrival time on: saves an arrival event.
                parked[origin].discard(v)
                parked[dest].add(v)
                parked_since[v] = arrival
                for f in followers[v]:
                    parked[origin].discard(f)
                    parked[dest].add(f)
                    parked_since[f] = arrival + lag[f]
                for when, cam in passes:
                    push(heap, (when, next(seq), _PASS, v, cam))
            else:  # _PLAN_DAY: a = day number, b = time of that day's local midnight
                midnight = b
                weekday = (local.date() + timedelta(days=a)).weekday() < 5
                for v in range(len(plate_of)):
                    if self._leader[v] < 0:
                        self._plan(v, t, midnight, weekday, rng, location, free_at, heap, seq)
                push(heap, (midnight + _DAY, next(seq), _PLAN_DAY, a + 1, midnight + _DAY))

    def _plan(
        self,
        v: int,
        now: float,
        midnight: float,
        weekday: bool,
        rng: random.Random,
        location: list[int],
        free_at: list[float],
        heap: list[tuple[float, int, int, int, Any]],
        seq: Iterator[int],
    ) -> None:
        """Schedule one vehicle's trips for the day starting at ``midnight``."""
        home, work = self._home[v], self._work[v]
        plan: list[tuple[float, int, bool]] = []  # (planned departure, destination, row first)
        if weekday and work >= 0:
            leave = midnight + (self._leave[v] - 0.3 + 0.6 * rng.random()) * _HOUR
            plan.append((leave, work, self._route[v]))
            back = leave + (8.0 + 1.5 * rng.random()) * _HOUR
            plan.append((back, home, not self._route[v]))
            if rng.random() < 0.3:
                errand = back + (1.0 + 2.0 * rng.random()) * _HOUR
                plan.append((errand, self._errand_destination(rng), rng.random() < 0.5))
                plan.append((errand + (0.3 + 1.2 * rng.random()) * _HOUR, home, rng.random() < 0.5))
        else:
            hours = sorted(9.0 + 11.0 * rng.random() for _ in range(int(rng.random() * 3)))
            for hour in hours:
                plan.append((midnight + hour * _HOUR, self._errand_destination(rng), True))
                plan.append((midnight + (hour + 0.3 + 1.2 * rng.random()) * _HOUR, home, False))
        here = location[v]
        ready = free_at[v]
        for planned, dest, row_first in plan:
            if planned < now or dest == here:
                continue  # already past on the first (partial) day, or nowhere to go
            depart = max(planned, ready + 300.0)
            passes, arrival = self._route_passes(here, dest, row_first, depart, v, rng)
            heapq.heappush(heap, (depart, next(seq), _DEPART, v, (here, dest, passes, arrival)))
            here, ready = dest, arrival
        location[v], free_at[v] = here, ready

    def _errand_destination(self, rng: random.Random) -> int:
        if rng.random() < 0.5:
            return rng.choice(self._shops)
        return rng.randrange(self.grid * self.grid)

    def _route_passes(
        self, origin: int, dest: int, row_first: bool, depart: float, v: int, rng: random.Random
    ) -> tuple[list[tuple[float, int]], float]:
        """Camera passes (time, camera) of an L-shaped route, and the arrival time."""
        g = self.grid
        x0, y0, x1, y1 = origin % g, origin // g, dest % g, dest // g
        if row_first:
            legs = (
                (self._row_cams[y0], self._row_xs[y0], x0, x1),
                (self._col_cams[x1], self._col_ys[x1], y0, y1),
            )
        else:
            legs = (
                (self._col_cams[x0], self._col_ys[x0], y0, y1),
                (self._row_cams[y1], self._row_xs[y1], x0, x1),
            )
        block_s = self._block_s[v] * (0.9 + 0.4 * rng.random())  # traffic today
        passes: list[tuple[float, int]] = []
        done = 0  # blocks driven before this leg
        wait = 0.0  # time stopped at lights so far
        for street, positions, a, b in legs:
            if b > a:
                found = street[bisect_right(positions, a) : bisect_right(positions, b)]
            else:
                found = street[bisect_left(positions, b) : bisect_left(positions, a)][::-1]
            for pos, cam in found:
                passes.append((depart + (done + abs(pos - a)) * block_s + wait, cam))
                wait += rng.random() * 12.0
            done += abs(b - a)
        return passes, depart + done * block_s + wait + 5.0


def camera_registrations(
    city: SyntheticCity, agency: str = "Syracuse PD (synthetic)"
) -> list[RegisterCamera]:
    """The registrations of the city's cameras, so their reads are accepted at ingest."""
    return [
        RegisterCamera(
            camera_id=spec.camera_id,
            kind=spec.kind.value,
            latitude=spec.location.latitude,
            longitude=spec.location.longitude,
            agency=agency,
            description=f"synthetic {spec.kind.value} camera",
            patrol_vehicle=spec.patrol_vehicle,
        )
        for spec in city.cameras()
    ]
