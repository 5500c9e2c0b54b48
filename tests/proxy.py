"""A reverse proxy in front of the test Chroma server: what a deployment puts there to
check a token and terminate HTTPS. The Chroma server behind it is the real one."""

from __future__ import annotations

import http.client
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HOP_BY_HOP = {"connection", "content-length", "host", "keep-alive", "transfer-encoding"}


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made with the openssl command."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@contextmanager
def proxy(
    upstream: tuple[str, int], *, token: str | None = None, tls: tuple[Path, Path] | None = None
) -> Iterator[int]:
    """Serve on a free loopback port (yielded) and forward every request to ``upstream``;
    with ``token``, a request without ``Authorization: Bearer <token>`` gets 401."""

    class Forward(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def handle_one(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if token is not None and self.headers.get("Authorization") != f"Bearer {token}":
                self.reply(401, [("Content-Type", "application/json")], b'{"error":"Unauthorized"}')
                return
            upstream_conn = http.client.HTTPConnection(*upstream, timeout=120)
            headers = {
                k: v
                for k, v in self.headers.items()
                if k.lower() not in HOP_BY_HOP | {"authorization"}
            }
            upstream_conn.request(self.command, self.path, body=body or None, headers=headers)
            response = upstream_conn.getresponse()
            self.reply(response.status, response.getheaders(), response.read())
            upstream_conn.close()

        def reply(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_one

        def log_message(self, format: str, *args: object) -> None:  # quiet test output
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
