"""Model commands: mint, train, fork, merge, list, show, history."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zoo_cli.commands.common import DeviceOpt, JsonOpt, TokenArg, settings_of, zoo_command


def register(app: typer.Typer) -> None:
    app.command("mint")(mint)
    app.command("train")(train)
    app.command("list")(list_)
    app.command("show")(show)


@zoo_command
def mint(
    ctx: typer.Context,
    base: Annotated[str | None, typer.Option("--base", help="Base model: zoo-tiny (built in) or a local Hugging Face model folder.", show_default=False)] = None,
    name: Annotated[str | None, typer.Option("--name", help="A name for the model (public metadata).", show_default=False)] = None,
    specialization: Annotated[str | None, typer.Option("--specialization", help="Domain label: General, DeFi, Gaming, NFT, Social or DAO.", show_default=False)] = None,
    json: JsonOpt = False,
) -> None:
    """Mint a model NFT owned by the selected account.

    Example: T=$(zoo --json mint --name alpha | jq .token_id)
    """
    from zoo_cli import output
    from zoo_cli.workflows.mint import mint as run

    s = settings_of(ctx, json=json)
    with output.progress(s) as p:
        data = run(s, name=name, base=base, specialization=specialization, progress=p)
    output.render(s, data, lambda d: f"minted token {d['token_id']} ({d['name']}, {d['specialization']}) in tx {d['tx_hash']}")


@zoo_command
def list_(
    ctx: typer.Context,
    owner: Annotated[str | None, typer.Option("--owner", help="Only models owned by this address.", show_default=False)] = None,
    mine: Annotated[bool, typer.Option("--mine", help="Only models owned by the selected account.")] = False,
    for_sale: Annotated[bool, typer.Option("--for-sale", help="Only models with an active marketplace listing.")] = False,
    specialization: Annotated[str | None, typer.Option("--specialization", help="A domain label (DeFi, ...) or an earned specialization (DeFi_Yield_Optimizer, ...).", show_default=False)] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="At most this many rows (after the filters).", show_default=False)] = None,
    offset: Annotated[int, typer.Option("--offset", help="Skip this many matching rows first.")] = 0,
    json: JsonOpt = False,
) -> None:
    """List models (in token order; page with --limit/--offset)."""
    from zoo_cli import output
    from zoo_cli.workflows.inspect import list_models

    s = settings_of(ctx, json=json)
    rows = list_models(s, owner=owner, mine=mine, for_sale=for_sale, specialization=specialization,
                       limit=limit, offset=offset)

    def human(d):
        if not d:
            return "no models"
        return output.table(
            ["token", "name", "owner", "gen", "stage", "performance", "specialization"],
            [[r["token_id"], r["name"], r["owner"], r["generation"], r["stage"], f"{r['performance'] / 100:.2f}%", r["specialization"]] for r in d],
        )

    output.render(s, rows, human)


def _when(ts: int | None) -> str:
    import datetime as dt

    if not ts:
        return "-"
    return dt.datetime.fromtimestamp(int(ts), dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _listing_text(listing: dict | None) -> str:
    if not listing:
        return "-"
    parts = []
    if listing.get("for_sale"):
        parts.append(f"for sale at {listing['price_eth']} ETH")
    if listing.get("for_lease"):
        from zoo_cli.units import display_eth, format_duration

        kind = "hosted lease (API only)" if listing.get("lease_kind") == "hosted" else "key lease"
        parts.append(f"{kind} at {display_eth(int(listing['lease_price_per_day_wei']))}/day, "
                     f"{format_duration(listing['min_lease_s'])} to {format_duration(listing['max_lease_s'])}")
    return ", ".join(parts) or "listed"


@zoo_command
def show(ctx: typer.Context, token: TokenArg, json: JsonOpt = False) -> None:
    """Everything about one model: lineage, ledger, scores, lease, listing, rewards."""
    from zoo_cli import output
    from zoo_cli.workflows.inspect import show_model

    s = settings_of(ctx, json=json)
    data = show_model(s, token)

    def human(d):
        pairs = [
            ("token", d["token_id"]), ("name", d["name"]), ("owner", d["owner"]),
            ("base model", d["base_model"]), ("cid", d["cid"] or "(no trained version yet)"),
            ("generation", d["generation"]), ("stage", f"{d['stage']} ({d['training_ops']} training ops)"),
            ("performance", f"{d['performance'] / 100:.2f}%{' (verified)' if d['verified'] else ' (self-attested)' if d['generation'] else ''}"),
            ("task scores", ", ".join(
                f"{k} {v / 100:.2f}% ({'verified' if d.get('task_verified', {}).get(k) else 'self-attested'})"
                for k, v in d["task_scores"].items()) or "-"),
            ("zk performance", "-" if d["zk_performance"] in (None, 0) else f"{d['zk_performance'] / 100:.2f}%"),
            ("specialization", d["specialization"]),
            ("earned", ", ".join(d["specializations"]) or "-"),
            ("parents", ", ".join(map(str, d["parents"])) or "-"),
            ("lessee", f"{d['user']} until {_when(d['user_expires'])}" if d["user"] else "-"),
            ("listing", _listing_text(d["listing"])),
            ("rewards", f"{d['rewards_eth']} ETH"),
            ("ledger", f"{d['ledger_entries']} entries, head {d['ledger_head']}"),
            ("token uri", d["token_uri"] or "-"),
        ]
        return output.kv(pairs)

    output.render(s, data, human)


@zoo_command
def train(
    ctx: typer.Context,
    token: TokenArg,
    data: Annotated[Path, typer.Argument(help="Interactions (JSON Lines) to train on.", show_default=False)],
    steps: Annotated[int | None, typer.Option("--steps", help="Optimizer steps (default 150).", min=1, show_default=False)] = None,
    epochs: Annotated[float | None, typer.Option("--epochs", help="Passes over the data (overrides --steps).", show_default=False)] = None,
    rank: Annotated[int | None, typer.Option("--rank", help="LoRA rank (default 8).", min=1, show_default=False)] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="Learning rate (default 4e-3).", show_default=False)] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Training seed (same seed, data and base: same adapter).", show_default=False)] = None,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Skip bad lines instead of refusing the file.")] = False,
    base: Annotated[str | None, typer.Option("--base", help="Local folder of the token's base model, if not built in.", show_default=False)] = None,
    verifier: Annotated[str | None, typer.Option("--verifier", help="Verifier account (keystore name) that re-evaluates and signs the report.", show_default=False)] = None,
    verifier_url: Annotated[str | None, typer.Option("--verifier-url", help="A verifier service (`zoo verifier serve`) that evaluates on its private set and signs the report; overrides `verifier`. Also verifier_url in config.toml / ZOO_VERIFIER_URL.", show_default=False)] = None,
    self_attest: Annotated[bool, typer.Option("--self-attest", help="Sign the report yourself (no verifier: no reward, no specialization).")] = False,
    policy: Annotated[bool, typer.Option("--policy", help="Also train the provable policy model (seconds) and commit its hash on-chain (see `zoo prove`).")] = False,
    policy_only: Annotated[bool, typer.Option("--policy-only", help="Train only the policy model; the current adapter is kept.")] = False,
    device: DeviceOpt = "auto",
    gradient_checkpointing: Annotated[bool, typer.Option("--gradient-checkpointing", help="Recompute activations in the backward pass: much less memory for long sequences / big bases, ~30% slower.")] = False,
    compress: Annotated[str, typer.Option("--compress", help="none (float32 adapter) or int4 (per-group 4-bit A/B: ~7x smaller, >= 98% of the accuracy; the stored bytes are what is hashed on-chain).")] = "none",
    json: JsonOpt = False,
) -> None:
    """Fine-tune the model on your interactions, evaluate, encrypt, store and record the new generation on-chain.

    The report is verified by a verifier service (--verifier-url / verifier_url) or a local
    verifier account (`verifier` in config.toml or --verifier); a configured verifier that
    cannot attest is an error, never a silent fallback. Self-attested with --self-attest or
    when no verifier is configured.

    Example: zoo train 1 defi.jsonl --steps 120
    """
    from zoo_cli import output
    from zoo_cli.workflows.train import train as run

    s = settings_of(ctx, json=json)
    with output.progress(s) as p:
        data_ = run(s, token, data, steps=steps, epochs=epochs, rank=rank, lr=lr, seed=seed,
                    skip_invalid=skip_invalid, base_override=base, verifier_name=verifier, progress=p,
                    policy=policy, policy_only=policy_only, device=device,
                    gradient_checkpointing=gradient_checkpointing, compress=compress,
                    verifier_url=verifier_url, self_attest=self_attest)
    if data_["skipped"]:
        output.note(s, f"skipped {data_['skipped']} invalid line(s)")

    def human(d):
        before = d["base_performance"] / 100
        return output.kv([
            ("token", d["token_id"]), ("generation", d["generation"]),
            ("trained on", f"{d['ops']} interactions ({d['training_ops']} in total)"),
            ("accuracy", f"{before:.2f}% -> {d['performance'] / 100:.2f}% ({'verified' if d['verified'] else 'self-attested'})"),
            ("task scores", ", ".join(f"{k} {v / 100:.2f}%" for k, v in d["task_scores"].items())),
            ("specialization", d["specialization"]),
            ("cid", d["cid"]), ("reward", f"{int(d['reward_wei']) / 1e18:g} ETH"), ("tx", d["tx_hash"]),
        ] + ([("policy", f"{d['policy_accuracy'] / 100:.2f}% held-out, committed {d['policy_hash']}")] if d.get("policy_hash") else []))

    output.render(s, data_, human)
