"""Model manifests: which local model files a recognizer loads, and proof they are the right ones.

A model directory holds the model files and ``manifest.json``::

    {"models": [
      {"name": "plate detector", "role": "detector", "file": "detector.onnx",
       "sha256": "<64 hex>", "licence": "...", "source": "where the agency got it"},
      {"name": "plate OCR", "role": "ocr", "file": "ocr.onnx", ...},
      {"name": "plate OCR config", "role": "ocr_config", "file": "ocr_config.yaml", ...}
    ]}

:func:`verify_models` checks every file against its SHA-256 before a recognizer loads anything:
a missing or altered file is a :class:`~recognition.base.ModelError` naming the file and the
expected and actual sums. Nothing here (or in the recognizers) downloads a model: an agency
provides the files and :func:`install_models` (``alpr-ledger models install --from DIR``) copies
and verifies them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from recognition.base import ModelError

MANIFEST_NAME = "manifest.json"
ROLES: frozenset[str] = frozenset({"detector", "ocr", "ocr_config"})
DEFAULT_MODEL_DIR = Path("models")
"""Where ``alpr-ledger models install`` puts the files and ``capture --model-dir`` looks."""
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class ModelEntry:
    """One model file of a manifest; ``file`` is a plain name inside the model directory."""

    name: str
    role: str
    file: str
    sha256: str
    licence: str
    source: str


@dataclass(frozen=True, slots=True)
class Manifest:
    entries: tuple[ModelEntry, ...]

    def by_role(self, role: str) -> ModelEntry:
        found = [e for e in self.entries if e.role == role]
        if not found:
            raise ModelError(f"the model manifest has no {role!r} entry")
        if len(found) > 1:
            raise ModelError(f"the model manifest has {len(found)} {role!r} entries; one is expected")
        return found[0]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def parse_manifest(data: object) -> Manifest:
    """Validate decoded manifest JSON; :class:`ModelError` naming the entry and field if broken."""
    if not isinstance(data, Mapping) or not isinstance(data.get("models"), list):
        raise ModelError('the model manifest must be an object with a "models" list')
    entries: list[ModelEntry] = []
    for i, raw in enumerate(data["models"]):
        if not isinstance(raw, Mapping):
            raise ModelError(f"model manifest entry {i} must be an object")
        fields = {}
        for key in ("name", "role", "file", "sha256", "licence", "source"):
            value = raw.get(key)
            if not isinstance(value, str) or not value.strip():
                raise ModelError(f"model manifest entry {i}: {key!r} must be a non-empty string")
            fields[key] = value
        if fields["role"] not in ROLES:
            raise ModelError(f"model manifest entry {i}: role must be one of {sorted(ROLES)}")
        sha = fields["sha256"].lower()
        if len(sha) != 64 or not set(sha) <= _HEX:
            raise ModelError(f"model manifest entry {i}: sha256 must be 64 hex digits")
        fields["sha256"] = sha
        name = fields["file"]
        if Path(name).name != name or name in (".", "..", MANIFEST_NAME):
            raise ModelError(f"model manifest entry {i}: file must be a plain file name, got {name!r}")
        entries.append(ModelEntry(**fields))
    if not entries:
        raise ModelError("the model manifest lists no models")
    if len({e.file for e in entries}) != len(entries):
        raise ModelError("the model manifest lists a file twice")
    return Manifest(tuple(entries))


def load_manifest(model_dir: Path) -> Manifest:
    path = Path(model_dir) / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"model manifest {path} is missing") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"model manifest {path} cannot be read: {exc}") from None
    return parse_manifest(data)


def verify_models(model_dir: Path, manifest: Manifest | None = None) -> dict[str, Path]:
    """Check every file of the manifest of ``model_dir``; return ``{role: path}``.

    Raises :class:`ModelError` at the first missing or altered file, naming it with the expected
    and actual SHA-256."""
    model_dir = Path(model_dir)
    manifest = manifest if manifest is not None else load_manifest(model_dir)
    paths: dict[str, Path] = {}
    for entry in manifest.entries:
        path = model_dir / entry.file
        if not path.is_file():
            raise ModelError(
                f"model file {entry.file} ({entry.role}) is missing from {model_dir}: "
                f"expected sha256 {entry.sha256}"
            )
        actual = sha256_of(path)
        if actual != entry.sha256:
            raise ModelError(
                f"model file {entry.file} ({entry.role}) does not match the manifest: "
                f"expected sha256 {entry.sha256}, actual {actual}"
            )
        paths[entry.role] = path
    return paths


def build_manifest(model_dir: Path, files: Iterable[tuple[str, str, str, str, str]]) -> Manifest:
    """Write ``manifest.json`` for files already in ``model_dir``: ``(name, role, file, licence,
    source)`` tuples; their sums are computed here."""
    model_dir = Path(model_dir)
    entries = [
        ModelEntry(name=n, role=r, file=f, sha256=sha256_of(model_dir / f), licence=lic, source=src)
        for n, r, f, lic, src in files
    ]
    manifest = parse_manifest({"models": [asdict(e) for e in entries]})
    _write_atomic(model_dir / MANIFEST_NAME, _manifest_json(manifest).encode())
    return manifest


def install_models(source_dir: Path, target_dir: Path) -> Manifest:
    """Verify the files in ``source_dir`` against its manifest (which must name a file for every
    role of :data:`ROLES`), copy them and the manifest to
    ``target_dir``, and verify the copies. Nothing is left half-copied under a final name."""
    source_dir, target_dir = Path(source_dir), Path(target_dir)
    manifest = load_manifest(source_dir)
    missing = sorted(ROLES - {e.role for e in manifest.entries})
    if missing:
        raise ModelError(
            f"the model manifest has no {', '.join(repr(r) for r in missing)} entry; "
            f"the recognizer needs one file for each of {', '.join(sorted(ROLES))}"
        )
    verify_models(source_dir, manifest)
    target_dir.mkdir(parents=True, exist_ok=True)
    for entry in manifest.entries:
        _copy_atomic(source_dir / entry.file, target_dir / entry.file)
    _write_atomic(target_dir / MANIFEST_NAME, _manifest_json(manifest).encode())
    verify_models(target_dir, manifest)
    return manifest


def _manifest_json(manifest: Manifest) -> str:
    return json.dumps({"models": [asdict(e) for e in manifest.entries]}, indent=2) + "\n"


def _copy_atomic(src: Path, dst: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", dir=dst.parent)
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_atomic(dst: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", dir=dst.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


__all__ = [
    "MANIFEST_NAME",
    "Manifest",
    "ModelEntry",
    "build_manifest",
    "install_models",
    "load_manifest",
    "parse_manifest",
    "sha256_of",
    "verify_models",
]
