"""Start a real anvil (from node_modules/.bin) on a free port; stop it by its PID."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Self

REPO = Path(__file__).resolve().parents[2]
ANVIL_BIN = REPO / "node_modules" / ".bin" / "anvil"
CAST_BIN = REPO / "node_modules" / ".bin" / "cast"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rpc(url: str, method: str, params: list | None = None, timeout: float = 2.0):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []})
    req = urllib.request.Request(url, body.encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        data = json.loads(resp.read())
    if "error" in data:
        raise RuntimeError(f"{method}: {data['error']}")
    return data["result"]


@dataclass
class Anvil:
    url: str
    port: int
    pid: int
    chain_id: int
    proc: subprocess.Popen

    def stop(self) -> None:
        """Kill exactly this anvil (by PID) and reap it."""
        if self.proc.poll() is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
            except ProcessLookupError:
                pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def available() -> bool:
    return ANVIL_BIN.exists()


def start_anvil(chain_id: int = 31337, *extra: str, timeout: float = 20.0) -> Anvil:
    """Start anvil on a free port and wait until it answers ``eth_chainId``."""
    if not available():
        raise RuntimeError(f"{ANVIL_BIN} missing: run `npm ci`")
    for _attempt in range(3):
        port = free_port()
        proc = subprocess.Popen(
            [str(ANVIL_BIN), "--port", str(port), "--chain-id", str(chain_id), "--quiet", *extra],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if int(rpc(url, "eth_chainId", timeout=0.5), 16) == chain_id:
                    return Anvil(url, port, proc.pid, chain_id, proc)
            except (OSError, ValueError, RuntimeError):
                time.sleep(0.05)
        err = b""
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        elif proc.stderr is not None:
            err = proc.stderr.read()
        if b"Address already in use" not in err:
            raise RuntimeError(f"anvil did not start: {err.decode(errors='replace')[-500:]}")
    raise RuntimeError("anvil: no free port")
