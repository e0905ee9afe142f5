"""A loopback HTTP server standing in for a Slack-compatible webhook: records every POST (path and
JSON body) and can answer the next N posts with an error to exercise retries.

    with WebhookReceiver() as hook:
        hook.fail_next(2)                 # the next two posts get HTTP 500
        ... hook.url_for("/hooks/T0/B0/SECRET") ... hook.posts ... hook.wait_for(1)
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Post:
    path: str
    body: dict
    status: int  # what the receiver answered


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # the receiver keeps its own log
        pass

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status = self.server.receiver.record(self.path, raw)
        body = b"ok" if status == 200 else b"error"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class WebhookReceiver:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._posts: list[Post] = []
        self._failures: list[int] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> WebhookReceiver:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.receiver = self
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name="webhook",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def url_for(self, path: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def fail_next(self, count: int, status: int = 500) -> None:
        with self._lock:
            self._failures.extend([status] * count)

    def record(self, path: str, raw: bytes) -> int:
        with self._lock:
            status = self._failures.pop(0) if self._failures else 200
            try:
                body = json.loads(raw or b"null")
            except json.JSONDecodeError:
                body = {"unparseable": raw.decode(errors="replace")}
            self._posts.append(Post(path, body, status))
            return status

    @property
    def posts(self) -> list[Post]:
        with self._lock:
            return list(self._posts)

    @property
    def delivered(self) -> list[dict]:
        """Bodies of the posts answered with 200."""
        return [post.body for post in self.posts if post.status == 200]

    def wait_for(self, delivered: int, timeout: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.delivered) < delivered and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.delivered
