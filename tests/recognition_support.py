"""Tiny ONNX models in the shapes fast-alpr's libraries expect, generated with the ``onnx`` package.

They are not trained: the detector answers one fixed plate box and the OCR fixed logits that
decode to :data:`TINY_OCR_TEXT`. Each still reads its input (a reduction of the image is
multiplied by zero and added), so the libraries' real loading, pre-processing, inference and
post-processing run end to end. Shapes follow the library sources:

- open-image-models YOLOv9 "end2end" detector: input ``images`` float32 ``[N, 3, S, S]`` (RGB,
  0-1, letterboxed square), output ``[K, 7]`` rows of ``(batch, x1, y1, x2, y2, class, score)``
  in the letterboxed pixel space;
- fast-plate-ocr: input ``input`` uint8 ``[N, H, W, C]``, output ``plate`` float32
  ``[N, slots * len(alphabet)]`` and optional ``region`` ``[N, len(plate_regions)]``, with a
  YAML plate config naming slots, alphabet, pad character, image size and colour mode.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from recognition.models import build_manifest

DETECTOR_SIZE = 64
TINY_BOX_LETTERBOXED = (8.0, 24.0, 56.0, 40.0)
"""The detector's fixed plate box in its 64x64 letterboxed input."""
TINY_DETECTOR_SCORE = 0.9
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_"
SLOTS = 8
TINY_OCR_TEXT = "7ABC123"
TINY_OCR_PROBABILITY = 0.8
REGIONS = ("US-CA", "US-NY", "Other")
OCR_HEIGHT, OCR_WIDTH = 16, 48


def _save(graph: onnx.GraphProto, path: Path) -> None:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def make_detector(path: Path, *, size: int = DETECTOR_SIZE) -> Path:
    """A "detector" that always finds one plate at :data:`TINY_BOX_LETTERBOXED`."""
    x1, y1, x2, y2 = TINY_BOX_LETTERBOXED
    row = np.array([[0.0, x1, y1, x2, y2, 0.0, TINY_DETECTOR_SCORE]], np.float32)
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], axes=[1, 2, 3], keepdims=1),  # [N,1,1,1]
        helper.make_node("Reshape", ["mean", "shape_11"], ["mean2"]),  # [N*1, 1] -> [1, 1] for N=1
        helper.make_node("Mul", ["mean2", "zero"], ["zeroed"]),
        helper.make_node("Add", ["zeroed", "row"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_plate_detector",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 7])],
        initializer=[
            numpy_helper.from_array(np.array([-1, 1], np.int64), "shape_11"),
            numpy_helper.from_array(np.zeros((1, 1), np.float32), "zero"),
            numpy_helper.from_array(row, "row"),
        ],
    )
    _save(graph, path)
    return path


def ocr_logits(text: str = TINY_OCR_TEXT, probability: float = TINY_OCR_PROBABILITY) -> np.ndarray:
    """Per-slot probabilities whose argmax spells ``text`` padded with ``_``."""
    padded = text.ljust(SLOTS, "_")
    rest = (1.0 - probability) / (len(ALPHABET) - 1)
    probs = np.full((SLOTS, len(ALPHABET)), rest, np.float32)
    for slot, ch in enumerate(padded):
        probs[slot, ALPHABET.index(ch)] = probability
    return probs.reshape(1, -1)


def make_ocr(path: Path, *, text: str = TINY_OCR_TEXT, with_region: bool = True) -> Path:
    """A fast-plate-ocr "model" reading ``text`` in any plate (and region US-CA if asked)."""
    nodes = [
        helper.make_node("Cast", ["input"], ["as_float"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMean", ["as_float"], ["mean"], axes=[1, 2, 3], keepdims=0),  # [N]
        helper.make_node("Unsqueeze", ["mean", "axis1"], ["mean_n1"]),  # [N, 1]
        helper.make_node("Mul", ["mean_n1", "zero"], ["zeroed"]),
        helper.make_node("Add", ["zeroed", "logits"], ["plate"]),  # [N, slots*vocab]
    ]
    outputs = [helper.make_tensor_value_info("plate", TensorProto.FLOAT, ["N", SLOTS * len(ALPHABET)])]
    initializers = [
        numpy_helper.from_array(np.array([1], np.int64), "axis1"),
        numpy_helper.from_array(np.zeros((1, 1), np.float32), "zero"),
        numpy_helper.from_array(ocr_logits(text), "logits"),
    ]
    if with_region:
        nodes.append(helper.make_node("Add", ["zeroed", "region_probs"], ["region"]))
        outputs.append(helper.make_tensor_value_info("region", TensorProto.FLOAT, ["N", len(REGIONS)]))
        initializers.append(numpy_helper.from_array(np.array([[0.7, 0.2, 0.1]], np.float32), "region_probs"))
    graph = helper.make_graph(
        nodes,
        "tiny_plate_ocr",
        [helper.make_tensor_value_info("input", TensorProto.UINT8, ["N", OCR_HEIGHT, OCR_WIDTH, 1])],
        outputs,
        initializer=initializers,
    )
    _save(graph, path)
    return path


def make_ocr_config(path: Path, *, with_region: bool = True) -> Path:
    lines = [
        f"max_plate_slots: {SLOTS}",
        f"alphabet: '{ALPHABET}'",
        "pad_char: '_'",
        f"img_height: {OCR_HEIGHT}",
        f"img_width: {OCR_WIDTH}",
        "keep_aspect_ratio: false",
        "interpolation: linear",
        "image_color_mode: grayscale",
        "padding_color: 114",
    ]
    if with_region:
        lines.append("plate_regions: [" + ", ".join(f"'{r}'" for r in REGIONS) + "]")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def make_tiny_model_dir(
    model_dir: Path, *, text: str = TINY_OCR_TEXT, detector_size: int = DETECTOR_SIZE
) -> Path:
    """A model directory with the three tiny files and a manifest of their sums
    (``detector_size`` 384 gives the input size of fast-alpr's default detector)."""
    model_dir.mkdir(parents=True, exist_ok=True)
    make_detector(model_dir / "detector.onnx", size=detector_size)
    make_ocr(model_dir / "ocr.onnx", text=text)
    make_ocr_config(model_dir / "ocr_config.yaml")
    build_manifest(
        model_dir,
        [
            ("tiny detector (test)", "detector", "detector.onnx", "Apache-2.0", "generated by the tests"),
            ("tiny OCR (test)", "ocr", "ocr.onnx", "Apache-2.0", "generated by the tests"),
            (
                "tiny OCR config (test)",
                "ocr_config",
                "ocr_config.yaml",
                "Apache-2.0",
                "generated by the tests",
            ),
        ],
    )
    return model_dir


class NetworkAttempted(AssertionError):
    pass


class NoNetwork:
    """Context manager: any socket connection or name lookup is recorded and refused."""

    def __init__(self) -> None:
        self.attempts: list[str] = []

    def __enter__(self) -> NoNetwork:
        import socket

        self._saved = (
            socket.socket.connect,
            socket.socket.connect_ex,
            socket.getaddrinfo,
            socket.create_connection,
        )

        def refuse(what: str):  # type: ignore[no-untyped-def]
            def _refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
                self.attempts.append(f"{what}{args[1:] if what.startswith('socket.') else args}")
                raise NetworkAttempted(f"network access attempted: {what}")

            return _refuse

        socket.socket.connect = refuse("socket.connect")  # type: ignore[method-assign]
        socket.socket.connect_ex = refuse("socket.connect_ex")  # type: ignore[method-assign]
        socket.getaddrinfo = refuse("getaddrinfo")  # type: ignore[assignment]
        socket.create_connection = refuse("create_connection")  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        import socket

        (socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo,  # type: ignore[method-assign]
         socket.create_connection) = self._saved  # fmt: skip
