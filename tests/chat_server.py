"""A chat-completions server on loopback, for testing the OpenAI-compatible backend.

It speaks the protocol the ``openai`` client uses (POST /v1/chat/completions,
GET /v1/models), records every request with its headers, and can be told to
refuse structured output (with a 400, or a 500 as llama-cpp-python's server
does), fail with a status code, cut replies off at ``max_tokens``, or answer
slowly. :class:`SilentServer` accepts connections and never answers, like a
plain-HTTP server sent a TLS handshake.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable
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

    reply: str | Callable[[dict[str, Any]], str] = "hello from the test server"
    finish_reason: str = "stop"
    replies: list[tuple[str, str]] = field(default_factory=list)  # (content, finish_reason), served first
    refuse: set[str] = field(default_factory=set)  # response_format types refused with refuse_status
    refuse_status: int = 400
    models: list[str] | None = None  # what GET /v1/models lists; None answers 404
    answered_by: str | None = None  # the model name replies report (default: the one asked for)
    usage: tuple[int, int] = (1, 1)  # prompt and completion tokens the server reports
    status: int = 200
    fail_first: int = 0  # answer `status` to only this many requests, then 200 (0: always)
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

            def do_GET(self) -> None:
                owner.requests.append(Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, {}))
                if self.path.endswith("/models") and owner.models is not None:
                    data = [{"id": name, "object": "model", "created": 0, "owned_by": "me"} for name in owner.models]
                    self._send(200, {"object": "list", "data": data})
                    return
                self._send(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

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
                        owner.refuse_status,
                        {
                            "error": {
                                "message": f"response_format {kind} is not supported",
                                "type": "invalid_request_error",
                            }
                        },
                    )
                    return
                failing = owner.fail_first == 0 or len(owner.requests) <= owner.fail_first
                if owner.status != 200 and failing:
                    message = "server says no"
                    if owner.echo_auth:
                        message += f" to {self.headers.get('Authorization')}"
                    self._send(owner.status, {"error": {"message": message, "type": "server_error"}})
                    return
                if owner.replies:
                    content, finish = owner.replies.pop(0)
                else:
                    content = owner.reply(body) if callable(owner.reply) else owner.reply
                    finish = owner.finish_reason
                prompt_tokens, completion_tokens = owner.usage
                self._send(
                    200,
                    {
                        "id": "chatcmpl-test",
                        "object": "chat.completion",
                        "created": 0,
                        "model": owner.answered_by or body.get("model"),
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": finish,
                                "message": {"role": "assistant", "content": content},
                            }
                        ],
                        "usage": {
                            "prompt_tokens": prompt_tokens,
                            "completion_tokens": completion_tokens,
                            "total_tokens": prompt_tokens + completion_tokens,
                        },
                    },
                )

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class SilentServer:
    """Accepts TCP connections on loopback, reads what is sent, and never answers."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen()
        self._socket.settimeout(0.2)
        self._stop = threading.Event()
        self._connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def port(self) -> int:
        return int(self._socket.getsockname()[1])

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except OSError:
                continue
            self._connections.append(connection)

    def stop(self) -> None:
        self._stop.set()
        for connection in self._connections:
            connection.close()
        self._socket.close()


_SCENE = re.compile(r'<scene name="([^"]+)">')


def stub_model(body: dict[str, Any]) -> str:
    """A stand-in model that answers every memkit task in the shape asked for.

    Extraction gets one cell holding the conversation's last line,
    consolidation a summary for each scene of the prompt, an answer a sentence.
    """
    schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("name")
    prompt = body["messages"][-1]["content"]
    if schema == "memory_cells" or "<conversation>" in prompt:
        said = prompt.rsplit("<conversation>", 1)[-1].split("</conversation>")[0].strip().splitlines()[-1]
        content = said.split(": ", 1)[-1][:200]
        return json.dumps({"cells": [{"scene": "notes", "cell_type": "fact", "salience": 0.5, "content": content}]})
    if schema == "scene_summaries" or "<new_cells>" in prompt:
        return json.dumps({"summaries": [{"scene": s, "summary": f"Notes on {s}."} for s in _SCENE.findall(prompt)]})
    return "A stub answer."
