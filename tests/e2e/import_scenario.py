"""Scripted on-chain personas on a real anvil, through real protocol bytecode.

* Uniswap V2 factory + pair (npm @uniswap/v2-core build) and WETH9 (npm
  @uniswap/v2-periphery build); OpenZeppelin ERC-20/ERC-721/ERC-4626/Governor fixtures.
* ``trader`` moves the TKA/WETH price in runs of three swaps, all up or all down.
* ``lp`` persona (DeFi habit): after a run up it adds liquidity; after a run down it swaps
  its TKA out for WETH.
* ``voter`` persona (governance habit): votes against every proposal of ``core`` and for
  every proposal of ``community``.
Every round mines > lookback blocks so one round's window never sees the previous one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from support.protocols import Chain, compile_fixtures, uniswap_artifact

E18 = 10 ** 18
ROUND_GAP = 12  # > the lookback the tests import with (--lookback 10)


@dataclass
class Scenario:
    url: str
    lp: str
    voter: str
    trader: str
    core: str
    community: str
    pair: str
    tka: str
    weth: str
    governor: str
    lp_actions: list = field(default_factory=list)  # (block, action)
    votes: list = field(default_factory=list)  # (proposal id, vote)
    extra: dict = field(default_factory=dict)


def build(url: str, rounds: int = 40, proposals: int = 40, seed: int = 7) -> Scenario:
    rng = random.Random(seed)
    c = Chain(url)
    w3 = c.w3
    acc = c.accounts
    c._raw("anvil_setBlockTimestampInterval", [1])
    deployer, lp, voter, trader, core, community, collector = acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6]
    fx = compile_fixtures()

    weth = c.deploy(uniswap_artifact("WETH9"))
    tka = c.deploy(fx["FixtureToken"], "Token A", "TKA")
    factory = c.deploy(uniswap_artifact("UniswapV2Factory"), deployer)
    c.send(factory.functions.createPair(tka.address, weth.address), deployer)
    pair_addr = factory.functions.getPair(tka.address, weth.address).call()
    pair = w3.eth.contract(address=pair_addr, abi=uniswap_artifact("UniswapV2Pair")["abi"])
    token0 = pair.functions.token0().call()
    router = c.deploy(uniswap_artifact("UniswapV2Router02"), factory.address, weth.address)
    MAX = 2 ** 256 - 1

    for who in (deployer, lp, trader):
        c.send(tka.functions.mint(who, 10 ** 9 * E18), deployer, wait=False)
        c.send(weth.functions.deposit(), who, value=5_000 * E18, wait=False)
        c.send(tka.functions.approve(router.address, MAX), who, wait=False)
        c.send(weth.functions.approve(router.address, MAX), who, wait=False)
    c.mine()
    # Seed liquidity: 1,000,000 TKA : 1,000 WETH (price 0.001 WETH per TKA).
    c.send(tka.functions.transfer(pair_addr, 1_000_000 * E18), deployer)
    c.send(weth.functions.transfer(pair_addr, 1_000 * E18), deployer)
    c.send(pair.functions.mint(deployer), deployer)

    deadline = 2 ** 40

    def swap(who: str, sell_tka: bool, amount_in: int) -> None:
        path = [tka.address, weth.address] if sell_tka else [weth.address, tka.address]
        c.send(router.functions.swapExactTokensForTokens(amount_in, 0, path, who, deadline), who)

    sc = Scenario(url, lp, voter, trader, core, community, pair_addr, tka.address, weth.address, "")
    for _ in range(rounds):
        up = rng.random() < 0.5  # price of TKA (WETH per TKA) goes up: trader buys TKA with WETH
        for _ in range(3):
            if up:
                swap(trader, False, rng.randint(5, 15) * E18)
            else:
                swap(trader, True, rng.randint(5_000, 15_000) * E18)
        if up:  # the lp persona adds liquidity in the ratio of the reserves
            r0, r1, _ = pair.functions.getReserves().call()
            wamt = rng.randint(1, 5) * E18
            tamt = wamt * (r0 if token0 == tka.address else r1) // (r1 if token0 == tka.address else r0)
            rcpt = c.send(router.functions.addLiquidity(tka.address, weth.address, tamt, wamt, 0, 0, lp, deadline), lp)
            sc.lp_actions.append((rcpt["blockNumber"], "provide_liquidity"))
        else:
            swap(lp, True, rng.randint(1_000, 5_000) * E18)
            sc.lp_actions.append((c.block_number(), "swap"))
        c.mine(ROUND_GAP)

    # Governance: ERC20Votes token, Governor, two proposers with different habits of the voter.
    gov_token = c.deploy(fx["FixtureToken"], "Zoo Governance", "ZGOV")
    governor = c.deploy(fx["FixtureGovernor"], gov_token.address)
    sc.governor = governor.address
    for who in (voter, core, community):
        c.send(gov_token.functions.mint(who, 1_000 * E18), deployer)
        c.send(gov_token.functions.delegate(who), who)
    c.mine()
    pending = []
    for i in range(proposals):
        proposer = core if rng.random() < 0.5 else community
        desc = f"proposal {i}: routine change"
        args = ([gov_token.address], [0], [b""], desc)
        c.send(governor.functions.propose(*args), proposer, wait=False)
        pid = governor.functions.hashProposal([gov_token.address], [0], [b""], w3.keccak(text=desc)).call()
        pending.append((pid, proposer))
    c.mine(2)
    for pid, proposer in pending:
        vote = 0 if proposer == core else 1
        c.send(governor.functions.castVote(pid, vote), voter, wait=False)
        sc.votes.append((pid, "against" if vote == 0 else "for"))
    c.mine(201)  # past the voting period: outcomes are final

    # A little of everything else, so each decoder meets real logs.
    nft = c.deploy(fx["FixtureNFT"])
    vault = c.deploy(fx["FixtureVault"], tka.address)
    c.send(nft.functions.mint(collector, 1), deployer)
    c.send(nft.functions.transferFrom(collector, lp, 1), collector)
    c.send(tka.functions.mint(collector, 1_000 * E18), deployer)
    c.send(tka.functions.approve(vault.address, 500 * E18), collector)
    c.send(vault.functions.deposit(400 * E18, collector), collector)
    c.send(tka.functions.transfer(vault.address, 40 * E18), deployer)  # yield: share price up 10 %
    c.mine(10)
    c.send(vault.functions.redeem(100 * E18, collector, collector), collector)
    c.send(weth.functions.deposit(), collector, value=2 * E18)
    c.send(weth.functions.withdraw(E18), collector)
    c.send(tka.functions.transfer(lp, 5 * E18), collector)
    sc.extra.update(nft=nft.address, vault=vault.address, collector=collector, gov_token=gov_token.address)
    return sc
