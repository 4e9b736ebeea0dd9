"""``/v1/disclosures`` end to end: request -> approve -> release -> zip that verifies offline."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.main import create_app
from domain.disclosure import Disclosure
from domain.policy import Role
from ops.bootstrap import Runtime
from ops.cli import app as cli
from tests.api_support import bearer, recorded, token_for
from tests.disclosure_support import profile, stored_reads, use_packages_dir
from tests.hits_support import FakeClock


def _body(reads: list[str], **changes: object) -> dict[str, object]:
    return {
        "requesting_agency": "Onondaga County DA",
        "requesting_person": "ADA J. Rivera",
        "contact": "jrivera@da.example",
        "purpose": "criminal_investigation",
        "legal_basis": "law_enforcement_need",
        "scope": reads,
        "case_number": "2025-000123",
        **changes,
    }


def test_disclosure_flow_releases_package_that_verifies_when_approved(
    runtime: Runtime, tmp_path: Path
) -> None:
    use_packages_dir(runtime)
    client = TestClient(create_app(runtime))
    reads = [str(r) for r in stored_reads(runtime, 2)]
    investigator = bearer(token_for(runtime, Role.INVESTIGATOR))
    po = bearer(token_for(runtime, Role.PRIVACY_OFFICER))

    created = client.post("/v1/disclosures", json=_body(reads), headers=investigator)
    assert created.status_code == 201, created.text
    d = created.json()
    assert (d["status"], d["approver_role"]) == ("requested", "privacy_officer")
    early = client.post(f"/v1/disclosures/{d['id']}/release", json={}, headers=po)
    assert early.status_code == 403 and early.json()["code"] == "disclosure.release.not_approved"

    approved = client.post(
        f"/v1/disclosures/{d['id']}/approve",
        json={"reference": "APO memo 17", "scope": [reads[0]]},
        headers=po,
    )
    assert approved.status_code == 200 and approved.json()["approved_scope"] == [reads[0]]
    outside = client.post(f"/v1/disclosures/{d['id']}/release", json={"read_ids": [reads[1]]}, headers=po)
    assert outside.status_code == 403 and outside.json()["code"] == "disclosure.release.outside_scope"

    released = client.post(f"/v1/disclosures/{d['id']}/release", json={}, headers=po)
    assert released.status_code == 200, released.text
    assert released.json()["read_ids"] == [reads[0]]
    log = client.get("/v1/disclosures/log", headers=po).json()["entries"]
    assert [e["disclosure_id"] for e in log] == [d["id"]]

    download = client.get(released.json()["package_url"], headers=po)
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    out = tmp_path / "received"
    zipfile.ZipFile(io.BytesIO(download.content)).extractall(out)
    result = CliRunner().invoke(cli, ["verify", "--bundle", str(out)])
    assert result.exit_code == 0, result.output


def test_request_answers_403_and_is_recorded_when_purpose_is_immigration_enforcement(
    runtime: Runtime,
) -> None:
    client = TestClient(create_app(runtime))
    reads = [str(r) for r in stored_reads(runtime, 1)]
    with profile(runtime, "nypd-2026"):
        answer = client.post(
            "/v1/disclosures",
            json=_body(reads, purpose="immigration_enforcement", legal_basis="required_by_law"),
            headers=bearer(token_for(runtime, Role.INVESTIGATOR)),
        )
    assert answer.status_code == 403 and answer.json()["code"] == "disclosure.purpose.prohibited"
    assert len(recorded(runtime, Disclosure.Refused)) == 1


def test_unauthorized_report_listed_overdue_when_24_hours_pass(runtime: Runtime) -> None:
    clock = FakeClock(datetime.now(UTC))
    runtime.app.clock = clock
    client = TestClient(create_app(runtime))
    with profile(runtime, "nypd-2026"):
        posted = client.post(
            "/v1/disclosures/unauthorized",
            json={
                "what": "reads e-mailed to a vendor",
                "occurred_at": (clock.now - timedelta(days=1)).isoformat(),
                "discovered_at": clock.now.isoformat(),
            },
            headers=bearer(token_for(runtime, Role.OFFICER)),
        )
        assert posted.status_code == 201, posted.text
        assert posted.json()["overdue"] is False
        clock.advance(timedelta(hours=25))
        listed = client.get(
            "/v1/disclosures/unauthorized?overdue=true",
            headers=bearer(token_for(runtime, Role.PRIVACY_OFFICER)),
        )
    assert [r["id"] for r in listed.json()["reports"]] == [posted.json()["id"]]
