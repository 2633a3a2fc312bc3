"""A JSON-RPC proxy that behaves like a hosted provider (Infura/Alchemy style limits).

Forwards to an upstream node, but refuses ``eth_getLogs`` over more than ``max_range``
blocks (-32005 "query exceeds max block range") and with more than ``max_results`` logs
("query returned more than N results"), answers HTTP 429 at random (seeded), and can
delay every answer (to give a kill test time to strike mid-import).
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class HostedProviderProxy:
    def __init__(self, upstream: str, *, max_range: int = 50, max_results: int = 20, p429: float = 0.0,
                 delay: float = 0.0, seed: int = 1):
        self.upstream = upstream
        self.max_range = max_range
        self.max_results = max_results
        self.p429 = p429
        self.delay = delay
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.stats = {"requests": 0, "refused_range": 0, "refused_results": 0, "http429": 0}
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, out = proxy.handle(body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _forward(self, body: bytes) -> bytes:
        req = urllib.request.Request(self.upstream, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.read()

    def handle(self, body: bytes) -> tuple[int, bytes]:
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.stats["requests"] += 1
            if self.p429 and self.rng.random() < self.p429:
                self.stats["http429"] += 1
                return 429, b'{"error":"too many requests"}'
        msg = json.loads(body)
        if isinstance(msg, dict) and msg.get("method") == "eth_getLogs":
            f = msg["params"][0]
            a, b = int(f.get("fromBlock", "0x0"), 16), int(f.get("toBlock", "0x0"), 16)
            if b - a + 1 > self.max_range:
                with self.lock:
                    self.stats["refused_range"] += 1
                return 200, json.dumps({"jsonrpc": "2.0", "id": msg["id"], "error": {
                    "code": -32005, "message": f"query exceeds max block range {self.max_range}"}}).encode()
            out = self._forward(body)
            res = json.loads(out)
            if len(res.get("result") or ()) > self.max_results:
                with self.lock:
                    self.stats["refused_results"] += 1
                return 200, json.dumps({"jsonrpc": "2.0", "id": msg["id"], "error": {
                    "code": -32602, "message": f"query returned more than {self.max_results} results"}}).encode()
            return 200, out
        return 200, self._forward(body)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
