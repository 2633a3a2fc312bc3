"""Fixtures for the storage tests: the CID oracle (npm ipfs-unixfs-importer) and a real js-ipfs
node with the Kubo RPC API, installed once into .tools/jsipfs (pinned by tools/jsipfs/)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from zoo_cli.storage.embedded import EmbeddedStore

REPO = Path(__file__).resolve().parents[2]
JSIPFS_DIR = REPO / ".tools" / "jsipfs"
JSIPFS_BIN = JSIPFS_DIR / "node_modules" / ".bin" / "jsipfs"
POLYFILL = REPO / "tools" / "jsipfs" / "polyfill.cjs"


def run_oracle(*args: str) -> object:
    """Run tools/cid_oracle.mjs (the independent JS UnixFS importer) and parse its JSON."""
    if shutil.which("node") is None:
        pytest.fail("node is required for the CID oracle tests (npm ci installs its packages)")
    out = subprocess.run(
        ["node", str(REPO / "tools" / "cid_oracle.mjs"), *args],
        capture_output=True, text=True, timeout=300, cwd=REPO, check=False,
    )
    if out.returncode != 0:
        pytest.fail(f"cid_oracle.mjs failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout)


@pytest.fixture
def store(tmp_path) -> EmbeddedStore:
    s = EmbeddedStore(tmp_path / "ipfs")
    yield s
    s.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _install_jsipfs() -> None:
    """Install js-ipfs once (≈3.5 min on a fresh clone), under a lock for parallel workers."""
    from filelock import FileLock

    JSIPFS_DIR.parent.mkdir(exist_ok=True)
    with FileLock(str(JSIPFS_DIR.parent / "jsipfs.install.lock"), timeout=900):
        proc = subprocess.run(
            ["bash", str(REPO / "tools" / "jsipfs" / "setup.sh")],
            capture_output=True, text=True, timeout=900, check=False,
        )
        if proc.returncode != 0 or not JSIPFS_BIN.exists():
            pytest.fail(
                "installing js-ipfs (npm, pinned in tools/jsipfs/) failed; "
                f"run `bash tools/jsipfs/setup.sh` to see why:\n{proc.stdout[-1500:]}{proc.stderr[-1500:]}"
            )


@pytest.fixture(scope="session")
def jsipfs_api(tmp_path_factory) -> str:
    """Start a real, offline js-ipfs daemon on free ports; yields its API multiaddr."""
    _install_jsipfs()
    repo = tmp_path_factory.mktemp("jsipfs-repo")
    env = {**os.environ, "IPFS_PATH": str(repo), "NODE_OPTIONS": f"--require {POLYFILL}"}
    api, gw, rpc = _free_port(), _free_port(), _free_port()

    def jsipfs(*args: str) -> None:
        subprocess.run(["node", str(JSIPFS_BIN), *args], env=env, check=True,
                       capture_output=True, timeout=120)

    jsipfs("init")
    # Mixed swarm multiaddrs break its listeners offline; no swarm at all is what tests need.
    jsipfs("config", "--json", "Addresses.Swarm", "[]")
    jsipfs("config", "Addresses.API", f"/ip4/127.0.0.1/tcp/{api}")
    jsipfs("config", "Addresses.Gateway", f"/ip4/127.0.0.1/tcp/{gw}")
    jsipfs("config", "--json", "Addresses.RPC", json.dumps(f"/ip4/127.0.0.1/tcp/{rpc}"))
    log = open(repo / "daemon.log", "wb")  # noqa: SIM115 (outlives this block)
    proc = subprocess.Popen(
        ["node", str(JSIPFS_BIN), "daemon", "--offline"], env=env, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(
                    urllib.request.Request(f"http://127.0.0.1:{api}/api/v0/id", method="POST"), timeout=2
                ).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"js-ipfs did not start: {(repo / 'daemon.log').read_text()[-2000:]}")
                time.sleep(0.3)
        yield f"/ip4/127.0.0.1/tcp/{api}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


@pytest.fixture(params=["embedded", pytest.param("kubo", marks=pytest.mark.kubo)])
def backend(request, tmp_path):
    """The same tests run against the embedded blockstore and a real js-ipfs node."""
    if request.param == "embedded":
        b = EmbeddedStore(tmp_path / "ipfs")
    else:
        from zoo_cli.storage.kubo import KuboStore

        b = KuboStore(request.getfixturevalue("jsipfs_api"), timeout=20)
    yield b
    b.close()
