"""Issue 13 item 11: a seller cannot claim a token's training rewards while a sale of it is
pending. The contract refuses (TrainingRewardsTokenLocked); `zoo claim` (workflows/rewards.py)
skips such a token by default (listed in `locked`) and refuses it when named (exit 1).
Embedded devnet, no training: the verified report is signed by the dev verifier directly.
"""

from __future__ import annotations

import pytest
from eth_utils import keccak


def test_claim_refused_while_sale_pending(tmp_path):
    from zoo_cli.chain.errors import ContractRevert
    from zoo_cli.chain.setup import init_home
    from zoo_cli.config import load_settings
    from zoo_cli.errors import OperationFailed
    from zoo_cli.workflows.reports import build_report, encode_proof, sign_report
    from zoo_cli.workflows.rewards import claim
    from zoo_cli.workflows.session import Session, event_arg, task_id

    home = tmp_path / "home"
    init_home(load_settings(home=home), dev=True)
    with Session(load_settings(home=home)) as s:
        verifier = s.verifier_signer()
        eval_set = keccak(text="claim-locked-set")
        s.transact(s.contract("EvaluationRegistry").functions.registerEvalSet(eval_set, "bafy-x", [task_id("defi")]),
                   account=verifier)
        res = s.transact(s.nft.functions.mintModelWithHash(s.address, b"\x01" * 32, b"\x02" * 32, ""))
        token = int(event_arg(res, "ModelMinted", "tokenId"))
        report = build_report(token_id=token, generation=0, parent_hash=b"\x02" * 32, new_hash=b"\x03" * 32,
                              dataset_root=keccak(text="claim-locked-data"), eval_set=eval_set, ops=10,
                              performance=6_000, task_scores={"defi": 6_000}, deadline=s.now() + 3600)
        s.transact(s.nft.functions.updateModel(token, b"\x03" * 32,
                                               encode_proof(report, sign_report(s, report, verifier))))
        rewards = s.contract("TrainingRewards")
        owed = int(s.call(rewards.functions.modelRewards(token)))
        assert owed > 0
        market = s.contract("Marketplace")
        s.transact(market.functions.list(token, 10**15, (0, 0, 0, 0, 0, ""), keccak(text="key")))
    with Session(load_settings(home=home, account="dev2")) as b:
        b.transact(b.contract("Marketplace").functions.buyModel(token), value=10**15)  # pending: locked
    with Session(load_settings(home=home)) as s:
        with pytest.raises(ContractRevert) as direct:
            s.transact(s.contract("TrainingRewards").functions.claimRewards(token))
        assert direct.value.error_name == "TrainingRewardsTokenLocked"
    everything = claim(load_settings(home=home), [])
    assert everything["tokens"] == [] and everything["locked"] == [token] and everything["claimed_wei"] == "0"
    with pytest.raises(OperationFailed) as named:
        claim(load_settings(home=home), [token])
    assert "pending marketplace order" in named.value.message
    with Session(load_settings(home=home)) as s:
        assert int(s.call(s.contract("TrainingRewards").functions.modelRewards(token))) == owed
