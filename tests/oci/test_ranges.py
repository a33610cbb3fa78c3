import pytest

from chalicelib.oci import Code, OciError, format_range, parse_content_range


@pytest.mark.parametrize(
    "value, expected",
    [
        ("0-0", (0, 0)),
        ("0-1023", (0, 1023)),
        ("1024-2047", (1024, 2047)),
        (" 5-9 ", (5, 9)),
        ("bytes 0-99", (0, 99)),
        ("bytes=0-99", (0, 99)),
        ("Bytes 0-99/100", (0, 99)),
        ("bytes 0-99/*", (0, 99)),
        ("0-99/1000", (0, 99)),
        ("0-9223372036854775807", (0, 2**63 - 1)),
    ],
)
def test_parse(value, expected):
    assert parse_content_range(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "", "-", "0-", "-5", "5", "a-b", "-1-5", "5-4", "0-99/99", "0-99/50", "bytes0-9",
        "items 0-9", "0-9/", "0 - 9", "0-9223372036854775808", "1" * 5000 + "-" + "1" * 5000,
        "٠-٩",  # Unicode digits are not [0-9]
        None, 5,
    ],
)
def test_parse_rejects(value):
    with pytest.raises(OciError) as info:
        parse_content_range(value)
    assert info.value.code is Code.RANGE_INVALID
    assert info.value.status == 416


@pytest.mark.parametrize("size, header", [(0, "0-0"), (1, "0-0"), (2, "0-1"), (1024, "0-1023")])
def test_format_range(size, header):
    assert format_range(size) == header


def test_format_range_rejects_negative():
    with pytest.raises(ValueError):
        format_range(-1)
