"""A tiny HTTP proxy on 127.0.0.1 for tests: forwards plain-HTTP requests, refuses every CONNECT.

urllib3's ProxyManager sends a request for an http:// URL to the proxy with the absolute URL in its
request line, and opens a CONNECT tunnel for an https:// one. This proxy forwards the first kind (only to
127.0.0.1: the mock LINE) and answers 403 to CONNECT without dialling out, so a test can see that a call
to LINE's real host would have gone through the proxy while nothing leaves the machine.
"""

from __future__ import annotations

import http.client
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Seen:
    """One request the proxy received: its request line and the Proxy-Authorization it carried."""

    method: str
    target: str
    proxy_authorization: str | None


@dataclass
class Proxy:
    """Start with .start(), read .url and .seen, stop with .stop()."""

    seen: list[Seen] = field(default_factory=list)

    def start(self) -> Proxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                proxy.seen.append(Seen(self.command, self.path, self.headers.get("Proxy-Authorization")))
                target = urlsplit(self.path)
                if target.hostname != "127.0.0.1":
                    self.send_error(403, "this test proxy forwards to 127.0.0.1 only")
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("proxy-authorization", "host")
                }
                upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
                try:
                    path = target.path + (f"?{target.query}" if target.query else "")
                    upstream.request(self.command, path, body=body or None, headers=headers)
                    answer = upstream.getresponse()
                    data = answer.read()
                finally:
                    upstream.close()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _forward

            def do_CONNECT(self) -> None:  # noqa: N802 (http.server's naming)
                proxy.seen.append(Seen("CONNECT", self.path, self.headers.get("Proxy-Authorization")))
                self.send_error(403, "this test proxy opens no tunnels")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
