"""Account workflows: keystore management and balances."""

from __future__ import annotations

import re
from pathlib import Path

from zoo_cli.config import Settings
from zoo_cli.errors import BadInput, NotFound


def _keystore(settings: Settings):
    from zoo_cli.chain.keystore import Keystore

    return Keystore(settings.keystore_dir)


_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _check_new_name(ks, name: str) -> None:
    if not _NAME.match(name) or name.lower().startswith("0x"):
        raise BadInput(f"invalid account name {name!r}", hint="use 1-64 letters, digits, - or _ (not starting with 0x)")
    if any(e.name == name for e in ks.list()):
        raise BadInput(f"account {name!r} already exists", hint="pick another name or see `zoo account list`")


def list_accounts(settings: Settings) -> list[dict]:
    return [{"name": e.name, "address": e.address} for e in _keystore(settings).list()]


def show_account(settings: Settings, name: str | None) -> dict:
    entry = resolve_account(settings, name)
    return {"name": entry.name, "address": entry.address, "keystore": str(entry.path)}


def resolve_account(settings: Settings, name: str | None = None):
    """The keystore entry for ``name`` or the configured default account."""
    target = name or settings.account
    if not target:
        raise NotFound(
            "no account selected",
            hint="pass --account NAME, set ZOO_ACCOUNT, or run `zoo init --dev` / `zoo account new NAME`",
        )
    return _keystore(settings).resolve(target)


def new_account(settings: Settings, name: str) -> dict:
    from zoo_cli.chain.passwords import get_password

    ks = _keystore(settings)
    _check_new_name(ks, name)
    password = get_password(settings, None, confirm=True)
    entry = ks.new(name, password)
    return {"name": entry.name, "address": entry.address, "keystore": str(entry.path)}


def import_account(settings: Settings, name: str, private_key_file: Path | None, keystore_file: Path | None) -> dict:
    from zoo_cli.chain.passwords import get_password

    if bool(private_key_file) == bool(keystore_file):
        raise BadInput("give exactly one of --private-key-file or --keystore", hint="zoo account import NAME --keystore FILE")
    ks = _keystore(settings)
    _check_new_name(ks, name)
    if private_key_file:
        try:
            text = Path(private_key_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInput(f"cannot read {private_key_file}: {exc}", hint="the file must hold a hex private key") from None
        key_hex = text[2:] if text.lower().startswith("0x") else text
        try:
            key = bytes.fromhex(key_hex)
        except ValueError:
            raise BadInput(f"{private_key_file} does not hold a hex private key", hint="64 hex digits, optional 0x") from None
        if len(key) != 32:
            raise BadInput(f"{private_key_file} does not hold a 32-byte private key", hint="64 hex digits, optional 0x")
        password = get_password(settings, None, confirm=True)
        entry = ks.import_private_key(name, key, password)
    else:
        if not Path(keystore_file).is_file():
            raise NotFound(f"keystore file {keystore_file} not found", hint="check the path")
        password = get_password(settings, None)
        entry = ks.import_keystore(name, Path(keystore_file), password)
    return {"name": entry.name, "address": entry.address, "keystore": str(entry.path)}


def balances(settings: Settings, name: str | None, all_accounts: bool) -> dict | list[dict]:
    from zoo_cli.chain.client import open_chain
    from zoo_cli.units import wei_fields

    ks = _keystore(settings)
    entries = ks.list() if all_accounts else [resolve_account(settings, name)]
    with open_chain(settings) as client:
        rows = [
            {"name": e.name, "address": e.address, **wei_fields("balance", client.w3.eth.get_balance(e.address))}
            for e in entries
        ]
    return rows if all_accounts else rows[0]
