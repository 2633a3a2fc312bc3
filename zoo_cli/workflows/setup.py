"""Set-up workflows: init, deploy, networks, devnet time."""

from __future__ import annotations

import json

from zoo_cli.config import Settings
from zoo_cli.errors import BadInput, PermissionDenied


def init(settings: Settings, dev: bool) -> dict:
    from zoo_cli.chain.setup import init_home

    return init_home(settings, dev=dev)


def deploy(settings: Settings, new: bool = False) -> dict:
    from zoo_cli.chain.client import open_chain
    from zoo_cli.chain.contracts import deploy_suite
    from zoo_cli.chain.keystore import Keystore
    from zoo_cli.chain.setup import DEV_REWARD_FUNDING
    from zoo_cli.chain.suite import SuiteParams
    from zoo_cli.config import DEV_CHAIN_IDS
    from zoo_cli.workflows.accounts import resolve_account
    from zoo_cli.workflows.signer import unlock

    with open_chain(settings) as client:
        account = unlock(settings, resolve_account(settings), client)
        verifier = Keystore(settings.keystore_dir).resolve(settings.verifier).address if settings.verifier else None
        params = SuiteParams(
            verifier=verifier,
            reward_funding=DEV_REWARD_FUNDING if client.chain_id in DEV_CHAIN_IDS else 0,
        )
        return deploy_suite(client, account, params, new=new)


def _recorded(settings: Settings) -> dict[str, dict]:
    """Deployment records by network name (latest file per name)."""
    found: dict[str, dict] = {}
    d = settings.deployments_dir
    if d.is_dir():
        for path in sorted(d.glob("*.json")):
            try:
                rec = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            found[rec.get("network", path.stem)] = rec
    return found


def list_networks(settings: Settings) -> list[dict]:
    recorded = _recorded(settings)
    current = settings.resolve_network().name
    rows = []
    for name, net in sorted(settings.networks().items()):
        rows.append(
            {
                "name": name,
                "chain_id": net.chain_id,
                "rpc": net.rpc if not net.embedded else None,
                "embedded": net.embedded,
                "current": name == current,
                "deployed": name in recorded,
            }
        )
    if current == "rpc":
        rows.append({"name": "rpc", "chain_id": None, "rpc": settings.rpc, "embedded": False, "current": True, "deployed": "rpc" in recorded})
    return rows


def show_network(settings: Settings) -> dict:
    from zoo_cli.chain.client import open_chain

    net = settings.resolve_network()
    with open_chain(settings) as client:
        chain_id = client.chain_id
        block = client.w3.eth.block_number
        now = client.now()
    path = settings.deployments_dir / f"{net.name}-{chain_id}.json"
    contracts = {}
    if path.exists():
        contracts = json.loads(path.read_text()).get("contracts", {})
    return {
        "name": net.name,
        "chain_id": chain_id,
        "rpc": None if net.embedded else net.rpc,
        "embedded": net.embedded,
        "block_number": block,
        "chain_time": now,
        "deployment": str(path) if path.exists() else None,
        "contracts": contracts,
    }


def advance(settings: Settings, seconds: int) -> dict:
    from zoo_cli.chain.client import open_chain

    net = settings.resolve_network()
    with open_chain(settings) as client:
        if client.chain_id not in (1337, 31337):
            raise PermissionDenied(
                f"devnet advance only works on dev networks (chain id {client.chain_id})",
                hint="use --network local or a local anvil",
            )
        if seconds <= 0:
            raise BadInput("duration must be positive", hint="for example 1d")
        before = client.now()
        client.advance_time(seconds)
        after = client.now()
    return {"network": net.name, "advanced_s": seconds, "chain_time_before": before, "chain_time": after}


NETWORK_NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
RESERVED_NETWORKS = ("local", "rpc")


def add_network(settings: Settings, name: str, rpc: str, nft: str) -> dict:
    """``zoo network add NAME --rpc URL --nft ADDRESS``: record someone else's deployment.

    The chain id is read from the node; every module address is read on-chain from the NFT
    (each checked against this zoo version's code); ``[networks.NAME]`` goes to config.toml
    and the deployment record to ``deployments/NAME-<chainId>.json``. Works in a fresh
    ``$ZOO_HOME`` (created, and NAME made its default network). Nothing is deployed or sent.
    """
    import re

    from zoo_cli.chain.client import open_rpc
    from zoo_cli.chain.contracts import Deployment, discover_suite
    from zoo_cli.config import PRESET_NETWORKS, NetworkConfig, read_config_file, write_config

    if not re.match(NETWORK_NAME_RE, name or ""):
        raise BadInput(f"invalid network name {name!r}",
                       hint="use letters, digits, '-', '_' or '.', e.g. zoo network add shop --rpc URL --nft ADDRESS")
    if name in RESERVED_NETWORKS:
        raise BadInput(f"network name {name!r} is reserved", hint="pick another name, e.g. shop")
    preset = PRESET_NETWORKS.get(name)
    with open_rpc(NetworkConfig(name, preset.chain_id if preset else None, rpc)) as client:
        client.deployments_dir = settings.deployments_dir
        rec, unwired = discover_suite(client, nft)
        chain_id = client.chain_id
        home = settings.home
        fresh = not (home / "config.toml").exists()
        home.mkdir(parents=True, exist_ok=True)
        try:
            home.chmod(0o700)
        except OSError:
            pass
        previous = Deployment.load(settings.deployments_dir, name, chain_id)
        replaced = bool(previous and previous.contracts
                        and previous.contracts.get("ZooModelNFT") != rec.contracts.get("ZooModelNFT"))
        if replaced:
            from zoo_cli.chain.contracts import archive_deployment

            archive_deployment(settings.deployments_dir, previous)
        cfg = dict(read_config_file(home))
        nets = dict(cfg.get("networks") or {})
        nets[name] = {**dict(nets.get(name) or {}), "rpc": rpc, "chain_id": chain_id}
        cfg["networks"] = nets
        if fresh and "network" not in cfg:
            cfg["network"] = name
        write_config(home, cfg)
        path = rec.save(settings.deployments_dir)
    return {
        "network": name,
        "chain_id": chain_id,
        "rpc": rpc,
        "default": cfg.get("network") == name,
        "deployment": str(path),
        "deployment_block": rec.block,
        "contracts": dict(rec.contracts),
        "unwired": unwired,
        "replaced": replaced,
    }
