"""Sequence packing: many short examples per row, no attention across examples.

Each row holds whole examples back to back; ``position_ids`` restart at 0 for every
example, which makes transformers build a block-diagonal causal mask (its packed-
sequence path, used when ``attention_mask`` is None). The unused tail of a row is one
more "example" of pad tokens with label -100. First-fit placement over a shuffled
order keeps the tail small (typically < 2 % of tokens).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

IGNORE = -100


@dataclass(frozen=True)
class Example:
    ids: tuple[int, ...]
    labels: tuple[int, ...]  # IGNORE where no loss


@dataclass
class Packed:
    input_ids: list[list[int]]
    labels: list[list[int]]
    position_ids: list[list[int]]
    useful_tokens: int  # non-padding tokens
    examples: int
    row_useful: list[int]  # non-padding tokens per row

    @property
    def rows(self) -> int:
        return len(self.input_ids)


def encode_examples(tokenizer, pairs: list[tuple[str, str]], loss_on_prompt: bool = False,
                    max_len: int = 256) -> list[Example]:
    """``<s> prompt target </s>``; loss on target (and eos) unless ``loss_on_prompt``."""
    prompts = tokenizer([p for p, _ in pairs], add_special_tokens=False)["input_ids"]
    full = tokenizer([f"{p} {t}" for p, t in pairs], add_special_tokens=False)["input_ids"]
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    out = []
    for p_ids, f_ids in zip(prompts, full):
        ids = [bos] + list(f_ids) + [eos]
        ids = ids[:max_len]
        if loss_on_prompt:
            labels = list(ids)
            labels[0] = IGNORE
        else:
            n_prompt = 1 + len(p_ids)
            labels = [IGNORE] * n_prompt + ids[n_prompt:]
        out.append(Example(tuple(ids), tuple(labels)))
    return out


def pack(examples: list[Example], seq_len: int, pad_id: int, seed: int) -> Packed:
    """Shuffle (seeded) and first-fit the examples into rows of ``seq_len`` tokens."""
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    rows: list[list[Example]] = []
    space: list[int] = []
    open_rows: list[int] = []  # indices of rows that still have room
    min_len = min((len(e.ids) for e in examples), default=1)
    for i in order:
        ex = examples[i]
        n = len(ex.ids)
        for k, r in enumerate(open_rows):
            if space[r] >= n:
                rows[r].append(ex)
                space[r] -= n
                if space[r] < min_len:
                    open_rows.pop(k)
                break
        else:
            rows.append([ex])
            space.append(seq_len - n)
            if space[-1] >= min_len:
                open_rows.append(len(rows) - 1)
            if len(open_rows) > 64:  # bound the search; close the fullest
                open_rows.pop(0)
    input_ids, labels, positions, row_useful = [], [], [], []
    useful = 0
    for row in rows:
        ids, lab, pos = [], [], []
        for ex in row:
            ids += ex.ids
            lab += ex.labels
            pos += range(len(ex.ids))
        useful += len(ids)
        row_useful.append(len(ids))
        pad = seq_len - len(ids)
        ids += [pad_id] * pad
        lab += [IGNORE] * pad
        pos += range(pad)
        input_ids.append(ids)
        labels.append(lab)
        positions.append(pos)
    return Packed(input_ids, labels, positions, useful, len(examples), row_useful)
