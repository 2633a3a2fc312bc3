"""Never a second suite by accident: `init` on a non-dev chain deploys nothing, `deploy`
refuses a recorded suite whose code differs, `deploy --new` replaces it on purpose; the
suite is discoverable from the NFT alone (discover_suite)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.anvil import start_anvil

from zoo_cli.errors import OperationFailed


def test_init_on_a_real_chain_without_record_deploys_nothing(tmp_path):
    from zoo_cli.chain.setup import init_home
    from zoo_cli.config import load_settings

    with start_anvil(5) as node:
        home = tmp_path / "home"
        out = init_home(load_settings(home=home, rpc=node.url, ipfs="/ip4/127.0.0.1/tcp/5001"))
        assert out["contracts"] == {} and "network add" in out["note"]
        assert not (home / "deployments").exists()
        assert 'ipfs = "/ip4/127.0.0.1/tcp/5001"' in (home / "config.toml").read_text()


def test_deploy_refuses_a_differing_suite_and_new_replaces_it(tmp_path):
    from eth_account import Account

    from zoo_cli.chain.client import open_chain
    from zoo_cli.chain.contracts import deploy_suite, discover_suite
    from zoo_cli.chain.keystore import DEV_PRIVATE_KEYS
    from zoo_cli.chain.suite import CONTRACT_NAMES
    from zoo_cli.config import load_settings

    signer = Account.from_key(DEV_PRIVATE_KEYS[0])
    s = load_settings(home=tmp_path / "home")
    with open_chain(s) as c:
        first = deploy_suite(c, signer)
        assert sorted(first["deployed"]) == sorted(CONTRACT_NAMES)
        # the whole suite is found from the NFT alone, each module checked
        rec, unwired = discover_suite(c, first["contracts"]["ZooModelNFT"])
        assert rec.contracts == first["contracts"] and unwired == [] and rec.imported
        # a recorded contract whose code is not what was recorded: refused, not redeployed
        path = tmp_path / "home" / "deployments" / "local-1337.json"
        data = json.loads(path.read_text())
        data["code_hashes"]["Marketplace"] = "0x" + "00" * 32
        path.write_text(json.dumps(data))
        with pytest.raises(OperationFailed) as exc:
            deploy_suite(c, signer)
        assert "deploy --new" in exc.value.hint
        fresh = deploy_suite(c, signer, new=True)
        assert fresh["status"] == "deployed" and fresh["contracts"]["ZooModelNFT"] != first["contracts"]["ZooModelNFT"]
        assert json.loads(Path(fresh["replaced"]).read_text())["contracts"] == first["contracts"]
        assert deploy_suite(c, signer)["status"] == "verified"
