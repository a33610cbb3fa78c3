"""Scanning as users meet it: `moorage vulndb import` of OSV records, a skopeo push scanned
on push by the local event runner, the result through `moorage scan` and the API, the
SBOM and report found by the referrers API and pulled with oras."""
from __future__ import annotations

import json
import os
import time
import uuid

import pytest
import requests

from tests.scanner.builders import osv, write_osv
from tests.support.auth import authed_session
from tests.support.cli import Cli
from tests.support.images import build_image, tar_layer, write_oci_layout
from tests.support.skopeo import SKIP_REASON, SKOPEO, run_skopeo

pytestmark = [pytest.mark.skipif(SKOPEO is None, reason=SKIP_REASON),
              pytest.mark.skipif(os.environ.get("MOORAGE_TEST_TARGET", "moorage") != "moorage",
                                 reason="scanning is moorage's own")]
SBOM_TYPE = "application/vnd.cyclonedx+json"
REPORT_TYPE = "application/vnd.moorage.scan.report.v1+json"
OS_RELEASE = b'ID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine Linux v3.19"\n'
APK_INSTALLED = b"""P:busybox
V:1.36.1-r15
A:x86_64
o:busybox

P:libcrypto3
V:3.1.4-r1
A:x86_64
o:openssl

"""
HIGH = [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}]


@pytest.fixture(scope="module")
def admin(registry, tmp_path_factory) -> Cli:
    cli = Cli(registry, tmp_path_factory.mktemp("scan-config"))
    cli.login(registry.username, registry.password)
    return cli


def _api(registry, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, f"{registry.url}/api/v1{path}", auth=(registry.username, registry.password),
                            timeout=60, **kwargs)


def _wait_for_scan(registry, path: str, timeout_s: float = 120) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = _api(registry, "GET", path)
        if response.status_code == 200 and response.json()["summary"]["status"] == "completed":
            return response.json()
        time.sleep(0.5)
    raise AssertionError(f"no completed scan at {path} within {timeout_s} s: {response.text[:300]}")


def test_push_scan_report_and_referrers(registry, admin, oras, tmp_path):
    records = [osv("ALPINE-CVE-2099-1", "Alpine:v3.19", "openssl", [{"introduced": "0"}, {"fixed": "3.1.4-r5"}],
                   aliases=["CVE-2099-1111"], severity=HIGH),
               osv("ALPINE-CVE-2099-2", "Alpine:v3.19", "busybox", [{"introduced": "0"}, {"fixed": "1.36.1-r15"}],
                   aliases=["CVE-2099-2222"], severity=HIGH)]  # fixed in the installed release
    imported = admin.ok("vulndb", "import", str(write_osv(tmp_path / "osv", records)))
    assert "imported 2 advisories" in imported
    assert admin.json("vulndb", "status")["advisories"] == 2

    name = "scan" + uuid.uuid4().hex[:8]
    admin.ok("registry", "create", name)
    image = build_image([tar_layer({"etc/os-release": OS_RELEASE, "lib/apk/db/installed": APK_INSTALLED}),
                         tar_layer({"srv/app.env": b"GITHUB_TOKEN=ghp_Z3q9Xw2Lm5Nb8Vc1Kd4Fg7Hj0Pr6St9Uy2Ae\n"})])
    write_oci_layout(tmp_path / "layout", {"1": image})
    run_skopeo("copy", f"oci:{tmp_path / 'layout'}:1", f"docker://{registry.host}/{name}/app:1")

    # Scanned on push, by the event runner, with no request of ours.
    scan_path = f"/registries/{name}/repositories/app/-/artifacts/1/scan"
    result = _wait_for_scan(registry, scan_path)
    assert result["summary"]["vulnerabilities"] == {"HIGH": ["CVE-2099-1111"]}
    assert result["summary"]["secrets"] == 1 and result["summary"]["packages"] == 2
    (finding,) = result["report"]["platforms"][0]["findings"]
    assert finding["package_name"] == "libcrypto3" and finding["fixed_versions"] == ["3.1.4-r5"]
    assert finding["layer"] == image.layers[0].digest
    filtered = _api(registry, "GET", scan_path + "?severity=CRITICAL").json()
    assert filtered["report"]["platforms"][0]["findings"] == []
    assert _api(registry, "GET", scan_path + "?type=bogus").status_code == 400

    # The CLI shows it; a scan on request gives the same result.
    shown = admin.ok("scan", f"{name}/app:1", "--wait")
    assert "CVE-2099-1111" in shown and "libcrypto3" in shown and "github" in shown.lower()

    # SBOM and report are referrers of the image: listed, and pulled as any artifact.
    session = authed_session(registry)
    listed = session.get(f"{registry.url}/v2/{name}/app/referrers/{image.digest}", timeout=60).json()["manifests"]
    by_type = {m["artifactType"]: m for m in listed}
    assert set(by_type) == {SBOM_TYPE, REPORT_TYPE}
    out = tmp_path / "pulled"
    files = oras.pull(target=f"{registry.host}/{name}/app@{by_type[SBOM_TYPE]['digest']}", outdir=str(out))
    sbom = json.loads(open(files[0]).read())
    assert sbom["bomFormat"] == "CycloneDX" and {"busybox", "libcrypto3"} <= {c["name"] for c in sbom["components"]}

    # The artifact list shows the summary; pulls are blocked once the policy asks.
    artifacts = {a["digest"]: a for a in _api(registry, "GET", f"/registries/{name}/repositories/app/-/artifacts")
                 .json()["artifacts"]}
    assert artifacts[image.digest]["scan"]["severity_counts"]["HIGH"] == 1
    assert _api(registry, "PATCH", f"/registries/{name}",
                json={"policy": {"block_pull": {"severity": "HIGH"}}}).status_code == 200
    refused = session.get(f"{registry.url}/v2/{name}/app/manifests/1", timeout=60,
                          headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert refused.status_code == 403 and "CVE-2099-1111" in refused.text


def test_scanning_what_is_no_image_is_refused(registry, admin, oras, tmp_path):
    name = "scan" + uuid.uuid4().hex[:8]
    admin.ok("registry", "create", name)
    (tmp_path / "chart.tgz").write_bytes(b"not really a chart")
    oras.push(target=f"{registry.host}/{name}/chart:0.1.0",
              files=[f"{tmp_path / 'chart.tgz'}:application/vnd.cncf.helm.chart.content.v1.tar+gzip"],
              manifest_config=f"{tmp_path / 'missing.json'}:application/vnd.cncf.helm.config.v1+json",
              disable_path_validation=True, quiet=True)
    response = _api(registry, "POST", f"/registries/{name}/repositories/chart/-/artifacts/0.1.0/scan")
    assert response.status_code == 400 and response.json()["error"]["code"] == "NOT_AN_IMAGE"
