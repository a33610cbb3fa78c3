from chalicelib.scanner.vulndb.severity import Rating, rate


def test_cvss_vectors_are_scored_and_v3_preferred():
    rating = rate([{"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"},
                   {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}])
    assert rating == Rating("HIGH", 7.5, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N")


def test_v4_and_v2():
    assert rate([{"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}]).severity == "CRITICAL"
    assert rate([{"type": "CVSS_V2", "score": "AV:N/AC:L/Au:N/C:P/I:P/A:P"}]) == Rating("HIGH", 7.5, "AV:N/AC:L/Au:N/C:P/I:P/A:P")


def test_labels_when_there_is_no_vector():
    assert rate([{"type": "CVSS_V3", "score": "garbage"}], {"severity": "MODERATE"}) == Rating("MEDIUM")
    assert rate([{"type": "Ubuntu", "score": "high"}]) == Rating("HIGH")
    assert rate(None, None, {"urgency": "unimportant"}) == Rating("LOW")
    assert rate(None, {"severity": "whatever"}) == Rating("UNKNOWN")
