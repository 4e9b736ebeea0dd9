"""ledger.verify must run with only the standard library and ``cryptography`` installed."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import ledger.verify

PACKAGE_DIR = Path(ledger.verify.__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent.parent
ALLOWED_THIRD_PARTY = {"ledger", "cryptography", "cffi", "_cffi_backend"}

# Imports ledger.verify, runs every kind of verification (so lazy imports happen too), and
# prints the modules that appeared, with their files.
PROBE = r"""
import json, sys
before = set(sys.modules)
import base64, hashlib, tempfile
from pathlib import Path
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
crypto_only = set(sys.modules)

import ledger.verify as v
from ledger.verify._bundle import verify_bundle
from ledger.verify._entry import ZERO_HASH, Entry, encode_entry
from ledger.verify._note import (
    assemble_note, format_checkpoint_body, format_signature_line, format_vkey,
)

key = Ed25519PrivateKey.generate()
pub = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
entry = encode_entry(Entry(0, "id", 1, "topic", bytes(32), 0, ZERO_HASH))
root = v.leaf_hash(entry)
body = format_checkpoint_body("origin", 1, root)
note = assemble_note(body, [format_signature_line("origin", pub, key.sign(body.encode()))])
vkey = format_vkey("origin", pub)
assert v.verify_checkpoint(note, vkey).root == root
v.verify_inclusion(root, 0, 1, [], root)
v.verify_consistency(1, 1, [], root, root)
with tempfile.TemporaryDirectory() as tmp:
    bundle = Path(tmp)
    (bundle / "checkpoints").mkdir()
    (bundle / "checkpoints" / ("1".zfill(20) + ".note")).write_text(note)
    (bundle / "vkey").write_text(vkey)
    data = len(entry).to_bytes(4, "big") + entry
    (bundle / "entries.bin").write_bytes(data)
    (bundle / "manifest.json").write_text(json.dumps({
        "format": "alpr-ledger-bundle/v1", "origin": "origin", "size": 1,
        "entries_sha256": hashlib.sha256(data).hexdigest(),
    }))
    assert verify_bundle(bundle).root == root
try:
    v.verify_inclusion(root, 0, 2, [], root)
except v.VerificationError:
    pass
new = sorted(set(sys.modules) - before)
print(json.dumps({
    "new": {name: getattr(sys.modules[name], "__file__", None) for name in new},
    "crypto_only": sorted(crypto_only - before),
}))
"""


def _top_level(name: str) -> str:
    return name.split(".")[0]


def test_import_pulls_in_only_stdlib_and_cryptography_when_verifying_in_a_fresh_process() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        timeout=60,
        check=True,
    )
    report = json.loads(result.stdout)
    new: dict[str, str | None] = report["new"]
    assert "ledger.verify" in new and "cryptography" in new
    stdlib = sys.stdlib_module_names
    foreign = {
        name: path
        for name, path in new.items()
        if _top_level(name) not in stdlib
        and _top_level(name) not in ALLOWED_THIRD_PARTY
        # cryptography's cffi OpenSSL binding registers itself as "_openssl" (no file of its
        # own); it appears from importing cryptography alone, as the probe shows.
        and not (_top_level(name) == "_openssl" and name in report["crypto_only"])
    }
    assert foreign == {}
    ledger_modules = {name for name in new if _top_level(name) == "ledger"}
    assert all(name == "ledger" or name.startswith("ledger.verify") for name in ledger_modules)


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(_top_level(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(_top_level(node.module))
    return roots


def test_source_imports_only_stdlib_cryptography_or_ledger_when_parsed() -> None:
    files = sorted(PACKAGE_DIR.rglob("*.py"))
    assert {f.name for f in files} >= {"__init__.py", "_merkle.py", "_note.py", "_stream.py"}
    allowed = set(sys.stdlib_module_names) | {"cryptography", "ledger"}
    bad = {f.name: sorted(_imported_roots(f) - allowed) for f in files}
    assert {name: mods for name, mods in bad.items() if mods} == {}


def test_public_api_is_exactly_the_documented_names() -> None:
    assert sorted(ledger.verify.__all__) == [
        "Checkpoint",
        "VerificationError",
        "leaf_hash",
        "verify_checkpoint",
        "verify_consistency",
        "verify_inclusion",
    ]
    assert ledger.verify.__doc__ is not None and "verify_checkpoint(" in ledger.verify.__doc__
