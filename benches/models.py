#!/usr/bin/env python3
"""Model-quality benchmarks (issue 16): merge retention and adapter compression.

merge: four parents trained on zoo-tiny, one per domain (defi, gaming, nft, governance;
`zoo data synth` records, seed per domain), each merged with every method, as 2-parent
(defi + gaming) and 4-parent merges. Retention = merged score / the parent's own score on
that parent's held-out evaluation set (a separate synthetic set, seed 9001), per parent;
the table shows the minimum and mean over parents.

compression: the DeFi parent compressed with int4 (per-group 4-bit A/B) and with a true
BitDelta (1-bit sign of the full delta B@A per matrix, one scale each): stored bytes,
ratio to the float32 adapter, held-out accuracy and retention.

    python benches/models.py [--only merge,compression] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

DOMAINS = ("defi", "gaming", "nft", "governance")
METHODS = ("route", "cat", "svd", "ties", "dare_ties", "linear")


def _parents(base, quick: bool, domains=DOMAINS):
    from zoo_cli.engine.data import dataset_from_records
    from zoo_cli.engine.synth import synth
    from zoo_cli.engine.train import TrainConfig, train

    n, steps = (600, 60) if quick else (2000, 150)
    out = {}
    for i, d in enumerate(DOMAINS):
        if d not in domains:
            continue
        t0 = time.monotonic()
        r = train(base, dataset_from_records(synth(d, n, seed=1 + i)), TrainConfig(steps=steps, seed=i))
        out[d] = r.adapter
        print(f"# parent {d}: {r.performance} bps held-out, {time.monotonic() - t0:.0f} s", file=sys.stderr)
    return out


def _eval_sets(n: int):
    from zoo_cli.engine.data import dataset_from_records
    from zoo_cli.engine.synth import synth

    return {d: dataset_from_records(synth(d, n, seed=9001)).records for d in DOMAINS}


def bench_merge(base, parents, sets) -> list[dict]:
    from zoo_cli.engine.evaluate import evaluate
    from zoo_cli.engine.merge import merge

    own = {d: evaluate(base, parents[d], sets[d])[1] for d in DOMAINS}
    rows = []
    for group in (("defi", "gaming"), DOMAINS):
        for method in METHODS:
            t0 = time.monotonic()
            try:
                merged = merge(base, [parents[d] for d in group], method=method, seed=0,
                               domains=[[d] for d in group])
            except Exception as exc:  # noqa: BLE001 - reported
                rows.append({"parents": len(group), "method": method, "error": str(exc)[:120]})
                continue
            kept = {d: evaluate(base, merged, sets[d])[1] / own[d] if own[d] else 1.0 for d in group}
            rows.append({"parents": len(group), "method": method,
                         "min_retained": round(min(kept.values()), 4),
                         "mean_retained": round(sum(kept.values()) / len(kept), 4),
                         "per_parent": {d: round(v, 4) for d, v in kept.items()},
                         "bytes": sum(len(v) for v in merged.values()),
                         "seconds": round(time.monotonic() - t0, 1)})
            print(f"# merge {len(group)}x {method}: min {rows[-1]['min_retained']}", file=sys.stderr)
    return rows, own


def bench_compression(base, adapter, records) -> list[dict]:
    from zoo_cli.engine.base import load_base
    from zoo_cli.engine.evaluate import evaluate, evaluate_model
    from zoo_cli.engine.quant import apply_deltas, bitdelta, compress, full_deltas

    fp32 = len(adapter["adapter_model.safetensors"])
    own = evaluate(base, adapter, records)[1]
    rows = [{"method": "float32 adapter", "bytes": fp32, "ratio": 1.0, "accuracy": own, "retained": 1.0}]
    stored = compress(adapter, "int4")
    size = len(stored["adapter_int4.safetensors"])
    acc = evaluate(base, stored, records)[1]
    rows.append({"method": "int4 (g64, A and B)", "bytes": size, "ratio": round(fp32 / size, 2),
                 "accuracy": acc, "retained": round(acc / own, 4) if own else 1.0})
    deltas = full_deltas(adapter)
    recon, size = bitdelta(deltas)
    model, tok = load_base(base)
    apply_deltas(model, recon)
    acc = evaluate_model(model, tok, records)[1]
    rows.append({"method": "BitDelta (1-bit full delta, per-matrix scale)", "bytes": size,
                 "ratio": round(fp32 / size, 2), "accuracy": acc, "retained": round(acc / own, 4) if own else 1.0})
    full32 = sum(d.numel() * 4 for d in deltas.values())
    rows.append({"method": "full delta float32 (reference)", "bytes": full32, "ratio": round(fp32 / full32, 2),
                 "accuracy": None, "retained": None})
    return rows


def matmul_peak(threads: int = 2, n: int = 1024, repeats: int = 7) -> float:
    """Measured float32 matmul FLOP/s of this machine (median of ``repeats``)."""
    import statistics

    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(4):
            torch.mm(a, b)
        times.append((time.perf_counter() - t0) / 4)
    return 2 * n ** 3 / statistics.median(times)


def bench_mfu(base, threads: int = 2) -> dict:
    """Training MFU: model FLOPs of zoo's LoRA steps / (wall time x measured matmul peak).

    FLOPs per token: 2N forward + 2N backward through the frozen base (input gradients
    only) + 6 per LoRA parameter, N = base parameters (attention score FLOPs ignored)."""
    from zoo_cli.engine.data import dataset_from_records
    from zoo_cli.engine.synth import synth
    from zoo_cli.engine.train import TrainConfig, train

    peak = matmul_peak(threads)
    data = dataset_from_records(synth("defi", 400, seed=21))
    r = train(base, data, TrainConfig(steps=20, threads=threads, anchor_fraction=0.0))
    from safetensors.torch import load_file

    n_base = sum(t.numel() for t in load_file(str(base.path / "model.safetensors")).values())
    m = r.metrics
    tokens = m["total_steps"] * 4 * 256  # rows x seq_len (padding included: the model computes it)
    flops = tokens * (4 * n_base + 6 * m["trainable_params"])
    achieved = flops / m["seconds"]
    return {"peak_flops": round(peak), "achieved_flops": round(achieved), "mfu": round(achieved / peak, 4),
            "threads": threads, "base_params": n_base, "train_seconds": m["seconds"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="merge,compression,mfu")
    ap.add_argument("--quick", action="store_true", help="smaller parents (600 records, 60 steps)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    only = {x.strip() for x in args.only.split(",") if x.strip()}
    from zoo_cli.config import default_cache
    from zoo_cli.engine.base import resolve_base

    base = resolve_base("zoo-tiny", default_cache())
    t0 = time.monotonic()
    out: dict = {"quick": args.quick,
                 "machine": {"cpus": os.cpu_count(), "loadavg_at_start": [round(x, 2) for x in os.getloadavg()]}}
    if only == {"mfu"}:
        out["mfu"] = bench_mfu(base)
        print(json.dumps(out, indent=2))
        return 0
    # compression alone needs only the DeFi parent
    parents = _parents(base, args.quick, ("defi",) if only == {"compression"} else DOMAINS)
    sets = _eval_sets(100 if args.quick else 200)
    if not only or "merge" in only:
        out["merge"], out["parent_scores"] = bench_merge(base, parents, sets)
    if not only or "compression" in only:
        out["compression"] = bench_compression(base, parents["defi"], sets["defi"])
    out["seconds"] = round(time.monotonic() - t0, 1)
    out["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    if "merge" in out:
        print("| parents | method | min retained | mean retained | stored bytes |\n| --- | --- | --- | --- | --- |")
        for r in out["merge"]:
            if "error" in r:
                print(f"| {r['parents']} | {r['method']} | error: {r['error']} | | |")
            else:
                print(f"| {r['parents']} | {r['method']} | {r['min_retained'] * 100:.1f} % | "
                      f"{r['mean_retained'] * 100:.1f} % | {r['bytes']:,} |")
    if "compression" in out:
        print("\n| method | bytes | x smaller | accuracy | retained |\n| --- | --- | --- | --- | --- |")
        for r in out["compression"]:
            acc = "-" if r["accuracy"] is None else f"{r['accuracy'] / 100:.2f} %"
            ret = "-" if r["retained"] is None else f"{r['retained'] * 100:.1f} %"
            print(f"| {r['method']} | {r['bytes']:,} | {r['ratio']} | {acc} | {ret} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
