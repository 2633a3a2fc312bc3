"""One interface over both chain backends: the embedded devnet and any JSON-RPC node."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Self

from zoo_cli.config import NetworkConfig
from zoo_cli.errors import BackendUnreachable, BadInput

RPC_TIMEOUT_S = 30


class ChainClient:
    """A connected chain: ``w3`` (web3.Web3), ``network``, ``chain_id``.

    Use as a context manager or call :meth:`close`.
    """

    def __init__(self, w3, network: NetworkConfig, chain_id: int, devnet=None):
        self.w3 = w3
        self.network = network
        self.chain_id = chain_id
        self.devnet = devnet  # zoo_cli.chain.devnet.Devnet for the embedded chain
        self.deployments_dir = None  # set by open_chain: $ZOO_HOME/deployments

    @property
    def embedded(self) -> bool:
        return self.devnet is not None

    @property
    def is_dev(self) -> bool:
        return self.chain_id in (1337, 31337)

    @property
    def deployment_name(self) -> str:
        """``<network>-<chainId>`` as used in ``$ZOO_HOME/deployments/``."""
        return f"{self.network.name}-{self.chain_id}"

    # -- time -----------------------------------------------------------------------
    def now(self) -> int:
        """The timestamp the next block will have (use it for lease expiry)."""
        if self.devnet is not None:
            self.devnet.sync()
            return self.devnet.next_timestamp()
        latest = self.w3.eth.get_block("latest")["timestamp"]
        try:
            pending = self.w3.eth.get_block("pending")["timestamp"]
        except Exception:  # noqa: BLE001 - some nodes don't serve the pending block
            pending = 0
        return max(int(pending), int(latest) + 1, int(time.time()) if pending == 0 else 0)

    def advance_time(self, seconds: int) -> int:
        """Dev networks only: move chain time forward and mine a block; returns its time."""
        if not self.is_dev:
            raise BadInput(
                f"`devnet advance` works on dev networks only (chain id {self.chain_id})",
                hint="use the embedded devnet or anvil",
            )
        if seconds < 0:
            raise BadInput("duration must be positive")
        if self.devnet is not None:
            self.w3.provider.make_request("evm_increaseTime", [int(seconds)])
        else:
            target = self.now() + int(seconds)
            self._rpc("evm_increaseTime", [int(seconds)])
            self._rpc("evm_mine", [])
            got = int(self.w3.eth.get_block("latest")["timestamp"])
            if got < target:  # the node's clock ran behind its last block: top up
                self._rpc("evm_increaseTime", [target - got])
                self._rpc("evm_mine", [])
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def mine(self) -> None:
        if self.devnet is not None:
            self.w3.provider.make_request("evm_mine", [])
        else:
            self._rpc("evm_mine", [])

    def _rpc(self, method: str, params: list):
        resp = self.w3.provider.make_request(method, params)
        if "error" in resp:
            raise BackendUnreachable(f"{method} failed: {resp['error'].get('message')}",
                                     hint="is this a dev node (anvil)?")
        return resp.get("result")

    # -- writes -----------------------------------------------------------------------
    def write_lock(self):
        """Serialise a nonce lookup + send: the devnet's writer lock; a no-op over RPC."""
        if self.devnet is not None:
            return self.devnet.writing()
        return nullcontext()

    def close(self) -> None:
        if self.devnet is not None:
            self.devnet.close()
            self.devnet = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _make_w3(provider):
    from web3 import Web3

    return Web3(provider)


def open_rpc(network: NetworkConfig) -> ChainClient:
    """Connect to ``network.rpc``; unreachable or wrong chain id -> BackendUnreachable (5)."""
    from web3 import HTTPProvider, WebSocketProvider  # noqa: F401 - ws not supported yet

    url = network.rpc or ""
    if not url.startswith(("http://", "https://")):
        raise BadInput(f"unsupported RPC URL {url!r}", hint="use an http:// or https:// URL")
    w3 = _make_w3(HTTPProvider(url, request_kwargs={"timeout": RPC_TIMEOUT_S}))
    try:
        chain_id = int(w3.eth.chain_id)
    except Exception as exc:  # noqa: BLE001 - requests/aiohttp/JSON errors alike
        raise BackendUnreachable(
            f"cannot reach the JSON-RPC node at {url} ({type(exc).__name__})",
            hint="start the node or pass a different --rpc / --network",
        ) from None
    if network.chain_id is not None and chain_id != network.chain_id:
        raise BackendUnreachable(
            f"chain id mismatch: network {network.name!r} expects {network.chain_id}, "
            f"the node at {url} reports {chain_id}",
            hint="pass the right --network, or fix chain_id under [networks] in config.toml",
        )
    return ChainClient(w3, network, chain_id)


def open_embedded(network: NetworkConfig, devnet_dir, *, create: bool = True, progress=None) -> ChainClient:
    from zoo_cli.chain.devnet import DEVNET_CHAIN_ID, open_devnet

    if network.chain_id not in (None, DEVNET_CHAIN_ID):
        raise BackendUnreachable(
            f"chain id mismatch: network {network.name!r} expects {network.chain_id}, "
            f"the embedded devnet is {DEVNET_CHAIN_ID}"
        )
    devnet, provider = open_devnet(devnet_dir, create=create, progress=progress)
    return ChainClient(_make_w3(provider), network, DEVNET_CHAIN_ID, devnet=devnet)


def open_chain(settings, *, create: bool = True, progress=None) -> ChainClient:
    """The chain this invocation talks to (settings.resolve_network()).

    ``progress(done, total, info)``: the embedded devnet's one-time log indexing of an old home."""
    network = settings.resolve_network()
    if network.embedded and not network.rpc:
        client = open_embedded(network, settings.devnet_dir, create=create, progress=progress)
    elif not network.rpc:
        raise BadInput(f"network {network.name!r} has no RPC URL",
                       hint=f"pass --rpc URL or set rpc under [networks.{network.name}]")
    else:
        client = open_rpc(network)
    client.deployments_dir = settings.deployments_dir
    return client


@contextmanager
def chain_session(settings) -> Iterator[ChainClient]:
    client = open_chain(settings)
    try:
        yield client
    finally:
        client.close()
