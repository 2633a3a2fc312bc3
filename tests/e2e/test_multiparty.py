"""Two machines, one chain: finding a deployment with `zoo network add NAME --rpc URL --nft
ADDRESS` in a fresh home (`init --network NAME` never deploys a second suite, `deploy --new`
does on purpose), and moving a model between homes through the owner's `zoo ipfs serve`
trustless gateway (`--gateway`, every block hash-checked, a lying gateway skipped).

Homes on one real anvil stand for machines: they share only the node's URL, the NFT
address and the gateway's URL — no files, no blockstore.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.request

import pytest

from e2e.sealed import sealed_token
from e2e.zoocli import ZOO, Zoo

pytestmark = pytest.mark.anvil


@pytest.fixture(scope="module")
def owner(anvil_node, tmp_path_factory) -> Zoo:
    zoo = Zoo(tmp_path_factory.mktemp("owner") / "home", rpc=anvil_node.url, network="anvil")
    zoo("init", "--dev")
    return zoo


def _block(url: str) -> int:
    from support.anvil import rpc

    return int(rpc(url, "eth_blockNumber"), 16)


def test_network_add_in_fresh_home_finds_every_module(owner, anvil_node, tmp_path):
    from zoo_cli.chain.suite import CONTRACT_NAMES

    theirs = owner("network", "show").data["contracts"]
    assert sorted(theirs) == sorted(CONTRACT_NAMES)  # KeyRegistry included
    buyer = Zoo(tmp_path / "home")  # does not exist yet
    before = _block(anvil_node.url)
    res = buyer("network", "add", "shop", "--rpc", anvil_node.url, "--nft", theirs["ZooModelNFT"]).data
    assert res["contracts"] == theirs and res["chain_id"] == 31337 and res["default"] is True
    assert res["unwired"] == [] and 0 < res["deployment_block"] <= before
    import tomllib

    cfg = tomllib.loads((buyer.home / "config.toml").read_text())
    assert cfg["networks"]["shop"]["rpc"] == anvil_node.url and cfg["network"] == "shop"
    rec = json.loads((buyer.home / "deployments" / "shop-31337.json").read_text())
    assert rec["imported"] is True and rec["contracts"] == theirs
    assert not (buyer.home / "keystore").exists()  # nothing copied, no keys needed
    # the name works with --network, and is the fresh home's default
    shown = buyer("network", "show").data
    assert shown["name"] == "shop" and shown["contracts"] == theirs
    # init on a network with a deployment: verifies, never deploys a second suite
    init = buyer("--network", "shop", "--ipfs", "http://127.0.0.1:9", "--gateway", "http://127.0.0.1:8",
                 "init", "--dev").data
    assert init["deployed"] == [] and init["contracts"] == theirs
    cfg = tomllib.loads((buyer.home / "config.toml").read_text())
    assert cfg["ipfs"] == "http://127.0.0.1:9" and cfg["gateways"] == ["http://127.0.0.1:8"]
    # plain deploy stays idempotent on the recorded suite (`deploy --new`: tests/chain/test_discovery.py)
    again = buyer("--network", "shop", "deploy").data
    assert again["status"] == "verified" and again["contracts"] == theirs
    assert _block(anvil_node.url) == before  # nothing was sent by any of it


def test_network_add_refusals(owner, anvil_node, tmp_path):
    from support.anvil import free_port

    from zoo_cli.config import load_settings
    from zoo_cli.errors import BackendUnreachable, BadInput, NotFound, OperationFailed
    from zoo_cli.workflows.setup import add_network

    theirs = owner("network", "show").data["contracts"]
    home = tmp_path / "home"
    url = anvil_node.url
    s = load_settings(home=home)
    cases = [  # (name, rpc, nft, error, message part)
        ("x", url, "0x" + "11" * 20, NotFound, "no contract"),  # an account: no code
        ("x", url, theirs["Marketplace"], OperationFailed, "not a ZooModelNFT"),  # another zoo contract
        ("x", url, "0x1234", BadInput, "invalid contract address"),
        ("local", url, theirs["ZooModelNFT"], BadInput, "reserved"),
        ("../x", url, theirs["ZooModelNFT"], BadInput, "invalid network name"),
        ("zoo-mainnet", url, theirs["ZooModelNFT"], BackendUnreachable, "chain id mismatch"),  # preset's id
        ("x", f"http://127.0.0.1:{free_port()}", theirs["ZooModelNFT"], BackendUnreachable, "cannot reach"),
    ]
    for name, rpc, nft, error, part in cases:
        with pytest.raises(error) as exc:
            add_network(s, name, rpc, nft)
        assert part in exc.value.message and exc.value.hint, (name, nft)
    assert not home.exists()  # nothing written by a refusal
    # and through the CLI: one line, the documented exit code, one JSON document
    r = Zoo(home)("network", "add", "x", "--rpc", url, "--nft", theirs["Marketplace"], expect=1)
    assert r.data["error"]["type"] == "OperationFailed"


def _serve(zoo: Zoo, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(ZOO + ["ipfs", "serve", "--port", str(port)], env=zoo.base_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(zoo.home.parent))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/ipfs/bafkqaaa?format=raw", timeout=1).read()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(proc.stderr.read()) from None
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("zoo ipfs serve did not answer")


def test_model_moves_between_homes_through_the_owners_gateway(owner, anvil_node, tmp_path):
    """The buyer's home holds no block of the model: it buys, gets the key, and checks and
    decrypts the container fetched through the seller's `zoo ipfs serve`; a lying gateway
    listed first is caught and skipped."""
    from support.anvil import free_port
    from support.lying_gateway import lying_gateway

    from zoo_cli.config import load_settings
    from zoo_cli.workflows.models import load_adapter
    from zoo_cli.workflows.session import Session

    token, files = sealed_token(owner)
    owner("market", "sell", token, "--price", "0.01eth")
    port = free_port()
    gateway = _serve(owner, port)
    good = f"http://127.0.0.1:{port}"
    try:
        nft = owner("network", "show").data["contracts"]["ZooModelNFT"]
        buyer = Zoo(tmp_path / "buyer")
        buyer("network", "add", "shop", "--rpc", anvil_node.url, "--nft", nft)
        buyer("init", "--dev")
        oid = buyer("market", "buy", token, account="dev2").data["order_id"]
        owner("market", "fulfill")
        # without a gateway the buyer's home has none of the blocks: a clear not-found, not a bad key
        r = buyer("market", "confirm", oid, account="dev2", expect=3)
        assert "gateway" in r.data["error"]["hint"]
        with lying_gateway() as (liar, hits):
            done = buyer("--gateway", liar, "--gateway", good, "market", "confirm", oid, account="dev2").data
            assert hits  # the liar was asked first, its bytes refused, the owner's gateway used
        assert done["status"] == "completed"
        # the new owner decrypts the model from blocks fetched (and now cached) through the gateway
        settings = load_settings(home=buyer.home, account="dev2", gateways=[good])
        with Session(settings) as s:
            got, _manifest = load_adapter(s, token)
        assert got == files
    finally:
        gateway.send_signal(signal.SIGTERM)
        _out, err = gateway.communicate(timeout=30)
    assert gateway.returncode == 0, err
    assert json.loads(err.splitlines()[0])["event"] == "listening"
