"""Issue 4 acceptance: `cast call` against anvil reads getModelMetadata of a model minted with zoo."""

from __future__ import annotations

import json
import subprocess

from support.anvil import CAST_BIN

from e2e.zoocli import new_zoo


def test_cast_reads_a_zoo_minted_model(tmp_path_factory, request):
    zoo = new_zoo(tmp_path_factory, "anvil", request)
    minted = zoo("mint", "--name", "cast-visible", "--specialization", "DeFi").data
    net = zoo("network", "show").data
    nft = net["contracts"]["ZooModelNFT"]
    owner = zoo("account", "show").data["address"]
    out = subprocess.run(
        [str(CAST_BIN), "call", nft,
         ("getModelMetadata(uint256)((uint256,address,bytes32,uint256,uint256,uint256,string,uint256,bytes32,"
          "uint256[],bytes32,uint256,bool,address,string,string,uint8))"),
         str(minted["token_id"]), "--rpc-url", zoo.rpc, "--json"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert out.returncode == 0, out.stderr
    text = out.stdout
    decoded = json.loads(text)[0] if text.strip().startswith("[") else text
    flat = json.dumps(decoded)
    assert str(minted["token_id"]) in flat
    assert owner.lower() in flat.lower()
    assert "DeFi" in flat and minted["token_uri"] in flat
    assert minted["base_model"][2:].lower() in flat.lower()


def test_init_with_rpc_flag_persists_the_node(tmp_path, anvil_node):
    """`zoo --rpc URL init`: the URL lands in config.toml, so later commands need no --rpc."""
    from e2e.zoocli import Zoo

    zoo = Zoo(tmp_path / "home")
    zoo("--rpc", anvil_node.url, "init", "--dev")
    assert f'rpc = "{anvil_node.url}"' in (zoo.home / "config.toml").read_text()
    assert int(zoo("account", "balance", "dev0").data["balance_wei"]) > 0  # reaches anvil, no --rpc
