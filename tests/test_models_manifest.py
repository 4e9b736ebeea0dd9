"""Model manifests (recognition.models) and `alpr-ledger models install / verify`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ops.cli import app
from ops.cli_models import install
from recognition.base import ModelError
from recognition.models import (
    MANIFEST_NAME,
    build_manifest,
    install_models,
    load_manifest,
    parse_manifest,
    sha256_of,
    verify_models,
)

FILES = [
    ("detector", "detector", "det.onnx", "MIT", "agency"),
    ("ocr", "ocr", "ocr.onnx", "MIT", "agency"),
    ("ocr config", "ocr_config", "ocr.yaml", "MIT", "agency"),
]


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    d = tmp_path / "provided"
    d.mkdir()
    (d / "det.onnx").write_bytes(b"detector bytes")
    (d / "ocr.onnx").write_bytes(b"ocr bytes")
    (d / "ocr.yaml").write_text("max_plate_slots: 8\n")
    build_manifest(d, FILES)
    return d


def test_verify_returns_each_role_path_when_every_sum_matches(model_dir: Path) -> None:
    paths = verify_models(model_dir)
    assert paths == {
        "detector": model_dir / "det.onnx",
        "ocr": model_dir / "ocr.onnx",
        "ocr_config": model_dir / "ocr.yaml",
    }
    manifest = json.loads((model_dir / MANIFEST_NAME).read_text())
    assert manifest["models"][0]["sha256"] == sha256_of(model_dir / "det.onnx")


def test_verify_raises_naming_file_and_both_sums_when_a_file_is_altered(model_dir: Path) -> None:
    expected = sha256_of(model_dir / "ocr.onnx")
    (model_dir / "ocr.onnx").write_bytes(b"ocr bytes, altered")
    actual = sha256_of(model_dir / "ocr.onnx")
    with pytest.raises(ModelError) as err:
        verify_models(model_dir)
    message = str(err.value)
    assert "ocr.onnx" in message and expected in message and actual in message


def test_verify_raises_naming_file_and_expected_sum_when_a_file_is_missing(model_dir: Path) -> None:
    expected = sha256_of(model_dir / "ocr.yaml")
    (model_dir / "ocr.yaml").unlink()
    with pytest.raises(ModelError, match=r"ocr\.yaml.*missing") as err:
        verify_models(model_dir)
    assert expected in str(err.value)


def test_missing_manifest_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="manifest.*missing"):
        load_manifest(tmp_path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"role": "weights"}, "role must be one of"),
        ({"sha256": "abc"}, "64 hex digits"),
        ({"file": "../det.onnx"}, "plain file name"),
        ({"licence": ""}, "'licence' must be a non-empty string"),
    ],
)
def test_malformed_manifest_entry_is_rejected_naming_the_field(change: dict[str, str], message: str) -> None:
    entry = {"name": "d", "role": "detector", "file": "det.onnx", "sha256": "0" * 64, "licence": "MIT",
             "source": "agency"}  # fmt: skip
    with pytest.raises(ModelError, match=message):
        parse_manifest({"models": [{**entry, **change}]})


def test_by_role_raises_when_role_is_absent(model_dir: Path) -> None:
    manifest = parse_manifest({"models": [json.loads((model_dir / MANIFEST_NAME).read_text())["models"][0]]})
    with pytest.raises(ModelError, match="no 'ocr' entry"):
        manifest.by_role("ocr")


def test_install_copies_and_verifies_files_and_manifest(model_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "installed"
    manifest = install_models(model_dir, target)
    assert len(manifest.entries) == 3
    for name in ("det.onnx", "ocr.onnx", "ocr.yaml", MANIFEST_NAME):
        assert (target / name).read_bytes() == (model_dir / name).read_bytes()
    assert verify_models(target)["ocr"] == target / "ocr.onnx"


def test_install_copies_nothing_when_a_provided_file_is_altered(model_dir: Path, tmp_path: Path) -> None:
    (model_dir / "det.onnx").write_bytes(b"tampered")
    target = tmp_path / "installed"
    with pytest.raises(ModelError, match=r"det\.onnx.*does not match"):
        install_models(model_dir, target)
    assert not target.exists() or not any(target.iterdir())


@pytest.mark.parametrize("missing", ["detector", "ocr", "ocr_config"])
def test_install_refuses_a_manifest_without_every_role_and_copies_nothing(
    model_dir: Path, tmp_path: Path, missing: str
) -> None:
    build_manifest(model_dir, [f for f in FILES if f[1] != missing])
    target = tmp_path / "installed"
    with pytest.raises(ModelError, match=f"no '{missing}' entry"):
        install_models(model_dir, target)
    assert not target.exists()
    result = CliRunner().invoke(app, ["models", "install", "--from", str(model_dir), "--to", str(target)])
    assert result.exit_code == 1 and missing in result.output
    assert not target.exists()


def test_capture_looks_for_models_where_install_puts_them() -> None:
    import inspect

    from ops.cli_capture import capture
    from recognition.models import DEFAULT_MODEL_DIR

    install_to = inspect.signature(install).parameters["target"].default
    capture_from = inspect.signature(capture).parameters["model_dir"].default
    assert install_to == capture_from == DEFAULT_MODEL_DIR == Path("models")


def test_cli_models_install_then_verify_succeeds(model_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "models"
    runner = CliRunner()
    result = runner.invoke(app, ["models", "install", "--from", str(model_dir), "--to", str(target)])
    assert result.exit_code == 0, result.output
    assert "3 model files verified" in result.output
    result = runner.invoke(app, ["models", "verify", "--dir", str(target)])
    assert result.exit_code == 0, result.output
    assert result.output.count("ok ") == 3


def test_cli_models_verify_fails_naming_the_altered_file(model_dir: Path) -> None:
    expected = sha256_of(model_dir / "det.onnx")
    (model_dir / "det.onnx").write_bytes(b"swapped weights")
    result = CliRunner().invoke(app, ["models", "verify", "--dir", str(model_dir)])
    assert result.exit_code == 1
    assert "det.onnx" in result.output and expected in result.output.replace("\n", "")


def test_cli_models_install_fails_on_missing_manifest(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["models", "install", "--from", str(tmp_path), "--to", str(tmp_path / "t")]
    )
    assert result.exit_code == 1
    assert "manifest" in result.output
