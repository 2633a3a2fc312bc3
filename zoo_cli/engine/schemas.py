"""Per-domain interaction schemas (ZIP-6 fields) and their compact text form.

Each record is one user interaction. A model learns ``prompt -> target``: the prompt
is the context the user saw (``pool=ETH/USDC apy=4.2 risk=low ->``), the target is
what the user actually did, with its key fields (``stake ETH``). The metric is exact
match of the target. Pure pydantic: no torch here.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

DOMAINS: tuple[str, ...] = ("defi", "gaming", "nft", "social", "governance")

DEFI_ACTIONS = (
    "swap", "provide_liquidity", "remove_liquidity", "stake", "unstake", "lend", "borrow", "hold",
    # from on-chain imports (zoo data import): plain token moves
    "transfer", "approve", "wrap", "unwrap",
)
GAME_ACTIONS = ("attack", "defend", "retreat", "heal", "explore", "loot")
NFT_ACTIONS = ("buy", "sell", "hold", "bid", "mint", "receive", "send")
SOCIAL_ACTIONS = ("like", "reply", "share", "ignore", "post")
VOTES = ("for", "against", "abstain", "delegate", "propose")

# A token symbol as real tokens have them (``UNI-V2``, ``WETH.e``, ``USDC``) or, when a
# token has no usable symbol, its 0x address: one word, no spaces and no slash.
Token = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,41}$")]
Address = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$")]
TxHash = Annotated[str, Field(pattern=r"^0x[0-9a-f]{64}$")]
Word = Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]{1,32}$")]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    user: str | None = Field(default=None, max_length=64)
    timestamp: int | None = Field(default=None, ge=0)
    # Provenance (records from `zoo data import`): the on-chain event this record is.
    chain_id: int | None = Field(default=None, ge=1)
    block: int | None = Field(default=None, ge=0)
    tx_hash: TxHash | None = None
    log_index: int | None = Field(default=None, ge=0)
    # The item of a multi-item event this record is (ERC-1155 TransferBatch: ids[batch_index]).
    batch_index: int | None = Field(default=None, ge=0, le=100_000)
    contract: Address | None = None
    event: str | None = Field(default=None, pattern=r"^[a-z0-9_]{1,24}\.[A-Za-z0-9]{1,32}$")

    def prompt(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def target(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError


def _num(x: float) -> str:
    """Short, stable number text (one decimal) used in prompts."""
    return f"{x:.1f}"


TREND_FLAT_PCT = 0.5


def trend_word(change_pct: float) -> str:
    """``up``/``down``/``flat`` for a price change in % (flat within ±0.5 %)."""
    if change_pct > TREND_FLAT_PCT:
        return "up"
    if change_pct < -TREND_FLAT_PCT:
        return "down"
    return "flat"


def short_address(addr: str) -> str:
    """``0xabcd1234``: enough of an address to tell accounts apart in a prompt."""
    return addr[:10].lower()


class DefiMarket(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    pool: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,41}/[A-Za-z0-9][A-Za-z0-9._\-]{0,41}$")]
    # Imported records: apy is known only for vaults (realised, from share prices) and
    # risk is derived from the pool's own volatility; both may be unknown (None).
    apy: float | None = Field(default=None, ge=-100, le=10_000)
    risk: Literal["low", "medium", "high"] | None = None
    volatility: float | None = Field(default=None, ge=0)
    price: float | None = Field(default=None, ge=0, description="quote per base before the action")
    price_change: float | None = Field(default=None, description="% change of price over the lookback window")
    share_price: float | None = Field(default=None, ge=0, description="ERC-4626 assets per share")


class DefiInteraction(_Record):
    domain: Literal["defi"]
    action: Literal[DEFI_ACTIONS]  # type: ignore[valid-type]
    tokens: list[Token] = Field(min_length=1, max_length=4)
    amounts: list[float] = Field(default_factory=list, max_length=4)
    profit: float | None = None
    outcome: str | None = Field(default=None, max_length=64)
    market: DefiMarket | None = None

    def prompt(self) -> str:
        m = self.market
        if m is None:  # a plain token move: no market around it
            return f"token={self.tokens[0]} ->"
        parts = [f"pool={m.pool}"]
        if m.apy is not None:
            parts.append(f"apy={_num(m.apy)}")
        if m.risk is not None:
            parts.append(f"risk={m.risk}")
        if m.price_change is not None:
            parts.append(f"trend={trend_word(m.price_change)} change={m.price_change:+.1f}%")
        return " ".join(parts) + " ->"

    def target(self) -> str:
        return f"{self.action} {self.tokens[0]}"


class GameState(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    hp: int = Field(ge=0, le=100)
    enemy: Literal["none", "far", "near", "boss"]
    loot: bool = False


class GamingInteraction(_Record):
    domain: Literal["gaming"]
    game: Word
    state: GameState
    action: Literal[GAME_ACTIONS]  # type: ignore[valid-type]
    actions: list[Word] = Field(default_factory=list, max_length=64)
    score: int | None = None
    strategy: Word | None = None
    preferences: dict[str, str] = Field(default_factory=dict)

    def prompt(self) -> str:
        s = self.state
        return f"game={self.game} hp={s.hp} enemy={s.enemy} loot={'yes' if s.loot else 'no'} ->"

    def target(self) -> str:
        return self.action


class NftTraits(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    rarity: Literal["common", "uncommon", "rare", "legendary"]
    background: Word
    eyes: Word


class NftInteraction(_Record):
    domain: Literal["nft"]
    collection: Token
    # Imported records: traits and sentiment are not on-chain (None); price is known
    # only when the transfer was paid through a marketplace event in the same tx.
    traits: NftTraits | None = None
    price: float | None = Field(default=None, ge=0)
    profit: float | None = None
    sentiment: Literal["bearish", "neutral", "bullish"] | None = None
    action: Literal[NFT_ACTIONS]  # type: ignore[valid-type]
    token_id: int | None = Field(default=None, ge=0)
    counterparty: Address | None = None

    def prompt(self) -> str:
        t = self.traits
        if t is None or self.sentiment is None or self.price is None:
            parts = [f"collection={self.collection}"]
            if self.counterparty is not None:
                parts.append(f"counterparty={short_address(self.counterparty)}")
            if self.price is not None:
                parts.append(f"price={_num(self.price)}")
            return " ".join(parts) + " ->"
        return (
            f"collection={self.collection} rarity={t.rarity} eyes={t.eyes} "
            f"bg={t.background} sentiment={self.sentiment} price={_num(self.price)} ->"
        )

    def target(self) -> str:
        return self.action


class Engagement(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    likes: int = Field(ge=0)
    replies: int = Field(default=0, ge=0)


class SocialInteraction(_Record):
    domain: Literal["social"]
    platform: Word = "zoo"
    author: Literal["friend", "stranger", "influencer", "project"]
    topic: Literal["defi", "gaming", "nft", "dao", "memes"]
    sentiment: Literal["negative", "neutral", "positive"]
    engagement: Engagement
    action: Literal[SOCIAL_ACTIONS]  # type: ignore[valid-type]

    def prompt(self) -> str:
        return (
            f"author={self.author} topic={self.topic} sentiment={self.sentiment} "
            f"likes={self.engagement.likes} ->"
        )

    def target(self) -> str:
        return self.action


class Proposal(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: int | None = Field(default=None, ge=0)
    # Imported records: category, impact and the proposer's label are not on-chain (None);
    # the proposer's address is (Governor.proposalProposer).
    category: Literal["treasury", "grants", "protocol", "tokenomics"] | None = None
    impact: float | None = Field(default=None, ge=0, le=100, description="share of treasury or supply affected, %")
    proposer: Literal["core", "community", "whale"] | None = None
    proposer_address: Address | None = None


class GovernanceInteraction(_Record):
    domain: Literal["governance"]
    dao: Token
    proposal: Proposal | None = None
    vote: Literal[VOTES]  # type: ignore[valid-type]
    outcome: Literal["passed", "rejected", "pending"] | None = None
    delegate: Address | None = None
    weight: float | None = Field(default=None, ge=0)

    def prompt(self) -> str:
        p = self.proposal
        if p is None or p.category is None or p.impact is None or p.proposer is None:
            parts = [f"dao={self.dao}"]
            if p is not None and p.proposer_address is not None:
                parts.append(f"proposer={short_address(p.proposer_address)}")
            elif p is None:
                parts.append("delegation")
            return " ".join(parts) + " ->"
        return (
            f"dao={self.dao} category={p.category} impact={_num(p.impact)} "
            f"proposer={p.proposer} ->"
        )

    def target(self) -> str:
        return self.vote


SCHEMAS: dict[str, type[_Record]] = {
    "defi": DefiInteraction,
    "gaming": GamingInteraction,
    "nft": NftInteraction,
    "social": SocialInteraction,
    "governance": GovernanceInteraction,
}

Interaction = _Record


class _DomainProbe(BaseModel):
    domain: str

    @field_validator("domain")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in SCHEMAS:
            raise ValueError(f"unknown domain {v!r} (expected one of: {', '.join(DOMAINS)})")
        return v


def parse_record(obj: object) -> _Record:
    """Validate one decoded JSON object; raises ``ValueError`` with a short reason."""
    from pydantic import ValidationError

    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")  # noqa: TRY004 - callers catch ValueError
    if "domain" not in obj:
        raise ValueError("missing field 'domain'")
    try:
        domain = _DomainProbe(domain=obj["domain"]).domain
    except ValidationError as exc:
        raise ValueError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
    try:
        return SCHEMAS[domain].model_validate(obj)
    except ValidationError as exc:
        parts = []
        for err in exc.errors()[:3]:
            loc = ".".join(str(p) for p in err["loc"]) or "record"
            parts.append(f"{loc}: {err['msg']}")
        raise ValueError("; ".join(parts)) from None


def example_text(record: _Record) -> tuple[str, str]:
    """``(prompt, target)`` for one record; the model sees ``prompt + ' ' + target``."""
    return record.prompt(), record.target()
