"""Lineage commands: fork, merge, history."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zoo_cli.commands.common import (
    DeviceOpt,
    JsonOpt,
    TokenArg,
    fail_with_result,
    settings_of,
    zoo_command,
)


def register(app: typer.Typer) -> None:
    app.command("fork")(fork)
    app.command("merge")(merge)
    app.command("history")(history)


def _pct(v) -> str:
    return "-" if v is None else f"{int(v) / 100:.2f}%"


@zoo_command
def fork(
    ctx: typer.Context,
    token: TokenArg,
    name: Annotated[str | None, typer.Option("--name", help="Name of the new token (default: '<parent> (fork)').", show_default=False)] = None,
    json: JsonOpt = False,
) -> None:
    """New token with the same adapter, re-keyed (a fresh content key), lineage -> TOKEN. Owner only.

    Example: F=$(zoo --json fork 1 | jq .token_id)
    """
    from zoo_cli import output
    from zoo_cli.workflows.fork import fork as run

    s = settings_of(ctx, json=json)
    with output.progress(s) as p:
        data = run(s, token, name=name, progress=p)
    output.render(s, data, lambda d: output.kv([
        ("token", d["token_id"]), ("forked from", token), ("name", d["name"]),
        ("cid", d["cid"] or "(parent has no trained version)"), ("tx", d["tx_hash"]),
    ]))


@zoo_command
def merge(
    ctx: typer.Context,
    tokens: Annotated[list[int], typer.Argument(help="2 to 8 tokens you own, on the same base model.", show_default=False)],
    method: Annotated[str, typer.Option("--method", help="route (default: a router over the parents' adapters, each prompt answered by the parent trained on its domain), cat, svd, ties, dare_ties or linear (average the adapters into one).")] = "route",
    weights: Annotated[str | None, typer.Option("--weights", help="One weight per token, comma-separated (default 1 each).", show_default=False)] = None,
    name: Annotated[str | None, typer.Option("--name", help="Name of the merged token.", show_default=False)] = None,
    device: DeviceOpt = "auto",
    json: JsonOpt = False,
) -> None:
    """Merge the adapters of tokens you own into a new token (2-8 parents).

    The merged adapter is evaluated on each parent's held-out tasks and the numbers are
    shown next to the parent's own. On-chain performance stays 0 until `zoo train`.

    Example: zoo merge 1 2 --method cat --weights 0.6,0.4
    """
    from zoo_cli import output
    from zoo_cli.workflows.merge import merge as run

    s = settings_of(ctx, json=json)
    with output.progress(s) as p:
        data = run(s, tokens, method=method, weights=weights, name=name, progress=p, device=device)

    def human(d):
        head = f"merged {', '.join(map(str, d['parents']))} ({d['method']}, weights {d['weights']})"
        lines = [f"{head} into token {d['token_id']}"]
        for rep in d["parent_reports"]:
            for task in sorted(rep["before"]):
                before, after = rep["before"][task], rep["after"].get(task, 0)
                lines.append(f"  parent {rep['token_id']} {task}: {_pct(before)} -> merged {_pct(after)}"
                             f" ({rep['records']} held-out records, {rep['held_out']['source']})")
        lines.append(f"measured performance {_pct(d['performance'])} (not on-chain until `zoo train {d['token_id']} ...`)")
        lines.append(f"cid {d['cid']}  tx {d['tx_hash']}")
        return "\n".join(lines)

    output.render(s, data, human)
    for rep in data["parent_reports"]:
        for task, kept in rep["retained"].items():
            if kept < 0.8:
                output.warn(f"the merged model keeps {kept * 100:.0f}% of token {rep['token_id']}'s {task} score "
                            f"({_pct(rep['before'][task])} -> {_pct(rep['after'].get(task, 0))})")


@zoo_command
def history(
    ctx: typer.Context,
    token: TokenArg,
    verify: Annotated[bool, typer.Option("--verify", help="Check every link: chain hash, CID, blocks, GCM, adapter, ledger chain.")] = False,
    data_file: Annotated[Path | None, typer.Option("--data", help="A training data file: check its Merkle root against the ledger.", show_default=False)] = None,
    check_provenance: Annotated[bool, typer.Option("--check-provenance", help="With --data: re-check that each imported record's event exists on the chain.")] = False,
    provenance_rpc: Annotated[str | None, typer.Option("--provenance-rpc", help="Node of the data's chain for --check-provenance (default: the current network).", show_default=False)] = None,
    json: JsonOpt = False,
) -> None:
    """Training ledger of a model; --verify checks every link and exits 1 on any failure.

    Example: zoo history 1 --verify --data defi.jsonl
    """
    from zoo_cli import output
    from zoo_cli.errors import VerificationFailed
    from zoo_cli.workflows.history import history as run

    s = settings_of(ctx, json=json)
    with output.progress(s) as p:
        if check_provenance and data_file is None:
            from zoo_cli.errors import BadInput

            raise BadInput("--check-provenance needs --data FILE", hint=f"zoo history {token} --verify --data FILE --check-provenance")
        data = run(s, token, verify=verify or data_file is not None, data_path=data_file, progress=p,
                   check_provenance=check_provenance, provenance_rpc=provenance_rpc)

    def human(d):
        n = len(d["entries"])
        lines = [f"token {d['token_id']}: {n} ledger entr{'y' if n == 1 else 'ies'} (head {d['ledger_head']})"]
        for e in d["entries"]:
            lines.append(f"  gen {e['generation']}: {e['ops']} ops, dataset {e['dataset_root'][:18]}…, "
                         f"model {e['model_hash'][:18]}…, {'verified' if e['verified'] else 'self-attested'} by "
                         f"{e['signer']}, performance {_pct(e['performance'])}, block {e['block']}")
        for c in d["checks"]:
            mark = "✓" if c["ok"] else ("-" if c["ok"] is None else "✗")
            gen = "" if c["generation"] is None else f"gen {c['generation']} "
            lines.append(f"{mark} {gen}{c['link']}: {c['detail']}")
        if d["verified"]:
            lines.append("all links verified" if d["ok"] else "VERIFICATION FAILED")
        return "\n".join(lines)

    if data["ok"]:
        output.render(s, data, human)
    else:
        bad = [c for c in data["checks"] if c["ok"] is False]
        err = VerificationFailed(
            f"{len(bad)} check(s) failed for token {token}: "
            + "; ".join(f"{c['link']} (gen {c['generation']})" for c in bad[:4]),
            hint="the stored model or its history does not match the chain; see the ✗ lines",
        )
        fail_with_result(s, data, err, human)
