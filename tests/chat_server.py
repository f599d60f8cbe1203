"""A chat-completions server on loopback, for testing the OpenAI-compatible backend.

It speaks the protocol the ``openai`` client uses (POST /v1/chat/completions),
records every request with its headers, and can be told to refuse structured
output, fail with a status code, or answer slowly.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class ChatServer:
    """Replies with ``reply`` unless told otherwise; ``requests`` keeps what it received."""

    reply: str = "hello from the test server"
    refuse: set[str] = field(default_factory=set)  # response_format types answered with 400
    status: int = 200
    delay: float = 0.0
    echo_auth: bool = False  # a careless server: its error messages repeat the Authorization header
    requests: list[Recorded] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> ChatServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                owner.requests.append(Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                if owner.delay:
                    time.sleep(owner.delay)
                if not self.path.endswith("/chat/completions"):
                    self._send(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
                    return
                kind = (body.get("response_format") or {}).get("type")
                if kind in owner.refuse:
                    self._send(
                        400,
                        {
                            "error": {
                                "message": f"response_format {kind} is not supported",
                                "type": "invalid_request_error",
                            }
                        },
                    )
                    return
                if owner.status != 200:
                    message = "server says no"
                    if owner.echo_auth:
                        message += f" to {self.headers.get('Authorization')}"
                    self._send(owner.status, {"error": {"message": message, "type": "server_error"}})
                    return
                self._send(
                    200,
                    {
                        "id": "chatcmpl-test",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body.get("model"),
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": owner.reply},
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    },
                )

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
