"""The embedded devnet's log index: eth_getLogs from it returns exactly what eth-tester's
scan of every receipt returns; homes from before the index are indexed on first open, and a
kill in the middle of that resumes."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from e2e.zoocli import Zoo


def _topic(n: int) -> str:
    return "0x" + n.to_bytes(32, "big").hex()


def _addr_topic(a: str) -> str:
    return "0x" + "00" * 12 + a[2:].lower()


@pytest.fixture(scope="module")
def zoo_home(tmp_path_factory) -> Zoo:
    """A home with real zoo transactions: deploy, mints, a fork, a transfer, a domain change."""
    zoo = Zoo(tmp_path_factory.mktemp("logidx") / "home")
    zoo("init", "--dev")
    for name in ("a", "b", "c"):
        zoo("mint", "--name", name)
    from zoo_cli.config import load_settings
    from zoo_cli.workflows.session import Session

    with Session(load_settings(home=zoo.home, account="dev0")) as s:
        dev0 = s.address
        s.transact(s.nft.functions.forkModel(1))
        s.transact(s.nft.functions.setDomain(2, 3))
        s.transact(s.nft.functions.transferFrom(dev0, "0x" + "11" * 20, 3))
    return zoo


def _provider(home: Path, progress=None):
    from zoo_cli.chain.devnet import open_devnet

    return open_devnet(home / "devnet", progress=progress)


def _both(provider, flt: dict):
    provider.use_log_index = True
    indexed = provider.make_request("eth_getLogs", [flt])
    provider.use_log_index = False
    scanned = provider.make_request("eth_getLogs", [flt])
    provider.use_log_index = True
    assert "result" in scanned, (flt, scanned)
    return indexed.get("result", indexed), scanned["result"]


def _filters(devnet, provider) -> list[dict]:
    from eth_utils import keccak

    head = devnet.chain.get_canonical_head().block_number
    nft = provider.make_request("eth_getLogs", [{"from_block": 0}])["result"][0]["address"]
    market = load_deployment_address(devnet, "Marketplace")
    transfer = "0x" + keccak(text="Transfer(address,address,uint256)").hex()
    minted = "0x" + keccak(text="ModelMinted(uint256,address,bytes32,bytes32)").hex()
    dev0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    return [
        {"from_block": 0},
        {"from_block": 0, "to_block": "latest"},
        {"from_block": 0, "to_block": head},
        {"from_block": 5, "to_block": head - 2},
        {"from_block": head, "to_block": head},
        {"from_block": head - 1, "to_block": 3},  # empty range
        {},  # latest block only
        {"from_block": 0, "address": nft},
        {"from_block": 0, "address": nft.lower()},
        {"from_block": 0, "address": [nft, market]},
        {"from_block": 0, "address": "0x" + "22" * 20},
        {"from_block": 0, "topics": [transfer]},
        {"from_block": 0, "address": nft, "topics": [transfer, None, None, _topic(3)]},
        {"from_block": 0, "topics": [None, _topic(1)]},  # any event of token 1 (1st indexed arg)
        {"from_block": 0, "topics": [[transfer, minted]]},  # OR
        {"from_block": 0, "topics": [[transfer, minted], None, [_addr_topic(dev0)]]},
        {"from_block": 0, "topics": [None, None, None, None]},  # only logs with 4 topics
        {"from_block": 0, "topics": [[None], _topic(2)]},  # a null inside an OR list
        {"from_block": 0, "topics": [minted, [_topic(1), _topic(2), _topic(99)]]},
        {"from_block": 0, "topics": ["0x" + "00" * 32]},
    ]


def load_deployment_address(devnet, name: str) -> str:
    import json

    home = devnet.dir.parent
    doc = json.loads(next((home / "deployments").glob("*.json")).read_text())
    return doc["contracts"][name]


def test_indexed_get_logs_equals_the_receipt_scan(zoo_home: Zoo):
    devnet, provider = _provider(zoo_home.home)
    try:
        assert devnet._logs_height() == devnet.chain.get_canonical_head().block_number
        filters = _filters(devnet, provider)
        nonempty = 0
        for flt in filters:
            indexed, scanned = _both(provider, flt)
            assert indexed == scanned, flt
            nonempty += bool(indexed)
        assert nonempty >= 12  # the filters really select logs
        # through web3 (its request/result formatters): the same logs
        from web3 import Web3

        w3 = Web3(provider)
        flt = {"fromBlock": 0, "topics": [None, _topic(1)]}
        indexed = w3.eth.get_logs(flt)
        provider.use_log_index = False
        assert indexed == w3.eth.get_logs(flt) and len(indexed) >= 3
        provider.use_log_index = True
    finally:
        devnet.close()


def _drop_index(home: Path) -> None:
    """Make the home look like one from before the log index."""
    conn = sqlite3.connect(str(home / "devnet" / "chain.sqlite"))
    conn.execute("DROP TABLE logs")
    conn.execute("DELETE FROM meta WHERE k = 'logs_height'")
    conn.commit()
    conn.close()


KILL_MID_INDEXING = """
import os, sys
from zoo_cli.chain import devnet as d
d.INDEX_BATCH = 3
batches = []
def progress(done, total, info):
    batches.append(done)
    if len(batches) == 2:
        os._exit(9)  # killed mid-indexing, after two committed batches
d.open_devnet(sys.argv[1], progress=progress)
"""


def test_old_home_indexed_on_open_and_kill_resumes(zoo_home: Zoo, tmp_path):
    home = tmp_path / "copy"
    shutil.copytree(zoo_home.home, home)
    _drop_index(home)
    proc = subprocess.run([sys.executable, "-c", KILL_MID_INDEXING, str(home / "devnet")], check=False, capture_output=True,
                          text=True, env=zoo_home.base_env(), timeout=300)
    assert proc.returncode == 9, proc.stderr
    conn = sqlite3.connect(str(home / "devnet" / "chain.sqlite"))
    height = int(conn.execute("SELECT v FROM meta WHERE k = 'logs_height'").fetchone()[0])
    conn.close()
    assert height == 5  # blocks 0..2 and 3..5 committed, the rest not

    seen = []
    devnet, provider = _provider(home, progress=lambda done, total, info: seen.append((done, total)))
    try:
        head = devnet.chain.get_canonical_head().block_number
        assert devnet._logs_height() == head
        assert seen and seen[-1] == (head - 5, head - 5)  # resumed after block 5
        for flt in _filters(devnet, provider):
            indexed, scanned = _both(provider, flt)
            assert indexed == scanned, flt
    finally:
        devnet.close()
    # and the resumed index equals one built in one go
    a = sqlite3.connect(str(home / "devnet" / "chain.sqlite"))
    b = sqlite3.connect(str(zoo_home.home / "devnet" / "chain.sqlite"))
    try:
        q = "SELECT * FROM logs ORDER BY block, tx_index, log_index"
        assert a.execute(q).fetchall() == b.execute(q).fetchall()
    finally:
        a.close()
        b.close()
