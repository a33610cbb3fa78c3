"""Scanning as a product feature, against moto: on push through the scan consumer (as the
registry's policy says), on request, stored results, referrers, pull blocking by real
results, billing once per scan, and rescans of pulled images when the DB changes."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.events import scan as scan_consumer
from chalicelib.events.model import Event, Target
from chalicelib.events.vulndb import publish_and_announce
from chalicelib.oci import OCI_INDEX, Code, Digest, OciError, RepoName, Tag
from chalicelib.scanner import import_osv
from chalicelib.scanner.service import REPORT_TYPE, SBOM_TYPE
from tests.moto_services import moto_services
from tests.scanner.builders import osv, write_osv
from tests.support.service import digest_of, manifest_bytes, push_blob
from tests.support.images import tar_layer

NAME = RepoName.parse("acme/app")
CRITICAL = [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]
STATUS = b"""Package: libssl3
Status: install ok installed
Architecture: amd64
Source: openssl
Version: 3.0.11-1~deb12u1

Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib
Version: 1:1.2.13.dfsg-1
"""
OS_RELEASE = b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'
DB_RECORDS = [osv("DSA-5001-1", "Debian:12", "openssl", [{"introduced": "0"}, {"fixed": "3.0.13-1~deb12u1"}],
                  aliases=["CVE-2099-0001"], severity=CRITICAL),
              osv("DSA-5002-1", "Debian:12", "zlib", [{"introduced": "0"}, {"fixed": "1:1.2.13.dfsg-1"}],
                  aliases=["CVE-2099-0002"], severity=CRITICAL)]  # fixed in the installed version


@pytest.fixture
def services():
    with moto_services(MOORAGE_SETTINGS_CACHE_TTL="0") as services:
        services.registries.create("acme", "t")
        services.events.sent = []
        services.events.send = services.events.sent.extend  # no queues here: what goes out is kept
        yield services


def _publish(services, tmp_path: Path, records: list[dict], label: str) -> str:
    db_file = tmp_path / f"{label}.sqlite"
    import_osv([write_osv(tmp_path / label, records)], db_file)
    return publish_and_announce(services, db_file, "t").version


def _push_debian_image(services, tag: str = "1") -> str:
    layers = [tar_layer({"etc/os-release": OS_RELEASE, "var/lib/dpkg/status": STATUS}),
              tar_layer({"app/.env": b"AWS_SECRET_ACCESS_KEY=Zx8k2LmN4pQ7rS9tUv1wXy3zA5bC7dE9fG1hJ3kL\n"
                                     b"AWS_ACCESS_KEY_ID=AKIAZ7Q2M4N6P3R5T2V4\n"})]
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}},
                        separators=(",", ":")).encode()
    blobs = [{**push_blob(services, NAME, layer), "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip"}
             for layer in layers]
    raw = manifest_bytes(push_blob(services, NAME, config), blobs)
    return services.manifests.put(NAME, Tag.parse(tag), "application/vnd.oci.image.manifest.v1+json", raw, "t").digest


def _pushed(digest: str) -> Event:
    from datetime import datetime, timezone
    return Event(id=f"ddb:{digest}", type="manifest.pushed", time=datetime.now(timezone.utc),
                 target=Target("acme", "app", digest=digest),
                 details={"media_type": "application/vnd.oci.image.manifest.v1+json"})


def test_a_push_is_scanned_with_packages_vulnerabilities_and_secrets(services, tmp_path):
    _publish(services, tmp_path, DB_RECORDS, "v1")
    digest = _push_debian_image(services)
    scan_consumer.handle(_pushed(digest), services)
    summary = json.loads(services.metadata.get_manifest("acme", "app", digest).scan)
    assert summary["status"] == "completed" and summary["vulnerabilities"] == {"CRITICAL": ["CVE-2099-0001"]}
    assert summary["fixable"] == 1 and summary["secrets"] >= 1 and summary["packages"] == 2
    report = services.scans.report(NAME, digest)
    finding = report.findings[0]
    assert (finding.package_name, finding.installed_version) == ("libssl3", "3.0.11-1~deb12u1")
    assert {s.rule_id for s in report.secrets} >= {"aws-access-key-id"}
    referrers = {r.artifact_type: r for r in services.content.referrers(NAME, Digest.parse(digest))}
    assert set(referrers) == {SBOM_TYPE, REPORT_TYPE}
    sbom_manifest = services.manifests.resolve(NAME, Digest.parse(referrers[SBOM_TYPE].digest), [])
    layer = json.loads(services.manifests.content(NAME, sbom_manifest))["layers"][0]
    sbom = json.loads(services.uploads._objects.get(services.content.blob(NAME, Digest.parse(layer["digest"])).key))
    assert sbom["bomFormat"] == "CycloneDX" and any(c["name"] == "libssl3" for c in sbom["components"])


def test_scan_on_push_follows_the_policy(services, tmp_path):
    services.registries.update("acme", {"policy": {"scan_on_push": False}}, "t")
    digest = _push_debian_image(services)
    scan_consumer.handle(_pushed(digest), services)
    assert services.metadata.get_manifest("acme", "app", digest).scan is None
    scan_consumer.handle(Event(id="x", type="scan.requested", time=services.clock.now(),
                               target=Target("acme", "app", digest=digest)), services)  # on demand it scans
    assert json.loads(services.metadata.get_manifest("acme", "app", digest).scan)["status"] == "completed"


def test_real_results_block_pulls(services, tmp_path):
    _publish(services, tmp_path, DB_RECORDS, "v1")
    digest = _push_debian_image(services)
    scan_consumer.handle(_pushed(digest), services)
    services.registries.update("acme", {"policy": {"block_pull": {"severity": "HIGH"}}}, "t")
    with pytest.raises(OciError) as refused:
        services.manifests.check_pull(NAME, services.manifests.resolve(NAME, Tag.parse("1"), []))
    assert refused.value.code is Code.DENIED and "CVE-2099-0001" in refused.value.message


def test_a_scan_without_any_db_still_reports_packages_and_secrets(services):
    digest = _push_debian_image(services)
    summary = services.scans.scan(NAME, digest)
    assert summary["status"] == "completed" and summary["total"] == 0 and summary["packages"] == 2
    assert summary["secrets"] >= 1


def test_a_broken_layer_is_a_failed_scan_with_a_reason(services):
    layer = b"\x1f\x8b\x08\x00 this is no gzip stream"
    raw = manifest_bytes(push_blob(services, NAME, b'{"architecture":"amd64","os":"linux"}'),
                         [{**push_blob(services, NAME, layer), "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip"}])
    digest = services.manifests.put(NAME, Tag.parse("bad"), "application/vnd.oci.image.manifest.v1+json", raw,
                                    "t").digest
    summary = services.scans.scan(NAME, digest)
    assert summary["status"] == "failed" and summary["reason"]


def test_a_new_db_rescans_pulled_images_from_their_stored_inventory(services, tmp_path):
    _publish(services, tmp_path, DB_RECORDS[1:], "v1")  # nothing affects the image yet
    digest = _push_debian_image(services)
    services.scans.scan(NAME, digest)
    assert json.loads(services.metadata.get_manifest("acme", "app", digest).scan)["total"] == 0
    services.metadata.record_pull("acme", "app", digest, services.clock.now())
    services.uploads._objects.delete(services.content.blob(NAME, Digest.parse(
        json.loads(services.manifests.content(NAME, services.manifests.resolve(NAME, Tag.parse("1"), [])))
        ["layers"][0]["digest"])).key)  # the layers are not read again: their bytes may even be gone
    sent = services.events.sent
    sent.clear()
    version = _publish(services, tmp_path, DB_RECORDS, "v2")
    (announcement,) = sent
    assert announcement.type == "vulndb.updated" and announcement.id == f"vulndb:{version}"
    sent.clear()
    scan_consumer.handle(announcement, services)
    (request,) = sent
    assert request.type == "scan.requested" and request.details["rescan"] and request.target.digest == digest
    scan_consumer.handle(request, services)
    summary = json.loads(services.metadata.get_manifest("acme", "app", digest).scan)
    assert summary["rescan"] is True and summary["vulnerabilities"] == {"CRITICAL": ["CVE-2099-0001"]}
    assert summary["db_version"] == version


def test_scan_completed_events_count_once_for_billing(services, tmp_path):
    from chalicelib.events.records import from_stream_record
    from chalicelib.metering.usage import record, store_for

    digest = _push_debian_image(services)
    services.scans.scan(NAME, digest)
    summary = services.metadata.get_manifest("acme", "app", digest).scan
    stream_record = {"eventID": "e-1", "eventName": "MODIFY", "dynamodb": {
        "NewImage": {"pk": {"S": "REPO#acme/app"}, "sk": {"S": f"MAN#{digest}"}, "kind": {"S": "manifest"},
                     "scan": {"S": summary}, "manifest": {"M": {"digest": {"S": digest}}}},
        "OldImage": {"pk": {"S": "REPO#acme/app"}, "sk": {"S": f"MAN#{digest}"}, "kind": {"S": "manifest"},
                     "manifest": {"M": {"digest": {"S": digest}}}},
        "ApproximateCreationDateTime": 1767225600}}
    event = from_stream_record(stream_record)
    assert event.type == "scan.completed" and event.target.digest == digest
    record(event, services)
    record(event, services)  # redelivered
    hours = store_for(services).hours("acme", None, [event.time])
    assert sum(h.counters.get("scans", 0) for h in hours.values()) == 1


def test_an_index_is_reported_per_platform(services, tmp_path):
    _publish(services, tmp_path, DB_RECORDS, "v1")
    children = []
    for arch in ("amd64", "arm64"):
        config = json.dumps({"architecture": arch, "os": "linux"}, separators=(",", ":")).encode()
        layer = {**push_blob(services, NAME, tar_layer({"etc/os-release": OS_RELEASE,
                                                        "var/lib/dpkg/status": STATUS, "arch": arch.encode()})),
                 "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip"}
        raw = manifest_bytes(push_blob(services, NAME, config), [layer])
        digest = services.manifests.put(NAME, digest_of(raw), "application/vnd.oci.image.manifest.v1+json", raw,
                                        "t").digest
        children.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest,
                         "size": len(raw), "platform": {"architecture": arch, "os": "linux"}})
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children}).encode()
    digest = services.manifests.put(NAME, Tag.parse("multi"), OCI_INDEX, index, "t").digest
    summary = services.scans.scan(NAME, digest)
    assert summary["status"] == "completed" and summary["severity_counts"]["CRITICAL"] == 1  # once, not per platform
    report = services.scans.report(NAME, digest)
    assert sorted(p.platform for p in report.platforms) == ["linux/amd64", "linux/arm64"]
    assert all(len(p.findings) == 1 for p in report.platforms)
    assert REPORT_TYPE in {r.artifact_type for r in services.content.referrers(NAME, Digest.parse(digest))}
