"""Stanzas of "Field: value" lines with indented continuations: dpkg status, Python
METADATA/PKG-INFO and MANIFEST.MF all use this shape."""

from __future__ import annotations

from collections.abc import Iterator


def stanzas(text: str) -> Iterator[dict[str, str]]:
    """One dict per blank-line separated stanza; a repeated field keeps its first value."""
    fields: dict[str, str] = {}
    last: str | None = None
    for line in text.splitlines():
        if not line.strip():
            if fields:
                yield fields
            fields, last = {}, None
        elif line[0] in " \t":
            if last is not None:
                fields[last] += "\n" + line.strip()
        else:
            name, sep, value = line.partition(":")
            if sep:
                last = name.strip()
                fields.setdefault(last, value.strip())
    if fields:
        yield fields


def headers(text: str) -> dict[str, list[str]]:
    """The header block (up to the first blank line), each field with all its values
    (METADATA repeats Classifier, License-File, ...)."""
    found: dict[str, list[str]] = {}
    last: list[str] | None = None
    for line in text.splitlines():
        if not line.strip():
            break
        if line[0] in " \t":
            if last:
                last[-1] += "\n" + line.strip()
            continue
        name, sep, value = line.partition(":")
        if sep:
            last = found.setdefault(name.strip(), [])
            last.append(value.strip())
    return found
