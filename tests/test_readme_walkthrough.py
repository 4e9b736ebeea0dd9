"""End to end: the README's walk-through, run as written against a live server on SQLite."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ops.pgcluster import free_port

ROOT = Path(__file__).resolve().parent.parent


def _walkthrough() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Walk-through") :]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


@pytest.mark.slow
def test_readme_walkthrough_runs_clean_when_followed_on_a_fresh_directory(tmp_path: Path) -> None:
    port = free_port()
    script = (
        _walkthrough()
        .replace("http://127.0.0.1:8000", f"http://127.0.0.1:{port}")
        .replace("alpr-ledger serve >", f"alpr-ledger serve --port {port} >")
        .replace(".venv/bin/python", sys.executable)
    )
    bindir = str(Path(sys.executable).parent)
    env = dict(
        os.environ,
        PATH=bindir + os.pathsep + os.environ.get("PATH", ""),
        PYTHONPATH=str(ROOT),
        ALPR_DATABASE_URL="sqlite:///var/ledger.db",
        ALPR_DATA_DIR="var",
    )
    proc = subprocess.Popen(
        ["bash", "-c", "set -euo pipefail\n" + script],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=240)
    finally:
        # The script leaves its server running, as a reader's terminal would.
        subprocess.run(["pkill", "-f", f"alpr-ledger serve --port {port}"], check=False)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, out
    assert '"match_kind":"exact"' in out  # the alert arrived
    assert "search.purpose.prohibited" in out
    assert "ok: release package of disclosure" in out
    assert re.search(r"ok: \d+ entries, root [0-9a-f]{64}", out)
