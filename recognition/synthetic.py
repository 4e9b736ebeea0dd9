"""Synthetic US-style licence plates and scenes, drawn with OpenCV, for tests, the bench and demos.

Everything is deterministic from the random generator (or integer seed) handed in: the same seed
gives the same pixels. Plates are drawn with OpenCV's Hershey fonts (varied face, size and
stroke), with a border, a state name line on top and an optional slogan line below, then
distorted (rotation and perspective, blur, noise, brightness) as a camera would see them.

Usage::

    rng = numpy.random.default_rng(7)
    plate = render_plate("ABC1234", state="CA", rng=rng)          # BGR ndarray
    frame, boxes = scene([(plate, (260, 300))], size=(800, 600), rng=rng)

``boxes`` are the (x1, y1, x2, y2) pixel boxes of the pasted plates in the frame (x2/y2
exclusive), the ground truth a recognizer's candidates can be compared to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np

from recognition.base import BoundingBox

STATE_NAMES: dict[str, str] = {
    "AL": "ALABAMA", "AZ": "ARIZONA", "CA": "CALIFORNIA", "CO": "COLORADO", "FL": "FLORIDA",
    "GA": "GEORGIA", "IL": "ILLINOIS", "IN": "INDIANA", "MA": "MASSACHUSETTS", "MD": "MARYLAND",
    "MI": "MICHIGAN", "MN": "MINNESOTA", "MO": "MISSOURI", "NC": "NORTH CAROLINA",
    "NJ": "NEW JERSEY", "NY": "NEW YORK", "OH": "OHIO", "OR": "OREGON", "PA": "PENNSYLVANIA",
    "TN": "TENNESSEE", "TX": "TEXAS", "VA": "VIRGINIA", "WA": "WASHINGTON", "WI": "WISCONSIN",
}  # fmt: skip

SLOGANS: tuple[str, ...] = (
    "", "", "dmv.gov", "Sunshine State", "Empire State", "Land of Lincoln", "Garden State",
    "Keystone State", "Birthplace of Aviation", "Great Lakes", "Lone Star State",
)  # fmt: skip

FONTS: tuple[int, ...] = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_PLAIN,
    cv2.FONT_HERSHEY_COMPLEX_SMALL,
)
"""Hershey faces used for the plate number; the first four read most like plate lettering."""

# (background BGR, text BGR) pairs seen on US plates: white/black, white/blue, white/dark red,
# yellow/black, light blue/dark blue.
_PALETTES: tuple[tuple[tuple[int, int, int], tuple[int, int, int]], ...] = (
    ((245, 245, 245), (20, 20, 20)),
    ((240, 240, 236), (120, 40, 20)),
    ((236, 242, 245), (30, 30, 140)),
    ((60, 210, 235), (20, 20, 20)),
    ((235, 220, 200), (110, 50, 10)),
)


@dataclass(frozen=True, slots=True)
class PlateStyle:
    """How one plate is drawn and distorted. :func:`random_style` draws one from a generator;
    tests pin one to choose cases a recognizer must read."""

    width: int = 300
    font: int = cv2.FONT_HERSHEY_DUPLEX
    thickness: int = 4
    palette: int = 0
    slogan: str = ""
    angle: float = 0.0
    """In-plane rotation in degrees (positive: anticlockwise)."""
    perspective: float = 0.0
    """Horizontal keystone, fraction of the height by which one side shrinks (0 = none)."""
    blur: int = 0
    """Gaussian kernel size (0 = none; made odd)."""
    noise: float = 0.0
    """Standard deviation of Gaussian pixel noise."""
    brightness: float = 1.0


def random_style(rng: np.random.Generator | int | None = None, *, hard: bool = False) -> PlateStyle:
    """A varied but legible style; ``hard`` widens the ranges (small, blurred, tilted plates)."""
    rng = _rng(rng)
    font = FONTS[int(rng.integers(0, 4 if not hard else len(FONTS)))]
    width = int(rng.integers(150 if hard else 220, 380))
    return PlateStyle(
        width=width,
        font=font,
        thickness=int(rng.integers(2, 6)) if font != cv2.FONT_HERSHEY_PLAIN else int(rng.integers(1, 3)),
        palette=int(rng.integers(0, len(_PALETTES))),
        slogan=SLOGANS[int(rng.integers(0, len(SLOGANS)))],
        angle=float(rng.uniform(-12, 12) if hard else rng.uniform(-6, 6)),
        perspective=float(rng.uniform(0, 0.25) if hard else rng.uniform(0, 0.12)),
        blur=int(rng.choice([0, 0, 3, 5] if hard else [0, 0, 3])),
        noise=float(rng.uniform(0, 14) if hard else rng.uniform(0, 6)),
        brightness=float(rng.uniform(0.6, 1.1) if hard else rng.uniform(0.8, 1.05)),
    )


def render_plate(
    text: str,
    *,
    state: str | None = None,
    rng: np.random.Generator | int | None = None,
    style: PlateStyle | None = None,
) -> np.ndarray:
    """Draw one plate reading ``text`` (as printed, separators kept) and return it as a BGR image.

    ``state`` (two-letter code) chooses the name line on top; without one a random state is
    drawn. ``style`` pins the look; without it one is drawn from ``rng``. The plate is about
    ``style.width`` pixels wide, twice as wide as high like a 12 x 6 inch US plate; rotation and
    perspective add a margin filled with a dark body colour."""
    rng = _rng(rng)
    style = style if style is not None else random_style(rng)
    if state is None:
        state = sorted(STATE_NAMES)[int(rng.integers(0, len(STATE_NAMES)))]
    state_name = STATE_NAMES.get(state.upper(), state.upper())
    background, ink = _PALETTES[style.palette % len(_PALETTES)]

    # Drawn at a fixed working size, then resized: strokes and fonts scale together.
    w, h = 600, 300
    plate: np.ndarray = np.full((h, w, 3), background, np.uint8)
    cv2.rectangle(plate, (6, 6), (w - 7, h - 7), ink, 6)
    cv2.rectangle(plate, (16, 16), (w - 17, h - 17), ink, 2)
    for hole_x in (150, w - 150):  # bolt holes
        cv2.circle(plate, (hole_x, 34), 8, (90, 90, 90), -1)
        cv2.circle(plate, (hole_x, h - 34), 8, (90, 90, 90), -1)
    _put_centred(plate, state_name, cv2.FONT_HERSHEY_DUPLEX, 62, 2, ink, top=28, max_width=380)
    if style.slogan:
        _put_centred(plate, style.slogan, cv2.FONT_HERSHEY_COMPLEX_SMALL, 32, 2, ink, top=h - 60,
                     max_width=360)  # fmt: skip
    _put_centred(plate, text, style.font, 130, style.thickness * 2, ink, top=95, max_width=w - 70)

    out_w = max(60, style.width)
    out_h = out_w // 2
    plate = cv2.resize(plate, (out_w, out_h), interpolation=cv2.INTER_AREA)
    plate = _distort(plate, style, rng)
    return plate


LAYOUTS: tuple[str, ...] = ("LLLDDDD", "DLLLDDD", "LLL-DDDD", "LLL DDD", "DDD-LLL", "LLLDDD", "DDDLLL",
                            "LLDDDDD", "DDDDLL", "LLDLDDD", "LDDDLL", "DDD LLDD")  # fmt: skip
"""Common US layouts (``L`` letter, ``D`` digit, others printed as they are)."""


def random_plate_text(rng: np.random.Generator | int | None = None, layout: str | None = None) -> str:
    """A plate number in ``layout`` (``L`` letter, ``D`` digit, other characters kept) or in one
    of :data:`LAYOUTS` (``ABC1234``, ``1ABC234``, ``ABC-123``...), separators included as printed.
    Letters avoid I, O and Q, as most states' serials do."""
    rng = _rng(rng)
    if layout is None:
        layout = LAYOUTS[int(rng.integers(0, len(LAYOUTS)))]
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    out = []
    for token in layout:
        if token == "L":
            out.append(letters[int(rng.integers(0, len(letters)))])
        elif token == "D":
            out.append(str(int(rng.integers(0, 10))))
        else:
            out.append(token)
    return "".join(out)


def scene(
    plates: Sequence[tuple[np.ndarray | str, tuple[int, int]]],
    size: tuple[int, int] = (800, 600),
    rng: np.random.Generator | int | None = None,
) -> tuple[np.ndarray, list[BoundingBox]]:
    """Paste plates onto a car-like background and return ``(frame, boxes)``.

    ``plates`` are ``(plate, (x, y))`` pairs: a plate image from :func:`render_plate` (or a text,
    rendered here) and the top-left corner where it goes. ``size`` is ``(width, height)``. Each
    plate sits on the rear of a drawn car body; plates that would leave the frame are clipped and
    their boxes clipped with them."""
    rng = _rng(rng)
    width, height = size
    frame = _background(width, height, rng)
    images = [render_plate(p, rng=rng) if isinstance(p, str) else p for p, _ in plates]
    for image, (_, (x, y)) in zip(images, plates, strict=True):  # all cars first: none hides a plate
        _draw_car(frame, x, y, image.shape[1], image.shape[0], rng)
    boxes: list[BoundingBox] = []
    for image, (_, (x, y)) in zip(images, plates, strict=True):
        ph, pw = image.shape[:2]
        x1, y1 = max(0, x), max(0, y)
        x2, y2 = min(width, x + pw), min(height, y + ph)
        if x2 <= x1 or y2 <= y1:
            continue
        frame[y1:y2, x1:x2] = image[y1 - y : y2 - y, x1 - x : x2 - x]
        boxes.append((x1, y1, x2, y2))
    return frame, boxes


# ------------------------------------------------------------------------------------------------


def _rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(0 if rng is None else rng)


def _put_centred(
    image: np.ndarray,
    text: str,
    font: int,
    cap_height: int,
    thickness: int,
    colour: tuple[int, int, int],
    *,
    top: int,
    max_width: int,
) -> None:
    """Write ``text`` centred horizontally with its capitals ``cap_height`` pixels tall (shrunk
    to fit ``max_width``), its top at ``top``."""
    (tw, th), _ = cv2.getTextSize(text, font, 1.0, thickness)
    scale = cap_height / max(th, 1)
    if tw * scale > max_width:
        scale = max_width / tw
    (tw, th), _ = cv2.getTextSize(text, font, scale, thickness)
    x = (image.shape[1] - tw) // 2
    cv2.putText(image, text, (x, top + th), font, scale, colour, thickness, cv2.LINE_AA)


def _distort(plate: np.ndarray, style: PlateStyle, rng: np.random.Generator) -> np.ndarray:
    h, w = plate.shape[:2]
    fill = (40, 40, 48)
    if style.angle or style.perspective:
        margin = int(0.12 * w)
        canvas = cv2.copyMakeBorder(plate, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=fill)
        ch, cw = canvas.shape[:2]
        src = np.array(
            [[margin, margin], [margin + w, margin], [margin + w, margin + h], [margin, margin + h]],
            np.float32,
        )
        dst = src.copy()
        shrink = style.perspective * h / 2
        if rng.random() < 0.5:  # the far side is the right one
            dst[1, 1] += shrink
            dst[2, 1] -= shrink
        else:
            dst[0, 1] += shrink
            dst[3, 1] -= shrink
        rot = cv2.getRotationMatrix2D((cw / 2, ch / 2), style.angle, 1.0)
        dst = np.hstack([dst, np.ones((4, 1), np.float32)]) @ rot.T.astype(np.float32)
        matrix = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
        canvas = cv2.warpPerspective(canvas, matrix, (cw, ch), borderValue=fill)
        # Crop back to the warped plate plus a small margin.
        x1, y1 = np.floor(dst.min(axis=0)).astype(int) - 4
        x2, y2 = np.ceil(dst.max(axis=0)).astype(int) + 4
        plate = canvas[max(0, y1) : min(ch, y2), max(0, x1) : min(cw, x2)]
    if style.blur:
        k = style.blur | 1
        plate = cv2.GaussianBlur(plate, (k, k), 0)
    out = plate.astype(np.float32) * style.brightness
    if style.noise:
        out += rng.normal(0.0, style.noise, out.shape).astype(np.float32)
    clipped: np.ndarray = np.clip(out, 0, 255).astype(np.uint8)
    return clipped


def _background(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """Road below, wall or sky above, with a soft gradient and noise."""
    frame = np.empty((height, width, 3), np.uint8)
    horizon = int(height * rng.uniform(0.3, 0.45))
    sky = np.array(rng.integers(120, 200, 3), np.float32)
    road = np.array([rng.integers(60, 100)] * 3, np.float32)
    ramp = np.linspace(1.0, 0.8, horizon, dtype=np.float32)[:, None, None]
    frame[:horizon] = np.clip(sky * ramp, 0, 255).astype(np.uint8)
    frame[horizon:] = road.astype(np.uint8)
    for y in range(horizon + 20, height, 60):  # lane marks
        x = int(rng.integers(0, max(1, width - 80)))
        cv2.line(frame, (x, y), (x + 60, y), (200, 200, 200), 3)
    noise = rng.normal(0, 4, frame.shape)
    return np.clip(frame + noise, 0, 255).astype(np.uint8)


def _draw_car(frame: np.ndarray, x: int, y: int, pw: int, ph: int, rng: np.random.Generator) -> None:
    """A car's rear around a plate at (x, y) of size (pw, ph): body, rear window, lights, bumper,
    wheels, in a random paint colour."""
    paint = tuple(int(c) for c in rng.integers(20, 230, 3))
    cx = x + pw // 2
    body_w = int(pw * 3.4)
    body_top = y - int(ph * 1.6)
    body_bottom = y + int(ph * 1.9)
    x1, x2 = cx - body_w // 2, cx + body_w // 2
    for wx in (x1 + body_w // 8, x2 - body_w // 8):  # wheels
        cv2.ellipse(frame, (wx, body_bottom), (pw // 3, ph // 2), 0, 0, 360, (15, 15, 15), -1)
    cv2.rectangle(frame, (x1, body_top), (x2, body_bottom), paint, -1)
    roof = body_top - int(ph * 2.2)
    window = np.array([[x1 + body_w // 6, body_top], [x2 - body_w // 6, body_top],
                       [x2 - body_w // 4, roof], [x1 + body_w // 4, roof]], np.int32)  # fmt: skip
    cv2.fillPoly(frame, [window], paint)
    inner = np.array([[x1 + body_w // 5, body_top - 6], [x2 - body_w // 5, body_top - 6],
                      [x2 - body_w // 4 - 8, roof + 10],
                      [x1 + body_w // 4 + 8, roof + 10]], np.int32)  # fmt: skip
    cv2.fillPoly(frame, [inner], (70, 60, 50))
    light_h = max(4, ph // 2)
    for lx in (x1 + 10, x2 - 10 - pw // 2):  # tail lights
        cv2.rectangle(frame, (lx, body_top + ph // 3), (lx + pw // 2, body_top + ph // 3 + light_h),
                      (30, 30, 200), -1)  # fmt: skip
    cv2.rectangle(frame, (x1 - 6, body_bottom - ph // 2), (x2 + 6, body_bottom), (35, 35, 35), -1)


def with_style(style: PlateStyle, **changes: object) -> PlateStyle:
    """``style`` with some fields changed (tests sweep one dimension at a time)."""
    return replace(style, **changes)  # type: ignore[arg-type]


__all__ = [
    "FONTS",
    "LAYOUTS",
    "STATE_NAMES",
    "PlateStyle",
    "random_plate_text",
    "random_style",
    "render_plate",
    "scene",
    "with_style",
]
