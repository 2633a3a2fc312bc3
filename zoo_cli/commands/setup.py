"""`zoo init`, `zoo deploy`, `zoo network …`, `zoo devnet …`."""

from __future__ import annotations

from typing import Annotated

import typer

from zoo_cli.commands.common import JsonOpt, new_app, settings_of, zoo_command

network_app = new_app("Configured networks, chain ids and contract addresses.")
devnet_app = new_app("Dev-network helpers (embedded devnet or a local anvil).")


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("deploy")(deploy)
    app.add_typer(network_app, name="network")
    app.add_typer(devnet_app, name="devnet")


@zoo_command
def init(
    ctx: typer.Context,
    dev: Annotated[bool, typer.Option("--dev", help="Import the public dev accounts dev0..dev9 (password zoo-dev), make dev9 the verifier and fund the rewards pool. Dev chains only (1337, 31337).")] = False,
    json: JsonOpt = False,
) -> None:
    """Create $ZOO_HOME and its config, start the embedded devnet (or use --rpc/--network) and deploy the contracts.

    Example: zoo init --dev
    """
    from zoo_cli import output
    from zoo_cli.workflows.setup import init as run_init

    s = settings_of(ctx, json=json)
    data = run_init(s, dev)

    def human(d):
        lines = [f"zoo home    {d.get('home')}", f"network     {d.get('network')} (chain id {d.get('chain_id')})"]
        if d.get("account"):
            lines.append(f"account     {d['account']}")
        if d.get("verifier"):
            lines.append(f"verifier    {d['verifier']}")
        for name, addr in (d.get("contracts") or {}).items():
            lines.append(f"{name:<20}{addr}")
        return "\n".join(lines)

    output.render(s, data, human)


@zoo_command
def deploy(
    ctx: typer.Context,
    new: Annotated[bool, typer.Option("--new", help="Deploy a second, fresh suite on purpose (the old record moves to deployments/replaced/).")] = False,
    json: JsonOpt = False,
) -> None:
    """Deploy the contract suite on the current network, or verify an existing deployment (idempotent).

    Plain `deploy` never deploys a second suite: a recorded one is verified (resumed if
    interrupted); `--new` deploys another on purpose.
    """
    from zoo_cli import output
    from zoo_cli.workflows.setup import deploy as run_deploy

    s = settings_of(ctx, json=json)
    data = run_deploy(s, new=new)
    output.render(s, data, lambda d: output.kv(list((d.get("contracts") or {}).items()) + [("status", d.get("status", ""))]))


@network_app.command("list")
@zoo_command
def network_list(ctx: typer.Context, json: JsonOpt = False) -> None:
    """List the configured networks."""
    from zoo_cli import output
    from zoo_cli.workflows.setup import list_networks

    s = settings_of(ctx, json=json)
    rows = list_networks(s)
    output.render(
        s,
        rows,
        lambda d: output.table(
            ["", "name", "chain id", "rpc", "deployed"],
            [["*" if r["current"] else "", r["name"], r["chain_id"], "embedded devnet" if r["embedded"] else r["rpc"], "yes" if r["deployed"] else "no"] for r in d],
        ),
    )


@network_app.command("add")
@zoo_command
def network_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name to use with --network.", show_default=False)],
    rpc: Annotated[str, typer.Option("--rpc", help="JSON-RPC URL of the chain's node.", show_default=False)],
    nft: Annotated[str, typer.Option("--nft", help="Address of the suite's ZooModelNFT contract.", show_default=False)],
    json: JsonOpt = False,
) -> None:
    """Record an existing deployment: chain id from the node, every module address read on-chain from the NFT.

    Works in a fresh $ZOO_HOME (created; NAME becomes its default network). Nothing is deployed.

    Example: zoo network add shop --rpc http://10.0.0.5:8545 --nft 0x5FbDB2315678afecb367f032d93F642f64180aa3
    """
    from zoo_cli import output
    from zoo_cli.workflows.setup import add_network

    s = settings_of(ctx, json=json)
    data = add_network(s, name, rpc, nft)
    for module in data["unwired"]:
        output.warn(f"the suite has no {module} wired")
    output.render(s, data, lambda d: output.kv(
        [("network", d["network"]), ("chain id", d["chain_id"]), ("rpc", d["rpc"]),
         ("default", "yes" if d["default"] else f"no (use --network {d['network']})"),
         ("from block", d["deployment_block"])] + list(d["contracts"].items())))


@network_app.command("show")
@zoo_command
def network_show(ctx: typer.Context, json: JsonOpt = False) -> None:
    """Show the current network: chain id, block, chain time and contract addresses."""
    from zoo_cli import output
    from zoo_cli.workflows.setup import show_network

    s = settings_of(ctx, json=json)
    data = show_network(s)
    output.render(
        s,
        data,
        lambda d: output.kv(
            [("network", d["name"]), ("chain id", d["chain_id"]), ("rpc", d["rpc"] or "embedded devnet"), ("block", d["block_number"]), ("chain time", d["chain_time"])]
            + list(d["contracts"].items())
        ),
    )


@devnet_app.command("advance")
@zoo_command
def devnet_advance(
    ctx: typer.Context,
    duration: Annotated[str, typer.Argument(help="How far to move chain time: 90s, 15m, 12h, 7d.", show_default=False)],
    json: JsonOpt = False,
) -> None:
    """Move chain time forward (dev networks only) to test lease expiry and timeouts."""
    from zoo_cli import output
    from zoo_cli.units import parse_duration
    from zoo_cli.workflows.setup import advance

    s = settings_of(ctx, json=json)
    data = advance(s, parse_duration(duration))
    output.render(s, data, lambda d: f"chain time advanced by {d['advanced_s']}s to {d['chain_time']}")
