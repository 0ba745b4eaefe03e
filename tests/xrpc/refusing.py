"""A WebSocket server on loopback that refuses handshakes as scripted, then serves.

For the client side of handshake refusals: each connection to ``/xrpc/<nsid>`` takes
the next :class:`Refusal` of the script and answers the handshake with it (an HTTP
status, headers and body instead of the upgrade); once the script is used up,
connections are accepted, sent ``frames`` and kept open until the client leaves.
``attempts`` records the monotonic time of every handshake.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from tests.xrpc.live import serve

__all__ = ["Refusal", "RefusingServer", "refusing_server", "xrpc_body"]


def xrpc_body(error: str, message: str | None = None) -> bytes:
    payload = {"error": error} if message is None else {"error": error, "message": message}
    return json.dumps(payload).encode()


@dataclass(frozen=True)
class Refusal:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


class RefusingServer:
    def __init__(self, script: list[Refusal], frames: list[bytes] | None = None) -> None:
        self.base_url = ""
        self.reset(script, frames)

    def reset(self, script: list[Refusal], frames: list[bytes] | None = None) -> None:
        """A new script (one server can serve a whole test module)."""
        self.script = list(script)
        self.frames = frames or []
        self.attempts: list[float] = []

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://")

    async def endpoint(self, websocket: WebSocket) -> None:
        self.attempts.append(time.monotonic())
        if self.script:
            refusal = self.script.pop(0)
            response = Response(
                refusal.body,
                status_code=refusal.status,
                headers=refusal.headers,
                media_type=refusal.content_type,
            )
            await websocket.send_denial_response(response)
            return
        await websocket.accept()
        try:
            for frame in self.frames:
                await websocket.send_bytes(frame)
            while (await websocket.receive())["type"] != "websocket.disconnect":
                pass
        except WebSocketDisconnect:
            pass

    def gaps(self) -> list[float]:
        """Seconds between one handshake and the next."""
        return [b - a for a, b in zip(self.attempts, self.attempts[1:], strict=False)]


@contextmanager
def refusing_server(
    script: list[Refusal] | None = None, frames: list[bytes] | None = None
) -> Iterator[RefusingServer]:
    server = RefusingServer(script or [], frames)
    app = Starlette(routes=[WebSocketRoute("/xrpc/{nsid}", server.endpoint)])
    with serve(app) as url:
        server.base_url = url
        yield server
