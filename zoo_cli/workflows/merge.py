"""`zoo merge TOKEN TOKEN... [--method M] [--weights W,...]`: merge adapters into a new token.

The caller must own every parent (2-8, distinct, same base model). Steps (journaled):
decrypt every parent in memory -> engine.merge -> evaluate the merged adapter on each
parent's held-out tasks next to the parent itself (so a merge never silently destroys a
parent's skill) -> seal under a new content key -> mergeModelsWithHash(ids, digest,
baseModel) -> public metadata (lineage, measured scores) -> setTokenURI.

Held-out data: the verifier's registered evaluation set covering the parent's tasks
(the sets `zoo train` registers), else a fresh synthetic set drawn with a random seed.

On-chain performance of the merged token is 0 (the contract sets it so) until it is
trained or evaluated by a verifier with `zoo train`; the measured scores are returned
and written into the public metadata (``merge_scores``), marked as not verified.
"""

from __future__ import annotations

import json
import shutil

from zoo_cli.chain.zoo import ZERO32_HEX, ModelRecord, from_hex
from zoo_cli.config import Settings
from zoo_cli.errors import BadInput, NotFound
from zoo_cli.workflows.generation import ADAPTER, part, parts, publish_metadata, seal_generation
from zoo_cli.workflows.models import (
    base_for,
    load_adapter,
    public_metadata,
    read_record,
)
from zoo_cli.workflows.session import Session, event_arg

REVERSE_LABELS = {"DeFi": "defi", "Gaming": "gaming", "NFT": "nft", "Social": "social", "DAO": "governance"}


def parse_weights(text: str | None, n: int) -> list[float] | None:
    import math

    if text is None or not str(text).strip():
        return None
    try:
        weights = [float(w) for w in str(text).split(",")]
    except ValueError:
        raise BadInput(f"invalid --weights {text!r}", hint="comma-separated numbers, e.g. --weights 0.7,0.3") from None
    if len(weights) != n:
        raise BadInput(f"{len(weights)} weight(s) for {n} token(s)", hint="give one weight per token")
    if any(not math.isfinite(w) for w in weights):
        raise BadInput("weights must be finite numbers")
    return weights


def parent_tasks(meta: dict, rec: ModelRecord) -> list[str]:
    """The tasks a parent was trained/evaluated on (public metadata), else its domain label's."""
    from zoo_cli.engine.schemas import DOMAINS

    tasks = [t for t in (meta.get("task_scores") or {}) if t in DOMAINS]
    if not tasks:
        tasks = [t for t in (meta.get("domain_ops") or {}) if t in DOMAINS]
    if not tasks:
        label = meta.get("specialization") or rec.specialization
        tasks = [REVERSE_LABELS.get(label, "defi")]
    return sorted(set(tasks))


def held_out_records(s: Session, tasks: list[str]) -> tuple[list, dict]:
    """The verifier's registered eval set for ``tasks`` (when this home holds the verifier's
    keys: evaluation sets are encrypted to the verifier; the merge's informational scores do
    not count as a use) or a fresh random synthetic set."""
    import secrets

    from zoo_cli.engine.schemas import parse_record
    from zoo_cli.engine.synth import synth
    from zoo_cli.errors import ZooError
    from zoo_cli.workflows.reports import EVAL_RECORDS_PER_TASK, find_eval_set, load_eval_records

    try:
        verifier = s.verifier_signer() if s.settings.verifier else None
    except ZooError:  # no such keystore here, or it does not unlock: this home is not the verifier
        verifier = None
    found = find_eval_set(s, tasks, verifier) if verifier is not None else None
    if found:
        records = load_eval_records(s, found["cid"], tasks, verifier)
        if records:
            return records, {"source": "registered", "eval_set": found["eval_set"], "cid": found["cid"]}
    seed = secrets.randbits(31)
    records = [parse_record(r) for t in tasks for r in synth(t, EVAL_RECORDS_PER_TASK, seed)]
    return records, {"source": "synth", "seed": seed}


def merge(settings: Settings, token_ids: list[int], *, method: str = "route", weights: str | list[float] | None = None,
          name: str | None = None, progress=None, device: str = "auto") -> dict:
    from zoo_cli.engine.device import use
    from zoo_cli.engine.merge import MAX_PARENTS, METHODS
    from zoo_cli.workflows.fork import require_owner

    ids = [int(t) for t in token_ids]
    if not 2 <= len(ids) <= MAX_PARENTS:
        raise BadInput(f"merge needs 2 to {MAX_PARENTS} tokens, got {len(ids)}", hint="zoo merge 1 2 [3 ...]")
    if len(set(ids)) != len(ids):
        raise BadInput("a token appears twice", hint="give each parent once")
    if method not in METHODS:
        raise BadInput(f"unknown merge method {method!r}", hint=f"use one of: {', '.join(METHODS)}")
    wlist = weights if isinstance(weights, list) else parse_weights(weights, len(ids))
    use(device)

    with Session(settings, progress) as s:
        recs = [read_record(s, t) for t in ids]
        for t, rec in zip(ids, recs):
            require_owner(s, t, rec, "merge")
        bases = {r.base_model for r in recs}
        if len(bases) > 1:
            raise BadInput("the tokens are on different base models and cannot be merged",
                           hint="merge only tokens minted on the same --base")
        for t, rec in zip(ids, recs):
            if rec.model_hash == ZERO32_HEX:
                raise NotFound(f"token {t} has no trained version yet", hint=f"zoo train {t} DATA.jsonl")
        j = s.journal("merge", ",".join(map(str, ids)), method, wlist,
                      ",".join(r.model_hash for r in recs))
        work = j.path.with_suffix(".d")
        work.mkdir(parents=True, exist_ok=True, mode=0o700)

        loaded = [load_adapter(s, t, rec) for t, rec in zip(ids, recs)]
        adapters = [part(files, ADAPTER) for files, _ in loaded]
        base = base_for(s, loaded[0][1], recs[0].base_model)
        metas = [public_metadata(s, r.metadata_uri) for r in recs]
        tasks = [parent_tasks(m, r) for m, r in zip(metas, recs)]

        def do_merge() -> list[str]:
            from zoo_cli.engine.merge import merge as run_merge
            from zoo_cli.fsutil import write_into

            merged = run_merge(base, adapters, wlist, method=method, domains=tasks)
            write_into(work / ADAPTER, merged, mode=0o600)  # names checked (experts/<name>/ nest)
            return sorted(merged)

        names = j.step("merge", do_merge)
        from zoo_cli.fsutil import child_path

        merged = {k: child_path(work / ADAPTER, k).read_bytes() for k in names}

        def do_eval() -> dict:
            from zoo_cli.engine.merge import merge_report

            sets = [held_out_records(s, t) for t in tasks]
            reports = merge_report(base, adapters, merged, [records for records, _ in sets])
            parents_out = []
            for t, task_list, (records, src), rep in zip(ids, tasks, sets, reports):
                parents_out.append({
                    "token_id": t, "tasks": task_list, "records": len(records), "held_out": src,
                    "before": rep.parent_task_scores, "after": rep.merged_task_scores,
                    "retained": {k: round(v, 4) for k, v in rep.retained.items()},
                })
            scores: dict[str, int] = {}
            counts: dict[str, int] = {}
            for p in parents_out:
                for task, score in p["after"].items():
                    n = p["records"]
                    scores[task] = (scores.get(task, 0) * counts.get(task, 0) + score * n) // max(1, counts.get(task, 0) + n)
                    counts[task] = counts.get(task, 0) + n
            total = sum(counts.values())
            performance = round(sum(scores[t] * counts[t] for t in scores) / total) if total else 0
            return {"parents": parents_out, "scores": scores, "performance": performance}

        evaluation = j.step("evaluate", do_eval)

        def do_seal() -> dict:
            from zoo_cli.engine.router import ROUTER, is_routed

            fields: dict = {"merge": {"method": method, "weights": wlist, "parents": ids}}
            kinds = ["lora"]
            if is_routed(merged):
                # a mixture of LoRA experts: adapter/router.json + adapter/experts/<name>/...
                # (the top-level adapter/ files are the cat merge, for unrouted prompts)
                router = json.loads(merged[ROUTER])
                fields["router"] = {"file": f"{ADAPTER}/{ROUTER}", "format": router["format"],
                                    "experts": {n: [ids[i] for i in p] for n, p in router["experts"].items()},
                                    "routes": router["routes"], "fallback": "adapter/ (cat merge)"}
                kinds = ["lora", "router"]
            return seal_generation(s, parts(adapter=merged), {s.address: s.keys.public_bundle()}, base=base,
                                   model_kinds=kinds, **fields)

        sealed = j.step("seal", do_seal)
        res = s.transact(
            s.zoo.merge(ids, from_hex(sealed["digest"]), from_hex(recs[0].base_model)),
            journal=j, step="mint",
        )
        new_id = int(event_arg(res, "ModelsMerged", "newTokenId"))
        display = name or "merge of " + " + ".join(m.get("name") or f"model #{t}" for t, m in zip(ids, metas))

        def do_meta() -> str:
            from zoo_cli.workflows.mint import public_document

            domain_ops: dict[str, int] = {}
            for m in metas:
                for d, n in (m.get("domain_ops") or {}).items():
                    domain_ops[d] = domain_ops.get(d, 0) + int(n)
            doc = public_document(
                display, new_id, base, generation=max(r.generation for r in recs) + 1,
                training_ops=sum(r.training_ops for r in recs),
                specialization=metas[0].get("specialization") or recs[0].specialization,
                performance=0, task_scores={}, parents=ids, owners=[s.address], model_kinds=["lora"],
                verified=False,
            )
            doc["merge"] = {"method": method, "weights": wlist}
            doc["merge_scores"] = {"task_scores": evaluation["scores"], "performance": evaluation["performance"],
                                   "verified": False}
            if domain_ops:
                doc["domain_ops"] = domain_ops
            return publish_metadata(s, doc, sealed["cid"])

        uri = j.step("metadata", do_meta)
        s.transact(s.zoo.set_token_uri(new_id, uri), journal=j, step="uri")
        j.finish()
        shutil.rmtree(work, ignore_errors=True)

    return {
        "token_id": new_id,
        "tx_hash": res["tx_hash"],
        "model_hash": sealed["digest"],
        "parents": ids,
        "method": method,
        "weights": wlist if wlist is not None else [1.0] * len(ids),
        "scores": evaluation["scores"],
        "performance": evaluation["performance"],
        "parent_reports": evaluation["parents"],
        "cid": sealed["cid"],
        "name": display,
        "token_uri": uri,
    }

