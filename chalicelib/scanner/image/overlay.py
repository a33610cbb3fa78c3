"""Which files of a lower layer are still in the final filesystem.

Layers apply in order: a later layer's entry at the same path replaces the file, a
whiteout `.wh.<name>` removes `<name>` (and all below it) from the layers under it, an
opaque marker `.wh..wh..opq` empties its directory in the layers under it, and a
non-directory replaces a lower directory with everything in it.

Every entry of every layer must be remembered to answer that later, so each is kept
as one 64-bit key in a sorted array (8 bytes an entry), never as a string. Keys are
Python's str hash: randomised per process, but only ever compared within one scan. A
collision (about 1 in 10^7 at a million entries) could only hide a finding's file."""

from __future__ import annotations

from array import array
from bisect import bisect_left

from .entries import OPAQUE_MARKER, WHITEOUT_PREFIX

_MASK = (1 << 63) - 1


def path_key(path: str) -> int:
    """A path as a 63-bit key (see the module comment)."""
    return hash(path) & _MASK


def _entry_key(path: str, is_dir: bool) -> int:
    return path_key(path) << 1 | is_dir


def _contains(keys: array, key: int) -> bool:
    i = bisect_left(keys, key)
    return i < len(keys) and keys[i] == key


def _ancestors(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


class LayerPaths:
    """Collects the paths of one layer while it streams by."""

    def __init__(self) -> None:
        self._entries = array("Q")
        self._whiteouts = array("Q")
        self._opaques = array("Q")

    def add(self, path: str, is_dir: bool) -> None:
        parent, _, name = path.rpartition("/")
        if name.startswith(WHITEOUT_PREFIX):
            if name == OPAQUE_MARKER:
                self._opaques.append(path_key(parent))
            elif not name.startswith(WHITEOUT_PREFIX + WHITEOUT_PREFIX):
                # Other ".wh..wh." names are aufs bookkeeping, not whiteouts.
                hidden = name[len(WHITEOUT_PREFIX):]
                self._whiteouts.append(path_key(f"{parent}/{hidden}" if parent else hidden))
            return
        self._entries.append(_entry_key(path, is_dir))

    def freeze(self) -> _FrozenLayer:
        return _FrozenLayer(*(array("Q", sorted(a)) for a in (self._entries, self._whiteouts, self._opaques)))


class _FrozenLayer:
    __slots__ = ("entries", "opaques", "whiteouts")

    def __init__(self, entries: array, whiteouts: array, opaques: array):
        self.entries, self.whiteouts, self.opaques = entries, whiteouts, opaques

    def hides(self, path: str, ancestors: list[str]) -> bool:
        """Whether this layer hides `path` of a lower layer."""
        if _contains(self.whiteouts, path_key(path)):
            return True
        if _contains(self.entries, _entry_key(path, False)) or _contains(self.entries, _entry_key(path, True)):
            return True
        for directory in ancestors:
            key = path_key(directory)
            if (
                _contains(self.whiteouts, key)
                or _contains(self.opaques, key)
                or _contains(self.entries, key << 1)   # a file where a directory was
            ):
                return True
        return False


class Overlay:
    """The stack of layers read so far."""

    def __init__(self) -> None:
        self._layers: list[_FrozenLayer] = []

    def push(self, layer: LayerPaths) -> None:
        self._layers.append(layer.freeze())

    def __len__(self) -> int:
        return len(self._layers)

    def hidden(self, path: str, layer_index: int) -> bool:
        """Whether the file at `path` of layer `layer_index` is absent from the final
        filesystem (deleted or replaced by a later layer)."""
        ancestors = _ancestors(path)
        return any(layer.hides(path, ancestors) for layer in self._layers[layer_index + 1:])
