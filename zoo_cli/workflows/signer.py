"""Unlocking the signing account for a workflow, with the dev-account guard."""

from __future__ import annotations

from zoo_cli.config import DEV_CHAIN_IDS, Settings
from zoo_cli.errors import PermissionDenied


def unlock(settings: Settings, entry, client):
    """Decrypt ``entry``'s key; dev accounts are refused off the dev chain ids (their keys are public)."""
    from zoo_cli.chain.keystore import is_dev_address
    from zoo_cli.chain.passwords import get_password

    if is_dev_address(entry.address) and client.chain_id not in DEV_CHAIN_IDS:
        raise PermissionDenied(
            f"{entry.name} is a public dev account and chain id {client.chain_id} is not a dev chain",
            hint="create a real account with `zoo account new NAME` and pass --account NAME",
        )
    from zoo_cli.chain.keystore import Keystore

    password = get_password(settings, entry)
    return Keystore(settings.keystore_dir).unlock(entry, password)


def account_for(settings: Settings, client, name: str | None = None):
    """Resolve and unlock the selected (or named) account."""
    from zoo_cli.workflows.accounts import resolve_account

    return unlock(settings, resolve_account(settings, name), client)
