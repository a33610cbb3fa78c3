"""Readers of installed-package metadata. Each takes bytes (or a stream) and returns
what it found; none of them knows about layers, whiteouts or the image."""
