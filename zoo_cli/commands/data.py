"""`zoo data …`: interaction datasets (synthesize, check) and training-data sales."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zoo_cli.commands.common import JsonOpt, fail_with_result, new_app, settings_of, zoo_command

data_app = new_app(
    "Interaction datasets: JSON Lines, one event per line, in the domains defi, gaming, "
    "nft, social and governance."
)


@data_app.command("synth")
@zoo_command
def synth(
    ctx: typer.Context,
    domain: Annotated[str, typer.Option("--domain", help="defi, gaming, nft, social or governance.", show_default=False)],
    out: Annotated[Path, typer.Option("-o", "--output", help="Where to write the JSONL file.", show_default=False)],
    n: Annotated[int, typer.Option("--n", help="Number of interactions.", min=1)] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same file).")] = 0,
    profile: Annotated[str | None, typer.Option("--profile", help="The hidden user policy (default: the domain's standard persona).", show_default=False)] = None,
    json: JsonOpt = False,
) -> None:
    """Write realistic synthetic interactions with a hidden, learnable per-user policy.

    Example: zoo data synth --domain defi --n 2000 --seed 1 -o defi.jsonl
    """
    from zoo_cli import output
    from zoo_cli.workflows.data import synth as run

    s = settings_of(ctx, json=json)
    data = run(s, domain, n, seed, out, profile)
    output.render(s, data, lambda d: f"wrote {d['records']} {d['domain']} interactions to {d['path']} (merkle root {d['merkle_root']})")


@data_app.command("check")
@zoo_command
def check(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="JSONL file to validate.", show_default=False)],
    domain: Annotated[str | None, typer.Option("--domain", help="Require every line to be of this domain.", show_default=False)] = None,
    json: JsonOpt = False,
) -> None:
    """Validate a JSONL file; reports every bad line with its number (exit 2 if any)."""
    from zoo_cli import output
    from zoo_cli.workflows.data import check as run

    s = settings_of(ctx, json=json)
    data = run(s, path, domain)

    def human(d):
        if d["valid"]:
            doms = ", ".join(f"{k}={v}" for k, v in d["domains"].items())
            return f"{d['path']}: {d['records']} valid records ({doms}), merkle root {d['merkle_root']}"
        lines = [f"{d['path']}:{e['line']}: {e['reason']}" for e in d["errors"]]
        return "\n".join(lines)

    if data["valid"]:
        output.render(s, data, human)
        return
    from zoo_cli.errors import BadInput

    fail_with_result(s, data, BadInput(
        f"{data['bad_lines']} bad line(s) in {data['path']}",
        hint=f"fix them or train with --skip-invalid (every bad line: zoo data check {data['path']})"), human)


@data_app.command("import")
@zoo_command
def import_(
    ctx: typer.Context,
    address: Annotated[str, typer.Option("--address", help="The account whose activity to import (0x…).", show_default=False)],
    out: Annotated[Path, typer.Option("-o", "--output", help="JSONL file to append to (created if missing).", show_default=False)],
    csv_file: Annotated[Path | None, typer.Option("--csv", help="Import a block explorer's token-transfer CSV export instead of asking a node.", show_default=False)] = None,
    chain_id: Annotated[int, typer.Option("--chain-id", help="With --csv: the chain the export is from.")] = 1,
    from_block: Annotated[int | None, typer.Option("--from-block", help="First block (default 0, or where the last run stopped).", show_default=False)] = None,
    to_block: Annotated[str, typer.Option("--to-block", help="Last block, or `latest` (minus --confirmations).")] = "latest",
    domains: Annotated[str, typer.Option("--domains", help="Comma-separated subset of defi,nft,governance.")] = "defi,nft,governance",
    confirmations: Annotated[int | None, typer.Option("--confirmations", help="Skip blocks this close to the head (default 12; 0 on chain ids 1337/31337).", show_default=False)] = None,
    chunk: Annotated[int, typer.Option("--chunk", help="Largest block range per eth_getLogs request (starts small, grows while sparse, split when the node refuses).", min=1)] = 2000,
    max_retries: Annotated[int, typer.Option("--max-retries", help="Retries of one request before giving up (the cursor is kept).", min=0)] = 8,
    lookback: Annotated[int, typer.Option("--lookback", help="Blocks of a pool's own events used for price change and volatility.", min=1)] = 50,
    json: JsonOpt = False,
) -> None:
    """Import an address's DeFi, NFT and governance events from the node as interaction records.

    Resumable: a rerun continues where the last one stopped and appends only new records
    (deduplicated by chain id, tx hash and log index). Uses the global --rpc / --network node.

    Example: zoo --rpc http://127.0.0.1:8545 data import --address 0xf39F…2266 -o mine.jsonl
    """
    from zoo_cli import output
    from zoo_cli.errors import BadInput
    from zoo_cli.workflows.data_import import (
        ImportOptions,
        parse_domains,
        run_csv_import,
        run_import,
    )

    s = settings_of(ctx, json=json)
    if csv_file is not None:
        data = run_csv_import(s, csv_file, address, out, chain_id)
        if data.get("note"):
            output.note(s, data["note"])
        output.render(s, data, lambda d: f"wrote {d['records']} new records to {d['path']} from {d['source']}")
        return
    tb: int | str = to_block
    if to_block != "latest":
        try:
            tb = int(to_block, 0)
        except ValueError:
            raise BadInput(f"--to-block must be a block number or `latest`, not {to_block!r}",
                           hint="e.g. --to-block 19000000 or --to-block latest") from None
    opts = ImportOptions(address=address, out=out, from_block=from_block, to_block=tb, domains=parse_domains(domains),
                         confirmations=confirmations, chunk=chunk, max_retries=max_retries, lookback=lookback)
    with output.progress(s) as p:
        cb = p.callback("importing blocks")
        data = run_import(s, opts, progress=cb)
    if data.get("note"):
        output.note(s, data["note"])
    output.render(s, data, lambda d: (
        f"wrote {d['records']} new records to {d['path']} (blocks {d['from_block']}-{d['to_block']}, "
        f"{d['duplicates_skipped']} already there)"))


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
