#!/usr/bin/env python3
"""Training benchmark: zoo's packed LoRA trainer vs the usual transformers.Trainer + peft.

Same machine, base (zoo-tiny), data (the five `zoo data synth` domains mixed, 2,000
records each, seed 0), examples, batch size (rows per step), learning rate and schedule,
and thread count. The baseline is peft's example recipe: one example per row, dynamic
padding with DataCollatorForLanguageModeling(mlm=False). Each measurement runs in its own
process (fair peak RSS, no shared caches); throughput repeats alternate the two trainers
and report medians, because these CPUs jitter.

    python benches/train.py                      # full run (several minutes on 2 cores)
    python benches/train.py --quick              # small version (fewer records and repeats; the
                                                 # time-to-accuracy runs still train to the target:
                                                 # ~50 min on a loaded 2-core machine)
    python benches/train.py --json               # machine-readable result on stdout

Figures: useful (non-padding) tokens/s of each and their ratio (target >= 1.5x), wall time
to reach the same held-out accuracy (target <= 0.67x), peak RSS, adapter bytes and
fraction of the base with and without BitDelta (target adapter <= 1 MB).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


# -- shared setup (inside a worker) ----------------------------------------------------------

def _setup(args):
    import torch

    torch.set_num_threads(args.threads)
    from zoo_cli.config import default_cache
    from zoo_cli.engine.base import load_base, resolve_base
    from zoo_cli.engine.data import dataset_from_records, split
    from zoo_cli.engine.synth import synth_mixed

    base = resolve_base("zoo-tiny", default_cache())
    ds = dataset_from_records(synth_mixed(args.n_per_domain, seed=0))
    train_recs, held = split(ds.records, 0.1)
    held = held[: args.eval_records]
    model, tok = load_base(base)
    return torch, base, train_recs, held, model, tok


def _lora(model, args):
    from peft import get_peft_model

    from zoo_cli.engine.train import TrainConfig, _lora_config

    return get_peft_model(model, _lora_config(TrainConfig(rank=args.rank, seed=args.seed)))


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


class _Clock:
    """Training wall time that excludes evaluation pauses."""

    def __init__(self):
        self.t0 = time.monotonic()
        self.paused = 0.0

    def elapsed(self) -> float:
        return time.monotonic() - self.t0 - self.paused


def _progress(kind: str, args, point) -> None:
    """Append (step, training seconds, accuracy bps) to TMP/KIND-tta.log: a long
    time-to-accuracy run can be watched with tail -f."""
    with open(Path(args.tmp) / f"{kind}-tta.log", "a") as fh:
        fh.write(f"{point[0]} {point[1]} {point[2]}\n")


def worker_zoo(args) -> dict:
    from zoo_cli.engine.evaluate import evaluate_model
    from zoo_cli.engine.loop import Stopped, run_steps
    from zoo_cli.engine.packing import encode_examples, pack
    from zoo_cli.engine.schemas import example_text

    torch, base, train_recs, held, model, tok = _setup(args)
    torch.manual_seed(args.seed)
    model = _lora(model, args)
    t_prep = time.monotonic()
    examples = encode_examples(tok, [example_text(r) for r in train_recs], max_len=args.seq_len)
    packed = pack(examples, args.seq_len, tok.pad_token_id, seed=args.seed)
    prep = time.monotonic() - t_prep
    params = [p for p in model.parameters() if p.requires_grad]
    out: dict = {"trainer": "zoo", "prep_s": round(prep, 2), "rows": packed.rows,
                 "padding_fraction": round(1 - packed.useful_tokens / (packed.rows * args.seq_len), 4)}
    if args.phase == "throughput":
        m = run_steps(model, params, packed, steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                      seed=args.seed, warmup=10)
        out.update(tokens_per_s=m["tokens_per_s"], seconds=m["seconds"], useful_tokens=m["useful_tokens"])
    else:
        clock, state = _Clock(), {"acc": 0.0, "step": 0, "curve": []}

        def progress(done, total, info):
            if done % args.eval_every == 0:
                t = time.monotonic()
                _, perf = evaluate_model(model, tok, held)
                model.train()
                clock.paused += time.monotonic() - t
                state.update(acc=perf / 10_000, step=done)
                state["curve"].append((done, round(clock.elapsed(), 2), perf))
                _progress("zoo", args, state["curve"][-1])

        try:
            run_steps(model, params, packed, steps=args.max_steps, batch_size=args.batch_size, lr=args.lr,
                      seed=args.seed, warmup=10, progress=progress,
                      stop=lambda: state["acc"] >= args.target)
        except Stopped:
            pass
        out.update(reached=state["acc"] >= args.target, accuracy=state["acc"], steps=state["step"],
                   seconds=round(clock.elapsed(), 2), curve=state["curve"])
        from zoo_cli.engine.adapters import from_peft_model

        adapter = from_peft_model(model, base)
        out["adapter_bytes"] = len(adapter["adapter_model.safetensors"])
        from zoo_cli.engine.bitdelta import compress, decompress

        bd = compress(adapter)
        out["bitdelta_bytes"] = len(bd["adapter_bitdelta.safetensors"])
        from zoo_cli.engine.loading import load_peft

        m2, _ = load_peft(base, [decompress(bd, base)])
        out["bitdelta_accuracy"] = evaluate_model(m2, tok, held)[1] / 10_000
        out["base_bytes"] = (base.path / "model.safetensors").stat().st_size
    out["peak_rss_mb"] = _rss_mb()
    return out


class _ListDataset:
    def __init__(self, rows):
        self.rows = rows

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        return self.rows[i]


def worker_hf(args) -> dict:
    from transformers import (
        DataCollatorForLanguageModeling,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )

    from zoo_cli.engine.evaluate import evaluate_model
    from zoo_cli.engine.schemas import example_text

    torch, _base, train_recs, held, model, tok = _setup(args)
    torch.manual_seed(args.seed)
    model = _lora(model, args)
    t_prep = time.monotonic()
    texts = [f"{p} {t}" for p, t in (example_text(r) for r in train_recs)]
    enc = tok(texts, add_special_tokens=False)["input_ids"]
    rows = _ListDataset([{"input_ids": [tok.bos_token_id] + ids + [tok.eos_token_id]} for ids in enc])
    prep = time.monotonic() - t_prep
    base_collator = DataCollatorForLanguageModeling(tok, mlm=False)
    counter = {"useful": 0, "padded": 0}

    def collate(features):
        batch = base_collator(features)
        counter["useful"] += int(batch["attention_mask"].sum())
        counter["padded"] += batch["input_ids"].numel()
        return batch

    steps = args.steps if args.phase == "throughput" else args.max_steps
    targs = TrainingArguments(
        output_dir=str(Path(args.tmp) / "hf"), per_device_train_batch_size=args.batch_size,
        max_steps=steps, learning_rate=args.lr, lr_scheduler_type="cosine", warmup_steps=10,
        weight_decay=0.0, logging_steps=10_000, save_strategy="no", report_to=[], use_cpu=True,
        dataloader_num_workers=0, seed=args.seed, data_seed=args.seed, disable_tqdm=True,
        remove_unused_columns=False, max_grad_norm=1.0,
    )
    clock, state = _Clock(), {"acc": 0.0, "step": 0, "curve": []}

    class EvalStop(TrainerCallback):
        def on_step_end(self, a, s, control, **kw):
            if args.phase == "tta" and s.global_step % args.eval_every == 0:
                t = time.monotonic()
                _, perf = evaluate_model(model, tok, held)
                model.train()
                clock.paused += time.monotonic() - t
                state.update(acc=perf / 10_000, step=s.global_step)
                state["curve"].append((s.global_step, round(clock.elapsed(), 2), perf))
                _progress("hf", args, state["curve"][-1])
                if state["acc"] >= args.target:
                    control.should_training_stop = True
            return control

    trainer = Trainer(model=model, args=targs, train_dataset=rows, data_collator=collate,
                      callbacks=[EvalStop()])
    clock = _Clock()
    trainer.train()
    el = clock.elapsed()
    out = {"trainer": "hf", "prep_s": round(prep, 2),
           "padding_fraction": round(1 - counter["useful"] / max(1, counter["padded"]), 4)}
    if args.phase == "throughput":
        out.update(tokens_per_s=round(counter["useful"] / el, 1), seconds=round(el, 2),
                   useful_tokens=counter["useful"])
    else:
        out.update(reached=state["acc"] >= args.target, accuracy=state["acc"], steps=state["step"],
                   seconds=round(el, 2), curve=state["curve"])
    out["peak_rss_mb"] = _rss_mb()
    return out


# -- driver ---------------------------------------------------------------------------------

def _run_worker(kind: str, phase: str, args) -> dict:
    cmd = [sys.executable, __file__, "--worker", kind, "--phase", phase]
    for k in ("n_per_domain", "batch_size", "threads", "steps", "max_steps", "eval_every",
              "eval_records", "target", "lr", "rank", "seq_len", "seed", "tmp"):
        cmd += [f"--{k.replace('_', '-')}", str(getattr(args, k))]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONHASHSEED": "0"})
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"worker {kind}/{phase} failed")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description="zoo trainer vs transformers.Trainer + peft")
    ap.add_argument("--quick", action="store_true",
                    help="smaller run: 400 records/domain, 2 repeats, 200 evaluation records")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--n-per-domain", type=int, default=2000)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=30, help="steps per throughput measurement")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--max-steps", type=int, default=600, help="cap for time-to-accuracy")
    ap.add_argument("--eval-every", type=int, default=10)
    ap.add_argument("--eval-records", type=int, default=400)
    ap.add_argument("--target", type=float, default=0.8, help="held-out accuracy to reach")
    ap.add_argument("--lr", type=float, default=4e-3)
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tmp", default=None)
    ap.add_argument("--worker", choices=("zoo", "hf"))
    ap.add_argument("--phase", choices=("throughput", "tta"), default="throughput")
    args = ap.parse_args()
    if args.worker:
        res = (worker_zoo if args.worker == "zoo" else worker_hf)(args)
        print(json.dumps(res))
        return 0
    if args.quick:
        args.n_per_domain, args.repeats, args.steps = min(args.n_per_domain, 400), 2, 15
        args.eval_records = min(args.eval_records, 200)
    import tempfile

    args.tmp = args.tmp or tempfile.mkdtemp(prefix="zoo-bench-")
    log = (lambda *a: None) if args.json else (lambda *a: print(*a, file=sys.stderr, flush=True))
    print(f"# time-to-accuracy progress: {args.tmp}/{{zoo,hf}}-tta.log", file=sys.stderr, flush=True)

    # build the base once, outside the measurements
    subprocess.run([sys.executable, str(ROOT / "tools" / "build_base.py")], check=True,
                   capture_output=True)
    thr: dict[str, list[dict]] = {"zoo": [], "hf": []}
    for r in range(args.repeats):
        for kind in (("zoo", "hf") if r % 2 == 0 else ("hf", "zoo")):
            res = _run_worker(kind, "throughput", args)
            thr[kind].append(res)
            log(f"throughput {kind} #{r + 1}: {res['tokens_per_s']:.0f} useful tok/s "
                f"(padding {res['padding_fraction']:.1%})")
    tta = {}
    for kind in ("zoo", "hf"):
        tta[kind] = _run_worker(kind, "tta", args)
        t = tta[kind]
        log(f"time-to-accuracy {kind}: {'reached' if t['reached'] else 'NOT reached'} "
            f"{t['accuracy']:.1%} at step {t['steps']} in {t['seconds']:.1f} s")

    med = {k: statistics.median(x["tokens_per_s"] for x in v) for k, v in thr.items()}
    ratios = [z["tokens_per_s"] / h["tokens_per_s"] for z, h in zip(thr["zoo"], thr["hf"])]
    z, h = tta["zoo"], tta["hf"]
    time_ratio = (z["seconds"] / h["seconds"]) if (z["reached"] and h["reached"]) else None
    result = {
        "machine": {"threads": args.threads, "cpus": os.cpu_count()},
        "data": {"domains": 5, "records_per_domain": args.n_per_domain, "seed": 0},
        "batch_size": args.batch_size, "lr": args.lr, "rank": args.rank,
        "useful_tokens_per_s": {"zoo": med["zoo"], "hf_trainer": med["hf"]},
        "throughput_ratio_median": round(statistics.median(ratios), 3),
        "throughput_ratio_of_medians": round(med["zoo"] / med["hf"], 3),
        "padding_fraction": {"zoo": thr["zoo"][0]["padding_fraction"], "hf_trainer": thr["hf"][0]["padding_fraction"]},
        "target_accuracy": args.target,
        "time_to_accuracy_s": {"zoo": z["seconds"] if z["reached"] else None,
                               "hf_trainer": h["seconds"] if h["reached"] else None},
        "time_to_accuracy_ratio": round(time_ratio, 3) if time_ratio else None,
        "steps_to_accuracy": {"zoo": z["steps"], "hf_trainer": h["steps"]},
        "final_accuracy": {"zoo": z["accuracy"], "hf_trainer": h["accuracy"]},
        "peak_rss_mb": {"zoo": max(x["peak_rss_mb"] for x in thr["zoo"] + [z]),
                        "hf_trainer": max(x["peak_rss_mb"] for x in thr["hf"] + [h])},
        "adapter_bytes": z["adapter_bytes"], "base_bytes": z["base_bytes"],
        "adapter_fraction_of_base": round(z["adapter_bytes"] / z["base_bytes"], 4),
        "bitdelta_bytes": z["bitdelta_bytes"],
        "bitdelta_fraction_of_base": round(z["bitdelta_bytes"] / z["base_bytes"], 5),
        "bitdelta_accuracy": z["bitdelta_accuracy"],
        "targets": {"throughput_ratio>=1.5": statistics.median(ratios) >= 1.5,
                    "time_ratio<=0.67": bool(time_ratio and time_ratio <= 0.67),
                    "adapter<=1MB": z["adapter_bytes"] <= 1_000_000},
        "curves": {"zoo": z["curve"], "hf_trainer": h["curve"]},
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        r = result
        print(f"useful tokens/s  zoo {med['zoo']:.0f}  hf Trainer {med['hf']:.0f}  "
              f"ratio {r['throughput_ratio_median']}x (median of {args.repeats})")
        print(f"padding          zoo {r['padding_fraction']['zoo']:.1%}  hf Trainer {r['padding_fraction']['hf_trainer']:.1%}")
        print(f"time to {args.target:.0%}      zoo {r['time_to_accuracy_s']['zoo']} s  "
              f"hf Trainer {r['time_to_accuracy_s']['hf_trainer']} s  ratio {r['time_to_accuracy_ratio']}")
        print(f"peak RSS         zoo {r['peak_rss_mb']['zoo']} MB  hf Trainer {r['peak_rss_mb']['hf_trainer']} MB")
        print(f"adapter          {r['adapter_bytes']:,} B = {r['adapter_fraction_of_base']:.2%} of base "
              f"({r['base_bytes']:,} B); BitDelta {r['bitdelta_bytes']:,} B = "
              f"{r['bitdelta_fraction_of_base']:.3%} (accuracy {z['accuracy']:.1%} -> {z['bitdelta_accuracy']:.1%})")
        print("targets          " + ", ".join(f"{k}: {'ok' if v else 'MISSED'}" for k, v in r["targets"].items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
