"""Finding a deployment from another machine: `zoo network add NAME --rpc URL --nft ADDRESS`
in a fresh home, `init --network NAME` that never deploys a second suite, `deploy --new`.

Two homes on one real anvil stand for two machines: they share only the node's URL and
the NFT address.
"""

from __future__ import annotations

import json

import pytest

from e2e.zoocli import Zoo

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
    cfg = (buyer.home / "config.toml").read_text()
    assert "[networks.\"shop\"]" in cfg and anvil_node.url in cfg
    rec = json.loads((buyer.home / "deployments" / "shop-31337.json").read_text())
    assert rec["imported"] is True and rec["contracts"] == theirs
    assert not (buyer.home / "keystore").exists()  # nothing copied, no keys needed
    # the name works with --network (and as the fresh home's default)
    assert buyer("--network", "shop", "network", "show").data["contracts"] == theirs
    assert buyer("network", "show").data["name"] == "shop"
    # init on a network with a deployment: verifies, never deploys a second suite
    init = buyer("--network", "shop", "--ipfs", "http://127.0.0.1:9", "--gateway", "http://127.0.0.1:8",
                 "init", "--dev").data
    assert init["deployed"] == [] and init["contracts"] == theirs
    assert _block(anvil_node.url) == before  # nothing sent
    cfg = (buyer.home / "config.toml").read_text()
    assert 'ipfs = "http://127.0.0.1:9"' in cfg and 'gateways = ["http://127.0.0.1:8"]' in cfg
    # plain deploy stays idempotent on the recorded suite
    again = buyer("--network", "shop", "deploy").data
    assert again["status"] == "verified" and again["contracts"] == theirs
    assert _block(anvil_node.url) == before
    # --new deploys a second suite on purpose; the old record is kept aside
    fresh = buyer("--network", "shop", "deploy", "--new").data
    assert fresh["status"] == "deployed" and fresh["contracts"]["ZooModelNFT"] != theirs["ZooModelNFT"]
    assert json.loads(open(fresh["replaced"]).read())["contracts"] == theirs
    assert buyer("--network", "shop", "deploy").data["status"] == "verified"


def test_network_add_refusals(owner, anvil_node, tmp_path):
    from support.anvil import free_port

    theirs = owner("network", "show").data["contracts"]
    zoo = Zoo(tmp_path / "home")
    url = anvil_node.url
    # an account (no code) is not a deployment: not found
    r = zoo("network", "add", "x", "--rpc", url, "--nft", "0x" + "11" * 20, expect=3)
    assert "no contract" in r.data["error"]["message"]
    # another zoo contract is not the NFT
    r = zoo("network", "add", "x", "--rpc", url, "--nft", theirs["Marketplace"], expect=1)
    assert "not a ZooModelNFT" in r.data["error"]["message"]
    zoo("network", "add", "x", "--rpc", url, "--nft", "0x1234", expect=2)
    zoo("network", "add", "local", "--rpc", url, "--nft", theirs["ZooModelNFT"], expect=2)
    zoo("network", "add", "../x", "--rpc", url, "--nft", theirs["ZooModelNFT"], expect=2)
    # a preset name with another chain id
    r = zoo("network", "add", "zoo-mainnet", "--rpc", url, "--nft", theirs["ZooModelNFT"], expect=5)
    assert "chain id mismatch" in r.data["error"]["message"]
    zoo("network", "add", "x", "--rpc", f"http://127.0.0.1:{free_port()}", "--nft", theirs["ZooModelNFT"], expect=5)
    assert not (tmp_path / "home" / "config.toml").exists()  # nothing written by a refusal
