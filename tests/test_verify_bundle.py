"""Offline bundle verification (ledger.verify._bundle and python -m ledger.verify): bundles
written here with our own helpers and Ed25519 keys, then tampered with."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.verify import VerificationError, leaf_hash
from ledger.verify._bundle import BUNDLE_FORMAT, verify_bundle
from ledger.verify._note import format_checkpoint_body
from tests.reference_tree import ref_root
from tests.test_verify_note import Signer, signed
from tests.test_verify_stream import make_entry, make_log

ORIGIN = "example.com/alpr-log"
SIGNER = Signer(ORIGIN)
ENTRIES = make_log(40)
LEAVES = [leaf_hash(e) for e in ENTRIES]
CHECKPOINTS = (0, 1, 5, 16, 17, 30, 40)
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def note_for(size: int, *, root: bytes | None = None, origin: str = ORIGIN, signer: Signer = SIGNER) -> str:
    body = format_checkpoint_body(origin, size, ref_root(LEAVES[:size]) if root is None else root)
    return signed(body, signer)


def write_entries(bundle: Path, entries: list[bytes], *, update_manifest: bool = False) -> None:
    data = b"".join(struct.pack(">I", len(e)) + e for e in entries)
    (bundle / "entries.bin").write_bytes(data)
    if update_manifest:
        write_manifest(bundle, size=len(entries), sha=hashlib.sha256(data).hexdigest())


def write_manifest(bundle: Path, **changes: object) -> None:
    path = bundle / "manifest.json"
    manifest = json.loads(path.read_text()) if path.exists() else {}
    manifest.update({"entries_sha256" if k == "sha" else k: v for k, v in changes.items()})
    path.write_text(json.dumps(manifest))


def write_bundle(
    bundle: Path, entries: list[bytes] = ENTRIES, checkpoints: tuple[int, ...] = CHECKPOINTS
) -> Path:
    (bundle / "checkpoints").mkdir(parents=True)
    for size in checkpoints:
        (bundle / "checkpoints" / f"{size:020d}.note").write_text(note_for(size))
    (bundle / "vkey").write_text(SIGNER.vkey + "\n")
    write_manifest(bundle, format=BUNDLE_FORMAT, origin=ORIGIN)
    write_entries(bundle, entries, update_manifest=True)
    return bundle


def failure(bundle: Path) -> VerificationError:
    with pytest.raises(VerificationError) as err:
        verify_bundle(bundle)
    return err.value


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return write_bundle(tmp_path / "bundle")


# --- intact bundles -------------------------------------------------------------------------


def test_verify_bundle_reports_size_root_and_checkpoints_when_bundle_is_intact(
    bundle: Path,
) -> None:
    seen: list[int] = []
    report = verify_bundle(bundle, progress=seen.append)
    assert report.size == 40
    assert report.root == ref_root(LEAVES)
    assert report.checkpoints_checked == len(CHECKPOINTS)
    assert report.latest.size == 40 and report.latest.root == report.root
    assert report.unsigned_entries == 0
    assert report.origin == ORIGIN and report.vkey == SIGNER.vkey
    assert seen[-1] == 40


def test_verify_bundle_counts_unsigned_entries_when_log_grew_after_last_checkpoint(
    tmp_path: Path,
) -> None:
    report = verify_bundle(write_bundle(tmp_path / "b", checkpoints=(3, 30)))
    assert (report.size, report.latest.size, report.unsigned_entries) == (40, 30, 10)


def test_verify_bundle_accepts_when_log_is_empty_and_empty_tree_is_signed(tmp_path: Path) -> None:
    report = verify_bundle(write_bundle(tmp_path / "b", entries=[], checkpoints=(0,)))
    assert report.size == 0 and report.root == hashlib.sha256(b"").digest()


def test_verify_bundle_accepts_when_pinned_vkey_matches(bundle: Path) -> None:
    assert verify_bundle(bundle, vkey=SIGNER.vkey).size == 40


def test_verify_bundle_ignores_hidden_files_when_listing_checkpoints(bundle: Path) -> None:
    (bundle / "checkpoints" / ".DS_Store").write_bytes(b"\x00junk")
    assert verify_bundle(bundle).size == 40


# --- altered entries name the first bad index ----------------------------------------------


@pytest.mark.parametrize("target", [0, 4, 15, 16, 22, 38, 39])
@pytest.mark.parametrize("mask", [0x01, 0x80])
def test_verify_bundle_names_altered_entry_when_any_byte_of_it_is_flipped(
    bundle: Path, target: int, mask: int
) -> None:
    for position in range(len(ENTRIES[target])):
        altered = bytearray(ENTRIES[target])
        altered[position] ^= mask
        entries = list(ENTRIES)
        entries[target] = bytes(altered)
        write_entries(bundle, entries)
        err = failure(bundle)
        assert err.index == target, (position, str(err))


@pytest.mark.parametrize("checkpoints", [(40,), (1, 40), (39,)])
def test_verify_bundle_names_altered_entry_when_checkpoints_are_sparse(
    tmp_path: Path, checkpoints: tuple[int, ...]
) -> None:
    bundle = write_bundle(tmp_path / "b", checkpoints=checkpoints)
    for target in (0, 20, 37, 38, 39):
        for position in (20, 70, 120):  # state hash, prev, originator_id
            altered = bytearray(ENTRIES[target])
            altered[position] ^= 0x01
            entries = list(ENTRIES)
            entries[target] = bytes(altered)
            write_entries(bundle, entries, update_manifest=True)
            if target >= max(checkpoints) and position != 70:
                # Nothing signed or chained vouches for the content of an unsigned last entry;
                # the report says so instead.
                assert verify_bundle(bundle).unsigned_entries == 1
                continue
            assert failure(bundle).index == target, (target, position)


def test_verify_bundle_names_entry_when_it_is_deleted(bundle: Path) -> None:
    for target in (0, 7, 39):
        write_entries(bundle, ENTRIES[:target] + ENTRIES[target + 1 :], update_manifest=True)
        assert failure(bundle).index == target


def test_verify_bundle_names_earlier_position_when_two_entries_are_swapped(bundle: Path) -> None:
    entries = list(ENTRIES)
    entries[9], entries[25] = entries[25], entries[9]
    write_entries(bundle, entries, update_manifest=True)
    assert failure(bundle).index == 9


def test_verify_bundle_names_copy_when_an_entry_is_duplicated(bundle: Path) -> None:
    write_entries(bundle, ENTRIES[:12] + ENTRIES[11:], update_manifest=True)
    assert failure(bundle).index == 12


def test_verify_bundle_names_first_missing_entry_when_file_is_cut_inside_a_record(
    bundle: Path,
) -> None:
    data = (bundle / "entries.bin").read_bytes()
    for cut in (1, 5, 60):
        (bundle / "entries.bin").write_bytes(data[:-cut])
        err = failure(bundle)
        assert err.index == 39
        assert "truncated" in str(err)


def test_verify_bundle_names_first_missing_entry_when_last_entries_are_dropped(
    bundle: Path,
) -> None:
    write_entries(bundle, ENTRIES[:33])
    assert failure(bundle).index == 33
    write_entries(bundle, ENTRIES[:33], update_manifest=True)  # manifest rewritten to match
    err = failure(bundle)
    assert err.index == 33
    assert err.checkpoint == f"{40:020d}.note"


def test_verify_bundle_names_entry_when_its_length_prefix_is_corrupt(bundle: Path) -> None:
    offset = sum(4 + len(e) for e in ENTRIES[:6])
    data = bytearray((bundle / "entries.bin").read_bytes())
    for value in (len(ENTRIES[6]) + 1, len(ENTRIES[6]) - 1, 0xFFFFFF):
        changed = bytearray(data)
        changed[offset : offset + 4] = struct.pack(">I", value)
        (bundle / "entries.bin").write_bytes(bytes(changed))
        assert failure(bundle).index == 6


def test_verify_bundle_names_entry_when_entries_were_appended_beyond_manifest(
    bundle: Path,
) -> None:
    extra = make_entry(40, hashlib.sha256(ENTRIES[39][64:96] + LEAVES[39]).digest())
    write_entries(bundle, [*ENTRIES, extra])
    err = failure(bundle)
    assert err.index == 40 and "manifest says 40" in str(err)


# --- checkpoints ----------------------------------------------------------------------------


def test_verify_bundle_names_checkpoint_when_its_signature_is_bad(bundle: Path) -> None:
    path = bundle / "checkpoints" / f"{16:020d}.note"
    text = path.read_text()
    at = text.rindex(" ") + 30  # inside the Ed25519 signature, past the 4-byte key ID
    path.write_text(text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1 :])
    err = failure(bundle)
    assert err.checkpoint == path.name and err.size == 16 and err.index is None
    assert "invalid signature" in str(err)


def test_verify_bundle_names_checkpoint_when_signed_by_another_key(bundle: Path) -> None:
    path = bundle / "checkpoints" / f"{5:020d}.note"
    path.write_text(note_for(5, signer=Signer(ORIGIN)))
    err = failure(bundle)
    assert err.checkpoint == path.name and "no signature" in str(err)


def test_verify_bundle_names_checkpoint_when_signed_root_does_not_match_entries(
    bundle: Path,
) -> None:
    wrong = ref_root(LEAVES[1:17])
    path = bundle / "checkpoints" / f"{16:020d}.note"
    path.write_text(note_for(16, root=wrong))
    err = failure(bundle)
    assert err.checkpoint == path.name and err.size == 16
    assert (err.expected, err.computed) == (wrong, ref_root(LEAVES[:16]))
    assert err.index is None  # the chain vouches for every entry: the checkpoint is wrong
    assert wrong.hex() in str(err)


def test_verify_bundle_blames_last_entry_and_names_checkpoint_when_final_root_differs(
    bundle: Path,
) -> None:
    path = bundle / "checkpoints" / f"{40:020d}.note"
    path.write_text(note_for(40, root=ref_root(LEAVES[:39])))
    err = failure(bundle)
    assert err.checkpoint == path.name and err.index == 39


def test_verify_bundle_rejects_when_checkpoint_file_name_and_size_disagree(bundle: Path) -> None:
    (bundle / "checkpoints" / f"{16:020d}.note").write_text(note_for(17))
    err = failure(bundle)
    assert err.checkpoint == f"{16:020d}.note" and "size 17" in str(err)


def test_verify_bundle_rejects_when_checkpoint_origin_is_not_the_manifest_origin(
    bundle: Path,
) -> None:
    (bundle / "checkpoints" / f"{5:020d}.note").write_text(note_for(5, origin="other.example/log"))
    assert failure(bundle).checkpoint == f"{5:020d}.note"


def test_verify_bundle_names_missing_entries_when_checkpoint_covers_more_than_present(
    bundle: Path,
) -> None:
    extra = make_entry(40, hashlib.sha256(ENTRIES[39][64:96] + LEAVES[39]).digest())
    leaves = [*LEAVES, leaf_hash(extra)]
    body = format_checkpoint_body(ORIGIN, 41, ref_root(leaves))
    (bundle / "checkpoints" / f"{41:020d}.note").write_text(signed(body, SIGNER))
    err = failure(bundle)
    assert err.index == 40 and err.checkpoint == f"{41:020d}.note"


def test_verify_bundle_rejects_when_checkpoints_directory_has_a_stray_file(bundle: Path) -> None:
    (bundle / "checkpoints" / "latest.note").write_text(note_for(40))
    assert "latest.note" in str(failure(bundle))


def test_verify_bundle_rejects_when_no_checkpoint_is_present(tmp_path: Path) -> None:
    assert "no signed checkpoint" in str(failure(write_bundle(tmp_path / "b", checkpoints=())))


# --- manifest and key -----------------------------------------------------------------------


def test_verify_bundle_rejects_when_pinned_vkey_differs(bundle: Path) -> None:
    with pytest.raises(VerificationError, match="not by"):
        verify_bundle(bundle, vkey=Signer(ORIGIN).vkey)


def test_verify_bundle_rejects_when_entries_hash_differs_from_manifest(bundle: Path) -> None:
    write_manifest(bundle, sha="0" * 64)
    err = failure(bundle)
    assert err.index is None and "SHA-256" in str(err)


@pytest.mark.parametrize(
    "changes",
    [
        {"format": "alpr-ledger-bundle/v2"},
        {"size": -1},
        {"size": "40"},
        {"origin": ""},
        {"sha": "XYZ"},
    ],
)
def test_verify_bundle_rejects_when_manifest_is_malformed(bundle: Path, changes: dict[str, object]) -> None:
    write_manifest(bundle, **changes)
    assert "manifest" in str(failure(bundle))


@pytest.mark.parametrize("name", ["manifest.json", "vkey", "entries.bin", "checkpoints"])
def test_verify_bundle_rejects_when_a_bundle_part_is_missing(bundle: Path, name: str) -> None:
    path = bundle / name
    if path.is_dir():
        for child in path.iterdir():
            child.unlink()
        path.rmdir()
    else:
        path.unlink()
    failure(bundle)


# --- command line ---------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "ledger.verify", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=60,
    )


def test_cli_exits_zero_and_prints_summary_when_bundle_is_intact(bundle: Path) -> None:
    result = run_cli(str(bundle))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "entries: 40" in result.stdout
    assert ref_root(LEAVES).hex() in result.stdout


def test_cli_exits_one_and_prints_first_bad_entry_when_entry_is_altered(bundle: Path) -> None:
    entries = list(ENTRIES)
    entries[21] = entries[21][:30] + bytes([entries[21][30] ^ 1]) + entries[21][31:]
    write_entries(bundle, entries)
    result = run_cli(str(bundle))
    assert result.returncode == 1
    assert "first bad entry: 21" in result.stdout.splitlines()


def test_cli_exits_one_without_entry_when_checkpoint_signature_is_bad(bundle: Path) -> None:
    path = bundle / "checkpoints" / f"{5:020d}.note"
    path.write_text(note_for(5, signer=Signer(ORIGIN)))
    result = run_cli(str(bundle))
    assert result.returncode == 1
    assert "first bad entry" not in result.stdout and path.name in result.stdout


def test_cli_exits_one_when_pinned_vkey_differs(bundle: Path) -> None:
    assert run_cli(str(bundle), "--vkey", Signer(ORIGIN).vkey).returncode == 1
    assert run_cli(str(bundle), "--vkey", SIGNER.vkey).returncode == 0


def test_cli_exits_two_when_no_bundle_is_given() -> None:
    assert run_cli().returncode == 2
