"""A node that dies mid-transaction: anvil runs with a state file (`--state FILE
--state-interval 1`), `zoo mint` is killed right after its transaction was sent and anvil
is SIGKILLed with it, then anvil restarts from the state file on the SAME port and the same
`zoo mint` is rerun. Whether the node's last dump held the transaction or not, the rerun
must end with exactly one new token and an empty journal (the journal re-checks the
receipt and re-broadcasts the signed transaction the node dropped)."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from support.anvil import ANVIL_BIN, available, free_port, rpc

from hardening.harness import Zoo

pytestmark = pytest.mark.skipif(not available(), reason="anvil not installed (npm ci)")


class StatefulAnvil:
    """anvil on a fixed port whose chain lives in ``state`` (dumped every second)."""

    def __init__(self, state, port: int, chain_id: int = 31337):
        self.state, self.port, self.chain_id = state, port, chain_id
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        for _attempt in range(50):  # the port may linger for a moment after a kill
            self.proc = subprocess.Popen(
                [str(ANVIL_BIN), "--port", str(self.port), "--chain-id", str(self.chain_id), "--quiet",
                 "--state", str(self.state), "--state-interval", "1"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    if int(rpc(self.url, "eth_chainId", timeout=0.5), 16) == self.chain_id:
                        return
                except (OSError, ValueError, RuntimeError):
                    time.sleep(0.05)
            err = self.proc.stderr.read() if self.proc.poll() is not None else b""
            self.kill()
            if b"in use" not in err:
                raise RuntimeError(f"anvil did not start: {err.decode(errors='replace')[-500:]}")
            time.sleep(0.2)
        raise RuntimeError(f"port {self.port} stayed busy")

    def kill(self) -> None:
        """SIGKILL exactly this anvil (no exit dump: only the periodic dumps survive)."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def block_number(self) -> int:
        return int(rpc(self.url, "eth_blockNumber"), 16)


def _journals(zoo: Zoo) -> list:
    d = zoo.home / "journal"
    return sorted(d.glob("*.json")) if d.exists() else []


def _wait_dumped(node: StatefulAnvil, seconds: float = 2.5) -> None:
    """Let at least two periodic state dumps happen (--state-interval 1)."""
    time.sleep(seconds)


@pytest.fixture
def node(tmp_path):
    n = StatefulAnvil(tmp_path / "anvil-state.json", free_port())
    n.start()
    yield n
    n.kill()


def test_anvil_killed_mid_mint(tmp_path, node):
    """Round 1: anvil dies before dumping the tx (the restarted node never saw it: the rerun
    re-broadcasts the journaled raw tx). Round 2, same home: anvil dumps it first (the rerun
    finds the receipt). Round 2 also proves the nonce stayed in step after round 1."""
    zoo = Zoo(tmp_path / "home", rpc=node.url, network="anvil")
    zoo("init", "--dev")
    for dumped in (False, True):
        name = f"crash-{'kept' if dumped else 'dropped'}"
        _wait_dumped(node)
        before = len(zoo("list").data)
        head = node.block_number()
        killed = zoo("mint", "--name", name, env={"ZOO_KILL_AT": "mint:sent"}, expect=None, timeout=300)
        assert killed.code == -9, killed
        assert _journals(zoo), "the killed mint left no journal"
        assert node.block_number() == head + 1  # anvil automines: the tx is in a block
        if dumped:
            _wait_dumped(node)
        node.kill()
        node.start()  # same port, same state file
        assert node.block_number() == (head + 1 if dumped else head), f"{name}: unexpected restart state"

        res = zoo("mint", "--name", name, timeout=300)
        rows = zoo("list").data
        assert len(rows) == before + 1, (name, rows)
        assert [r["name"] for r in rows].count(name) == 1
        assert res.data["token_id"] == rows[-1]["token_id"]
        assert not _journals(zoo), [p.read_text()[:300] for p in _journals(zoo)]
