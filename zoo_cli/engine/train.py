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
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from zoo_cli.engine.base import BaseModel
from zoo_cli.engine.data import Dataset, split
from zoo_cli.errors import BadInput, Interrupted

Progress = Callable[[int, int, dict], None]
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
    target_modules: tuple[str, ...] = TARGET_MODULES

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
        ]
        for ok, msg in checks:
            if not ok:
                raise BadInput(msg)

    def fingerprint(self) -> str:
        d = asdict(self)
        d.pop("threads")
        d.pop("device")
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


class _Stopped(Exception):
    def __init__(self, step: int):
        self.step = step


def _lr_at(step: int, total: int, lr: float, warmup: int) -> float:
    if step < warmup:
        return lr * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))


def batch_rows(rows: int, step: int, per_step: int, seed: int) -> list[int]:
    """Row indices for ``step``: epochs of seeded permutations, a pure function of the step."""
    out = []
    start = step * per_step
    for pos in range(start, start + per_step):
        epoch, k = divmod(pos, rows)
        perm = _perm(rows, seed, epoch)
        out.append(perm[k])
    return out


_PERMS: dict[tuple, list[int]] = {}


def _perm(n: int, seed: int, epoch: int) -> list[int]:
    key = (n, seed, epoch)
    if key not in _PERMS:
        if len(_PERMS) > 8:
            _PERMS.clear()
        p = list(range(n))
        random.Random(f"zoo-batches|{seed}|{epoch}").shuffle(p)
        _PERMS[key] = p
    return _PERMS[key]


def run_steps(model, params, packed, *, steps: int, batch_size: int, lr: float, seed: int,
              warmup: int = 10, grad_accum: int = 1, weight_decay: float = 0.0,
              progress: Progress | None = None, phase: str = "train", start_step: int = 0,
              optimizer=None, stop: Callable[[], bool] | None = None) -> dict:
    """The training loop shared by pre-training and LoRA. Returns metrics.

    Raises ``_Stopped(step)`` on KeyboardInterrupt (after the current step), leaving
    the model and ``optimizer`` consistent with ``step`` completed steps.
    """
    import torch
    import torch.nn.functional as F

    device = next(model.parameters()).device
    ids = torch.tensor(packed.input_ids, dtype=torch.long)
    labels = torch.tensor(packed.labels, dtype=torch.long)
    pos = torch.tensor(packed.position_ids, dtype=torch.long)
    useful_per_row = torch.tensor(packed.row_useful)
    if optimizer is None:
        optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, betas=(0.9, 0.99))
    model.train()
    per_step = batch_size * grad_accum
    losses: list[float] = []
    useful_tokens = 0
    t0 = time.monotonic()
    step = start_step
    try:
        for step in range(start_step, steps):
            for g in optimizer.param_groups:
                g["lr"] = _lr_at(step, steps, lr, warmup)
            rows = batch_rows(packed.rows, step, per_step, seed)
            optimizer.zero_grad(set_to_none=True)
            n_target = int((labels[rows][:, 1:] != -100).sum())
            step_loss = 0.0
            for a in range(grad_accum):
                r = rows[a * batch_size:(a + 1) * batch_size]
                x, y, p = ids[r].to(device), labels[r].to(device), pos[r].to(device)
                logits = model(input_ids=x, position_ids=p, use_cache=False).logits
                loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)).float(),
                                       y[:, 1:].reshape(-1), ignore_index=-100, reduction="sum")
                (loss / max(1, n_target)).backward()
                step_loss += float(loss.detach())
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            losses.append(step_loss / max(1, n_target))
            useful_tokens += int(useful_per_row[rows].sum())
            if progress is not None:
                el = time.monotonic() - t0
                done = step + 1 - start_step
                progress(step + 1, steps, {
                    "phase": phase, "loss": round(losses[-1], 4),
                    "tokens_per_s": round(useful_tokens / el, 1) if el > 0 else 0.0,
                    "eta_s": round(el / done * (steps - step - 1), 1),
                })
            if stop is not None and stop():
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        # the step in flight either finished (optimizer.step ran) or not; count precisely
        completed = len(losses) + start_step
        raise _Stopped(completed) from None
    finally:
        model.eval()
    el = time.monotonic() - t0
    return {"steps": steps - start_step, "seconds": round(el, 3), "useful_tokens": useful_tokens,
            "tokens_per_s": round(useful_tokens / el, 1) if el > 0 else 0.0,
            "final_loss": round(sum(losses[-10:]) / max(1, len(losses[-10:])), 4) if losses else None,
            "optimizer": optimizer}


# -- LoRA training ---------------------------------------------------------------------------

def _lora_config(cfg: TrainConfig):
    from peft import LoraConfig, TaskType

    return LoraConfig(task_type=TaskType.CAUSAL_LM, r=cfg.rank, lora_alpha=cfg.alpha or 2 * cfg.rank,
                      lora_dropout=cfg.dropout, target_modules=list(cfg.target_modules), bias="none")


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
    from zoo_cli.engine.adapters import from_peft_model, load_peft
    from zoo_cli.engine.base import load_base
    from zoo_cli.engine.evaluate import evaluate_model
    from zoo_cli.engine.packing import encode_examples, pack
    from zoo_cli.engine.runtime import pick_device, torch_setup
    from zoo_cli.engine.schemas import example_text

    cfg = config or TrainConfig()
    torch = torch_setup(cfg.threads)
    device = pick_device(cfg.device)
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

        model = get_peft_model(base_model, _lora_config(cfg))
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
    except _Stopped as s:
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
    n_params = sum(p.numel() for p in params)
    metrics = {
        **m, "total_steps": steps, "resumed_from": start, "device": device,
        "threads": torch.get_num_threads(), "train_records": len(train_recs),
        "held_out_records": len(held), "packed_rows": packed.rows, "anchor_examples": len(anchors),
        "padding_fraction": round(1 - packed.useful_tokens / (packed.rows * cfg.seq_len), 4),
        "trainable_params": n_params, "adapter_bytes": len(adapter["adapter_model.safetensors"]),
        "eval_seconds": round(eval_seconds, 3), "wall_seconds": round(time.monotonic() - t_start, 3),
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(cfg).items()},
        "steps_total": steps,
    }
    return TrainResult(adapter=adapter, ops=dataset.ops, task_scores=scores, performance=perf,
                       base_task_scores=base_scores, base_performance=base_perf,
                       merkle_root=dataset.merkle_root, metrics=metrics)
