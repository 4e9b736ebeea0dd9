"""Recognition bench: frames/s and per-frame latency of each recognizer, plate accuracy of the
out-of-the-box recognizer on rendered plates.

    python -m bench.recognition [--plates 200] [--frames 20] [--seed 2026] [--json]

* **rapidocr** (out of the box): accuracy on ``--plates`` scenes, each one car with one plate
  rendered by :mod:`recognition.synthetic` (a state, a serial in one of that state's formats with
  a space or hyphen as printed, a random style; every fourth a "hard" style: smaller, more blur,
  tilt and noise). *Exact* = the recognizer's best candidate, separators and case removed, equals
  the plate; *normalised* = :func:`recognition.plates.normalise_plate` of it (state formats,
  O/0 I/1...) equals the plate. Latency is measured on those frames (720x480) and on
  ``--frames`` 1280x720 frames with two cars.
* **fast-alpr** with tiny generated models (no real weights exist on this machine): the same
  1280x720 frames. This is the pipeline overhead (pre/post-processing, two ONNX Runtime
  sessions, crops), *not* a real fast-alpr figure: real detector and OCR weights cost more.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from recognition.base import Frame
from recognition.plates import STATE_FORMATS, clean, normalise_plate
from recognition.recognizers import FastAlprRecognizer, RapidOcrRecognizer
from recognition.synthetic import STATE_NAMES, random_plate_text, random_style, render_plate, scene

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def _printed(rng: np.random.Generator) -> tuple[str, str, str]:
    """(state, printed text, plate value) with the serial in one of the state's formats."""
    states = sorted(set(STATE_FORMATS) & set(STATE_NAMES))
    state = states[int(rng.integers(0, len(states)))]
    formats = STATE_FORMATS[state]
    layout = formats[int(rng.integers(0, len(formats)))]
    cut = len(layout) // 2
    sep = ["", " ", "-"][int(rng.integers(0, 3))]
    layout = layout[:cut] + sep + layout[cut:]
    printed = random_plate_text(rng, layout)
    return state, printed, printed.replace(" ", "").replace("-", "")


def _latency(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "frames": len(values),
        "mean_ms": round(1000 * statistics.fmean(values), 1),
        "p50_ms": round(1000 * ordered[len(ordered) // 2], 1),
        "p95_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
        "frames_per_s": round(len(values) / sum(values), 2),
    }


def _camera_frames(count: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(count):
        a = render_plate(random_plate_text(rng), rng=rng, style=random_style(rng))
        b = render_plate(random_plate_text(rng), rng=rng, style=random_style(rng))
        frame, _ = scene([(a, (200, 420)), (b, (820, 440))], size=(1280, 720), rng=rng)
        frames.append(frame)
    return frames


def _time(recognizer: Any, images: list[np.ndarray]) -> tuple[list[float], list[Any]]:
    recognizer.recognize(Frame(images[0], NOW))  # warm-up: first-run allocations
    times, results = [], []
    for i, image in enumerate(images):
        start = time.perf_counter()
        results.append(recognizer.recognize(Frame(image, NOW, index=i)))
        times.append(time.perf_counter() - start)
    return times, results


def accuracy(recognizer: RapidOcrRecognizer, plates: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(plates):
        state, printed, truth = _printed(rng)
        style = random_style(rng, hard=i % 4 == 3)
        plate = render_plate(printed, state=state, style=style, rng=rng)
        x = int(rng.integers(40, 720 - plate.shape[1] - 40))
        y = int(rng.integers(200, 480 - plate.shape[0] - 10))
        image, _ = scene([(plate, (x, y))], size=(720, 480), rng=rng)
        cases.append((truth, state, i % 4 == 3, image))
    times, results = _time(recognizer, [c[3] for c in cases])
    exact = normalised = missed = region_ok = 0
    hard_exact = hard_total = 0
    misreads: list[str] = []
    for (truth, state, hard, _), candidates in zip(cases, results, strict=True):
        hard_total += hard
        if not candidates:
            missed += 1
            misreads.append(f"{truth}: none")
            continue
        best = max(candidates, key=lambda c: c.confidence)
        raw, _ = clean(best.text)
        plate = normalise_plate(best.text, state=best.region, char_confidences=best.char_confidences)
        exact += raw == truth
        hard_exact += hard and raw == truth
        normalised += plate is not None and plate.text == truth
        region_ok += best.region == state
        if plate is None or plate.text != truth:
            misreads.append(f"{truth}: {best.text!r} region {best.region}")
    return {
        "plates": plates,
        "exact": exact,
        "exact_rate": round(exact / plates, 3),
        "normalised": normalised,
        "normalised_rate": round(normalised / plates, 3),
        "no_candidate": missed,
        "hard_plates": hard_total,
        "hard_exact_rate": round(hard_exact / max(1, hard_total), 3),
        "region_from_state_line_rate": round(region_ok / plates, 3),
        "latency_720x480": _latency(times),
        "misreads_sample": misreads[:15],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--plates", type=int, default=200)
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--det-side", type=int, default=736, help="RapidOCR text detection size.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    from tests.recognition_support import make_tiny_model_dir  # onnx: a dev dependency

    results: dict[str, Any] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    camera = _camera_frames(args.frames, args.seed + 1)
    rapid = RapidOcrRecognizer(det_side=args.det_side)
    results["rapidocr_det_side"] = args.det_side
    results["rapidocr_accuracy"] = accuracy(rapid, args.plates, args.seed)
    results["rapidocr_1280x720"] = _latency(_time(rapid, camera)[0])
    with tempfile.TemporaryDirectory() as tmp:
        # 384x384: the input size of fast-alpr's default detector, so letterboxing costs the same.
        fast = FastAlprRecognizer(make_tiny_model_dir(Path(tmp) / "models", detector_size=384))
        results["fast_alpr_tiny_models_1280x720"] = _latency(_time(fast, camera)[0])
        results["fast_alpr_tiny_models_1280x720"]["note"] = (
            "pipeline overhead with tiny generated models; real weights are not available here"
        )
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        acc = results["rapidocr_accuracy"]
        print(f"rapidocr accuracy on {acc['plates']} rendered plates: exact {acc['exact_rate']:.1%}, "
              f"after normalisation {acc['normalised_rate']:.1%}, no candidate {acc['no_candidate']}, "
              f"hard-style exact {acc['hard_exact_rate']:.1%}")  # fmt: skip
        for key in ("latency_720x480",):
            print(f"rapidocr 720x480: {acc[key]}")
        print(f"rapidocr 1280x720: {results['rapidocr_1280x720']}")
        print(f"fast-alpr (tiny models, overhead only) 1280x720: {results['fast_alpr_tiny_models_1280x720']}")
        for line in acc["misreads_sample"]:
            print(f"  misread {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
