"""Settings: flag > ``ZOO_*`` environment > ``$ZOO_HOME/config.toml`` > default (CLI.md).

Kept free of heavy imports: this module is loaded by every command, ``--help`` included.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from zoo_cli.errors import BadInput

DEV_CHAIN_IDS = (1337, 31337)


@dataclass(frozen=True)
class NetworkConfig:
    """One named network: ``rpc`` is None for the embedded devnet."""

    name: str
    chain_id: int | None
    rpc: str | None
    embedded: bool = False

    @property
    def is_dev(self) -> bool:
        return self.chain_id in DEV_CHAIN_IDS


PRESET_NETWORKS: dict[str, NetworkConfig] = {
    "local": NetworkConfig("local", 1337, None, embedded=True),
    "anvil": NetworkConfig("anvil", 31337, "http://127.0.0.1:8545"),
    "zoo-mainnet": NetworkConfig("zoo-mainnet", 200200, "https://api.zoo.ngo/ext/bc/zoo/rpc"),
    "zoo-testnet": NetworkConfig("zoo-testnet", 200201, "https://api.zoo-test.network/ext/bc/zoo/rpc"),
}


def default_home() -> Path:
    return Path(os.environ.get("ZOO_HOME") or Path.home() / ".zoo").expanduser()


def default_cache() -> Path:
    env = os.environ.get("ZOO_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "zoo"


def read_config_file(home: Path) -> dict:
    """Parse ``$ZOO_HOME/config.toml``; a missing file is an empty config."""
    path = home / "config.toml"
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path} is not valid TOML: {exc}", hint="fix or delete the file") from exc


def write_config(home: Path, data: dict) -> None:
    """Write config.toml atomically (tomli-w: every string escaped as TOML requires)."""
    import tomli_w

    from zoo_cli.fsutil import atomic_write

    atomic_write(home / "config.toml", tomli_w.dumps(data).encode(), mode=0o644)


@dataclass(frozen=True)
class Settings:
    """Resolved global options. Build with :func:`load_settings`."""

    home: Path
    network: str = "local"
    rpc: str | None = None
    ipfs: str | None = None
    gateways: tuple[str, ...] = ()
    account: str | None = None
    verifier: str | None = None
    verifier_url: str | None = None
    password_file: Path | None = None
    cache: Path = field(default_factory=default_cache)
    json: bool = False
    yes: bool = False
    quiet: bool = False
    verbose: bool = False
    file_config: dict = field(default_factory=dict, compare=False, repr=False)

    def with_(self, **changes) -> Settings:
        return replace(self, **changes)

    # -- networks -----------------------------------------------------------------
    def networks(self) -> dict[str, NetworkConfig]:
        """Presets overlaid with ``[networks.NAME]`` tables of config.toml."""
        nets = dict(PRESET_NETWORKS)
        for name, table in (self.file_config.get("networks") or {}).items():
            base = nets.get(name, NetworkConfig(name, None, None))
            nets[name] = NetworkConfig(
                name,
                int(table["chain_id"]) if "chain_id" in table else base.chain_id,
                table.get("rpc", base.rpc),
                embedded=bool(table.get("embedded", base.embedded)),
            )
        return nets

    def resolve_network(self) -> NetworkConfig:
        """The network this invocation talks to; ``--rpc`` without ``--network`` is ``rpc``."""
        nets = self.networks()
        if self.rpc and self.network == "rpc":
            return NetworkConfig("rpc", None, self.rpc)
        if self.network not in nets:
            raise BadInput(
                f"unknown network {self.network!r}",
                hint=f"known networks: {', '.join(sorted(nets))}; add [networks.{self.network}] to config.toml",
            )
        net = nets[self.network]
        if self.rpc:
            return NetworkConfig(net.name, net.chain_id, self.rpc, embedded=False)
        return net

    @property
    def devnet_dir(self) -> Path:
        return self.home / "devnet"

    @property
    def keystore_dir(self) -> Path:
        return self.home / "keystore"

    @property
    def journal_dir(self) -> Path:
        return self.home / "journal"

    @property
    def ipfs_dir(self) -> Path:
        return self.home / "ipfs"

    @property
    def deployments_dir(self) -> Path:
        return self.home / "deployments"


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else None


def _gateways(flag, cfg: dict) -> tuple[str, ...]:
    """IPFS trustless gateways, in the order to try: ``--gateway`` (repeatable) > ``ZOO_GATEWAYS``
    (comma or space separated) > ``gateways = [...]`` in config.toml. Each is an http(s) URL."""
    if flag:
        urls = list(flag)
    elif _env("ZOO_GATEWAYS") is not None:
        urls = _env("ZOO_GATEWAYS").replace(",", " ").split()
    else:
        value = cfg.get("gateways") or []
        if isinstance(value, str):
            value = value.replace(",", " ").split()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise BadInput("config.toml: gateways must be a list of URLs",
                           hint='e.g. gateways = ["http://10.0.0.5:8080"]')
        urls = value
    out = []
    for url in urls:
        url = url.strip().rstrip("/")
        if not url.startswith(("http://", "https://")) or len(url) > 2048:
            raise BadInput(f"invalid gateway URL {url!r}", hint="use an http:// or https:// URL, e.g. http://127.0.0.1:8080")
        if url not in out:
            out.append(url)
    return tuple(out)


def load_settings(
    *,
    home: str | Path | None = None,
    network: str | None = None,
    rpc: str | None = None,
    ipfs: str | None = None,
    gateways: list[str] | tuple[str, ...] | None = None,
    account: str | None = None,
    password_file: str | Path | None = None,
    json: bool = False,
    yes: bool = False,
    quiet: bool = False,
    verbose: bool = False,
) -> Settings:
    """Resolve every setting with the documented precedence."""
    home_path = Path(home).expanduser() if home else default_home()
    cfg = read_config_file(home_path)

    def pick(flag, env_name: str, key: str, default=None):
        if flag not in (None, ""):
            return flag
        env = _env(env_name)
        if env is not None:
            return env
        value = cfg.get(key)
        return value if value not in (None, "") else default

    rpc_value = pick(rpc, "ZOO_RPC", "rpc")
    net_flag = network or _env("ZOO_NETWORK")
    if net_flag is None and rpc_value and (rpc or _env("ZOO_RPC")):
        net_value = "rpc"
    else:
        net_value = net_flag or cfg.get("network") or ("rpc" if rpc_value else "local")
    pw = pick(password_file, "ZOO_PASSWORD_FILE", "password_file")
    return Settings(
        home=home_path,
        network=str(net_value),
        rpc=rpc_value,
        ipfs=pick(ipfs, "ZOO_IPFS", "ipfs"),
        gateways=_gateways(gateways, cfg),
        account=pick(account, "ZOO_ACCOUNT", "account"),
        verifier=pick(None, "ZOO_VERIFIER", "verifier"),
        verifier_url=pick(None, "ZOO_VERIFIER_URL", "verifier_url"),
        password_file=Path(pw).expanduser() if pw else None,
        cache=default_cache(),
        json=json,
        yes=yes,
        quiet=quiet,
        verbose=verbose,
        file_config=cfg,
    )
