"""Evaluation-set commitment and the contract's accuracy rule, without proofs."""

from __future__ import annotations

from zoo_cli.engine import policy as pol
from zoo_cli.engine import zk
from zoo_cli.engine.synth import synth

W = zk.ZK_BATCH * pol.N_FEATURES


def _instances(es: zk.EvalSet, preds: list[int], phash: int = 5) -> list[list[int]]:
    out = []
    for c, chunk in enumerate(es.chunks):
        ys = preds[c * zk.ZK_BATCH:(c + 1) * zk.ZK_BATCH]
        ys += [0] * (zk.ZK_BATCH - len(ys))
        out.append([phash, *chunk, *ys])
    return out


def test_multi_chunk_commitment_and_accuracy():
    recs = synth("defi", 70, 11)
    es = zk.eval_set(recs)
    assert len(es.chunks) == 2 and all(len(c) == W for c in es.chunks)
    assert es.chunks[1][6 * pol.N_FEATURES:] == [0] * (W - 6 * pol.N_FEATURES)  # padding rows
    labels = list(es.labels)
    preds = labels[:60] + [(y + 1) % 8 for y in labels[60:]]
    insts = _instances(es, preds)
    assert zk.commitment_from_instances(insts, es.labels) == es.commitment
    assert zk.accuracy_from_instances(insts, es.labels) == (60, 60 * 10_000 // 70)
    insts[1][1] += 1  # another set
    assert zk.commitment_from_instances(insts, es.labels) != es.commitment
    assert zk.eval_set(recs).commitment == es.commitment  # deterministic
