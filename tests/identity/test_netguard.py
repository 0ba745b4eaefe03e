"""The SSRF address classifier on every address form (reliability N1)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lexforge.runtime.identity.netguard import AddressClass, classify_address

GLOBAL = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",  # mapped global
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8
    "2002:808:808::1",  # 6to4 of 8.8.8.8
    "2001:200::1",  # just past the IETF protocol assignments (2001::/23)
    "192.31.196.1",  # AS112 (IPv4): globally reachable on every Python version
    "2620:4f:8000::1",  # AS112 (IPv6)
]

LOOPBACK = ["127.0.0.1", "127.255.255.254", "::1", "::ffff:127.0.0.1", "::ffff:7f00:2"]

FORBIDDEN = [
    # private, CGNAT, this-network
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "100.64.0.1",
    "0.0.0.0",
    "0.1.2.3",
    # link-local and the cloud metadata address
    "169.254.169.254",
    "fe80::1",
    "fe80::1%1",
    # multicast / broadcast / reserved / documentation / benchmarking
    "224.0.0.1",
    "239.255.255.250",
    "255.255.255.255",
    "240.0.0.1",
    "192.0.2.1",
    "198.51.100.7",
    "203.0.113.9",
    "198.18.0.1",
    "192.0.0.9",
    "192.88.99.1",
    "ff02::1",
    "ff0e::1",
    "2001:db8::1",
    "3fff::1",
    "100::1",
    "2001:2::1",
    "fc00::1",
    "fd12:3456::1",
    "fec0::1",
    "::",
    # IPv4-mapped private / link-local / multicast
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:224.0.0.1",
    "::ffff:0.0.0.0",
    # deprecated IPv4-compatible
    "::127.0.0.1",
    "::8.8.8.8",
    # NAT64 / local-use NAT64 / 6to4 / Teredo wrapping non-global IPv4: never loopback
    "64:ff9b::7f00:1",
    "64:ff9b::a00:1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b:1::808:808",
    "2002:7f00:1::",
    "2002:a9fe:a9fe::1",
    "2002:c0a8:101::1",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "2001::1",
    # IETF protocol assignments (2001::/23) that CPython 3.13's ipaddress calls global
    # and 3.11's does not: the verdict must not depend on the Python version.
    "2001:1::1",
    "2001:1::2",
    "2001:3::1",
    "2001:4:112::1",
    "2001:20::1",
    "2001:30::1",
    "2001:1ff:ffff::1",
    "192.0.0.8",
    "192.0.0.10",
]


@pytest.mark.parametrize("addr", GLOBAL)
def test_global(addr: str) -> None:
    assert classify_address(addr).kind is AddressClass.GLOBAL


@pytest.mark.parametrize("addr", LOOPBACK)
def test_loopback(addr: str) -> None:
    assert classify_address(addr).kind is AddressClass.LOOPBACK


@pytest.mark.parametrize("addr", FORBIDDEN)
def test_forbidden(addr: str) -> None:
    verdict = classify_address(addr)
    assert verdict.kind is AddressClass.FORBIDDEN, verdict
    assert verdict.reason


def test_is_global_alone_would_miss_these() -> None:
    # The reason the classifier exists: Python calls these global.
    for addr in ("224.0.0.1", "64:ff9b::7f00:1"):
        assert ipaddress.ip_address(addr).is_global
    # 6to4 (2002::/16) was global too until CPython's ipaddress followed the IANA
    # special-purpose registry more closely (3.13 calls it not global): the classifier
    # must refuse all three whatever the Python version says.
    for addr in ("224.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::"):
        assert classify_address(addr).kind is AddressClass.FORBIDDEN


def test_mapped_addresses_connect_to_the_embedded_ipv4() -> None:
    verdict = classify_address("::ffff:127.0.0.1")
    assert verdict.connect_to == ipaddress.IPv4Address("127.0.0.1")
    assert classify_address("::1").connect_to == ipaddress.IPv6Address("::1")


def test_accepts_ip_objects_and_rejects_non_literals() -> None:
    assert classify_address(ipaddress.IPv4Address("8.8.8.8")).kind is AddressClass.GLOBAL
    with pytest.raises(ValueError, match="does not appear to be"):
        classify_address("example.com")


@settings(max_examples=300)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_every_embedding_of_a_non_global_ipv4_is_refused(n: int) -> None:
    v4 = ipaddress.IPv4Address(n)
    if classify_address(v4).kind is AddressClass.GLOBAL:
        return
    for wrapped in (
        ipaddress.IPv6Address((0xFFFF << 32) | n),  # mapped
        ipaddress.IPv6Address((0x0064FF9B << 96) | n),  # NAT64
        ipaddress.IPv6Address((0x2002 << 112) | (n << 80)),  # 6to4
    ):
        assert classify_address(wrapped).kind is not AddressClass.GLOBAL, wrapped
