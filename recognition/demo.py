"""Demo frames for ``alpr-ledger demo-capture``: a few plates rendered as street scenes.

Kept files are reused, so capturing the folder again repeats the same reads (same capture times,
same capture ids) and the ledger stores nothing new.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

from recognition.synthetic import PlateStyle, render_plate, scene

DEMO_PLATES: tuple[tuple[str, str], ...] = (
    ("ABC1234", "NY"),
    ("7XYZ123", "CA"),
    ("KDT4821", "TX"),
    ("HJK5521", "PA"),
)


def render_demo_folder(folder: Path, *, now: datetime) -> list[Path]:
    """Render the demo plates as street scenes into ``folder`` (once: kept files are reused, so
    captures repeat the same reads), one minute apart and ending ``now``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    rng = np.random.default_rng(11)
    for i, (text, state) in enumerate(DEMO_PLATES):
        path = folder / f"{i:03d}-{state}.jpg"
        if not path.exists():
            plate = render_plate(text, state=state, style=PlateStyle(width=260))
            frame, _ = scene([(plate, (270, 330))], size=(800, 600), rng=rng)
            cv2.imwrite(str(path), frame)
            moment = (now - timedelta(minutes=len(DEMO_PLATES) - i)).timestamp()
            os.utime(path, (moment, moment))
        paths.append(path)
    return paths


__all__ = ["DEMO_PLATES", "render_demo_folder"]
