"""A tiny authoritative DNS server on 127.0.0.1 for handle-resolution tests.

It answers TXT queries from a table, so the real dnspython resolver path (UDP, message
parsing, multi-string TXT records, NXDOMAIN, SERVFAIL, timeouts) is what gets tested.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

__all__ = ["NXDOMAIN", "SERVFAIL", "TIMEOUT", "DnsStubThread", "Records", "dns_stub"]

NXDOMAIN = "NXDOMAIN"
SERVFAIL = "SERVFAIL"
TIMEOUT = "TIMEOUT"

#: name -> list of TXT records (each a list of character-strings), or a failure mode.
Records = dict[str, list[list[bytes]] | str]


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, records: Records) -> None:
        self.records = records
        self.transport: asyncio.DatagramTransport | None = None
        self.queries: list[str] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        query = dns.message.from_wire(data)
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        self.queries.append(name)
        entry = self.records.get(name, NXDOMAIN)
        if entry == TIMEOUT:
            return
        response = dns.message.make_response(query)
        if entry == NXDOMAIN:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif entry == SERVFAIL:
            response.set_rcode(dns.rcode.SERVFAIL)
        elif question.rdtype == dns.rdatatype.TXT and isinstance(entry, list) and entry:
            texts = [" ".join(_quote(chunk) for chunk in record) for record in entry]
            response.answer.append(
                dns.rrset.from_text_list(question.name, 60, dns.rdataclass.IN, "TXT", texts)
            )
        assert self.transport is not None
        self.transport.sendto(response.to_wire(), addr)


def _quote(chunk: bytes) -> str:
    out = []
    for byte in chunk:
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


@asynccontextmanager
async def dns_stub(records: Records) -> AsyncIterator[tuple[int, _Protocol]]:
    """Serve ``records`` on 127.0.0.1 (random port) in the running loop."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: _Protocol(records), local_addr=("127.0.0.1", 0)
    )
    try:
        port = transport.get_extra_info("sockname")[1]
        yield port, protocol
    finally:
        transport.close()


class DnsStubThread:
    """The same stub served from a background thread (for code that runs its own loop,
    such as a CLI command)."""

    def __init__(self, records: Records) -> None:
        self.records = records
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def serve() -> None:
            self._stop = asyncio.Event()
            async with dns_stub(self.records) as (port, _):
                self.port = port
                self._ready.set()
                await self._stop.wait()

        self._loop.run_until_complete(serve())
        self._loop.close()

    def __enter__(self) -> DnsStubThread:
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("DNS stub did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(5)
