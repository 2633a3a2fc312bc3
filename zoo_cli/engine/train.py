"""LoRA fine-tuning on packed sequences: deterministic, resumable, measured.

Same base, data, config (seed included) and thread count give a bit-identical
adapter on the same machine: the batch order is a pure function of (seed, step),
dropout is off by default and all randomness is seeded. Ctrl-C saves a checkpoint
(safetensors + JSON, never pickle) into ``checkpoint_dir``; running again with the
same inputs resumes from it and ends with the same adapter as an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from zoo_cli.engine.base import BaseModel
from zoo_cli.engine.data import Dataset, split
from zoo_cli.engine.loop import Progress, Stopped, run_steps
from zoo_cli.errors import BadInput, Interrupted

TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters; ``epochs`` (if set) overrides ``steps``."""

    steps: int = 150
    epochs: float | None = None
    rank: int = 8
    alpha: int | None = None  # default: 2 * rank
    lr: float = 4e-3
    seed: int = 0
    batch_size: int = 4  # packed rows (of seq_len tokens, ~10 examples each) per micro-batch
    grad_accum: int = 1
    seq_len: int = 256
    warmup: int = 10
    dropout: float = 0.0
    weight_decay: float = 0.0
    eval_fraction: float = 0.1
    # share of extra "anchor" examples: prompts of the domains the data lacks, answered by
    # the base itself, so the adapter leaves other skills alone (merges keep them)
    anchor_fraction: float = 0.1
    threads: int | None = None
    device: str = "auto"
    # None: every linear projection of the base's blocks (engine.arch.lora_targets); for
    # Llama-style bases (zoo-tiny) that is exactly TARGET_MODULES
    target_modules: tuple[str, ...] | None = None
    gradient_checkpointing: bool = False  # less activation memory, ~30 % more compute
    compress: str = "none"  # "int4": store the adapter as per-group int4 (engine.quant)

    def __post_init__(self):
        checks = [
            (1 <= self.steps <= 1_000_000, "--steps must be 1..1,000,000"),
            (self.epochs is None or 0 < self.epochs <= 1000, "--epochs must be > 0"),
            (1 <= self.rank <= 256, "--rank must be 1..256"),
            (0 < self.lr < 1, "--lr must be in (0, 1)"),
            (1 <= self.batch_size <= 4096 and 1 <= self.grad_accum <= 1024, "bad batch size"),
            (16 <= self.seq_len <= 8192, "seq_len must be 16..8192"),
            (0 <= self.dropout < 1, "dropout must be in [0, 1)"),
            (0 < self.eval_fraction < 1, "eval_fraction must be in (0, 1)"),
            (0 <= self.anchor_fraction <= 1, "anchor_fraction must be in [0, 1]"),
            (self.threads is None or self.threads >= 1, "threads must be >= 1"),
            (self.seed >= 0, "--seed must be >= 0"),
            (self.compress in ("none", "int4"), "--compress must be none or int4"),
        ]
        for ok, msg in checks:
            if not ok:
                raise BadInput(msg)

    def fingerprint(self) -> str:
        d = asdict(self)
        d.pop("threads")
        d.pop("device")
        d.pop("gradient_checkpointing")  # same result, different memory/time trade-off
        if d["target_modules"] is None:
            # auto: chosen from the base, whose hash is part of every checkpoint key
            d["target_modules"] = list(TARGET_MODULES)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class TrainResult:
    adapter: dict[str, bytes]
    ops: int
    task_scores: dict[str, int]
    performance: int
    base_task_scores: dict[str, int]
    base_performance: int
    merkle_root: bytes
    metrics: dict = field(default_factory=dict)


# -- LoRA training ---------------------------------------------------------------------------

def _lora_config(cfg: TrainConfig, model=None):
    from peft import LoraConfig, TaskType

    from zoo_cli.engine.arch import lora_targets

    fan_in_fan_out = False
    if cfg.target_modules is not None:
        targets = list(cfg.target_modules)
    elif model is None:
        targets = list(TARGET_MODULES)
    else:
        found = lora_targets(model)
        targets, fan_in_fan_out = list(found.modules), found.fan_in_fan_out
        if set(targets) == set(TARGET_MODULES):
            targets = list(TARGET_MODULES)
    return LoraConfig(task_type=TaskType.CAUSAL_LM, r=cfg.rank, lora_alpha=cfg.alpha or 2 * cfg.rank,
                      lora_dropout=cfg.dropout, target_modules=targets, bias="none",
                      fan_in_fan_out=fan_in_fan_out)


def _enable_checkpointing(model) -> None:
    """Activation (gradient) checkpointing on a PeftModel: recompute in backward."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if not getattr(base, "supports_gradient_checkpointing", False):
        raise BadInput(f"{type(base).__name__} does not support gradient checkpointing",
                       hint="train without --gradient-checkpointing")
    kwargs = {"use_reentrant": False}
    if hasattr(base, "activation_checkpointing_enable"):  # transformers >= 5.x
        base.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
    else:
        base.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
    if hasattr(model, "enable_input_require_grads"):
        model.enable_input_require_grads()


def _ckpt_key(base: BaseModel, dataset: Dataset, cfg: TrainConfig, parent: dict | None) -> str:
    h = hashlib.sha256(base.hash32 + dataset.merkle_root + cfg.fingerprint().encode())
    if parent is not None:
        h.update(hashlib.sha256(parent.get("adapter_model.safetensors", b"")).digest())
    return h.hexdigest()[:24]


def _save_checkpoint(folder: Path, key: str, step: int, model, optimizer) -> None:
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    from zoo_cli.fsutil import atomic_write

    folder.mkdir(parents=True, exist_ok=True)
    sd = get_peft_model_state_dict(model, save_embedding_layers=False)
    save_file({k: v.detach().cpu().contiguous() for k, v in sd.items()}, str(folder / "lora.safetensors.tmp"))
    (folder / "lora.safetensors.tmp").replace(folder / "lora.safetensors")
    opt = optimizer.state_dict()
    tensors, meta = {}, {}
    for pid, st in opt["state"].items():
        for name, val in st.items():
            tensors[f"{pid}.{name}"] = val.detach().cpu().contiguous().reshape(val.shape)
    save_file(tensors, str(folder / "optimizer.safetensors.tmp"))
    (folder / "optimizer.safetensors.tmp").replace(folder / "optimizer.safetensors")
    meta = {"key": key, "step": step, "param_groups": opt["param_groups"]}
    atomic_write(folder / "checkpoint.json", json.dumps(meta).encode(), mode=0o600)


def _load_checkpoint(folder: Path, key: str, model, optimizer) -> int:
    import torch
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    meta_p = folder / "checkpoint.json"
    if not meta_p.exists():
        return 0
    meta = json.loads(meta_p.read_text())
    if meta.get("key") != key:
        return 0
    set_peft_model_state_dict(model, load_file(str(folder / "lora.safetensors")))
    flat = load_file(str(folder / "optimizer.safetensors"))
    state: dict[int, dict] = {}
    for k, v in flat.items():
        pid, name = k.split(".", 1)
        state.setdefault(int(pid), {})[name] = v
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    del torch
    return int(meta["step"])


def clear_checkpoint(folder: Path | None) -> None:
    if folder is None:
        return
    for name in ("checkpoint.json", "lora.safetensors", "optimizer.safetensors"):
        (Path(folder) / name).unlink(missing_ok=True)


def _anchor_pairs(model, tok, dataset: Dataset, n_train: int, cfg: TrainConfig) -> list[tuple[str, str]]:
    """(prompt, the base's own answer) for domains absent from the data."""
    from zoo_cli.engine.evaluate import generate
    from zoo_cli.engine.schemas import DOMAINS, example_text, parse_record
    from zoo_cli.engine.synth import synth

    others = [d for d in DOMAINS if d not in dataset.domains]
    n = int(n_train * cfg.anchor_fraction) // max(1, len(others))
    if model is None or n == 0:
        return []
    prompts = [example_text(parse_record(r))[0] for d in others
               for r in synth(d, n, seed=10_000 + cfg.seed, profile="random")]
    return list(zip(prompts, generate(model, tok, prompts)))


def train(base: BaseModel, dataset: Dataset, config: TrainConfig | None = None,
          progress: Progress | None = None, checkpoint_dir: Path | None = None,
          parent_adapter: dict[str, bytes] | None = None,
          stop: Callable[[], bool] | None = None) -> TrainResult:
    """Fine-tune a LoRA adapter on ``dataset`` and measure it on the held-out split.

    ``parent_adapter`` continues training an existing adapter (the next generation
    of a token; its LoRA shape wins over ``config.rank``). On Ctrl-C (or ``stop()``
    returning True) a checkpoint is written to ``checkpoint_dir`` and ``Interrupted``
    is raised; the same call later resumes from it.
    """
    from zoo_cli.engine.adapters import from_peft_model
    from zoo_cli.engine.base import load_base
    from zoo_cli.engine.device import select
    from zoo_cli.engine.evaluate import evaluate_model
    from zoo_cli.engine.loading import load_peft
    from zoo_cli.engine.packing import encode_examples, pack
    from zoo_cli.engine.runtime import torch_setup
    from zoo_cli.engine.schemas import example_text

    cfg = config or TrainConfig()
    from zoo_cli.engine.router import is_routed

    if parent_adapter is not None and is_routed(parent_adapter):
        return _train_routed(base, dataset, cfg, progress, checkpoint_dir, parent_adapter, stop)
    torch = torch_setup(cfg.threads)
    choice = select(cfg.device)
    device = choice.device
    t_start = time.monotonic()
    train_recs, held = split(dataset.records, cfg.eval_fraction)
    if not train_recs:
        raise BadInput("need at least 2 records to train and evaluate")

    base_model, tok = load_base(base, device)
    t_eval0 = time.monotonic()
    base_scores, base_perf = evaluate_model(base_model, tok, held)
    eval_seconds = time.monotonic() - t_eval0
    if parent_adapter is None and cfg.anchor_fraction > 0:
        anchors_from = base_model
    else:
        anchors_from = None

    torch.manual_seed(cfg.seed)
    if parent_adapter is not None:
        model, tok = load_peft(base, [parent_adapter], names=["default"], trainable=True, device=device)
    else:
        from peft import get_peft_model

        try:
            model = get_peft_model(base_model, _lora_config(cfg, base_model))
        except ValueError as exc:  # e.g. "Target modules {...} not found in the base model"
            raise BadInput(f"cannot put LoRA on base {base.id}: {str(exc).splitlines()[0]}",
                           hint="check --base (a causal LM with linear projections)") from None
    if cfg.gradient_checkpointing:
        _enable_checkpointing(model)
    params = [p for p in model.parameters() if p.requires_grad]

    pairs = [example_text(r) for r in train_recs]
    anchors = _anchor_pairs(anchors_from, tok, dataset, len(train_recs), cfg)
    examples = encode_examples(tok, pairs + anchors, max_len=cfg.seq_len)
    packed = pack(examples, cfg.seq_len, tok.pad_token_id, seed=cfg.seed)
    steps = cfg.steps
    if cfg.epochs is not None:
        steps = max(1, math.ceil(cfg.epochs * packed.rows / (cfg.batch_size * cfg.grad_accum)))

    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, betas=(0.9, 0.99))
    key = _ckpt_key(base, dataset, cfg, parent_adapter)
    start = 0
    if checkpoint_dir is not None:
        start = _load_checkpoint(Path(checkpoint_dir), key, model, optimizer)
    try:
        m = run_steps(model, params, packed, steps=steps, batch_size=cfg.batch_size, lr=cfg.lr,
                      seed=cfg.seed, warmup=cfg.warmup, grad_accum=cfg.grad_accum,
                      weight_decay=cfg.weight_decay, progress=progress, start_step=start,
                      optimizer=optimizer, stop=stop)
    except Stopped as s:
        if checkpoint_dir is not None:
            _save_checkpoint(Path(checkpoint_dir), key, s.step, model, optimizer)
            raise Interrupted(f"training stopped at step {s.step}/{steps}; checkpoint saved",
                              hint="run the same command again to resume") from None
        raise Interrupted(f"training stopped at step {s.step}/{steps}") from None
    m.pop("optimizer")
    clear_checkpoint(checkpoint_dir)

    t_eval1 = time.monotonic()
    scores, perf = evaluate_model(model, tok, held)
    eval_seconds += time.monotonic() - t_eval1
    adapter = from_peft_model(model, base, extra={"dataset_merkle_root": dataset.merkle_root.hex(),
                                                    "ops": dataset.ops, "seed": cfg.seed})
    compression = None
    if cfg.compress != "none":
        from zoo_cli.engine.evaluate import evaluate
        from zoo_cli.engine.quant import compress

        stored = compress(adapter, cfg.compress)
        t_eval2 = time.monotonic()
        c_scores, c_perf = evaluate(base, stored, held)  # the scores are those of what is stored
        eval_seconds += time.monotonic() - t_eval2
        compression = {"method": cfg.compress, "float32_bytes": sum(len(v) for v in adapter.values()),
                       "stored_bytes": sum(len(v) for v in stored.values()),
                       "float32_performance": perf, "performance": c_perf}
        compression["ratio"] = round(compression["float32_bytes"] / compression["stored_bytes"], 2)
        compression["retained"] = round(c_perf / perf, 4) if perf else 1.0
        adapter, scores, perf = stored, c_scores, c_perf
    n_params = sum(p.numel() for p in params)
    metrics = {
        **m, "total_steps": steps, "resumed_from": start, "device": device, "dtype": choice.dtype,
        "gradient_checkpointing": cfg.gradient_checkpointing,
        "target_modules": sorted(model.peft_config["default"].target_modules or []),
        "threads": torch.get_num_threads(), "train_records": len(train_recs),
        "held_out_records": len(held), "packed_rows": packed.rows, "anchor_examples": len(anchors),
        "padding_fraction": round(1 - packed.useful_tokens / (packed.rows * cfg.seq_len), 4),
        "trainable_params": n_params, "adapter_bytes": sum(len(v) for k, v in adapter.items()
                                                           if k.endswith(".safetensors")),
        "compression": compression,
        "eval_seconds": round(eval_seconds, 3), "wall_seconds": round(time.monotonic() - t_start, 3),
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(cfg).items()},
        "steps_total": steps,
    }
    return TrainResult(adapter=adapter, ops=dataset.ops, task_scores=scores, performance=perf,
                       base_task_scores=base_scores, base_performance=base_perf,
                       merkle_root=dataset.merkle_root, metrics=metrics)


def _train_routed(base: BaseModel, dataset: Dataset, cfg: TrainConfig, progress, checkpoint_dir,
                  parent: dict[str, bytes], stop) -> TrainResult:
    """The next generation of a routed merge: each expert continues training on the records
    routed to it (records no expert covers train the cat fallback); the router is kept."""
    from zoo_cli.engine.data import dataset_from_records
    from zoo_cli.engine.evaluate import evaluate
    from zoo_cli.engine.router import EXPERTS, experts, fallback, route
    from zoo_cli.engine.schemas import example_text

    pool = experts(parent)
    targets = route(parent, [example_text(r)[0] for r in dataset.records])
    files = dict(parent)
    metrics: dict = {"routed": {}}
    for name in sorted(set(targets)):
        recs = [r for r, t in zip(dataset.records, targets) if t == name]
        if len(recs) < 2:
            continue
        sub = dataset_from_records(recs)
        sub_ckpt = None if checkpoint_dir is None else Path(checkpoint_dir) / f"expert-{name}"
        src = fallback(parent) if name == "fallback" else pool[name]
        res = train(base, sub, cfg, progress=progress, checkpoint_dir=sub_ckpt, parent_adapter=src, stop=stop)
        prefix = "" if name == "fallback" else f"{EXPERTS}{name}/"
        for k in list(files):
            if (name == "fallback" and "/" not in k and k != "router.json") or (prefix and k.startswith(prefix)):
                del files[k]
        files.update({prefix + k: v for k, v in res.adapter.items()})
        metrics["routed"][name] = {"records": len(recs), "performance": res.performance,
                                   "steps": res.metrics.get("total_steps")}
    _, held = split(dataset.records, cfg.eval_fraction)
    scores, perf = evaluate(base, files, held)
    base_scores, base_perf = evaluate(base, None, held)
    metrics.update({"device": select_device_name(cfg.device), "held_out_records": len(held)})
    return TrainResult(adapter=dict(sorted(files.items())), ops=dataset.ops, task_scores=scores, performance=perf,
                       base_task_scores=base_scores, base_performance=base_perf,
                       merkle_root=dataset.merkle_root, metrics=metrics)


def select_device_name(requested: str) -> str:
    from zoo_cli.engine.device import select

    return select(requested).device
