"""Release packages verify offline (``alpr-ledger verify --bundle`` and ``python -m ledger.verify``)
and name the record when a record byte, an entry or a proof is altered."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from domain.policy import Role
from ledger.package import PACKAGE_FORMAT
from ledger.verify._bundle import PackageVerificationError, verify_bundle, verify_package
from ops.bootstrap import Runtime, build_runtime
from ops.cli import app as cli
from ops.settings import Settings
from tests.disclosure_support import person, request, stored_reads, use_packages_dir

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def release(runtime: Runtime, n: int = 3, out: Path | None = None) -> tuple[Path, list[str]]:
    use_packages_dir(runtime)
    reads = stored_reads(runtime, n)
    po = person(Role.PRIVACY_OFFICER)
    d = runtime.app.request_disclosure(request(reads), by=person(Role.INVESTIGATOR))
    runtime.app.approve_disclosure(d.id, by=po, reference="APO memo 1")
    result = runtime.app.release_disclosure(d.id, by=po, out=out)
    return result.package_dir, [str(r) for r in reads]


def run_module(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "ledger.verify", str(path), *extra], capture_output=True, text=True, env=env
    )


def test_released_package_verifies_with_cli_and_module_when_intact(runtime: Runtime) -> None:
    package, reads = release(runtime)
    manifest = json.loads((package / "manifest.json").read_text())
    assert manifest["format"] == PACKAGE_FORMAT and manifest["released_read_ids"] == reads
    assert package == runtime.settings.data_dir / "packages" / manifest["disclosure_id"]
    vkey = runtime.checkpointer.signer.vkey
    result = CliRunner().invoke(cli, ["verify", "--bundle", str(package), "--vkey", vkey])
    assert result.exit_code == 0, result.output
    done = run_module(package, "--vkey", vkey)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"release package of disclosure {manifest['disclosure_id']}" in done.stdout
    # The stored bytes, exactly: their hash is the one the entry commits to.
    for record in manifest["records"]:
        assert len((package / record["state"]).read_bytes()) > 0


def test_package_digest_is_recorded_in_release_event(runtime: Runtime, tmp_path: Path) -> None:
    import hashlib

    package, _ = release(runtime, 1, out=tmp_path / "pkg")
    digest = hashlib.sha256((package / "manifest.json").read_bytes()).hexdigest()
    (entry,) = runtime.app.dissemination_log()
    assert entry.package_sha256 == digest


# --- tampering: one package (SQLite), copied for each alteration ------------------------------


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[str], str]]:
    tmp = tmp_path_factory.mktemp("package")
    runtime = build_runtime(
        Settings(
            database_url=f"sqlite:///{tmp / 'ledger.db'}", data_dir=tmp / "data", checkpoint_interval_s=3600
        )
    )
    try:
        package, reads = release(runtime, 3)
        yield package, reads, runtime.checkpointer.signer.vkey
    finally:
        runtime.close()


@pytest.fixture
def package(pristine: tuple[Path, list[str], str], tmp_path: Path) -> tuple[Path, list[str]]:
    copy = tmp_path / "copy"
    shutil.copytree(pristine[0], copy)
    return copy, pristine[1]


def _record(package: Path, read_id: str) -> dict[str, object]:
    manifest = json.loads((package / "manifest.json").read_text())
    return next(r for r in manifest["records"] if r["read_id"] == read_id)


def _fails_naming(package: Path, read_id: str) -> None:
    with pytest.raises(PackageVerificationError) as caught:
        verify_bundle(package)
    assert caught.value.record == read_id and read_id in str(caught.value)
    result = CliRunner().invoke(cli, ["verify", "--bundle", str(package)])
    assert result.exit_code == 1 and read_id in result.output.replace("\n", "")
    done = run_module(package)
    assert done.returncode == 1 and f"bad record: {read_id}" in done.stdout


def test_verify_names_record_when_a_record_byte_is_altered(package: tuple[Path, list[str]]) -> None:
    path, reads = package
    state = path / "records" / f"{reads[1]}.state"
    data = bytearray(state.read_bytes())
    data[len(data) // 2] ^= 0x01
    state.write_bytes(bytes(data))
    _fails_naming(path, reads[1])


def test_verify_names_record_when_record_and_manifest_hash_are_both_altered(
    package: tuple[Path, list[str]],
) -> None:
    # Editing the manifest too does not help: the entry (under the signed root) commits to the hash.
    import hashlib

    path, reads = package
    state = path / "records" / f"{reads[0]}.state"
    state.write_bytes(state.read_bytes().replace(b'"', b"'", 1))
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["records"][0]["state_sha256"] = hashlib.sha256(state.read_bytes()).hexdigest()
    (path / "manifest.json").write_text(json.dumps(manifest))
    _fails_naming(path, reads[0])


def test_verify_names_record_when_its_entry_is_altered(package: tuple[Path, list[str]]) -> None:
    path, reads = package
    entry = path / "entries" / f"{_record(path, reads[2])['ledger_index']}.bin"
    data = bytearray(entry.read_bytes())
    data[30] ^= 0x01  # inside the recorded time
    entry.write_bytes(bytes(data))
    _fails_naming(path, reads[2])


def test_verify_names_record_when_its_proof_is_altered(package: tuple[Path, list[str]]) -> None:
    path, reads = package
    proof_path = path / "proofs" / f"{_record(path, reads[0])['ledger_index']}.json"
    proof = json.loads(proof_path.read_text())
    first = bytearray(base64.b64decode(proof["proof"][0]))
    first[0] ^= 0x01
    proof["proof"][0] = base64.b64encode(bytes(first)).decode()
    proof_path.write_text(json.dumps(proof))
    _fails_naming(path, reads[0])


def test_verify_rejects_package_when_pinned_vkey_differs(pristine: tuple[Path, list[str], str]) -> None:
    path, _, vkey = pristine
    assert verify_package(path, vkey=vkey).records
    with pytest.raises(PackageVerificationError):
        verify_package(path, vkey=vkey.replace("+", "x+", 1))
