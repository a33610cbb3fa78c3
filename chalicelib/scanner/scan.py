"""inventory_image: the entry point that reads an image's layers into an Inventory."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .collect import ImageReading, LayerSource
from .inventory import Inventory
from .limits import DEFAULT_LIMITS, Limits
from .resolve import build_inventory


def inventory_image(layers: Sequence[LayerSource], config: dict[str, Any] | None = None,
                    limits: Limits = DEFAULT_LIMITS) -> Inventory:
    """Read each layer once, base first, and return what the image holds.

    Raises ScanFailed on any input that cannot be read completely and safely (bad
    digest, corrupt or truncated stream, decompression bomb, hostile tar names, a
    limit reached). Errors of the streams themselves (storage) propagate unchanged."""
    reading = ImageReading(limits)
    for layer in layers:
        reading.read_layer(layer)
    return build_inventory(reading, config)
