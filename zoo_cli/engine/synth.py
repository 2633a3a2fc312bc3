"""Synthetic interactions with a hidden, learnable per-user policy (deterministic by seed).

Each domain has a default persona whose rule is written out below (e.g. the DeFi
user is a risk-averse yield farmer: stakes when APY is high and risk is low). Any
other ``profile`` name gets its own policy: a table from the discretised context to
an action, drawn from the hash of the name. ``profile="random"`` draws actions
uniformly (no policy): the base model's pre-training text uses it, so the base
knows the vocabulary and format but not any user's habits.

The seed controls the contexts (and the few noisy actions), never the persona: a
verifier's evaluation set made with its own seed tests the same policy.
"""

from __future__ import annotations

import hashlib
import random

from zoo_cli.engine.schemas import (
    DEFI_ACTIONS,
    DOMAINS,
    GAME_ACTIONS,
    NFT_ACTIONS,
    SOCIAL_ACTIONS,
    VOTES,
)
from zoo_cli.errors import BadInput

DEFAULT_PROFILES = {
    "defi": "yield_farmer",
    "gaming": "tactician",
    "nft": "collector",
    "social": "networker",
    "governance": "treasury_hawk",
}
NOISE = 0.03  # share of actions that ignore the policy (people are not perfectly consistent)
MAX_N = 10_000_000

POOLS = (
    "ETH/USDC", "WBTC/ETH", "ZOO/ETH", "LUX/USDC", "ETH/DAI", "ZOO/USDC", "SOL/USDC",
    "WBTC/USDT", "ARB/ETH", "LINK/ETH",
)
GAMES = ("dungeon", "arena", "safari", "racing")
COLLECTIONS = ("ZooApes", "CyberTigers", "PixelPandas", "LuxLions", "OceanOrcas")
RARITIES = ("common", "uncommon", "rare", "legendary")
EYES = ("laser", "sleepy", "wink", "glow", "normal")
BACKGROUNDS = ("gold", "blue", "jungle", "space", "red")
AUTHORS = ("friend", "stranger", "influencer", "project")
TOPICS = ("defi", "gaming", "nft", "dao", "memes")
SENTIMENTS3 = ("negative", "neutral", "positive")
CATEGORIES = ("treasury", "grants", "protocol", "tokenomics")
PROPOSERS = ("core", "community", "whale")
DAOS = ("ZooDAO", "LuxDAO", "OceanDAO")


# -- contexts ---------------------------------------------------------------------------------

def _apy(rng: random.Random) -> float:
    band = rng.random()
    if band < 0.3:
        return round(rng.uniform(0.2, 2.9), 1)
    if band < 0.65:
        return round(rng.uniform(3.0, 9.9), 1)
    return round(rng.uniform(10.0, 40.0), 1)


def _defi_context(rng: random.Random) -> dict:
    return {"pool": rng.choice(POOLS), "apy": _apy(rng), "risk": rng.choice(("low", "medium", "high"))}


def _game_context(rng: random.Random) -> dict:
    return {"game": rng.choice(GAMES), "hp": rng.randint(1, 100),
            "enemy": rng.choice(("none", "far", "near", "boss")), "loot": rng.random() < 0.35}


def _nft_context(rng: random.Random) -> dict:
    rarity = rng.choices(RARITIES, weights=(4, 3, 2, 1))[0]
    base = {"common": 0.3, "uncommon": 0.8, "rare": 2.0, "legendary": 6.0}[rarity]
    return {"collection": rng.choice(COLLECTIONS), "rarity": rarity, "eyes": rng.choice(EYES),
            "background": rng.choice(BACKGROUNDS),
            "sentiment": rng.choice(("bearish", "neutral", "bullish")),
            "price": round(base * rng.uniform(0.5, 2.0), 1)}


def _social_context(rng: random.Random) -> dict:
    return {"author": rng.choice(AUTHORS), "topic": rng.choice(TOPICS),
            "sentiment": rng.choice(SENTIMENTS3), "likes": int(rng.paretovariate(1.2) * 5) % 5000}


def _gov_context(rng: random.Random) -> dict:
    return {"dao": rng.choice(DAOS), "category": rng.choice(CATEGORIES),
            "impact": round(rng.uniform(0.1, 30.0), 1), "proposer": rng.choice(PROPOSERS)}


# -- default personas (the hidden rules) ------------------------------------------------------

def _yield_farmer(c: dict) -> tuple[str, int]:
    """Risk-averse yield farmer; returns (action, index of the pool token acted on)."""
    apy, risk = c["apy"], c["risk"]
    if risk == "low":
        if apy >= 10:
            return "stake", 0
        return ("provide_liquidity", 0) if apy >= 3 else ("lend", 1)
    if risk == "medium":
        return ("provide_liquidity", 0) if apy >= 10 else ("hold", 1)
    return ("swap", 0) if apy >= 10 else ("unstake", 0)


def _tactician(c: dict) -> str:
    hp, enemy = c["hp"], c["enemy"]
    if hp < 30:
        return "heal" if enemy in ("none", "far") else "retreat"
    if enemy == "boss":
        return "attack" if hp >= 70 else "defend"
    if enemy == "near":
        return "attack"
    return "loot" if c["loot"] else "explore"


def _collector(c: dict) -> str:
    if c["sentiment"] == "bearish":
        return "sell" if c["rarity"] in ("common", "uncommon") else "hold"
    if c["rarity"] in ("rare", "legendary"):
        return "buy" if c["eyes"] in ("laser", "glow") else "bid"
    return "bid" if c["sentiment"] == "bullish" else "hold"


def _networker(c: dict) -> str:
    if c["sentiment"] == "negative":
        return "ignore" if c["author"] != "friend" else "reply"
    if c["author"] == "friend":
        return "reply"
    if c["topic"] in ("defi", "dao"):
        return "share" if c["likes"] >= 100 else "like"
    return "like" if c["author"] in ("influencer", "project") else "ignore"


def _treasury_hawk(c: dict) -> str:
    if c["category"] == "treasury":
        return "against" if c["impact"] >= 10 else "for"
    if c["proposer"] == "whale":
        return "against"
    if c["category"] == "protocol":
        return "for" if c["proposer"] == "core" else "delegate"
    return "abstain" if c["impact"] < 3 else "for"


# -- other personas: a hashed table over the discretised context -----------------------------

def _bucket(domain: str, c: dict) -> tuple:
    if domain == "defi":
        return (c["risk"], 0 if c["apy"] < 3 else 1 if c["apy"] < 10 else 2)
    if domain == "gaming":
        return (c["enemy"], c["hp"] >= 30, c["loot"])
    if domain == "nft":
        return (c["rarity"], c["sentiment"])
    if domain == "social":
        return (c["author"], c["sentiment"])
    return (c["category"], c["proposer"])


def _table_choice(domain: str, profile: str, c: dict, options: tuple) -> object:
    key = f"{domain}|{profile}|{_bucket(domain, c)}".encode()
    return options[int.from_bytes(hashlib.sha256(key).digest()[:4], "big") % len(options)]


_DEFI_CHOICES = tuple((a, i) for a in DEFI_ACTIONS for i in (0, 1))
_OPTIONS = {"gaming": GAME_ACTIONS, "nft": NFT_ACTIONS, "social": SOCIAL_ACTIONS,
            "governance": VOTES}
_DEFAULT_RULES = {"gaming": _tactician, "nft": _collector, "social": _networker,
                  "governance": _treasury_hawk}


def policy(domain: str, profile: str, context: dict, rng: random.Random | None = None):
    """The persona's action for a context (``(action, token index)`` for DeFi)."""
    if profile == "random":
        assert rng is not None
        return rng.choice(_DEFI_CHOICES) if domain == "defi" else rng.choice(_OPTIONS[domain])
    if profile == DEFAULT_PROFILES[domain]:
        return _yield_farmer(context) if domain == "defi" else _DEFAULT_RULES[domain](context)
    options = _DEFI_CHOICES if domain == "defi" else _OPTIONS[domain]
    return _table_choice(domain, profile, context, options)


# -- records ----------------------------------------------------------------------------------

def _record(domain: str, c: dict, decision, rng: random.Random, ts: int, user: str) -> dict:
    if domain == "defi":
        action, idx = decision
        a, b = c["pool"].split("/")
        token = (a, b)[idx]
        amount = round(rng.uniform(0.05, 50.0), 3)
        good = action in ("stake", "provide_liquidity", "lend") and c["risk"] != "high"
        profit = round(amount * c["apy"] / 100 * (1 if good else rng.uniform(-1, 0.5)), 4)
        return {"domain": "defi", "user": user, "timestamp": ts, "action": action,
                "tokens": [token], "amounts": [amount], "profit": profit,
                "market": {"pool": c["pool"], "apy": c["apy"], "risk": c["risk"]}}
    if domain == "gaming":
        score = rng.randint(0, 50) + (40 if decision in ("attack", "loot") else 10)
        return {"domain": "gaming", "user": user, "timestamp": ts, "game": c["game"],
                "state": {"hp": c["hp"], "enemy": c["enemy"], "loot": c["loot"]},
                "action": decision, "score": score}
    if domain == "nft":
        profit = round(c["price"] * rng.uniform(-0.3, 0.6), 3) if decision in ("buy", "sell") else None
        return {"domain": "nft", "user": user, "timestamp": ts, "collection": c["collection"],
                "traits": {"rarity": c["rarity"], "background": c["background"], "eyes": c["eyes"]},
                "price": c["price"], "profit": profit, "sentiment": c["sentiment"],
                "action": decision}
    if domain == "social":
        return {"domain": "social", "user": user, "timestamp": ts, "author": c["author"],
                "topic": c["topic"], "sentiment": c["sentiment"],
                "engagement": {"likes": c["likes"], "replies": rng.randint(0, 40)},
                "action": decision}
    return {"domain": "governance", "user": user, "timestamp": ts, "dao": c["dao"],
            "proposal": {"id": rng.randint(1, 999), "category": c["category"],
                         "impact": c["impact"], "proposer": c["proposer"]},
            "vote": decision, "outcome": rng.choice(("passed", "rejected"))}


_CONTEXTS = {"defi": _defi_context, "gaming": _game_context, "nft": _nft_context,
             "social": _social_context, "governance": _gov_context}


def synth(domain: str, n: int, seed: int, profile: str | None = None) -> list[dict]:
    """``n`` interactions of one persona (default: the domain's) in ``domain``, deterministic."""
    if domain not in DOMAINS:
        raise BadInput(f"unknown domain {domain!r}", hint=f"use one of: {', '.join(DOMAINS)}")
    if not 1 <= n <= MAX_N:
        raise BadInput(f"--n must be between 1 and {MAX_N:,}")
    profile = profile or DEFAULT_PROFILES[domain]
    rng = random.Random(f"zoo-synth|{domain}|{profile}|{seed}")
    user = "0x" + hashlib.sha256(f"{domain}|{profile}".encode()).hexdigest()[:40]
    ts = 1_735_689_600 + (seed % 1000) * 86_400  # 2025-01-01 + seed days
    out = []
    for _ in range(n):
        c = _CONTEXTS[domain](rng)
        if profile != "random" and rng.random() < NOISE:
            decision = policy(domain, "random", c, rng)
        else:
            decision = policy(domain, profile, c, rng)
        ts += rng.randint(30, 7200)
        out.append(_record(domain, c, decision, rng, ts, user))
    return out


def synth_mixed(n_per_domain: int, seed: int) -> list[dict]:
    """All five domains, ``n_per_domain`` each, interleaved deterministically (benchmarks)."""
    rows = [synth(d, n_per_domain, seed) for d in DOMAINS]
    return [r for group in zip(*rows) for r in group]
