"""Classify IP addresses for SSRF protection.

Every URL the identity layer fetches comes from untrusted input (a DID, a handle, a DID
document), so the host it names must not reach our own network: loopback, RFC 1918 and
other private ranges, link-local (including the 169.254.169.254 cloud metadata address),
multicast, and the reserved / documentation / benchmarking blocks.

Python's ``ipaddress.is_global`` is not enough on its own: it calls ``224.0.0.1``
(multicast), ``64:ff9b::7f00:1`` (NAT64 of 127.0.0.1) and ``2002:7f00:1::`` (6to4 of
127.0.0.1) global. So addresses that *embed* an IPv4 address are unwrapped first and the
embedded address decides:

- IPv4-mapped ``::ffff:a.b.c.d``: the socket really talks to ``a.b.c.d``;
- NAT64 ``64:ff9b::/96``: a translator forwards to the embedded IPv4;
- 6to4 ``2002::/16``: bits 16-48 are the relay's IPv4;
- Teredo ``2001::/32``: server and (obfuscated) client IPv4 are embedded.

On top of ``is_global`` the verdict also consults an explicit table of special-purpose
ranges, so behaviour does not drift with Python patch releases. Loopback is its own
class: it is refused by default and allowed only when the caller switches on local
development mode.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass

__all__ = ["AddressClass", "AddressVerdict", "IPAddress", "classify_address"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressClass(enum.Enum):
    """Where an address points, as far as outbound fetches are concerned."""

    #: A public unicast address: fetching is allowed.
    GLOBAL = "global"
    #: 127.0.0.0/8, ::1 (and ::ffff:127.x): allowed only in local-development mode.
    LOOPBACK = "loopback"
    #: Anything else: private, link-local, multicast, reserved, unspecified, ...
    FORBIDDEN = "forbidden"


@dataclass(frozen=True, slots=True)
class AddressVerdict:
    """The classification of one address.

    ``connect_to`` is the address a socket should actually use: the embedded IPv4 for
    an IPv4-mapped address, the address itself otherwise.
    """

    address: IPAddress
    kind: AddressClass
    reason: str
    connect_to: IPAddress


def _nets4(*cidrs: str) -> tuple[ipaddress.IPv4Network, ...]:
    return tuple(ipaddress.IPv4Network(c) for c in cidrs)


def _nets6(*cidrs: str) -> tuple[ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.IPv6Network(c) for c in cidrs)


# IANA IPv4 special-purpose registry entries that are not globally reachable unicast,
# plus multicast and the reserved class E block.
_FORBIDDEN_V4 = _nets4(
    "0.0.0.0/8",  # "this network"; 0.0.0.0 reaches local services on Linux
    "10.0.0.0/8",
    "100.64.0.0/10",  # carrier-grade NAT
    "169.254.0.0/16",  # link-local, cloud metadata
    "172.16.0.0/12",
    "192.0.0.0/24",  # IETF protocol assignments
    "192.0.2.0/24",  # TEST-NET-1
    "192.88.99.0/24",  # deprecated 6to4 relay anycast
    "192.168.0.0/16",
    "198.18.0.0/15",  # benchmarking
    "198.51.100.0/24",  # TEST-NET-2
    "203.0.113.0/24",  # TEST-NET-3
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved, includes 255.255.255.255
)
_LOOPBACK_V4 = ipaddress.IPv4Network("127.0.0.0/8")

_FORBIDDEN_V6 = _nets6(
    "::/128",  # unspecified
    "::/96",  # deprecated IPv4-compatible (checked after ::1 and mapped forms)
    "64:ff9b:1::/48",  # local-use NAT64 (RFC 8215)
    "100::/64",  # discard-only
    # IETF protocol assignments (Teredo, benchmarking, ORCHID, AMT, AS112, PCP/TURN
    # anycast...): whether Python calls parts of it global changed in 3.13, and none of
    # it is where a DID document or handle lives.
    "2001::/23",
    "2001:2::/48",  # benchmarking
    "2001:db8::/32",  # documentation
    "2001:10::/28",  # ORCHID
    "3fff::/20",  # documentation (RFC 9637)
    "5f00::/16",  # SRv6 SIDs
    "fc00::/7",  # unique local
    "fe80::/10",  # link-local
    "fec0::/10",  # deprecated site-local
    "ff00::/8",  # multicast
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
_TEREDO = ipaddress.IPv6Network("2001::/32")


def _classify_v4(addr: ipaddress.IPv4Address) -> tuple[AddressClass, str]:
    if addr in _LOOPBACK_V4:
        return AddressClass.LOOPBACK, "loopback"
    for net in _FORBIDDEN_V4:
        if addr in net:
            return AddressClass.FORBIDDEN, f"in special-purpose range {net}"
    if addr.is_multicast or addr.is_reserved or not addr.is_global:
        return AddressClass.FORBIDDEN, "not a global unicast address"
    return AddressClass.GLOBAL, "global unicast"


def _embedded_must_be_global(
    addr: ipaddress.IPv6Address, inner: tuple[ipaddress.IPv4Address, ...], form: str
) -> AddressVerdict:
    for v4 in inner:
        kind, why = _classify_v4(v4)
        if kind is not AddressClass.GLOBAL:
            # A translated / tunnelled address is never "our own loopback": refuse.
            return AddressVerdict(
                addr, AddressClass.FORBIDDEN, f"{form} of {v4} ({why})", connect_to=addr
            )
    return AddressVerdict(addr, AddressClass.GLOBAL, f"{form} of a global address", addr)


def _classify_v6(addr: ipaddress.IPv6Address) -> AddressVerdict:
    if addr.scope_id is not None:
        return AddressVerdict(addr, AddressClass.FORBIDDEN, "scoped IPv6 address", addr)
    mapped = addr.ipv4_mapped
    if mapped is not None:
        kind, why = _classify_v4(mapped)
        return AddressVerdict(addr, kind, f"IPv4-mapped {mapped}: {why}", connect_to=mapped)
    if addr == ipaddress.IPv6Address("::1"):
        return AddressVerdict(addr, AddressClass.LOOPBACK, "loopback", addr)
    if addr in _NAT64:
        inner = ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
        return _embedded_must_be_global(addr, (inner,), "NAT64")
    if addr in _SIX_TO_FOUR:
        inner = ipaddress.IPv4Address((int(addr) >> 80) & 0xFFFFFFFF)
        return _embedded_must_be_global(addr, (inner,), "6to4")
    if addr in _TEREDO:
        # Teredo embeds the server IPv4 (bits 32-64) and the client IPv4 XOR-obfuscated
        # in the low 32 bits; refuse if either is not global. (Teredo is also outside
        # ``is_global``, so in practice this always refuses; it keeps the reason clear.)
        server = ipaddress.IPv4Address((int(addr) >> 64) & 0xFFFFFFFF)
        client = ipaddress.IPv4Address(~int(addr) & 0xFFFFFFFF)
        verdict = _embedded_must_be_global(addr, (server, client), "Teredo")
        if verdict.kind is not AddressClass.GLOBAL:
            return verdict
        return AddressVerdict(addr, AddressClass.FORBIDDEN, "Teredo tunnel address", addr)
    for net in _FORBIDDEN_V6:
        if addr in net:
            return AddressVerdict(
                addr, AddressClass.FORBIDDEN, f"in special-purpose range {net}", addr
            )
    if addr.is_multicast or addr.is_reserved or not addr.is_global:
        return AddressVerdict(addr, AddressClass.FORBIDDEN, "not a global unicast address", addr)
    return AddressVerdict(addr, AddressClass.GLOBAL, "global unicast", addr)


def classify_address(address: str | IPAddress) -> AddressVerdict:
    """Classify ``address`` (a literal such as ``"::ffff:127.0.0.1"`` or an ip object).

    Raises ``ValueError`` if ``address`` is not an IP address literal.
    """
    addr = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(addr, ipaddress.IPv4Address):
        kind, why = _classify_v4(addr)
        return AddressVerdict(addr, kind, why, addr)
    return _classify_v6(addr)
