"""``zoo init [--dev]``: home folder, config, dev accounts, contract suite. Idempotent."""

from __future__ import annotations

from zoo_cli.config import DEV_CHAIN_IDS, read_config_file, write_config
from zoo_cli.errors import PermissionDenied

DEV_ACCOUNT = "dev0"
DEV_VERIFIER = "dev9"
#: Wei sent once to the rewards pool on dev networks (when the suite has one).
DEV_REWARD_FUNDING = 10 * 10**18


def init_home(settings, dev: bool = False, *, progress=None) -> dict:
    """Create ``$ZOO_HOME`` and its config, import dev accounts (``dev``), deploy the suite.

    Nothing is written when the chain is unreachable or, with ``dev``, when its chain id
    is not a dev chain id (1337, 31337): the dev keys are public.
    """
    from zoo_cli.chain.client import open_chain
    from zoo_cli.chain.contracts import deploy_suite
    from zoo_cli.chain.keystore import (
        DEV_ADDRESSES,
        DEV_NAMES,
        Keystore,
        import_dev_accounts,
    )
    from zoo_cli.chain.passwords import get_password
    from zoo_cli.chain.suite import SuiteParams

    network = settings.resolve_network()
    if dev and network.chain_id is not None and network.chain_id not in DEV_CHAIN_IDS:
        raise _dev_refused(network.chain_id)
    client = open_chain(settings)
    try:
        if dev and client.chain_id not in DEV_CHAIN_IDS:
            raise _dev_refused(client.chain_id)

        home = settings.home
        home.mkdir(parents=True, exist_ok=True)
        try:
            home.chmod(0o700)
        except OSError:
            pass
        cfg = dict(read_config_file(home))
        if dev:
            cfg.setdefault("account", DEV_ACCOUNT)
            cfg.setdefault("verifier", DEV_VERIFIER)
        if settings.network not in ("local", "rpc") and "network" not in cfg:
            cfg["network"] = settings.network
        if settings.rpc and "rpc" not in cfg:  # `zoo --rpc URL init`: later commands use the same node
            cfg["rpc"] = settings.rpc
        if settings.ipfs and "ipfs" not in cfg:  # `zoo --ipfs ADDR init`: the same storage node
            cfg["ipfs"] = settings.ipfs
        gateways = list(getattr(settings, "gateways", ()) or ())
        if gateways and "gateways" not in cfg:  # `zoo --gateway URL init`
            cfg["gateways"] = gateways
        write_config(home, cfg)

        ks = Keystore(settings.keystore_dir)
        accounts: list[str] = []
        if dev:
            accounts = [e.name for e in import_dev_accounts(ks)]

        account_name = settings.account or cfg.get("account")
        verifier_name = settings.verifier or cfg.get("verifier")
        summary = {
            "home": str(home),
            "network": client.network.name,
            "chain_id": client.chain_id,
            "dev": bool(dev),
            "account": account_name,
            "verifier": verifier_name,
            "accounts": accounts,
            "config": str(home / "config.toml"),
            "contracts": {},
            "deployed": [],
            "verified": [],
        }
        from zoo_cli.chain.contracts import Deployment

        recorded = Deployment.load(settings.deployments_dir, client.network.name, client.chain_id)
        if recorded is not None and recorded.imported:
            # someone else's suite (`zoo network add`): verify it, never deploy another
            result = deploy_suite(client, None, None)
            summary.update(contracts=result["contracts"], verified=result["verified"],
                           deployment=result["deployment"])
            return summary
        if recorded is None and client.chain_id not in DEV_CHAIN_IDS:
            summary["note"] = (f"no deployment recorded for {client.network.name}: "
                               f"`zoo network add {client.network.name} --rpc URL --nft ADDRESS` uses an existing "
                               "suite; `zoo deploy` deploys a new one")
            return summary
        if not account_name:
            summary["note"] = "no account configured: create one (`zoo account new NAME`), then `zoo deploy`"
            return summary

        entry = ks.resolve(account_name)
        if entry.address in DEV_ADDRESSES and client.chain_id not in DEV_CHAIN_IDS:
            raise _dev_refused(client.chain_id)
        signer = ks.unlock(entry, get_password(settings, entry))
        verifier_addr = None
        if verifier_name:
            if verifier_name in DEV_NAMES and not dev and not ks.exists(verifier_name):
                verifier_name = None
            else:
                verifier_addr = ks.resolve(verifier_name).address
        params = SuiteParams(
            verifier=verifier_addr,
            reward_funding=DEV_REWARD_FUNDING if client.chain_id in DEV_CHAIN_IDS else 0,
        )
        result = deploy_suite(client, signer, params, progress=progress)
        summary.update(
            contracts=result["contracts"],
            deployed=result["deployed"],
            verified=result["verified"],
            deployment=result["deployment"],
        )
        return summary
    finally:
        client.close()


def _dev_refused(chain_id: int) -> PermissionDenied:
    return PermissionDenied(
        f"dev accounts are refused on chain id {chain_id} (their keys are public)",
        hint="use --network local or a local anvil (chain id 1337/31337), or drop --dev",
    )
