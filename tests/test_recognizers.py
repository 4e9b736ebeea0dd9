"""Recognizers: fast-alpr's real loading and processing code on tiny generated ONNX models, and the
out-of-the-box RapidOCR recognizer reading plates rendered with recognition.synthetic."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from recognition.base import Frame, ModelError, PlateCandidate, Recognizer
from recognition.models import sha256_of
from recognition.plates import normalise_plate
from recognition.recognizers import FastAlprRecognizer, RapidOcrRecognizer, build_recognizer
from recognition.synthetic import PlateStyle, render_plate, scene
from tests.recognition_support import (
    TINY_DETECTOR_SCORE,
    TINY_OCR_PROBABILITY,
    TINY_OCR_TEXT,
    NoNetwork,
    make_tiny_model_dir,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def frame_of(image: np.ndarray) -> Frame:
    return Frame(image=image, captured_at=NOW, index=0, origin="test")


@pytest.fixture
def tiny_models(tmp_path: Path) -> Path:
    return make_tiny_model_dir(tmp_path / "models")


# --- fast-alpr on tiny models ------------------------------------------------------------------


def test_fast_alpr_loads_local_models_and_reads_a_frame_without_network(tiny_models: Path) -> None:
    with NoNetwork() as net:
        recognizer = FastAlprRecognizer(tiny_models)
        candidates = recognizer.recognize(frame_of(np.full((480, 640, 3), 90, np.uint8)))
    assert net.attempts == []
    assert isinstance(recognizer, Recognizer)
    assert len(candidates) == 1
    (plate,) = candidates
    assert plate.text == TINY_OCR_TEXT
    # The detector's box (8, 24)-(56, 40) in its 64x64 letterbox maps back to the 640x480 frame
    # through open-image-models' own ratio (0.1) and padding (8 px top and bottom).
    assert plate.box == (80, 160, 560, 320)
    assert plate.detector_confidence == pytest.approx(TINY_DETECTOR_SCORE, abs=1e-6)
    assert plate.char_confidences is not None and len(plate.char_confidences) == len(TINY_OCR_TEXT)
    assert all(c == pytest.approx(TINY_OCR_PROBABILITY, abs=1e-6) for c in plate.char_confidences)
    assert plate.confidence == pytest.approx(TINY_OCR_PROBABILITY, abs=1e-6)
    assert plate.region == "CA"  # the region head's "US-CA" label


def test_fast_alpr_candidate_normalises_to_a_plate_value(tiny_models: Path) -> None:
    (plate,) = FastAlprRecognizer(tiny_models).recognize(frame_of(np.zeros((300, 300, 3), np.uint8)))
    normalised = normalise_plate(plate.text, state=plate.region, char_confidences=plate.char_confidences)
    assert normalised is not None and normalised.text == TINY_OCR_TEXT and normalised.state == "CA"


@pytest.mark.parametrize("file", ["detector.onnx", "ocr.onnx", "ocr_config.yaml"])
def test_fast_alpr_refuses_to_start_when_a_model_file_is_altered(tiny_models: Path, file: str) -> None:
    expected = sha256_of(tiny_models / file)
    with (tiny_models / file).open("ab") as f:
        f.write(b"\0")
    with NoNetwork() as net, pytest.raises(ModelError) as err:
        FastAlprRecognizer(tiny_models)
    assert net.attempts == []
    assert file in str(err.value) and expected in str(err.value)
    assert sha256_of(tiny_models / file) in str(err.value)


@pytest.mark.parametrize("file", ["detector.onnx", "ocr.onnx", "ocr_config.yaml"])
def test_fast_alpr_refuses_to_start_when_a_model_file_is_missing(tiny_models: Path, file: str) -> None:
    (tiny_models / file).unlink()
    with NoNetwork() as net, pytest.raises(ModelError, match=f"{file.replace('.', '[.]')}.*missing"):
        FastAlprRecognizer(tiny_models)
    assert net.attempts == []


def test_fast_alpr_reports_a_listed_file_that_is_not_a_model(tmp_path: Path) -> None:
    from recognition.models import build_manifest

    d = make_tiny_model_dir(tmp_path / "m")
    (d / "detector.onnx").write_bytes(b"not an onnx graph")
    build_manifest(d, [("d", "detector", "detector.onnx", "MIT", "x"), ("o", "ocr", "ocr.onnx", "MIT", "x"),
                       ("c", "ocr_config", "ocr_config.yaml", "MIT", "x")])  # fmt: skip
    with NoNetwork() as net, pytest.raises(ModelError, match=r"detector\.onnx \(detector\) cannot be loaded"):
        FastAlprRecognizer(d)
    assert net.attempts == []


def test_fast_alpr_needs_every_role_in_the_manifest(tiny_models: Path, tmp_path: Path) -> None:
    from recognition.models import build_manifest

    d = tmp_path / "partial"
    d.mkdir()
    shutil.copy(tiny_models / "detector.onnx", d)
    build_manifest(d, [("d", "detector", "detector.onnx", "MIT", "x")])
    with pytest.raises(ModelError, match="no 'ocr' entry"):
        FastAlprRecognizer(d)


def test_build_recognizer_picks_by_name(tiny_models: Path) -> None:
    assert build_recognizer("fast-alpr", tiny_models).name == "fast-alpr"
    with pytest.raises(ModelError, match="needs a model directory"):
        build_recognizer("fast-alpr")
    with pytest.raises(ValueError, match="unknown recognizer"):
        build_recognizer("openalpr")


# --- RapidOCR, out of the box ------------------------------------------------------------------


@pytest.fixture(scope="module")
def rapid() -> RapidOcrRecognizer:
    with NoNetwork() as net:
        recognizer = RapidOcrRecognizer()
    assert net.attempts == []
    return recognizer


S, D, C, T, P = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX,
                 cv2.FONT_HERSHEY_TRIPLEX, cv2.FONT_HERSHEY_PLAIN)  # fmt: skip
READABLE = [
    # text as printed, state, style (measured: RapidOCR reads each of these exactly)
    ("7ABC123", "CA", PlateStyle(width=300, font=D, thickness=4)),
    ("KXR-4821", "NY", PlateStyle(width=360, font=S, thickness=5, palette=2, angle=-5.0, noise=4.0)),
    ("DEP 283", "TX", PlateStyle(width=240, font=C, thickness=3, palette=1, blur=3, perspective=0.1)),
    (
        "HMY8841",
        "IL",
        PlateStyle(width=280, font=T, thickness=3, palette=3, angle=6.0, slogan="Land of Lincoln"),
    ),
    ("AB12345", "IL", PlateStyle(width=200, font=D, thickness=3, palette=4, blur=5, angle=-3.0, noise=6.0)),
    ("482JWT", "MN", PlateStyle(width=320, font=P, thickness=2, palette=0, perspective=0.2, brightness=0.75)),
]


@pytest.mark.parametrize(("printed", "state", "style"), READABLE, ids=[r[0] for r in READABLE])
def test_rapidocr_reads_rendered_plate_exactly(
    rapid: RapidOcrRecognizer, printed: str, state: str, style: PlateStyle
) -> None:
    plate = render_plate(printed, state=state, style=style, rng=1)
    image, (truth,) = scene([(plate, (180, 240))], size=(720, 480), rng=2)
    candidates = rapid.recognize(frame_of(image))
    assert len(candidates) == 1, candidates
    (found,) = candidates
    normalised = normalise_plate(found.text, state=found.region, char_confidences=found.char_confidences)
    assert normalised is not None
    assert normalised.text == printed.replace("-", "").replace(" ", "")
    # The state name line above the number gives the region when RapidOCR finds it as its own
    # line; a blurred plate can merge it into the number's box: then no region, never a wrong one.
    assert found.region in (state, None)
    if printed in ("7ABC123", "KXR-4821"):
        assert found.region == state
    assert found.char_confidences is not None and len(found.char_confidences) == len(found.text)
    assert 0.5 <= found.confidence <= 1.0
    # The candidate box lies on the plate: its centre is inside the pasted plate's box.
    x1, y1, x2, y2 = found.box
    tx1, ty1, tx2, ty2 = truth
    assert tx1 <= (x1 + x2) / 2 <= tx2 and ty1 <= (y1 + y2) / 2 <= ty2


def test_rapidocr_reads_two_cars_and_ignores_words_on_them(rapid: RapidOcrRecognizer) -> None:
    left = render_plate("5TRK207", state="CA", style=PlateStyle(width=260, font=D, thickness=4), rng=3)
    right = render_plate("GHT-7745", state="PA", style=PlateStyle(width=260, font=S, thickness=4), rng=4)
    image, boxes = scene([(left, (120, 300)), (right, (720, 300))], size=(1100, 600), rng=5)
    # Badges and a sign on the cars: words a plain OCR would return.
    for word, (x, y) in (("TOYOTA", (60, 250)), ("FORD", (740, 250)), ("POLICE", (420, 80))):
        cv2.putText(image, word, (x, y), cv2.FONT_HERSHEY_DUPLEX, 1.4, (240, 240, 240), 3, cv2.LINE_AA)
    candidates = rapid.recognize(frame_of(image))
    texts = sorted(normalise_plate(c.text, state=c.region).text for c in candidates)  # type: ignore[union-attr]
    assert texts == ["5TRK207", "GHT7745"]
    by_text = {normalise_plate(c.text).text: c for c in candidates}  # type: ignore[union-attr]
    assert by_text["5TRK207"].box[2] < boxes[1][0]  # each read is on its own car
    assert by_text["GHT7745"].box[0] > boxes[0][2]


def test_rapidocr_finds_nothing_in_a_frame_without_plates(rapid: RapidOcrRecognizer) -> None:
    image = np.full((360, 640, 3), 128, np.uint8)
    cv2.putText(image, "HONDA CIVIC", (60, 180), cv2.FONT_HERSHEY_DUPLEX, 2.0, (20, 20, 20), 4, cv2.LINE_AA)
    assert rapid.recognize(frame_of(image)) == []


def test_recognizers_meet_the_protocol(rapid: RapidOcrRecognizer) -> None:
    assert isinstance(rapid, Recognizer)
    assert rapid.name == "rapidocr"
    assert all(
        isinstance(c, PlateCandidate) for c in rapid.recognize(frame_of(np.zeros((64, 64, 3), np.uint8)))
    )


# --- synthetic plates --------------------------------------------------------------------------


def test_synthetic_scene_is_deterministic_from_its_seed_and_boxes_match_the_plates() -> None:
    def make(seed: int) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
        plate = render_plate("ABC1234", state="NY", rng=seed)
        return scene([(plate, (100, 200)), ("XYZ987", (500, 220))], size=(800, 500), rng=seed)

    (a, boxes_a), (b, boxes_b), (c, _) = make(7), make(7), make(8)
    assert np.array_equal(a, b) and boxes_a == boxes_b
    assert not np.array_equal(a, c)
    plate = render_plate("ABC1234", state="NY", rng=7)
    assert boxes_a[0] == (100, 200, 100 + plate.shape[1], 200 + plate.shape[0])
    assert np.array_equal(a[200 : 200 + plate.shape[0], 100 : 100 + plate.shape[1]], plate)


def test_synthetic_scene_clips_a_plate_at_the_frame_edge() -> None:
    plate = render_plate("ABC1234", style=PlateStyle(width=200), rng=1)
    _, boxes = scene([(plate, (700, 450))], size=(800, 500), rng=1)
    assert boxes == [(700, 450, 800, 500)]
