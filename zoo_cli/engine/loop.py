"""The training loop shared by base pre-training (engine.base) and LoRA fine-tuning
(engine.train): deterministic batch order, bounded logits per forward, resumable steps.

Kept below both so that neither imports the other.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable

Progress = Callable[[int, int, dict], None]


class Stopped(Exception):
    """KeyboardInterrupt (or ``stop()``) after ``step`` completed steps."""

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

    Raises ``Stopped(step)`` on KeyboardInterrupt (after the current step), leaving
    the model and ``optimizer`` consistent with ``step`` completed steps.
    """
    import torch
    import torch.nn.functional as F

    from zoo_cli.engine.device import autocast, for_model, grad_scaler

    device = next(model.parameters()).device
    choice = for_model(model)
    scaler = grad_scaler(choice)
    sub = _sub_batch(batch_size, packed_len(packed), _vocab(model))
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
                mb = rows[a * batch_size:(a + 1) * batch_size]
                # rows in slices small enough that batch x seq x vocab logits stay bounded
                # (a 150k vocabulary at 4k context would need GBs per row-batch otherwise)
                for s0 in range(0, len(mb), sub):
                    r = mb[s0:s0 + sub]
                    x, y, p = ids[r].to(device), labels[r].to(device), pos[r].to(device)
                    with autocast(choice):
                        logits = model(input_ids=x, position_ids=p, use_cache=False).logits
                    loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)).float(),
                                           y[:, 1:].reshape(-1), ignore_index=-100, reduction="sum")
                    del logits
                    scaled = loss / max(1, n_target)
                    (scaler.scale(scaled) if scaler is not None else scaled).backward()
                    step_loss += float(loss.detach())
            if scaler is not None:
                scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            if scaler is not None:
                scaler.step(optimizer)
                scaler.update()
            else:
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
        raise Stopped(completed) from None
    finally:
        model.eval()
    el = time.monotonic() - t0
    return {"steps": steps - start_step, "seconds": round(el, 3), "useful_tokens": useful_tokens,
            "tokens_per_s": round(useful_tokens / el, 1) if el > 0 else 0.0,
            "final_loss": round(sum(losses[-10:]) / max(1, len(losses[-10:])), 4) if losses else None,
            "optimizer": optimizer}


LOGITS_BUDGET = 1 << 27  # floats of logits per forward (512 MB in float32)


def packed_len(packed) -> int:
    return len(packed.input_ids[0]) if packed.input_ids else 1


def _vocab(model) -> int:
    emb = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if emb is not None and getattr(emb, "weight", None) is not None:
        return int(emb.weight.shape[0])
    return int(getattr(getattr(model, "config", None), "vocab_size", 0) or 1)


def _sub_batch(batch_size: int, seq_len: int, vocab: int, budget: int | None = None) -> int:
    """Rows per forward so that rows x seq_len x vocab logits fit ``budget`` (at least 1).

    Small models (zoo-tiny: 4 x 256 x 1024) run the whole micro-batch at once, as before.
    """
    budget = LOGITS_BUDGET if budget is None else budget
    return max(1, min(batch_size, budget // max(1, seq_len * vocab)))
