"""Policy models: tiny MLPs over structured per-domain features, provable with ezkl.

A policy answers a structured decision (DeFi yield strategy, next game action, NFT trade,
social reaction, governance vote) from the same JSONL interaction records the LoRA model
trains on. One network serves every domain of a token: its input is the domain one-hot
followed by that domain's features in shared slots (:data:`FEATURES`), its output one
logit per action slot (the domain's actions in schema order, unused slots never win).

Determinism and the commitment
------------------------------
Training is full-batch Adam with a fixed seed on one thread: the same records, seed and
config give bit-identical weights. After training every parameter is rounded to the
fixed-point grid ezkl uses (``2**-PARAM_SCALE``) and features are encoded on the grid of
``2**-INPUT_SCALE``, so the float forward pass here and the circuit see exactly the same
numbers. The on-chain commitment is :func:`zoo_cli.engine.zk.param_hash` (the Poseidon
hash ezkl's *hashed* parameter visibility exposes as a public instance); files also carry
``weights_sha256`` (sha256 of the canonical safetensors bytes) for off-chain integrity.

Files (never pickle): ``policy.safetensors`` (tensors ``l1.weight``, ``l1.bias``,
``l2.weight``, ``l2.bias``, float32) and ``policy.json`` (:class:`PolicyConfig` plus
metrics). torch is imported lazily.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from zoo_cli.engine.schemas import (
    DEFI_ACTIONS,
    GAME_ACTIONS,
    NFT_ACTIONS,
    SOCIAL_ACTIONS,
    VOTES,
    Interaction,
    parse_record,
)
from zoo_cli.errors import BadInput, IntegrityError

FORMAT = "zoo-policy/1"
POLICY_DOMAINS: tuple[str, ...] = ("defi", "gaming", "nft", "social", "governance")
ACTIONS: dict[str, tuple[str, ...]] = {
    "defi": DEFI_ACTIONS, "gaming": GAME_ACTIONS, "nft": NFT_ACTIONS,
    "social": SOCIAL_ACTIONS, "governance": VOTES,
}
INPUT_SCALE = 7  # features live on the 1/128 grid (ezkl input_scale)
PARAM_SCALE = 7  # weights live on the 1/128 grid (ezkl param_scale)
N_SLOTS = 14     # shared feature slots (the widest domain: social)
N_FEATURES = len(POLICY_DOMAINS) + N_SLOTS
N_CLASSES = max(len(a) for a in ACTIONS.values())  # 8 (DeFi)

_RISK = ("low", "medium", "high")
_ENEMY = ("none", "far", "near", "boss")
_RARITY = ("common", "uncommon", "rare", "legendary")
_SENT_NFT = ("bearish", "neutral", "bullish")
_EYES = ("laser", "sleepy", "wink", "glow", "normal")
_AUTHOR = ("friend", "stranger", "influencer", "project")
_TOPIC = ("defi", "gaming", "nft", "dao", "memes")
_SENT3 = ("negative", "neutral", "positive")
_CATEGORY = ("treasury", "grants", "protocol", "tokenomics")
_PROPOSER = ("core", "community", "whale")

#: Feature slots per domain (after the domain one-hot), documented for the verifier side.
FEATURES: dict[str, tuple[str, ...]] = {
    "defi": tuple(f"risk={r}" for r in _RISK) + ("apy<3", "3<=apy<10", "apy>=10", "apy/40"),
    "gaming": tuple(f"enemy={e}" for e in _ENEMY) + ("hp/100", "hp<30", "hp>=70", "loot"),
    "nft": tuple(f"rarity={r}" for r in _RARITY) + tuple(f"sentiment={s}" for s in _SENT_NFT)
    + tuple(f"eyes={e}" for e in _EYES) + ("min(price/12,1)",),
    "social": tuple(f"author={a}" for a in _AUTHOR) + tuple(f"topic={t}" for t in _TOPIC)
    + tuple(f"sentiment={s}" for s in _SENT3) + ("likes>=100", "log(1+likes)/log(5001)"),
    "governance": tuple(f"category={c}" for c in _CATEGORY) + tuple(f"proposer={p}" for p in _PROPOSER)
    + ("impact/30", "impact>=3", "impact>=10"),
}


@dataclass(frozen=True)
class PolicyConfig:
    """Architecture + training hyper-parameters. ``arch_id`` names the circuit family."""

    hidden: int = 16
    n_features: int = N_FEATURES
    n_classes: int = N_CLASSES
    epochs: int = 400
    lr: float = 0.03
    weight_decay: float = 1e-4
    seed: int = 0

    def __post_init__(self) -> None:
        if not 2 <= self.hidden <= 64:
            raise BadInput(f"policy hidden size must be 2..64, got {self.hidden}")
        if self.n_features != N_FEATURES or self.n_classes != N_CLASSES:
            raise BadInput("policy feature/class sizes are fixed by the encoding "
                           f"({N_FEATURES} features, {N_CLASSES} classes)")
        if not 1 <= self.epochs <= 100_000 or not 0 < self.lr < 10:
            raise BadInput("policy epochs must be 1..100000 and lr in (0, 10)")

    @property
    def n_params(self) -> int:
        return self.n_features * self.hidden + self.hidden + self.hidden * self.n_classes + self.n_classes

    @property
    def arch_id(self) -> str:
        """Names everything the circuit depends on (not the training hyper-parameters)."""
        return f"mlp{self.n_features}x{self.hidden}x{self.n_classes}-s{INPUT_SCALE}{PARAM_SCALE}"


@dataclass
class Policy:
    """A trained policy: config, float32 tensors on the fixed-point grid, and metrics."""

    config: PolicyConfig
    tensors: dict[str, Any]  # name -> torch.Tensor (float32)
    domains: tuple[str, ...]
    metrics: dict[str, Any] = field(default_factory=dict)

    def module(self):
        """A torch module holding these weights (eval mode)."""
        import torch

        m = _mlp(self.config)
        with torch.no_grad():
            for name, p in m.named_parameters():
                p.copy_(self.tensors[name])
        return m.eval()

    def weights_sha256(self) -> str:
        return hashlib.sha256(self.safetensors_bytes()).hexdigest()

    def safetensors_bytes(self) -> bytes:
        from safetensors.torch import save

        ordered = {k: self.tensors[k].contiguous() for k in sorted(self.tensors)}
        return save(ordered, metadata={"format": FORMAT})

    def to_files(self) -> dict[str, bytes]:
        """``{"policy.safetensors": ..., "policy.json": ...}`` for the model container."""
        blob = self.safetensors_bytes()
        meta = {
            "format": FORMAT,
            "config": asdict(self.config),
            "arch_id": self.config.arch_id,
            "domains": list(self.domains),
            "input_scale": INPUT_SCALE,
            "param_scale": PARAM_SCALE,
            "weights_sha256": hashlib.sha256(blob).hexdigest(),
            "metrics": self.metrics,
        }
        return {"policy.safetensors": blob,
                "policy.json": (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode()}

    @classmethod
    def from_files(cls, files: dict[str, bytes]) -> Policy:
        from safetensors.torch import load

        try:
            meta = json.loads(files["policy.json"])
            blob = files["policy.safetensors"]
        except (KeyError, ValueError) as exc:
            raise BadInput(f"not a policy model ({exc})", hint="policy files are policy.json + policy.safetensors") from None
        if meta.get("format") != FORMAT:
            raise BadInput(f"unsupported policy format {meta.get('format')!r} (expected {FORMAT})")
        if hashlib.sha256(blob).hexdigest() != meta.get("weights_sha256"):
            raise IntegrityError("policy.safetensors does not match weights_sha256 in policy.json")
        config = PolicyConfig(**meta["config"])
        tensors = load(blob)
        expected = {"l1.weight": (config.hidden, config.n_features), "l1.bias": (config.hidden,),
                    "l2.weight": (config.n_classes, config.hidden), "l2.bias": (config.n_classes,)}
        if {k: tuple(v.shape) for k, v in tensors.items()} != expected:
            raise IntegrityError("policy tensors do not match the architecture in policy.json")
        return cls(config, tensors, tuple(meta["domains"]), meta.get("metrics", {}))


# -- features -------------------------------------------------------------------------------

def _q(x: float) -> float:
    """Clip to [0, 1] and snap to the input grid so torch and the circuit agree exactly."""
    step = 2 ** INPUT_SCALE
    return round(min(max(x, 0.0), 1.0) * step) / step


def _onehot(value: str, options: Sequence[str]) -> list[float]:
    return [1.0 if value == o else 0.0 for o in options]


def _as_record(record: Interaction | dict) -> Interaction:
    if isinstance(record, dict):
        try:
            return parse_record(record)
        except ValueError as exc:
            raise BadInput(f"invalid interaction: {exc}") from None
    return record


def encode(record: Interaction | dict) -> list[float]:
    """The feature vector (length :data:`N_FEATURES`) of one interaction's context."""
    r = _as_record(record)
    d = r.domain
    if d == "defi":
        m = r.market
        slots = _onehot(m.risk, _RISK) + [float(m.apy < 3), float(3 <= m.apy < 10), float(m.apy >= 10),
                                          m.apy / 40]
    elif d == "gaming":
        s = r.state
        slots = _onehot(s.enemy, _ENEMY) + [s.hp / 100, float(s.hp < 30), float(s.hp >= 70), float(s.loot)]
    elif d == "nft":
        t = r.traits
        slots = (_onehot(t.rarity, _RARITY) + _onehot(r.sentiment, _SENT_NFT) + _onehot(t.eyes, _EYES)
                 + [r.price / 12])
    elif d == "social":
        likes = r.engagement.likes
        slots = (_onehot(r.author, _AUTHOR) + _onehot(r.topic, _TOPIC) + _onehot(r.sentiment, _SENT3)
                 + [float(likes >= 100), math.log1p(likes) / math.log(5001)])
    elif d == "governance":
        p = r.proposal
        slots = (_onehot(p.category, _CATEGORY) + _onehot(p.proposer, _PROPOSER)
                 + [p.impact / 30, float(p.impact >= 3), float(p.impact >= 10)])
    else:  # pragma: no cover - schemas reject other domains
        raise BadInput(f"no policy features for domain {d!r}")
    slots += [0.0] * (N_SLOTS - len(slots))
    return [_q(x) for x in _onehot(d, POLICY_DOMAINS) + slots]


def label(record: Interaction | dict) -> int:
    """The action slot the user actually chose."""
    r = _as_record(record)
    chosen = r.vote if r.domain == "governance" else r.action
    return ACTIONS[r.domain].index(chosen)


def encode_many(records: Sequence[Interaction | dict]):
    """``(X float32 [N, F], y int64 [N])`` tensors."""
    import torch

    recs = [_as_record(r) for r in records]
    x = torch.tensor([encode(r) for r in recs], dtype=torch.float32)
    y = torch.tensor([label(r) for r in recs], dtype=torch.int64)
    return x, y


# -- model ----------------------------------------------------------------------------------

def _mlp(config: PolicyConfig):
    import torch

    class PolicyMLP(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.l1 = torch.nn.Linear(config.n_features, config.hidden)
            self.l2 = torch.nn.Linear(config.hidden, config.n_classes)

        def forward(self, x):
            return self.l2(torch.relu(self.l1(x)))

    return PolicyMLP()


class _ArgmaxHead:
    """Wraps the MLP so the exported graph ends in ArgMax: the circuit's public outputs are
    the predicted action slots (one integer per record), from which accuracy is counted."""

    @staticmethod
    def build(mlp):
        import torch

        class WithArgmax(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.mlp = mlp

            def forward(self, x):
                return torch.argmax(self.mlp(x), dim=1, keepdim=True)

        return WithArgmax().eval()


def quantize_(tensors: dict) -> None:
    """Round every parameter to the ezkl fixed-point grid (in place)."""
    step = 2 ** PARAM_SCALE
    for t in tensors.values():
        t.mul_(step).round_().div_(step)


def train_policy(records: Sequence[Interaction | dict], config: PolicyConfig | None = None,
                 progress=None, held_out_fraction: float = 0.1) -> Policy:
    """Train deterministically on ``records`` (any mix of domains); metrics on a held-out split.

    ``progress(done, total)`` is called every few epochs.
    """
    import torch

    from zoo_cli.engine.data import split

    config = config or PolicyConfig()
    recs = [_as_record(r) for r in records]
    recs = [r for r in recs if r.domain in POLICY_DOMAINS]
    if len(recs) < 2:
        raise BadInput("a policy needs at least 2 interactions", hint="zoo data synth --domain defi --n 2000 -o FILE")
    train, held = split(recs, held_out_fraction)
    x, y = encode_many(train)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # bit-identical results across machines and runs
    try:
        gen_state = torch.random.get_rng_state()
        torch.manual_seed(config.seed)
        mlp = _mlp(config)
        opt = torch.optim.Adam(mlp.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        for epoch in range(config.epochs):
            opt.zero_grad()
            # plain CE over all slots: a domain's unused slots are pushed down, so the
            # circuit's unmasked argmax never picks them
            loss = torch.nn.functional.cross_entropy(mlp(x), y)
            loss.backward()
            opt.step()
            if progress and (epoch % 20 == 19 or epoch == config.epochs - 1):
                progress(epoch + 1, config.epochs)
        torch.random.set_rng_state(gen_state)
    finally:
        torch.set_num_threads(threads)
    tensors = {k: v.detach().clone() for k, v in mlp.state_dict().items()}
    quantize_(tensors)
    domains = tuple(d for d in POLICY_DOMAINS if any(r.domain == d for r in recs))
    policy = Policy(config, tensors, domains)
    policy.metrics = {
        "train_records": len(train),
        "held_out_records": len(held),
        "final_loss": round(float(loss.detach()), 6),
        "train_accuracy": round(accuracy(policy, train), 6),
        "held_out_accuracy": round(accuracy(policy, held), 6) if held else None,
        "per_domain": {d: round(accuracy(policy, [r for r in held if r.domain == d]), 6)
                       for d in domains if any(r.domain == d for r in held)},
    }
    return policy


def predict(policy: Policy, records: Sequence[Interaction | dict]) -> list[int]:
    """Predicted action slot per record: the argmax over all slots, exactly as the circuit
    computes it (ties go to the lowest slot, as in torch and ezkl)."""
    import torch

    if not records:
        return []
    x, _ = encode_many(records)
    with torch.no_grad():
        return torch.argmax(policy.module()(x), dim=1).tolist()


def accuracy(policy: Policy, records: Sequence[Interaction | dict]) -> float:
    recs = [_as_record(r) for r in records]
    if not recs:
        return 0.0
    preds = predict(policy, recs)
    return sum(int(p == label(r)) for p, r in zip(preds, recs)) / len(recs)


def export_onnx(policy: Policy, batch: int, path) -> None:
    """ONNX graph ``x[batch, F] -> argmax slot [batch, 1]`` (opset 17) for ezkl."""
    import warnings

    import torch

    model = _ArgmaxHead.build(policy.module())
    dummy = torch.zeros(batch, policy.config.n_features)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (dummy,), str(path), input_names=["features"], output_names=["action"],
                          opset_version=17, dynamo=False)


def policy_suggest(policy: Policy, record_fields: dict) -> dict:
    """The policy's decision for one context.

    ``record_fields`` is an interaction record (its ``domain`` and context fields); the action
    field may be absent — a placeholder is filled in for validation only.
    """
    import torch

    fields = dict(record_fields)
    domain = fields.get("domain")
    if domain not in POLICY_DOMAINS:
        raise BadInput(f"no policy decision for domain {domain!r}", hint=f"use one of: {', '.join(POLICY_DOMAINS)}")
    if domain not in policy.domains:
        raise BadInput(f"this policy was not trained on {domain!r} (it knows: {', '.join(policy.domains)})")
    key = "vote" if domain == "governance" else "action"
    fields.setdefault(key, ACTIONS[domain][0])
    if domain == "defi":
        fields.setdefault("tokens", [str(fields.get("market", {}).get("pool", "ETH/USDC")).split("/")[0]])
    x = torch.tensor([encode(fields)], dtype=torch.float32)
    with torch.no_grad():
        logits = policy.module()(x)[0]
    n = len(ACTIONS[domain])
    probs = torch.softmax(logits[:n], dim=0)
    order = torch.argsort(probs, descending=True).tolist()
    slot = int(torch.argmax(logits))  # the circuit's answer (all slots)
    action = ACTIONS[domain][slot] if slot < n else ACTIONS[domain][order[0]]
    return {
        "domain": domain,
        "action": action,
        "confidence": round(float(probs[ACTIONS[domain].index(action)]), 4),
        "ranking": [{"action": ACTIONS[domain][i], "p": round(float(probs[i]), 4)} for i in order],
    }
