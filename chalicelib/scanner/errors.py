"""The one error the scanner raises on bad input."""

from __future__ import annotations


class ScanFailed(Exception):
    """An image (or a vulnerability DB source) could not be scanned.

    `reason` is short and safe to show to the image's owner: it names the layer and
    the path when there is one, never file contents.
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
