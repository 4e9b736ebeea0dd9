"""Recognizers: a frame in, plate candidates out (see :class:`recognition.base.Recognizer`).

- :class:`FastAlprRecognizer` ("fast-alpr"): the production recognizer. fast-alpr's ``ALPR``
  pipeline with an open-image-models YOLOv9 plate detector and a fast-plate-ocr OCR model, all
  loaded from explicit local files listed in a model manifest and checked against their SHA-256
  before anything is loaded (:mod:`recognition.models`). No model name is ever passed to those
  libraries, so their hub download code is never reached.
- :class:`RapidOcrRecognizer` ("rapidocr"): works out of the box with no model files. RapidOCR's
  text detector and recogniser (PP-OCR ONNX weights shipped inside the ``rapidocr`` wheel, passed
  by explicit path so RapidOCR's own download step is never taken) find text lines; lines that
  :mod:`recognition.plates` judges plausible plates become candidates, so make names, state names
  and slogans are not read as plates. A state name line just above a plate gives its region.

Licences of what these use: fast-alpr, fast-plate-ocr, open-image-models MIT; RapidOCR
Apache-2.0 (its bundled PP-OCR weights come from PaddleOCR, Apache-2.0); ONNX Runtime MIT;
opencv-python-headless Apache-2.0 (MIT and BSD for bundled parts); onnx (tests only) Apache-2.0.
fast-alpr weights an agency provides carry their own licence, recorded in the model manifest.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from recognition.base import BoundingBox, Frame, ModelError, PlateCandidate
from recognition.models import load_manifest, verify_models
from recognition.plates import clean, normalise_plate

RECOGNIZERS: tuple[str, ...] = ("rapidocr", "fast-alpr")
DEFAULT_RECOGNIZER = "rapidocr"

_CPU = ("CPUExecutionProvider",)


def _session_options(threads: int | None) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return options


class _LocalPlateDetector:
    """fast-alpr ``BaseDetector`` over an open-image-models detector built from a local file
    (fast-alpr's own ``DefaultDetector`` only takes hub model names)."""

    def __init__(self, model_path: Path, *, backend: str, conf_thresh: float, threads: int | None) -> None:
        from open_image_models import create_detector

        self._detector = create_detector(
            model_path,
            backend=backend,  # type: ignore[arg-type]
            class_labels=["License Plate"],
            conf_thresh=conf_thresh,
            providers=list(_CPU),
            sess_options=_session_options(threads),
        )

    def predict(self, frame: np.ndarray) -> list[Any]:
        return list(self._detector.predict(frame))


class FastAlprRecognizer:
    """fast-alpr with a local detector ONNX, OCR ONNX and OCR plate config from ``model_dir``.

    The manifest (``model_dir/manifest.json``) must have one ``detector``, ``ocr`` and
    ``ocr_config`` entry; every file is verified before loading. Any failure to verify or load
    is a :class:`ModelError` naming the file."""

    name = "fast-alpr"

    def __init__(
        self,
        model_dir: Path | str,
        *,
        detector_backend: str = "yolo_v9",
        detector_conf_thresh: float = 0.4,
        threads: int | None = None,
    ) -> None:
        from fast_alpr import ALPR
        from fast_alpr.base import BaseDetector
        from fast_alpr.default_ocr import DefaultOCR

        model_dir = Path(model_dir)
        manifest = load_manifest(model_dir)
        for role in ("detector", "ocr", "ocr_config"):
            manifest.by_role(role)
        paths = verify_models(model_dir, manifest)

        class _Detector(_LocalPlateDetector, BaseDetector):  # type: ignore[misc]  # fast-alpr's ABC
            pass

        try:
            detector = _Detector(
                paths["detector"], backend=detector_backend, conf_thresh=detector_conf_thresh, threads=threads
            )
        except Exception as exc:
            raise ModelError(
                f"model file {paths['detector'].name} (detector) cannot be loaded: {exc}"
            ) from exc
        try:
            ocr = DefaultOCR(
                hub_ocr_model=None,
                device="cpu",
                providers=list(_CPU),
                sess_options=_session_options(threads),
                model_path=paths["ocr"],
                config_path=paths["ocr_config"],
            )
        except Exception as exc:
            names = f"{paths['ocr'].name} / {paths['ocr_config'].name}"
            raise ModelError(f"model files {names} (ocr, ocr_config) cannot be loaded: {exc}") from exc
        self._alpr = ALPR(detector=detector, ocr=ocr)

    def recognize(self, frame: Frame) -> list[PlateCandidate]:
        image = frame.image
        height, width = image.shape[:2]
        out: list[PlateCandidate] = []
        for result in self._alpr.predict(image):
            bbox = result.detection.bounding_box
            box = _clip(bbox.x1, bbox.y1, bbox.x2, bbox.y2, width, height)
            ocr = result.ocr
            if ocr is None or box is None or not ocr.text:
                continue
            text = ocr.text.upper()
            if isinstance(ocr.confidence, list):
                # One probability per model slot, the trailing pad slots included: keep the text's.
                chars = tuple(float(c) for c in ocr.confidence[: len(text)])
                confidence = statistics.fmean(chars) if chars else 0.0
            else:
                chars = None
                confidence = float(ocr.confidence)
            out.append(
                PlateCandidate(
                    text=text,
                    confidence=_unit(confidence),
                    box=box,
                    char_confidences=chars if chars and len(chars) == len(text) else None,
                    region=_region_code(ocr.region),
                    detector_confidence=_unit(float(result.detection.confidence)),
                )
            )
        return out


def rapidocr_model_paths() -> dict[str, Path]:
    """The PP-OCR detection, recognition and orientation models inside the ``rapidocr`` wheel."""
    import rapidocr

    models = Path(rapidocr.__file__).parent / "models"
    paths = {
        "det": models / "PP-OCRv6_det_small.onnx",
        "rec": models / "PP-OCRv6_rec_small.onnx",
        "cls": models / "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
    }
    for role, path in paths.items():
        if not path.is_file():
            raise ModelError(
                f"model file {path.name} ({role}) is missing from the installed rapidocr package; "
                "reinstall rapidocr"
            )
    return paths


class RapidOcrRecognizer:
    """Out-of-the-box recognizer: RapidOCR text lines filtered to plausible plates.

    ``min_text_score`` drops text lines RapidOCR itself is unsure of; ``det_side`` is the length
    the shorter image side is scaled to for text detection (larger finds smaller plates, slower).
    """

    name = "rapidocr"

    def __init__(
        self, *, min_text_score: float = 0.5, det_side: int = 736, threads: int | None = None
    ) -> None:
        from rapidocr import RapidOCR

        paths = rapidocr_model_paths()
        params: dict[str, Any] = {
            "Global.use_cls": False,  # plates are upright; the angle classifier only costs time
            "Global.log_level": "error",  # an empty frame is normal, not a warning
            "Global.text_score": min_text_score,
            "Global.return_word_box": True,
            "Global.return_single_char_box": True,
            "Det.model_path": str(paths["det"]),
            "Det.limit_side_len": det_side,
            "Rec.model_path": str(paths["rec"]),
            "Cls.model_path": str(paths["cls"]),
        }
        if threads:
            params["EngineConfig.onnxruntime.intra_op_num_threads"] = threads
            params["EngineConfig.onnxruntime.inter_op_num_threads"] = 1
        try:
            self._engine = RapidOCR(params=params)
        except Exception as exc:
            raise ModelError(f"the rapidocr models cannot be loaded: {exc}") from exc

    def recognize(self, frame: Frame) -> list[PlateCandidate]:
        image = frame.image
        height, width = image.shape[:2]
        result: Any = self._engine(image)
        if result.txts is None or result.boxes is None:
            return []
        words = result.word_results if result.word_results else ((),) * len(result.txts)
        lines = []
        for text, score, polygon, chars in zip(result.txts, result.scores, result.boxes, words, strict=False):
            box = _clip(*_polygon_box(polygon), width, height)
            if box is not None:
                lines.append((str(text), float(score), box, chars))
        states = [(code, box) for text, _, box, _ in lines if (code := _state_of(text)) is not None]
        out: list[PlateCandidate] = []
        for text, score, box, chars in lines:
            raw, confs = _text_and_confidences(text, chars)
            region = _state_above(box, states)
            if normalise_plate(raw, state=region, char_confidences=confs) is None:
                continue
            out.append(
                PlateCandidate(
                    text=raw, confidence=_unit(score), box=box, char_confidences=confs, region=region
                )
            )
        return out


def build_recognizer(
    name: str = DEFAULT_RECOGNIZER, model_dir: Path | str | None = None, **options: Any
) -> Any:
    """The recognizer called ``name``: ``"rapidocr"`` (no model files) or ``"fast-alpr"``
    (needs ``model_dir`` holding a verified manifest and its files)."""
    if name == "rapidocr":
        return RapidOcrRecognizer(**options)
    if name == "fast-alpr":
        if model_dir is None:
            raise ModelError(
                "the fast-alpr recognizer needs a model directory (see `alpr-ledger models install`)"
            )
        return FastAlprRecognizer(model_dir, **options)
    raise ValueError(f"unknown recognizer {name!r}; one of {', '.join(RECOGNIZERS)}")


# ------------------------------------------------------------------------------------------------

_STATE_BY_NAME: dict[str, str] = {
    name.replace(" ", ""): code
    for code, name in {
        "AL": "ALABAMA", "AK": "ALASKA", "AZ": "ARIZONA", "AR": "ARKANSAS", "CA": "CALIFORNIA",
        "CO": "COLORADO", "CT": "CONNECTICUT", "DE": "DELAWARE", "FL": "FLORIDA", "GA": "GEORGIA",
        "HI": "HAWAII", "ID": "IDAHO", "IL": "ILLINOIS", "IN": "INDIANA", "IA": "IOWA", "KS": "KANSAS",
        "KY": "KENTUCKY", "LA": "LOUISIANA", "ME": "MAINE", "MD": "MARYLAND", "MA": "MASSACHUSETTS",
        "MI": "MICHIGAN", "MN": "MINNESOTA", "MS": "MISSISSIPPI", "MO": "MISSOURI", "MT": "MONTANA",
        "NE": "NEBRASKA", "NV": "NEVADA", "NH": "NEW HAMPSHIRE", "NJ": "NEW JERSEY",
        "NM": "NEW MEXICO", "NY": "NEW YORK", "NC": "NORTH CAROLINA", "ND": "NORTH DAKOTA",
        "OH": "OHIO", "OK": "OKLAHOMA", "OR": "OREGON", "PA": "PENNSYLVANIA", "RI": "RHODE ISLAND",
        "SC": "SOUTH CAROLINA", "SD": "SOUTH DAKOTA", "TN": "TENNESSEE", "TX": "TEXAS", "UT": "UTAH",
        "VT": "VERMONT", "VA": "VIRGINIA", "WA": "WASHINGTON", "WV": "WEST VIRGINIA",
        "WI": "WISCONSIN", "WY": "WYOMING",
    }.items()
}  # fmt: skip


def _state_of(text: str) -> str | None:
    cleaned, _ = clean(text)
    return _STATE_BY_NAME.get(cleaned)


def _state_above(box: BoundingBox, states: Sequence[tuple[str, BoundingBox]]) -> str | None:
    """The state whose name line sits just above ``box`` and overlaps it horizontally."""
    x1, y1, x2, y2 = box
    height = y2 - y1
    best: tuple[int, str] | None = None
    for code, (sx1, sy1, sx2, sy2) in states:
        overlap = min(x2, sx2) - max(x1, sx1)
        gap = y1 - sy2
        if overlap > 0.5 * min(x2 - x1, sx2 - sx1) and -0.5 * height <= gap <= 1.5 * height and sy1 < y1:
            if best is None or gap < best[0]:
                best = (gap, code)
    return best[1] if best else None


def _text_and_confidences(text: str, chars: Any) -> tuple[str, tuple[float, ...] | None]:
    """RapidOCR's per-character results (spaces left out) when they spell the line, else the line."""
    try:
        letters = "".join(str(c[0]) for c in chars)
        scores = tuple(float(c[1]) for c in chars)
    except (TypeError, IndexError, ValueError):
        return text, None
    if letters and letters == text.replace(" ", ""):
        return letters, scores
    return text, None


def _polygon_box(polygon: Any) -> tuple[int, int, int, int]:
    points = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    x1, y1 = np.floor(points.min(axis=0)).astype(int)
    x2, y2 = np.ceil(points.max(axis=0)).astype(int)
    return int(x1), int(y1), int(x2), int(y2)


def _clip(x1: int, y1: int, x2: int, y2: int, width: int, height: int) -> BoundingBox | None:
    x1, y1 = max(0, int(x1)), max(0, int(y1))
    x2, y2 = min(width, int(x2)), min(height, int(y2))
    return (x1, y1, x2, y2) if x2 > x1 and y2 > y1 else None


def _unit(value: float) -> float:
    return min(1.0, max(0.0, value))


def _region_code(region: str | None) -> str | None:
    """A two-letter state code from an OCR region label (``"US-CA"``, ``"CA"``), else ``None``."""
    from domain.values import ISSUING_JURISDICTIONS

    if not region:
        return None
    code = region.upper().removeprefix("US-").removeprefix("US_")
    return code if code in ISSUING_JURISDICTIONS else None


__all__ = [
    "DEFAULT_RECOGNIZER",
    "RECOGNIZERS",
    "FastAlprRecognizer",
    "RapidOcrRecognizer",
    "build_recognizer",
    "rapidocr_model_paths",
]
