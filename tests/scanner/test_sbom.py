"""CycloneDX 1.6 SBOMs of real inventories."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from chalicelib.scanner import inventory_image, sbom
from tests.scanner.builders import sources
from tests.support.images import build_image, tar_layer

WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def test_sbom_lists_every_package_with_its_purl_and_layer(dpkg_status, venv_dist_infos):
    image = build_image([tar_layer({"etc/os-release": b'ID=debian\nVERSION_ID="12"\n', "var/lib/dpkg/status": dpkg_status}),
                         tar_layer(venv_dist_infos)])
    inventory = inventory_image(sources(image))
    document = json.loads(sbom(inventory, "registry.example/acme/app", image.digest, timestamp=WHEN))
    assert document["bomFormat"] == "CycloneDX" and document["specVersion"] == "1.6"
    assert document["metadata"]["component"]["type"] == "container"
    assert document["metadata"]["component"]["version"] == image.digest
    components = document["components"]
    (os_component,) = [c for c in components if c["type"] == "operating-system"]
    assert os_component == {"bom-ref": "os:debian", "name": "debian", "type": "operating-system", "version": "12"}
    purls = {c.get("purl") for c in components if c is not os_component}
    assert purls == {p.purl for p in inventory.packages}
    pytest_component = next(c for c in components if c["name"].lower() == "pytest")
    layer = {p["name"]: p["value"] for p in pytest_component["properties"]}["moorage:layer_digest"]
    assert layer == image.layers[1].digest
    # The image depends on every component.
    (image_deps,) = [d for d in document["dependencies"] if d["ref"] == f"image:{image.digest}"]
    assert len(image_deps["dependsOn"]) == len(components)


def test_same_image_same_sbom():
    image = build_image([tar_layer({"srv/node_modules/a/package.json": b'{"name": "a", "version": "1.0.0"}'})])
    inventory = inventory_image(sources(image))
    assert sbom(inventory, "acme/app", image.digest, WHEN) == sbom(inventory, "acme/app", image.digest, WHEN)
