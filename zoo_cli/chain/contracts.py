"""Contract bindings from the committed artifacts, deployment records, suite deployment.

Deployments are recorded per network name and chain id in
``$ZOO_HOME/deployments/<network>-<chainId>.json``::

    {"network": "local", "chain_id": 1337, "deployer": "0x…", "block": 3,
     "contracts": {"ZooModelNFT": "0x…"}, "code_hashes": {"ZooModelNFT": "0x…"},
     "artifact_hashes": {"ZooModelNFT": "0x…"}, "wiring_done": ["ZooModelNFT.grantRole(0x…,0x…)"],
     "complete": true}

``deploy_suite`` is idempotent: recorded contracts whose on-chain code still matches are
kept (nothing sent), only missing pieces are deployed/wired; if any recorded contract is
gone or differs (devnet reset, anvil restarted, new artifacts), the suite is redeployed.
The record is saved after every step, so an interrupted deployment resumes.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from zoo_cli.errors import NotFound, OperationFailed
from zoo_cli.fsutil import atomic_write


# -- artifacts ------------------------------------------------------------------------
def _artifact_dir():
    return resources.files("zoo_cli.chain") / "artifacts"


def artifact_names() -> list[str]:
    d = _artifact_dir()
    return sorted(p.name[:-5] for p in d.iterdir() if p.name.endswith(".json"))


@functools.cache
def load_artifact(name: str) -> dict:
    """``{contract, abi, bytecode, deployedBytecode, ...}`` of a committed artifact."""
    path = _artifact_dir() / f"{name}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFound(f"no contract artifact {name!r}",
                       hint="run `make contracts` (or reinstall zoo)") from None


def iter_artifacts() -> Iterator[dict]:
    for name in artifact_names():
        yield load_artifact(name)


def _hex_bytes(code) -> bytes:
    if isinstance(code, str):
        return bytes.fromhex(code.removeprefix("0x"))
    return bytes(code)


def _keccak_hex(data: bytes) -> str:
    from eth_utils import keccak

    return "0x" + keccak(data).hex()


def code_matches_artifact(code: bytes, artifact: dict) -> bool:
    """Runtime code equals the artifact's deployedBytecode, immutables aside.

    Immutables (EIP-712 domain cache, constructor-set addresses) are 32-byte words that
    the artifact holds as zeros; every other byte must be equal.
    """
    expected = _hex_bytes(artifact.get("deployedBytecode") or "")
    if not code or len(code) != len(expected):
        return False
    if code == expected:
        return True
    zero_word = bytes(32)
    i = 0
    n = len(code)
    while i < n:
        if code[i] == expected[i]:
            i += 1
            continue
        # a differing byte must sit in a 32-byte all-zero window of the artifact
        start = max(0, i - 31)
        found = False
        for s in range(start, i + 1):
            if expected[s:s + 32] == zero_word and s + 32 <= n:
                i = s + 32
                found = True
                break
        if not found:
            return False
    return True


# -- deployment records -----------------------------------------------------------------
@dataclass
class Deployment:
    network: str
    chain_id: int
    contracts: dict[str, str] = field(default_factory=dict)
    block: int = 0
    deployer: str = ""
    code_hashes: dict[str, str] = field(default_factory=dict)
    artifact_hashes: dict[str, str] = field(default_factory=dict)
    wiring_done: list[str] = field(default_factory=list)
    complete: bool = False

    @staticmethod
    def path_for(deployments_dir: Path, network: str, chain_id: int) -> Path:
        return Path(deployments_dir) / f"{network}-{chain_id}.json"

    @classmethod
    def load(cls, deployments_dir: Path, network: str, chain_id: int) -> Deployment | None:
        path = cls.path_for(deployments_dir, network, chain_id)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise OperationFailed(f"deployment record {path} is unreadable: {exc}",
                                  hint=f"delete {path} and run `zoo deploy`") from None
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)

    def save(self, deployments_dir: Path) -> Path:
        path = self.path_for(deployments_dir, self.network, self.chain_id)
        atomic_write(path, (json.dumps(asdict(self), indent=2) + "\n").encode(), mode=0o644)
        return path


def _deployments_dir(client) -> Path:
    d = getattr(client, "deployments_dir", None)
    if d is None:
        raise OperationFailed("chain client has no deployments directory",
                              hint="open the chain with open_chain(settings)")
    return Path(d)


def load_deployment(client) -> Deployment:
    """The recorded suite on ``client``'s network (missing -> NotFound, hint `zoo deploy`)."""
    rec = Deployment.load(_deployments_dir(client), client.network.name, client.chain_id)
    if rec is None or not rec.contracts:
        raise NotFound(
            f"no contracts deployed on {client.network.name} (chain id {client.chain_id})",
            hint="zoo deploy",
        )
    return rec


def contract_address(client, name: str) -> str:
    rec = load_deployment(client)
    if name not in rec.contracts:
        raise NotFound(f"{name} is not deployed on {client.network.name} (chain id {client.chain_id})",
                       hint="zoo deploy")
    return rec.contracts[name]


def contract(client, name: str, address: str | None = None):
    """A web3 Contract for artifact ``name`` bound to its recorded (or given) address."""
    art = load_artifact(name)
    addr = address or contract_address(client, name)
    return client.w3.eth.contract(address=addr, abi=art["abi"])


# -- suite deployment ---------------------------------------------------------------------
def _verify(client, name: str, address: str, recorded_hash: str | None) -> bool:
    code = bytes(client.w3.eth.get_code(address))
    if not code:
        return False
    if recorded_hash and _keccak_hex(code) != recorded_hash:
        return False
    return code_matches_artifact(code, load_artifact(name))


def _wiring_key(call, ctx) -> str:
    args = ",".join(str(a) for a in call.args(ctx))
    return f"{call.contract}.{call.function}({args})"


def deploy_suite(client, account, params: Any = None, *, progress=None) -> dict:
    """Deploy (or verify) the contract suite of ``zoo_cli.chain.suite`` on ``client``.

    Returns ``{status, network, chain_id, deployment, contracts, deployed, verified, wired}``
    (status: deployed | wired | verified).
    """
    from zoo_cli.chain import suite
    from zoo_cli.chain.tx import deploy_result, send

    params = params if params is not None else suite.SuiteParams()
    plan = suite.deploy_plan()
    ddir = _deployments_dir(client)
    rec = Deployment.load(ddir, client.network.name, client.chain_id)

    verified: list[str] = []
    if rec is not None:
        ok = True
        for name, address in rec.contracts.items():
            if not _verify(client, name, address, rec.code_hashes.get(name)):
                ok = False
                break
            verified.append(name)
        if not ok:
            rec, verified = None, []
    if rec is None:
        rec = Deployment(client.network.name, client.chain_id, deployer=account.address)

    deployed: list[str] = []
    wired: list[str] = []
    for step in plan.steps:
        if step.name in rec.contracts:
            continue
        ctx = suite.PlanContext(account.address, dict(rec.contracts), params)
        if progress:
            progress(f"deploying {step.name}")
        result = deploy_result(client, account, step.name, *step.args(ctx))
        address = result.contract_address
        rec.contracts[step.name] = address
        rec.code_hashes[step.name] = _keccak_hex(bytes(client.w3.eth.get_code(address)))
        rec.artifact_hashes[step.name] = _keccak_hex(
            _hex_bytes(load_artifact(step.name).get("deployedBytecode") or ""))
        rec.block = max(rec.block, result.block_number)
        rec.complete = False
        rec.save(ddir)
        deployed.append(step.name)

    for call in plan.wiring:
        ctx = suite.PlanContext(account.address, dict(rec.contracts), params)
        if not call.when(ctx):
            continue
        key = _wiring_key(call, ctx)
        if key in rec.wiring_done:
            continue
        if progress:
            progress(f"{call.contract}.{call.function}")
        target = contract(client, call.contract, rec.contracts[call.contract])
        if call.already is None or not call.already(ctx, target):
            fn = getattr(target.functions, call.function)(*call.args(ctx))
            send(client, account, fn, value=int(call.value(ctx)))
        rec.wiring_done.append(key)
        rec.save(ddir)
        wired.append(key)

    rec.complete = True
    path = rec.save(ddir)
    status = "deployed" if deployed else ("wired" if wired else "verified")
    return {
        "status": status,
        "network": rec.network,
        "chain_id": rec.chain_id,
        "deployment": str(path),
        "contracts": dict(rec.contracts),
        "deployed": deployed,
        "verified": verified,
        "wired": wired,
    }
