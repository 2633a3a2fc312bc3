"""Zero-knowledge proof of evaluation: `zoo prove`, `zoo verify-proof`, `zoo zk setup|register-set`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zoo_cli.commands.common import (
    JsonOpt,
    TokenArg,
    fail_with_result,
    new_app,
    settings_of,
    zoo_command,
)

SrsOpt = Annotated[
    Path | None,
    typer.Option("--srs", help="KZG SRS file of a real network's ceremony. Without it a local SRS is "
                 "generated: UNSAFE (this machine could forge proofs), devnets only.", show_default=False),
]
TasksOpt = Annotated[
    str | None,
    typer.Option("--tasks", help="Comma-separated tasks (defi,gaming,nft,social,governance); default: the "
                 "domains the policy was trained on.", show_default=False),
]


def register(app: typer.Typer) -> None:
    app.command("prove")(prove)
    app.command("verify-proof")(verify_proof)
    zk = new_app("Zero-knowledge evaluation set-up (keys, verifier, evaluation sets).")
    zk.command("setup")(setup)
    zk.command("register-set")(register_set)
    app.add_typer(zk, name="zk")


def _split(tasks: str | None) -> list[str] | None:
    return [t for t in tasks.split(",") if t.strip()] if tasks else None


@zoo_command
def prove(
    ctx: typer.Context,
    token: TokenArg,
    tasks: TasksOpt = None,
    srs: SrsOpt = None,
    proof: Annotated[Path | None, typer.Option("--proof", help="Submit this proof file instead of proving.", show_default=False)] = None,
    json: JsonOpt = False,
) -> None:
    """Prove (ezkl) the token's committed policy on a registered evaluation set and record it on-chain.

    The first run on an installation builds the circuit keys under $ZOO_HOME/zk/ (about a
    minute, a 655 MB proving key) and, on a fresh deployment, deploys the verifier (admin).

    Example: zoo prove 1 --tasks defi
    """
    from zoo_cli import output
    from zoo_cli.workflows.zk import prove as run

    s = settings_of(ctx, json=json)
    with output.progress(s) as p:
        data = run(s, token, tasks=_split(tasks), srs=srs, proof_file=proof, progress=p)
    output.render(s, data, lambda d: output.kv([
        ("token", d["token_id"]), ("tasks", ", ".join(d["tasks"]) or "-"),
        ("accuracy", f"{d['accuracy'] / 100:.2f}% ({d['correct']}/{d['n']}, zero-knowledge proven)"),
        ("proofs", f"{d['proofs']} ({d['proof_bytes']} bytes)"), ("proof file", d["proof_file"]),
        ("tx", f"{d['tx_hash']} ({d['gas_used']} gas)"),
        ("time", f"setup {d['setup_s']} s, prove {d['prove_s']} s"),
    ]))


@zoo_command
def verify_proof(
    ctx: typer.Context,
    token: TokenArg,
    proof: Annotated[Path | None, typer.Option("--proof", help="Proof file (default: the newest under $ZOO_HOME/zk/proofs/).", show_default=False)] = None,
    srs: SrsOpt = None,
    json: JsonOpt = False,
) -> None:
    """Check a proof locally against the token's on-chain policyHash and a registered evaluation set (exit 1 on failure)."""
    from zoo_cli import output
    from zoo_cli.workflows.zk import verify_proof as run

    s = settings_of(ctx, json=json)
    data = run(s, token, proof_file=proof, srs=srs)
    def human(d):
        return output.kv([("token", d["token_id"]), ("result", "valid" if d["ok"] else "INVALID")]
                         + [(k, "ok" if v else "FAILED") for k, v in d["checks"].items()])

    if data["ok"]:
        output.render(s, data, human)
        return
    from zoo_cli.errors import VerificationFailed

    failed = [k for k, v in data["checks"].items() if not v]
    fail_with_result(s, data, VerificationFailed(
        f"the proof for token {token} does not verify: {', '.join(failed) or 'invalid'}",
        hint="prove again with `zoo prove` on the token's current policy, or check --proof/--srs"), human)


@zoo_command
def setup(ctx: typer.Context, srs: SrsOpt = None, json: JsonOpt = False) -> None:
    """Build the circuit keys and deploy + set the on-chain verifier (admin; idempotent)."""
    from zoo_cli import output
    from zoo_cli.workflows.zk import zk_setup

    s = settings_of(ctx, json=json)
    with output.progress(s) as p:
        data = zk_setup(s, srs=srs, progress=p)
    if data["srs_unsafe"]:
        output.note(s, "local SRS: UNSAFE outside a devnet (pass --srs with a ceremony file on real networks)")
    output.render(s, data, lambda d: output.kv([
        ("architecture", d["arch_id"]), ("srs", d["srs_id"]), ("keys", d["keys_dir"]),
        ("sizes", ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in d["sizes"].items())),
        ("verifier", f"{d['verifier']}{' (deployed now)' if d['deployed'] else ''}"),
    ]))


@zoo_command
def register_set(
    ctx: typer.Context,
    tasks: Annotated[str, typer.Option("--tasks", help="Comma-separated tasks the set covers.", show_default=False)],
    token: Annotated[int, typer.Option("--token", help="The token (at its current generation) this set is drawn for; "
                                       "only one proof of that token may use it.", show_default=False)],
    n: Annotated[int, typer.Option("--n", help="Records per task (64 = one proof each).", min=1)] = 64,
    seed: Annotated[int | None, typer.Option("--seed", help="Synthesis seed (default: random, never shown to provers in advance).", show_default=False)] = None,
    json: JsonOpt = False,
) -> None:
    """Register a zk evaluation set for one evaluation of a token (VERIFIER account): records on IPFS, commitment on-chain."""
    from zoo_cli import output
    from zoo_cli.workflows.zk import register_set as run

    s = settings_of(ctx, json=json)
    data = run(s, token_id=token, tasks=_split(tasks) or [], n_per_task=n, seed=seed)
    output.render(s, data, lambda d: f"registered zk evaluation set {d['commitment']} for token {d['token_id']} "
                                     f"generation {d['generation']} ({d['n']} records, cid {d['cid']})")
