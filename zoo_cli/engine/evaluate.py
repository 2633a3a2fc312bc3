"""Measuring a model: does it predict what the user actually did?

Metric per task (= domain): exact match of the greedy continuation of the record's
prompt with its target (action and key fields), whitespace-normalised. Scores are
integers 0..10000 (basis points), as on-chain; ``performance`` is the accuracy over
all records evaluated. Generation is batched by prompt length, so no padding and no
attention mask are needed (:func:`generate_padded`, for a server's mixed traffic, pads).
"""

from __future__ import annotations

from zoo_cli.engine.base import BaseModel
from zoo_cli.engine.schemas import Interaction, example_text

MAX_NEW_TOKENS = 10
BATCH = 256


def generate(model, tokenizer, prompts: list[str], max_new_tokens: int = MAX_NEW_TOKENS) -> list[str]:
    """Greedy continuations of ``prompts`` (text after the prompt, up to ``</s>``)."""
    import torch

    from zoo_cli.engine.device import autocast, for_model

    device = next(model.parameters()).device
    choice = for_model(model)
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    enc = tokenizer(list(prompts), add_special_tokens=False)["input_ids"]
    groups: dict[int, list[int]] = {}
    for i, ids in enumerate(enc):
        groups.setdefault(len(ids), []).append(i)
    out: list[str] = [""] * len(prompts)
    with torch.inference_mode(), autocast(choice):
        for _, idx in sorted(groups.items()):
            for s in range(0, len(idx), BATCH):
                chunk = idx[s:s + BATCH]
                x = torch.tensor([[bos] + enc[i] for i in chunk], device=device)
                new = []
                done = torch.zeros(len(chunk), dtype=torch.bool, device=device)
                for _ in range(max_new_tokens):
                    logits = model(input_ids=x, use_cache=False).logits[:, -1, :]
                    nxt = logits.argmax(-1)
                    nxt = torch.where(done, torch.full_like(nxt, eos), nxt)
                    new.append(nxt)
                    done |= nxt == eos
                    x = torch.cat([x, nxt[:, None]], dim=1)
                    if bool(done.all()):
                        break
                gen = torch.stack(new, dim=1).tolist()
                for row, i in zip(gen, chunk):
                    if eos in row:
                        row = row[: row.index(eos)]
                    out[i] = tokenizer.decode(row, skip_special_tokens=True).strip()
    return out


def generate_padded(model, tokenizer, prompts: list[str], adapter_names: list[str] | None = None,
                    max_new_tokens: int = MAX_NEW_TOKENS) -> list[str]:
    """:func:`generate` with prompts of any lengths in one batch: left padding, an attention
    mask and position ids counted from each row's first real token, so every row sees exactly
    what it would see alone (greedy answers equal :func:`generate`'s; ``zoo serve`` batches
    unrelated requests with it). ``adapter_names`` (one per prompt) runs each row on its own
    LoRA adapter of a PeftModel holding several (peft's mixed-adapter batches)."""
    import torch

    from zoo_cli.engine.device import autocast, for_model

    if adapter_names is not None and len(adapter_names) != len(prompts):
        raise ValueError("one adapter name per prompt")
    device = next(model.parameters()).device
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    enc = [[bos] + ids for ids in tokenizer(list(prompts), add_special_tokens=False)["input_ids"]]
    order = sorted(range(len(prompts)), key=lambda i: len(enc[i]))  # similar lengths share a chunk: less padding
    out: list[str] = [""] * len(prompts)
    with torch.inference_mode(), autocast(for_model(model)):
        for s in range(0, len(order), BATCH):
            chunk = order[s:s + BATCH]
            width = max(len(enc[i]) for i in chunk)
            x = torch.tensor([[pad] * (width - len(enc[i])) + enc[i] for i in chunk], device=device)
            mask = torch.tensor([[0] * (width - len(enc[i])) + [1] * len(enc[i]) for i in chunk], device=device)
            extra = {} if adapter_names is None else {"adapter_names": [adapter_names[i] for i in chunk]}
            new = []
            done = torch.zeros(len(chunk), dtype=torch.bool, device=device)
            for _ in range(max_new_tokens):
                pos = (mask.cumsum(-1) - 1).clamp(min=0)
                logits = model(input_ids=x, attention_mask=mask, position_ids=pos, use_cache=False,
                               **extra).logits[:, -1, :]
                nxt = torch.where(done, torch.full_like(logits[:, 0], eos, dtype=torch.long), logits.argmax(-1))
                new.append(nxt)
                done |= nxt == eos
                x = torch.cat([x, nxt[:, None]], dim=1)
                mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
                if bool(done.all()):
                    break
            for row, i in zip(torch.stack(new, dim=1).tolist(), chunk):
                if eos in row:
                    row = row[: row.index(eos)]
                out[i] = tokenizer.decode(row, skip_special_tokens=True).strip()
    return out


def normalise(text: str) -> str:
    return " ".join(text.split())


def score_candidates(model, tokenizer, prompt: str, candidates: list[str]) -> list[float]:
    """Log-probability of each ``prompt + ' ' + candidate + </s>`` continuation."""
    import torch

    from zoo_cli.engine.device import autocast, for_model

    device = next(model.parameters()).device
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    scores = []
    with torch.inference_mode(), autocast(for_model(model)):
        for cand in candidates:
            ids = [bos] + tokenizer(f"{prompt} {cand}", add_special_tokens=False)["input_ids"] + [eos]
            x = torch.tensor([ids], device=device)
            logp = torch.log_softmax(model(input_ids=x, use_cache=False).logits[0, :-1].float(), -1)
            tgt = x[0, 1:]
            lp = logp.gather(1, tgt[:, None])[:, 0]
            scores.append(float(lp[len(p_ids):].sum()))
    return scores


def to_bps(correct: int, total: int) -> int:
    return 0 if total == 0 else round(10_000 * correct / total)


def score_predictions(records: list[Interaction], predictions: list[str]) -> tuple[dict[str, int], int]:
    per: dict[str, list[int]] = {}
    for rec, pred in zip(records, predictions):
        ok = normalise(pred) == normalise(rec.target())
        c = per.setdefault(rec.domain, [0, 0])
        c[0] += ok
        c[1] += 1
    task_scores = {d: to_bps(c, n) for d, (c, n) in per.items()}
    total = sum(n for _, n in per.values())
    performance = to_bps(sum(c for c, _ in per.values()), total)
    return task_scores, performance


def evaluate_model(model, tokenizer, records: list[Interaction]) -> tuple[dict[str, int], int]:
    preds = generate(model, tokenizer, [example_text(r)[0] for r in records])
    return score_predictions(records, preds)


def evaluate(base: BaseModel, adapter: dict[str, bytes] | None, records) -> tuple[dict[str, int], int]:
    """(task_scores, performance) of base + adapter (``None``: the base alone) on ``records``.

    ``records`` are Interaction objects, dicts, or a Dataset; all of them are scored.
    """
    from zoo_cli.engine.base import load_base
    from zoo_cli.engine.data import Dataset, dataset_from_records
    from zoo_cli.engine.loading import load_peft

    if isinstance(records, Dataset):
        records = records.records
    elif records and isinstance(records[0], dict):
        records = dataset_from_records(records).records
    records = list(records)
    from zoo_cli.engine.router import is_routed, run_routed

    if is_routed(adapter):  # each record on the expert its prompt routes to
        preds = run_routed(base, adapter, [example_text(r)[0] for r in records], generate)
        return score_predictions(records, preds)
    if adapter is None:
        model, tok = load_base(base)
    else:
        model, tok = load_peft(base, [adapter])
    return evaluate_model(model, tok, records)
