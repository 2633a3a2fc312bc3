"""`zoo account …`: keystore management (Web3 Secret Storage v3)."""

from __future__ import annotations

from typing import Annotated

import typer

from zoo_cli.commands.common import JsonOpt, new_app, settings_of, zoo_command

account_app = new_app(
    "Manage accounts: encrypted Web3 Secret Storage v3 keystores in $ZOO_HOME/keystore "
    "(interoperable with geth and `cast wallet`). Passwords come from --password-file, "
    "ZOO_PASSWORD_FILE, ZOO_PASSWORD or a prompt — never from the command line."
)

NameArg = Annotated[str, typer.Argument(help="Account name (letters, digits, - and _).", show_default=False)]


def _accounts_table(rows):
    from zoo_cli.output import table

    return table(["name", "address"], [[r["name"], r["address"]] for r in rows])


@account_app.command("new")
@zoo_command
def new(ctx: typer.Context, name: NameArg, json: JsonOpt = False) -> None:
    """Create a new account with a fresh random key (standard scrypt keystore).

    Example: ZOO_PASSWORD_FILE=pw.txt zoo account new alice
    """
    from zoo_cli import output
    from zoo_cli.workflows.accounts import new_account

    s = settings_of(ctx, json=json)
    output.render(s, new_account(s, name), lambda d: output.kv(list(d.items())))


@account_app.command("import")
@zoo_command
def import_(
    ctx: typer.Context,
    name: NameArg,
    private_key_file: Annotated[str | None, typer.Option("--private-key-file", help="File holding a hex private key.", show_default=False)] = None,
    keystore: Annotated[str | None, typer.Option("--keystore", help="An existing v3 keystore file (e.g. from `cast wallet new`).", show_default=False)] = None,
    json: JsonOpt = False,
) -> None:
    """Import an account from a private-key file or an existing keystore file.

    Example: zoo --password-file pw.txt account import bob --keystore ./UTC--…
    """
    from pathlib import Path

    from zoo_cli import output
    from zoo_cli.workflows.accounts import import_account

    s = settings_of(ctx, json=json)
    data = import_account(s, name, Path(private_key_file) if private_key_file else None, Path(keystore) if keystore else None)
    output.render(s, data, lambda d: output.kv(list(d.items())))


@account_app.command("list")
@zoo_command
def list_(ctx: typer.Context, json: JsonOpt = False) -> None:
    """List the accounts in the keystore."""
    from zoo_cli import output
    from zoo_cli.workflows.accounts import list_accounts

    s = settings_of(ctx, json=json)
    output.render(s, list_accounts(s), _accounts_table)


@account_app.command("show")
@zoo_command
def show(ctx: typer.Context, name: Annotated[str | None, typer.Argument(help="Account name or address (default: the selected account).", show_default=False)] = None, json: JsonOpt = False) -> None:
    """Show an account's address and keystore file."""
    from zoo_cli import output
    from zoo_cli.workflows.accounts import show_account

    s = settings_of(ctx, json=json)
    output.render(s, show_account(s, name), lambda d: output.kv(list(d.items())))


@account_app.command("balance")
@zoo_command
def balance(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Account name or address (default: the selected account).", show_default=False)] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every account in the keystore.")] = False,
    json: JsonOpt = False,
) -> None:
    """Show the ether balance of an account (or --all)."""
    from zoo_cli import output
    from zoo_cli.workflows.accounts import balances

    s = settings_of(ctx, json=json)
    data = balances(s, name, all_)

    def human(d):
        rows = d if isinstance(d, list) else [d]
        return output.table(["name", "address", "balance (ETH)"], [[r["name"], r["address"], r["balance_eth"]] for r in rows])

    output.render(s, data, human)


def register(app: typer.Typer) -> None:
    app.add_typer(account_app, name="account")
