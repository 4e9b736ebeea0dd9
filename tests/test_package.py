"""Release packages verify offline (``alpr-ledger verify --bundle`` and ``python -m ledger.verify``)
and name the record when a record byte, an entry or a proof is altered."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest
from typer.testing import CliRunner

from domain.policy import Role
from ledger.package import PACKAGE_FORMAT, READABLE_FILES_NOTE, zip_package
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


def test_package_at_rest_holds_no_readable_copy_and_download_renders_it(
    runtime: Runtime, tmp_path: Path
) -> None:
    package, reads = release(runtime, 2)
    manifest = json.loads((package / "manifest.json").read_text())
    assert manifest["readable_files"] == READABLE_FILES_NOTE
    on_disk = sorted(p.relative_to(package).as_posix() for p in package.rglob("*") if p.is_file())
    assert not [name for name in on_disk if name.endswith(".json") and name.startswith("records/")]
    for record in manifest["records"]:
        assert record["readable"] == f"records/{record['read_id']}.json"
        assert record["readable"] not in manifest["files"]
    assert sorted(manifest["files"]) == sorted(n for n in on_disk if n != "manifest.json")

    data = runtime.app.package_zip(UUID(manifest["disclosure_id"]))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = sorted(archive.namelist())
        assert names == sorted([*on_disk, *(f"records/{r}.json" for r in reads)])
        archive.extractall(tmp_path / "unzipped")
    for read_id in reads:
        readable = json.loads((tmp_path / "unzipped" / "records" / f"{read_id}.json").read_text())
        read = runtime.app.repository.get(UUID(read_id))
        assert readable["read_id"] == read_id and readable["plate"] == read.plate
        assert "purged" not in readable
    # The rendered copies change nothing the proofs cover: the download verifies, digest unchanged.
    assert verify_package(tmp_path / "unzipped", vkey=runtime.checkpointer.signer.vkey).records
    (entry,) = runtime.app.dissemination_log()
    unzipped_manifest = (tmp_path / "unzipped" / "manifest.json").read_bytes()
    assert entry.package_sha256 == hashlib.sha256(unzipped_manifest).hexdigest()


def test_zip_package_refuses_extra_file_that_shadows_or_escapes_the_package(tmp_path: Path) -> None:
    (tmp_path / "records").mkdir()
    (tmp_path / "records" / "a.state").write_bytes(b"sealed")
    with zipfile.ZipFile(io.BytesIO(zip_package(tmp_path, extra={"records/a.json": b"{}"}))) as archive:
        assert archive.read("records/a.json") == b"{}" and archive.read("records/a.state") == b"sealed"
    for name in ("records/a.state", "../a.json", "/etc/a.json", ""):
        with pytest.raises(ValueError):
            zip_package(tmp_path, extra={name: b"{}"})


def test_package_digest_is_recorded_in_release_event(runtime: Runtime, tmp_path: Path) -> None:
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
