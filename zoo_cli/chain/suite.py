"""The zoo contract suite's deploy plan, as data (no web3 here).

`deploy_plan(params)` returns the contracts to deploy, in order, each with a function
computing its constructor arguments from a `PlanContext` (deployer address, addresses
deployed so far, parameters), followed by the wiring calls and role grants to send
afterwards. `chain/contracts.deploy_suite` executes it; artifact names match
`zoo_cli/chain/artifacts/<name>.json`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eth_utils import keccak  # light; no web3 import

DAY = 86_400

#: keccak256("VERIFIER_ROLE"), the role on ZooModelNFT that every module consults.
VERIFIER_ROLE = "0x" + keccak(text="VERIFIER_ROLE").hex()
DEFAULT_ADMIN_ROLE = "0x" + "00" * 32


@dataclass(frozen=True)
class SuiteParams:
    """Deployment parameters (defaults as in ZIP-6 / the contracts issue)."""

    royalty_bps: int = 500  # total royalty to direct parents' creators (5 %)
    delivery_timeout: int = DAY  # seller must deliver the key within this, else buyer refunds
    dispute_window: int = DAY  # buyer may dispute within this after delivery
    reward_cap_per_period: int = 10**17  # max rewards credited per owner per period (0.1 ether)
    reward_period: int = DAY
    verifier: str | None = None  # address granted VERIFIER_ROLE, if any
    reward_funding: int = 0  # wei sent to TrainingRewards.fund() at deploy


@dataclass(frozen=True)
class PlanContext:
    """What constructor/wiring argument functions may read."""

    deployer: str
    addresses: dict[str, str]
    params: SuiteParams


@dataclass(frozen=True)
class DeployStep:
    """Deploy artifact `name` with `args(ctx)` as constructor arguments.

    A step with `created_by = (contract, getter)` is not sent: that contract creates it in its
    own constructor, and its address is read from `contract.getter()`.
    """

    name: str
    args: Callable[[PlanContext], list[Any]]
    created_by: tuple[str, str] | None = None


@dataclass(frozen=True)
class WiringCall:
    """After deployment: call `contract.function(*args(ctx))` from the deployer, with `value(ctx)` wei.

    Calls whose `when(ctx)` is False are skipped (e.g. no verifier configured).
    """

    contract: str
    function: str
    args: Callable[[PlanContext], list[Any]]
    value: Callable[[PlanContext], int] = field(default=lambda ctx: 0)
    when: Callable[[PlanContext], bool] = field(default=lambda ctx: True)


@dataclass(frozen=True)
class DeployPlan:
    steps: list[DeployStep]
    wiring: list[WiringCall]


def deploy_plan() -> DeployPlan:
    """The suite, in deploy order, with its wiring."""
    steps = [
        DeployStep("ZooModelNFT", lambda c: [c.deployer, c.params.royalty_bps]),
        DeployStep("EvaluationRegistry", lambda c: [c.addresses["ZooModelNFT"]]),
        DeployStep(
            "TrainingRewards",
            lambda c: [c.addresses["ZooModelNFT"], c.params.reward_cap_per_period, c.params.reward_period],
        ),
        DeployStep(
            "Marketplace",
            lambda c: [c.addresses["ZooModelNFT"], c.params.delivery_timeout, c.params.dispute_window],
        ),
        DeployStep(
            "ModelSpecialization",
            lambda c: [c.addresses["ZooModelNFT"], c.addresses["EvaluationRegistry"]],
        ),
        # created by the NFT's constructor (fixed for the suite's lifetime, found from the NFT)
        DeployStep("KeyRegistry", lambda c: [], created_by=("ZooModelNFT", "keyRegistry")),
        # zero-knowledge evaluations (issue 9); its verifier is generated and set lazily by
        # `zoo prove` / `zoo zk setup` (key setup is far too slow for `zoo init`)
        DeployStep("ZkEvaluator", lambda c: [c.addresses["ZooModelNFT"]]),
    ]
    wiring = [
        # The NFT must know the marketplace (locks, sales, leases), the reward pool (credits
        # on verified updates), the evaluation registry and the specialization registry.
        WiringCall(
            "ZooModelNFT",
            "setModules",
            lambda c: [
                c.addresses["Marketplace"],
                c.addresses["TrainingRewards"],
                c.addresses["EvaluationRegistry"],
                c.addresses["ModelSpecialization"],
            ],
        ),
        # zkPerformance is recorded by, and rewards credited from, the ZkEvaluator only
        WiringCall("ZooModelNFT", "setZkModule", lambda c: [c.addresses["ZkEvaluator"]]),
        WiringCall(
            "ZooModelNFT",
            "grantRole",
            lambda c: [VERIFIER_ROLE, c.params.verifier],
            when=lambda c: bool(c.params.verifier),
        ),
        WiringCall(
            "TrainingRewards",
            "fund",
            lambda c: [],
            value=lambda c: c.params.reward_funding,
            when=lambda c: c.params.reward_funding > 0,
        ),
    ]
    return DeployPlan(steps=steps, wiring=wiring)


CONTRACT_NAMES: tuple[str, ...] = tuple(s.name for s in deploy_plan().steps)

#: The root of a suite: every other contract is found from it (``zoo network add``).
ROOT_CONTRACT = "ZooModelNFT"

#: How each module is found from the NFT: its view getter on ZooModelNFT.
MODULE_GETTERS: dict[str, str] = {
    "Marketplace": "marketplace",
    "TrainingRewards": "trainingRewards",
    "EvaluationRegistry": "evaluationRegistry",
    "ModelSpecialization": "specializationRegistry",
    "KeyRegistry": "keyRegistry",
    "ZkEvaluator": "zkModule",
}
