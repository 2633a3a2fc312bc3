"""`zoo market …`: escrowed sales, key delivery, confirmation, disputes, refunds, withdrawals."""

from __future__ import annotations

from typing import Annotated

import typer

from zoo_cli.commands.common import JsonOpt, TokenArg, new_app, settings_of, zoo_command

market_app = new_app(
    "Escrowed sales: the buyer pays into escrow, the seller delivers the content key wrapped "
    "for the buyer (`fulfill`), the buyer's CLI checks it and confirms. Payouts are pulled "
    "with `withdraw`."
)

OrderArg = Annotated[int, typer.Argument(help="Marketplace order id (see `zoo lease status TOKEN`).", min=1, show_default=False)]
PriceOpt = Annotated[str, typer.Option("--price", help="Sale price: 0.5eth, 1000gwei, 123wei or a number of ether.", show_default=False)]


def register(app: typer.Typer) -> None:
    app.add_typer(market_app, name="market")


def _royalty_lines(d) -> str:
    rows = d.get("royalties") or []
    return ", ".join(f"{r['amount_eth']} ETH to {r.get('receiver') or r.get('account')}" for r in rows) or "-"


@market_app.command("sell")
@zoo_command
def sell(ctx: typer.Context, token: TokenArg, price: PriceOpt, json: JsonOpt = False) -> None:
    """List a model for sale at a fixed price (committing to its current content key).

    Example: zoo market sell 3 --price 0.5eth
    """
    from zoo_cli import output
    from zoo_cli.units import parse_amount
    from zoo_cli.workflows.market import sell as run

    s = settings_of(ctx, json=json)
    data = run(s, token, parse_amount(price))
    output.render(s, data, lambda d: output.kv([
        ("token", d["token_id"]), ("price", f"{d['price_eth']} ETH"), ("royalties", _royalty_lines(d)),
        ("you receive", f"{d['seller_proceeds_eth']} ETH"), ("generation", d["generation"]),
        ("key commitment", d["key_commitment"]), ("tx", d["tx_hash"]),
    ]))


@market_app.command("buy")
@zoo_command
def buy(ctx: typer.Context, token: TokenArg, json: JsonOpt = False) -> None:
    """Buy a listed model: pays the exact price into escrow (publishing your encryption keys if needed).

    The seller then delivers the key (`zoo market fulfill`); your CLI checks it and confirms.
    """
    from zoo_cli import output
    from zoo_cli.workflows.market import buy as run

    s = settings_of(ctx, json=json)
    data = run(s, token)
    output.render(s, data, lambda d: output.kv([
        ("order", d["order_id"]), ("token", d["token_id"]), ("paid into escrow", f"{d['price_eth']} ETH"),
        ("royalties", _royalty_lines(d)), ("status", "pending: waiting for the seller's key delivery"),
        ("tx", d["tx_hash"]),
    ]))


@market_app.command("cancel")
@zoo_command
def cancel(ctx: typer.Context, token: TokenArg, json: JsonOpt = False) -> None:
    """Remove a model's listing (sale and lease offers)."""
    from zoo_cli import output
    from zoo_cli.workflows.market import cancel as run

    s = settings_of(ctx, json=json)
    output.render(s, run(s, token), lambda d: f"token {d['token_id']} delisted in tx {d['tx_hash']}")


@market_app.command("fulfill")
@zoo_command
def fulfill(
    ctx: typer.Context,
    watch: Annotated[bool, typer.Option("--watch", help="Keep running: deliver keys for new orders as they appear, until SIGTERM (exit 0) or Ctrl-C (exit 130).")] = False,
    interval: Annotated[float, typer.Option("--interval", help="With --watch: seconds between polls of the chain (backs off to 5x while idle).", min=0.2, max=3600)] = 2.0,
    json: JsonOpt = False,
) -> None:
    """Deliver wrapped keys for every pending order (sales, leases, data) of the account.

    With --watch it runs as a seller agent: new orders are found by polling the chain's logs,
    each key is delivered once (journaled: a killed watcher resumes where it stopped).

    Example: zoo market fulfill --watch
    """
    from zoo_cli import output

    s = settings_of(ctx, json=json)
    if watch:
        _fulfill_watch(s, interval)
        return
    from zoo_cli.workflows.market import fulfill as run

    with output.progress(s) as p:
        data = run(s, progress=p)
    for sk in data["skipped"]:
        output.warn(f"order {sk['order_id']} skipped: {sk['reason']}" + (f" ({sk['hint']})" if sk["hint"] else ""))

    def human(d):
        if not d["delivered"]:
            return "no pending orders to fulfill" if not d["skipped"] else "nothing delivered"
        return output.table(["order", "token", "kind", "buyer", "amount (ETH)", "envelope"],
                            [[o["order_id"], o["token_id"], o["kind"], o["buyer"], o["amount_eth"], o["envelope_cid"]]
                             for o in d["delivered"]])

    output.render(s, data, human)


def _fulfill_watch(s, interval: float) -> None:
    """Run the seller agent until SIGTERM/SIGINT; one summary (JSON document) at the end."""
    import signal
    import threading

    from zoo_cli import output
    from zoo_cli.errors import EXIT_INTERRUPTED
    from zoo_cli.workflows.fulfill_watch import watch as run

    stop = threading.Event()
    got: list[int] = []

    def on_signal(signum, _frame):
        if got and signum == signal.SIGINT:  # a second Ctrl-C: stop now
            raise KeyboardInterrupt
        got.append(signum)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}

    def on_event(kind: str, d: dict) -> None:
        if kind == "started":
            output.note(s, f"watching {d['network']} for orders to {d['account']} from block {d['from_block']} "
                           "(SIGTERM or Ctrl-C stops)")
        elif kind == "delivered":
            output.note(s, f"order {d['order_id']} ({d['kind']} of token {d['token_id']}): key delivered to "
                           f"{d['buyer']} in tx {d['tx_hash']}")
        elif kind == "skipped":
            output.warn(f"order {d['order_id']} not delivered yet: {d['reason']}" + (f" ({d['hint']})" if d["hint"] else ""))
        elif kind == "error":
            output.warn(f"{d['message']}; retrying in {d['retry_in_s']}s")

    try:
        data = run(s, stop, on_event, interval=interval, max_interval=max(interval * 5, 10.0))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    signame = signal.Signals(got[0]).name if got else None
    data["stopped_by"] = signame
    output.render(s, data, lambda d: f"stopped ({signame}): {len(d['delivered'])} key(s) delivered")
    if got and got[0] == signal.SIGINT:
        raise typer.Exit(EXIT_INTERRUPTED)


def _completed_human(d) -> str:
    pairs = [("order", d["order_id"]), ("token", d["token_id"]), ("kind", d["kind"]), ("status", d["status"]),
             ("released", f"{d['amount_eth']} ETH"), ("royalties", _royalty_lines(d))]
    if d.get("lease_expires"):
        pairs.append(("lease expires", d["lease_expires"]))
    pairs.append(("tx", d["tx_hash"]))
    from zoo_cli.output import kv

    return kv(pairs)


@market_app.command("confirm")
@zoo_command
def confirm(ctx: typer.Context, order: OrderArg, json: JsonOpt = False) -> None:
    """Check the delivered key (commitment and ciphertext) and confirm the order.

    A key that fails the check is not confirmed (exit 1): dispute it with `zoo market dispute ORDER`.
    """
    from zoo_cli import output
    from zoo_cli.workflows.market import confirm as run

    s = settings_of(ctx, json=json)
    output.render(s, run(s, order), _completed_human)


@market_app.command("dispute")
@zoo_command
def dispute(ctx: typer.Context, order: OrderArg, json: JsonOpt = False) -> None:
    """Dispute a delivered key within the dispute window (a verifier settles it)."""
    from zoo_cli import output
    from zoo_cli.workflows.market import dispute as run

    s = settings_of(ctx, json=json)
    output.render(s, run(s, order), lambda d: f"order {d['order_id']} disputed in tx {d['tx_hash']}; a verifier will settle it")


@market_app.command("finalize")
@zoo_command
def finalize(ctx: typer.Context, order: OrderArg, json: JsonOpt = False) -> None:
    """Release a delivered order to the seller once its dispute window has passed unconfirmed."""
    from zoo_cli import output
    from zoo_cli.workflows.market import finalize as run

    s = settings_of(ctx, json=json)
    output.render(s, run(s, order), lambda d: f"order {d['order_id']} finalized in tx {d['tx_hash']}")


@market_app.command("resolve")
@zoo_command
def resolve(
    ctx: typer.Context,
    order: OrderArg,
    refund_buyer: Annotated[bool, typer.Option("--refund/--release", help="Refund the buyer, or release the payment to the seller.")] = True,
    json: JsonOpt = False,
) -> None:
    """Verifier only: settle a disputed order (--refund the buyer or --release to the seller)."""
    from zoo_cli import output
    from zoo_cli.workflows.market import resolve as run

    s = settings_of(ctx, json=json)
    output.render(s, run(s, order, refund_buyer), lambda d: f"order {d['order_id']} {d['status']} in tx {d['tx_hash']}")


@market_app.command("refund")
@zoo_command
def refund(ctx: typer.Context, order: OrderArg, json: JsonOpt = False) -> None:
    """Refund an order whose key was not delivered before the delivery timeout (then `withdraw`)."""
    from zoo_cli import output
    from zoo_cli.workflows.market import refund as run

    s = settings_of(ctx, json=json)
    output.render(s, run(s, order), lambda d: f"order {d['order_id']} refunded: {d['refunded_eth']} ETH credited "
                                              f"(balance {d['balance_eth']} ETH; `zoo market withdraw`), tx {d['tx_hash']}")


@market_app.command("withdraw")
@zoo_command
def withdraw(ctx: typer.Context, json: JsonOpt = False) -> None:
    """Withdraw the account's credited balance (sales, leases, royalties, refunds)."""
    from zoo_cli import output
    from zoo_cli.workflows.market import withdraw as run

    s = settings_of(ctx, json=json)
    data = run(s)
    if data["tx_hash"] is None:
        output.note(s, "nothing to withdraw")
    output.render(s, data, lambda d: f"withdrew {d['withdrawn_eth']} ETH" + (f" in tx {d['tx_hash']}" if d["tx_hash"] else ""))
