"""Which lower-layer files survive the layers above them."""

from __future__ import annotations

from chalicelib.scanner.image.overlay import LayerPaths, Overlay


def _overlay(*layers: list[tuple[str, bool]]) -> Overlay:
    overlay = Overlay()
    for paths in layers:
        layer = LayerPaths()
        for path, is_dir in paths:
            layer.add(path, is_dir)
        overlay.push(layer)
    return overlay


def test_whiteout_hides_the_file_and_everything_under_a_directory():
    overlay = _overlay(
        [("etc", True), ("etc/secret.env", False), ("app", True), ("app/lib/x.py", False)],
        [("etc/.wh.secret.env", False), (".wh.app", False)],
    )
    assert overlay.hidden("etc/secret.env", 0)
    assert overlay.hidden("app/lib/x.py", 0)


def test_opaque_directory_hides_lower_content_only():
    overlay = _overlay(
        [("opt/tool/old.txt", False)],
        [("opt/tool/.wh..wh..opq", False), ("opt/tool/new.txt", False)],
    )
    assert overlay.hidden("opt/tool/old.txt", 0)
    assert not overlay.hidden("opt/tool/new.txt", 1)


def test_whiteout_applies_to_lower_layers_not_its_own():
    overlay = _overlay([("a.txt", False)], [(".wh.a.txt", False), ("a.txt", False)])
    assert overlay.hidden("a.txt", 0)
    assert not overlay.hidden("a.txt", 1)


def test_replaced_file_and_file_over_directory():
    overlay = _overlay([("x/y/z.txt", False), ("w.txt", False)], [("x/y", False), ("w.txt", False)])
    assert overlay.hidden("x/y/z.txt", 0)
    assert overlay.hidden("w.txt", 0)


def test_directory_over_directory_keeps_lower_files():
    overlay = _overlay([("usr/lib/a.so", False)], [("usr", True), ("usr/lib", True), ("usr/lib/b.so", False)])
    assert not overlay.hidden("usr/lib/a.so", 0)


def test_later_unrelated_whiteouts_do_not_hide():
    overlay = _overlay([("etc/a", False), ("etc/ab", False)], [("etc/.wh.a", False)], [("srv/.wh..wh..opq", False)])
    assert overlay.hidden("etc/a", 0)
    assert not overlay.hidden("etc/ab", 0)
    assert not overlay.hidden("etc/ab", 1)


def test_aufs_bookkeeping_is_not_a_whiteout():
    overlay = _overlay([(".wh..wh.plnk", True), ("plnk", False)], [(".wh..wh.aufs", False)])
    assert not overlay.hidden("plnk", 0)
