import hashlib

import pytest

from chalicelib.oci import Code, Digest, DigestHasher, OciError

SHA256_EMPTY = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
SHA512_EMPTY = "sha512:" + hashlib.sha512(b"").hexdigest()
HEX64 = "a" * 64


@pytest.mark.parametrize("text", [SHA256_EMPTY, SHA512_EMPTY, "sha256:" + "0123456789abcdef" * 4])
def test_parse_round_trips(text):
    digest = Digest.parse(text)
    assert str(digest) == text
    assert digest.hex == digest.encoded == text.split(":")[1]
    assert Digest.parse(str(digest)) == digest


@pytest.mark.parametrize(
    "text, why",
    [
        ("", "empty"),
        ("sha256", "no colon"),
        ("sha256:", "empty encoded"),
        (":" + HEX64, "empty algorithm"),
        ("SHA256:" + HEX64, "uppercase algorithm"),
        ("sha256:" + "A" * 64, "uppercase hex"),
        ("sha256:" + "a" * 63, "too short"),
        ("sha256:" + "a" * 65, "too long"),
        ("sha256:" + "g" * 64, "not hex"),
        ("sha256:" + "a" * 63 + "=", "grammatical but not hex"),
        ("sha512:" + "a" * 64, "sha512 with sha256 length"),
        ("sha512:" + "A" * 128, "sha512 uppercase"),
        ("sha256: " + HEX64, "space"),
        ("sha256:" + HEX64 + "\n", "trailing newline"),
        ("sha256:" + HEX64 + ":" + HEX64, "two colons"),
        ("sha256+:" + HEX64, "trailing separator"),
        ("sha256:" + "é" * 64, "non-ascii"),
    ],
)
def test_parse_rejects(text, why):
    with pytest.raises(OciError) as info:
        Digest.parse(text)
    assert info.value.code is Code.DIGEST_INVALID, why
    assert info.value.status == 400
    assert info.value.detail == text


@pytest.mark.parametrize(
    "text",
    [
        "md5:d41d8cd98f00b204e9800998ecf8427e",
        "sha384:" + "a" * 96,
        "blake3:" + HEX64,
        "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8",
        "a.b_c-d+e:x=y",
    ],
)
def test_unsupported_but_grammatical_algorithms(text):
    with pytest.raises(OciError) as info:
        Digest.parse(text)
    assert info.value.code is Code.DIGEST_INVALID
    assert info.value.message.startswith("unsupported digest algorithm")


@pytest.mark.parametrize("value", [None, 123, b"sha256:" + b"a" * 64, ["sha256", HEX64]])
def test_parse_rejects_non_strings(value):
    with pytest.raises(OciError) as info:
        Digest.parse(value)
    assert info.value.code is Code.DIGEST_INVALID


def test_parse_rejects_long_input_cheaply():
    text = "sha256:" + "a" * 10_000_000
    with pytest.raises(OciError) as info:
        Digest.parse(text)
    assert info.value.code is Code.DIGEST_INVALID
    assert len(info.value.detail) < 300


def test_constructor_validates():
    assert str(Digest("sha256", HEX64)) == "sha256:" + HEX64
    for algorithm, encoded in [("sha256", "abc"), ("md5", HEX64), ("sha256:x", HEX64), (1, 2)]:
        with pytest.raises(OciError):
            Digest(algorithm, encoded)


def test_of():
    assert str(Digest.of(b"")) == SHA256_EMPTY
    assert str(Digest.of(b"", "sha512")) == SHA512_EMPTY
    assert Digest.of(b"{}") == Digest.parse(
        "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    )
    with pytest.raises(OciError):
        Digest.of(b"", "md5")


def test_values_are_frozen_hashable_and_ordered():
    a, b = Digest.of(b"a"), Digest.of(b"b")
    assert {a, Digest.parse(str(a))} == {a}
    assert sorted([b, a]) == sorted([a, b])
    with pytest.raises(AttributeError):
        a.encoded = "x"


def test_hasher_streams():
    hasher = DigestHasher()
    for chunk in (b"hello ", bytearray(b"wor"), memoryview(b"ld")):
        hasher.update(chunk)
    assert hasher.size == 11
    assert hasher.digest() == Digest.of(b"hello world")
    hasher.verify(Digest.of(b"hello world"))
    hasher.update(b"!")  # digest() did not finalize
    assert hasher.digest() == Digest.of(b"hello world!")


def test_hasher_sha512():
    hasher = DigestHasher("sha512")
    hasher.update(b"x")
    hasher.verify(Digest.of(b"x", "sha512"))


def test_hasher_mismatch():
    hasher = DigestHasher()
    hasher.update(b"actual")
    expected = Digest.of(b"expected")
    with pytest.raises(OciError) as info:
        hasher.verify(expected)
    assert info.value.code is Code.DIGEST_INVALID
    assert info.value.detail == {"expected": str(expected), "actual": str(Digest.of(b"actual"))}


def test_hasher_rejects_unsupported_algorithm():
    with pytest.raises(OciError):
        DigestHasher("md5")
