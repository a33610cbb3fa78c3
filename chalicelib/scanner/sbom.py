"""CycloneDX 1.6 JSON SBOMs of an inventory, built with cyclonedx-python-lib."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from cyclonedx.model import Property
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.license import LicenseExpression
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from .inventory import Inventory, Package

# Property names under the project's own namespace (CycloneDX property taxonomy).
_LAYER = "moorage:layer_digest"
_PATH = "moorage:path"
_SOURCE = "moorage:source_package"


def sbom(inventory: Inventory, subject_name: str, subject_digest: str, timestamp: datetime | None = None) -> bytes:
    """The SBOM of the image `subject_name@subject_digest`. The serial number is
    derived from the digest, so the same image always gets the same one."""
    image = Component(
        type=ComponentType.CONTAINER,
        name=subject_name,
        version=subject_digest,
        bom_ref=f"image:{subject_digest}",
        purl=_image_purl(subject_name, subject_digest),
    )
    components = [_component(package, index) for index, package in enumerate(inventory.packages)]
    if inventory.os is not None:
        components.insert(0, Component(
            type=ComponentType.OPERATING_SYSTEM, name=inventory.os.id, version=inventory.os.version_id or None,
            description=inventory.os.pretty_name or None, bom_ref=f"os:{inventory.os.id}",
        ))
    bom = Bom(
        serial_number=uuid.uuid5(uuid.NAMESPACE_URL, f"moorage:sbom:{subject_digest}"),
        metadata=BomMetaData(component=image, timestamp=timestamp or datetime.now(UTC)),
        components=components,
    )
    bom.register_dependency(image, components)
    return JsonV1Dot6(bom).output_as_string(indent=None).encode()


def _component(package: Package, index: int) -> Component:
    properties = [Property(name=_LAYER, value=package.layer), Property(name=_PATH, value=package.path)]
    if package.source_name and package.source_name != package.name:
        properties.append(Property(name=_SOURCE, value=package.source_name))
    licenses = [LicenseExpression(value) for value in package.licenses[:1]]
    return Component(
        type=ComponentType.LIBRARY,
        name=package.name,
        version=package.version,
        purl=PackageURL.from_string(package.purl),
        # One package may be installed at several paths: the ref must still be unique.
        bom_ref=f"{package.purl}#{index}",
        licenses=licenses,
        properties=properties,
    )


def _image_purl(name: str, digest: str) -> PackageURL | None:
    # purl-spec "oci": the last path segment of the repository, the digest as version.
    repository = name.rpartition("/")[2].split(":")[0].split("@")[0].lower()
    return PackageURL(type="oci", name=repository, version=digest,
                      qualifiers={"repository_url": name.split("@")[0]}) if repository else None
