"""zoo init --dev and deploy on both backends; idempotence; refusals; bad input."""

from __future__ import annotations

import json

import pytest
from support.anvil import start_anvil

from zoo_cli.errors import BackendUnreachable, NotFound, PermissionDenied


def test_init_dev_deploys_once_and_verifies(chain_backend):
    from zoo_cli.chain import tx
    from zoo_cli.chain.client import open_chain
    from zoo_cli.chain.contracts import contract, deploy_suite
    from zoo_cli.chain.keystore import DEV_ADDRESSES, Keystore
    from zoo_cli.chain.setup import init_home
    from zoo_cli.chain.suite import ARBITER_ROLE, CONTRACT_NAMES, VERIFIER_ROLE
    from zoo_cli.config import load_settings

    s = chain_backend
    first = init_home(s, dev=True)
    assert first["account"] == "dev0" and first["verifier"] == "dev9" and first["arbiter"] == "dev7"
    assert sorted(first["deployed"]) == sorted(CONTRACT_NAMES) and first["verified"] == []
    cfg = (s.home / "config.toml").read_text()
    assert 'account = "dev0"' in cfg and 'verifier = "dev9"' in cfg and 'arbiter = "dev7"' in cfg
    rec_path = s.deployments_dir / f"{first['network']}-{first['chain_id']}.json"
    rec = json.loads(rec_path.read_text())
    assert rec["contracts"] == first["contracts"] and rec["complete"]
    assert rec["deployer"] == DEV_ADDRESSES[0]

    s2 = load_settings(home=s.home, network=s.network if s.rpc else None, rpc=s.rpc)
    with open_chain(s2) as c:
        block = c.w3.eth.block_number
        nft = contract(c, "ZooModelNFT")
        assert tx.call(nft.functions.hasRole(VERIFIER_ROLE, DEV_ADDRESSES[9])) is True
        # disputes are settled by their own role, on dev7, not by the verifier
        assert tx.call(nft.functions.hasRole(ARBITER_ROLE, DEV_ADDRESSES[7])) is True
        assert tx.call(nft.functions.hasRole(ARBITER_ROLE, DEV_ADDRESSES[9])) is False
        if "TrainingRewards" in first["contracts"]:
            assert c.w3.eth.get_balance(first["contracts"]["TrainingRewards"]) > 0

    again = init_home(s2, dev=True)
    assert again["deployed"] == [] and sorted(again["verified"]) == sorted(CONTRACT_NAMES)
    assert again["contracts"] == first["contracts"]
    with open_chain(s2) as c:
        assert c.w3.eth.block_number == block  # nothing sent
        signer = Keystore(s2.keystore_dir).unlock("dev0", "zoo-dev")
        assert deploy_suite(c, signer)["deployed"] == []
        assert Keystore(s2.keystore_dir).resolve("dev9").address == DEV_ADDRESSES[9]

        # issue 13: module wiring is one-shot. A crash between sending it and recording it
        # must not make `zoo deploy` fail on the rerun: the effect is found on-chain, nothing
        # is re-sent; a second setModules is refused by the contract.
        from zoo_cli.chain.errors import ContractRevert

        rec = json.loads(rec_path.read_text())
        rec["wiring_done"] = [k for k in rec["wiring_done"] if ".setModules(" not in k and ".setZkModule(" not in k]
        rec_path.write_text(json.dumps(rec))
        block = c.w3.eth.block_number
        rerun = deploy_suite(c, signer)
        assert rerun["deployed"] == [] and len(rerun["wired"]) == 2, rerun
        assert c.w3.eth.block_number == block  # found on-chain, not re-sent
        with pytest.raises(ContractRevert) as wired:
            tx.send(c, signer, contract(c, "ZooModelNFT").functions.setModules(*([DEV_ADDRESSES[1]] * 4)))
        assert wired.value.error_name == "ZooModelModulesWired"


def test_missing_deployment_is_not_found(client):
    from zoo_cli.chain.contracts import contract

    with pytest.raises(NotFound) as exc:
        contract(client, "ZooModelNFT")
    assert exc.value.code == 3 and exc.value.hint == "zoo deploy"


def test_dev_refused_on_other_chain_ids(tmp_path):
    from zoo_cli.chain.setup import init_home
    from zoo_cli.config import load_settings

    with start_anvil(5) as node:
        home = tmp_path / "home"
        with pytest.raises(PermissionDenied) as exc:
            init_home(load_settings(home=home, rpc=node.url), dev=True)
        assert exc.value.code == 4
        assert not home.exists()  # nothing written


def test_unreachable_rpc_and_chain_id_mismatch(tmp_path, anvil):
    from support.anvil import free_port

    from zoo_cli.chain.client import open_chain
    from zoo_cli.chain.setup import init_home
    from zoo_cli.config import load_settings

    home = tmp_path / "home"
    dead = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(BackendUnreachable) as exc:
        init_home(load_settings(home=home, rpc=dead), dev=True)
    assert exc.value.code == 5 and exc.value.hint
    assert not home.exists()
    # the "local" preset expects 1337, anvil says 31337
    with pytest.raises(BackendUnreachable) as exc:
        open_chain(load_settings(home=home, network="zoo-testnet", rpc=anvil.url))
    assert "chain id mismatch" in exc.value.message
