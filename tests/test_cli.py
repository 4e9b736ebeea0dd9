"""The alpr-ledger command line on both backends: seed, checkpoint, verify, export, bundles."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.verify import verify_checkpoint
from ops.cli import app as cli
from ops.settings import Settings

runner = CliRunner()


def _env(settings: Settings) -> dict[str, str]:
    return {"ALPR_DATA_DIR": str(settings.data_dir), "ALPR_LOG_ORIGIN": settings.log_origin}


def _run(settings: Settings, *args: str) -> tuple[int, str]:
    result = runner.invoke(cli, [*args, "--db", settings.database_url], env=_env(settings))
    return result.exit_code, result.stdout


def test_seed_checkpoint_verify_round_trip_when_log_seeded(settings: Settings, tmp_path: Path) -> None:
    code, out = _run(settings, "seed", "--reads", "1200", "--batch", "500")
    assert code == 0, out
    code, note = _run(settings, "checkpoint")
    assert code == 0
    vkey_code, _ = _run(settings, "verify", "--save-checkpoint", str(tmp_path / "cp.note"))
    assert vkey_code == 0
    saved = (tmp_path / "cp.note").read_text()
    assert saved == note

    code, out = _run(settings, "seed", "--reads", "300", "--if-empty")
    assert code == 0
    code, out = _run(settings, "seed", "--reads", "300", "--seed", "8")
    assert code == 0
    code, out = _run(settings, "verify", "--checkpoint", str(tmp_path / "cp.note"))
    assert code == 0, out
    size = int(saved.splitlines()[1])
    assert f"consistent with saved checkpoint at size {size}" in out
    assert f"ok: {size + 300} entries" in out


def test_verify_rejects_checkpoint_from_another_log_when_given(settings: Settings, tmp_path: Path) -> None:
    _run(settings, "seed", "--reads", "50")
    other = Settings(
        database_url=f"sqlite:///{tmp_path / 'other.db'}",
        data_dir=tmp_path / "other",
        log_origin=settings.log_origin,
    )
    _run(other, "seed", "--reads", "10")
    _, note = _run(other, "checkpoint")
    (tmp_path / "foreign.note").write_text(note)
    code, out = _run(settings, "verify", "--checkpoint", str(tmp_path / "foreign.note"))
    assert code == 1


def test_export_bundle_verifies_offline_and_names_tampered_entry(settings: Settings, tmp_path: Path) -> None:
    _run(settings, "seed", "--reads", "700")
    bundle = tmp_path / "bundle"
    code, out = _run(settings, "export", "--out", str(bundle))
    assert code == 0, out
    result = runner.invoke(cli, ["verify", "--bundle", str(bundle)])
    assert result.exit_code == 0, result.stdout
    assert "ok: bundle of 748 entries" in result.stdout  # 48 camera registrations + 700 reads
    note = sorted((bundle / "checkpoints").glob("*.note"))[-1].read_text()
    vkey = (bundle / "vkey").read_text().strip()
    assert verify_checkpoint(note, vkey).size == 748

    data = bytearray((bundle / "entries.bin").read_bytes())
    # Entry 0 starts at byte 4; walk the length prefixes to entry 321 and flip a byte of it.
    pos = 0
    for _ in range(321):
        pos += 4 + int.from_bytes(data[pos : pos + 4], "big")
    data[pos + 4 + 40] ^= 0x10
    (bundle / "entries.bin").write_bytes(bytes(data))
    result = runner.invoke(cli, ["verify", "--bundle", str(bundle)])
    assert result.exit_code == 1
    assert "first bad entry: 321" in result.stdout


@pytest.mark.parametrize("bad", ["mysql://x", "sqlite"])
def test_settings_reject_unknown_database_url_when_configured(bad: str) -> None:
    with pytest.raises(ValueError, match="database_url"):
        Settings(database_url=bad)
