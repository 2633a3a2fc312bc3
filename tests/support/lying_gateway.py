"""A tiny HTTP server posing as an IPFS trustless gateway that answers every block request
with the wrong bytes (to prove clients hash-check what gateways send)."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def lying_gateway():
    """Yields (url, hits): ``hits`` collects the paths it was asked for."""
    hits: list[str] = []

    class Liar(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            body = b"definitely not the block you asked for"
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.ipld.raw")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Liar)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", hits
    finally:
        httpd.shutdown()
        httpd.server_close()
