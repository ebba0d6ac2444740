"""A real local HTTP server that records every request and answers from a script (no HTTP mocks in the client).

``Recorder.answers`` is a list of ``(status, headers, body)`` popped in order (``body``: bytes, a JSON-able value, or
None); when it is empty, ``default`` answers.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson


@dataclass
class Recorded:
    method: str
    path: str
    params: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes

    @property
    def query(self) -> dict[str, str]:
        return dict(self.params)

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None


Answer = tuple[int, dict[str, str], Any]


@dataclass
class Recorder:
    answers: list[Answer] = field(default_factory=list)
    default: Answer = (200, {}, {"status": "ok", "results": []})
    requests: list[Recorded] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Recorder:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                recorder.requests.append(Recorded(
                    method=self.command, path=split.path,
                    params=parse_qsl(split.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()}, body=body))
                status, headers, payload = recorder.answers.pop(0) if recorder.answers else recorder.default
                raw = payload if isinstance(payload, bytes) else (b"" if payload is None else orjson.dumps(payload))
                self.send_response(status)
                if not isinstance(payload, bytes) and payload is not None:
                    self.send_header("Content-Type", "application/json")
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
