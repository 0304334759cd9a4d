"""A local stand-in for LINE's Messaging API, run as its own process by the benchmarks.

It answers reply/push/multicast like LINE (200 with sentMessages; 409 for an X-Line-Retry-Key it has
accepted before), the quota endpoints (no limit), the bot info and the profile, and keeps count:
GET /_stats gives calls per path, accepted requests, 409s, and deliveries per recipient summarised
(how many recipients got 0, 1, 2+ copies of each message). HTTP/1.1 keep-alive, like api.line.me.

    python -m bench.mock_line [--port 0]     # prints "listening on http://127.0.0.1:PORT"
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.accepted_keys: set[str] = set()
        self.repeated = 0
        self.copies: Counter[tuple[str, str]] = Counter()  # (recipient, message digest) → accepted copies

    def send(self, path: str, key: str | None, body: dict) -> int:
        with self.lock:
            self.calls[path] += 1
            if key and key in self.accepted_keys:
                self.repeated += 1
                return 409
            if key:
                self.accepted_keys.add(key)
            to = body.get("to")
            if to is not None:
                digest = json.dumps(body.get("messages"), sort_keys=True, ensure_ascii=False)
                for recipient in to if isinstance(to, list) else [to]:
                    self.copies[(recipient, digest)] += 1
            return 200

    def stats(self) -> dict:
        with self.lock:
            per_copy = Counter(self.copies.values())
            return {
                "calls": dict(self.calls),
                "repeated_retry_keys": self.repeated,
                "deliveries": sum(self.copies.values()),
                "recipients_by_copies": {str(k): v for k, v in sorted(per_copy.items())},
            }

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.accepted_keys.clear()
            self.copies.clear()
            self.repeated = 0


STATE = State()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # http.server writes headers and body separately: without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every answer, which would be charged to the bot.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self):  # noqa: N802 (http.server's naming)
        if self.path == "/_stats":
            return self._json(200, STATE.stats())
        if self.path.endswith("/quota/consumption"):
            return self._json(200, {"totalUsage": 0})
        if self.path.endswith("/quota"):
            return self._json(200, {"type": "none"})
        if "/profile" in self.path:
            return self._json(200, {"userId": self.path.rsplit("/", 1)[-1], "displayName": "ベンチ"})
        return self._json(200, {"userId": "Ubench", "basicId": "@bench", "displayName": "bench"})

    def do_POST(self):  # noqa: N802
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/_reset":
            STATE.reset()
            return self._json(200, {})
        body = json.loads(raw) if raw else {}
        status = STATE.send(self.path, self.headers.get("X-Line-Retry-Key"), body)
        if status == 409:
            return self._json(409, {"message": "The retry key is already accepted"})
        count = len(body.get("messages") or [])
        self._json(200, {"sentMessages": [{"id": str(n), "quoteToken": "q"} for n in range(count)]})

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-line-request-id", "bench")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
