"""`zoo lease …`: grants (ERC-4907) and paid leases through the marketplace escrow;
`zoo account publish-keys`."""

from __future__ import annotations

from typing import Annotated

import typer

from zoo_cli.commands.common import JsonOpt, TokenArg, new_app, settings_of, zoo_command

lease_app = new_app(
    "Leases: let another account use a model (ERC-4907 user) for a while. `grant` is free and "
    "immediate; `offer`/`take` are paid through the marketplace escrow (key delivered by "
    "`zoo market fulfill`)."
)

DurationOpt = Annotated[str, typer.Option("--for", help="Lease duration: 90s, 15m, 12h, 7d.", show_default=False)]


def register(app: typer.Typer) -> None:
    from zoo_cli.commands.account import account_app

    app.add_typer(lease_app, name="lease")
    account_app.command("publish-keys")(publish_keys)


@lease_app.command("grant")
@zoo_command
def grant(
    ctx: typer.Context,
    token: TokenArg,
    to: Annotated[str, typer.Option("--to", help="Lessee address (or account name).", show_default=False)],
    for_: DurationOpt,
    json: JsonOpt = False,
) -> None:
    """Owner: let ADDR use the model for DURATION and deliver the current key to it.

    Example: zoo lease grant 1 --to 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --for 7d
    """
    from zoo_cli import output
    from zoo_cli.units import parse_duration
    from zoo_cli.workflows.lease import grant as run

    s = settings_of(ctx, json=json)
    data = run(s, token, to, parse_duration(for_))
    output.render(s, data, lambda d: output.kv([
        ("token", d["token_id"]), ("user", d["user"]), ("until", d["user_expires"]), ("duration", d["duration"]),
        ("key envelope", d["envelope_cid"] or "(no trained version yet)"), ("tx", d["tx_hash"]),
    ]))


@lease_app.command("offer")
@zoo_command
def offer(
    ctx: typer.Context,
    token: TokenArg,
    price_per_day: Annotated[str, typer.Option("--price-per-day", help="Price per day (0.01eth, ...); charged per second.", show_default=False)],
    max_: Annotated[str | None, typer.Option("--max", help="Longest lease accepted (default 30d, at most 3650d).", show_default=False)] = None,
    min_: Annotated[str | None, typer.Option("--min", help="Shortest lease accepted (default 1d).", show_default=False)] = None,
    min_price: Annotated[str | None, typer.Option("--min-price", help="Least a single lease must pay (default 0).", show_default=False)] = None,
    hosted: Annotated[str | None, typer.Option("--hosted", help="Hosted lease: API access at this URL, the key is never delivered.", show_default=False)] = None,
    json: JsonOpt = False,
) -> None:
    """Owner: offer paid leases (priced per second on-chain: per-day ÷ 86,400 rounded down).

    A key lease (the default) hands the lessee this generation's content key for good; --min
    and --min-price set what the shortest lease costs. --hosted URL offers API access only.

    Example: zoo lease offer 1 --price-per-day 0.01eth --min 7d --max 30d
    """
    from zoo_cli import output
    from zoo_cli.units import display_eth, parse_amount, parse_duration
    from zoo_cli.workflows.lease import offer as run

    s = settings_of(ctx, json=json)
    data = run(s, token, parse_amount(price_per_day), parse_duration(max_) if max_ else None,
               min_s=parse_duration(min_) if min_ else None, min_price=parse_amount(min_price) if min_price else 0,
               hosted=hosted)
    output.render(s, data, lambda d: output.kv([
        ("token", d["token_id"]),
        ("kind", f"hosted (API at {d['endpoint']}; no key delivered)" if d["endpoint"] else
         "key (the lessee keeps this generation's key)"),
        ("price", (f"{display_eth(int(d['effective_price_per_day_wei']))}/day "
                   f"({d['lease_price_per_second_wei']} wei/s: per-second pricing rounds down)")),
        ("lease length", f"{d['min_lease']} to {d['max_lease']}"),
        ("minimum price", f"{d['min_lease_price_eth']} ETH" if int(d["min_lease_price_wei"]) else "-"),
        ("for sale", f"{d['sale_price_eth']} ETH" if int(d["sale_price_wei"]) else "no"),
        ("key commitment", d["key_commitment"]), ("tx", d["tx_hash"]),
    ]))


@lease_app.command("take")
@zoo_command
def take(ctx: typer.Context, token: TokenArg, for_: DurationOpt, json: JsonOpt = False) -> None:
    """Lease a model: pays price-per-second × duration into escrow (publishes your keys if needed).

    Example: zoo --account dev1 lease take 1 --for 1d
    """
    from zoo_cli import output
    from zoo_cli.units import display_eth, parse_duration
    from zoo_cli.workflows.lease import take as run

    s = settings_of(ctx, json=json)
    data = run(s, token, parse_duration(for_))
    output.render(s, data, lambda d: output.kv([
        ("order", d["order_id"]), ("token", d["token_id"]), ("duration", d["duration"]),
        ("paid into escrow", display_eth(int(d["paid_wei"]))),
        ("status", f"active: API access at {d['endpoint']} (paid to the owner after the lease unless disputed)"
         if d["kind"] == "hosted-lease" else "pending: waiting for the owner's key delivery"),
        ("tx", d["tx_hash"]),
    ]))


@lease_app.command("status")
@zoo_command
def status(ctx: typer.Context, token: TokenArg, json: JsonOpt = False) -> None:
    """Current user and expiry (chain time), lease offer and open orders of a model."""
    from zoo_cli import output
    from zoo_cli.units import display_eth, format_duration
    from zoo_cli.workflows.lease import status as run

    s = settings_of(ctx, json=json)
    data = run(s, token)

    def human(d):
        lst = d["listing"]
        offer_ = "-"
        if lst and lst["for_lease"]:
            offer_ = (f"{display_eth(int(lst['lease_price_per_day_wei']))}/day, {format_duration(lst['min_lease_s'])} to "
                      f"{format_duration(lst['max_lease_s'])}")
            if int(lst["min_lease_price_wei"]):
                offer_ += f", at least {lst['min_lease_price_eth']} ETH"
            offer_ += f"; hosted at {lst['endpoint']}" if lst["lease_kind"] == "hosted" else "; key lease"
        orders = "; ".join(f"#{o['order_id']} {o['kind']} {o['status']} by {o['buyer']}" for o in d["orders"]) or "-"
        return output.kv([
            ("token", d["token_id"]), ("owner", d["owner"]),
            ("user", f"{d['user']} for {d['remaining_s']}s more (until {d['user_expires']})" if d["active"] else "-"),
            ("lease offer", offer_), ("open orders", orders),
        ])

    output.render(s, data, human)


@zoo_command
def publish_keys(ctx: typer.Context, json: JsonOpt = False) -> None:
    """Publish the account's public encryption keys (KeyRegistry) so keys can be delivered to it."""
    from zoo_cli import output
    from zoo_cli.workflows.market import publish_keys as run

    s = settings_of(ctx, json=json)
    output.render(s, run(s), lambda d: f"{d['account']}: encryption keys "
                                      + (f"published in tx {d['tx_hash']}" if d["published"] else "already published"))
