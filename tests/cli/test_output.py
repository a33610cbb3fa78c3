"""The CLI's one table printer."""
from argparse import Namespace

from chalicelib.cli.output import show, table


def test_zero_is_printed_and_numbers_are_right_aligned(capsys):
    table(["NAME", "COUNT"], [{"name": "a", "count": 0}, {"name": "bb", "count": 1234}])
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["NAME  COUNT", "a         0", "bb     1234"]


def test_control_characters_from_callers_never_reach_the_terminal(capsys):
    table(["AGENT"], [{"agent": "curl\x1b[31m\r\n"}])
    out = capsys.readouterr().out
    assert "\x1b" not in out and "curl?[31m??" in out


def test_lists_and_booleans_read_naturally(capsys):
    table(["EVENTS", "ENABLED"], [{"events": ["a", "b"], "enabled": False}])
    assert capsys.readouterr().out.splitlines()[1].split() == ["a,b", "no"]


def test_json_output_prints_the_data_not_the_table(capsys):
    show(Namespace(output="json"), {"x": [1]}, ["X"], [{"x": 1}])
    assert capsys.readouterr().out.replace(" ", "").replace("\n", "") == '{"x":[1]}'
