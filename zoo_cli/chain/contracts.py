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

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# the artifacts live in chain/abi.py; re-exported for the callers that import them from here
from zoo_cli.chain.abi import artifact_names, iter_artifacts, load_artifact  # noqa: F401
from zoo_cli.errors import NotFound, OperationFailed
from zoo_cli.fsutil import atomic_write


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
    imported: bool = False  # recorded by `zoo network add` (someone else's suite): verify only

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
    return _check_code(client, name, address, recorded_hash) == "ok"


def _check_code(client, name: str, address: str, recorded_hash: str | None = None) -> str:
    """``ok`` (the artifact's code is there), ``missing`` (no code: chain reset) or ``differs``."""
    code = bytes(client.w3.eth.get_code(address))
    if not code:
        return "missing"
    if recorded_hash and _keccak_hex(code) != recorded_hash:
        return "differs"
    return "ok" if code_matches_artifact(code, load_artifact(name)) else "differs"


def _wiring_key(call, ctx) -> str:
    args = ",".join(str(a) for a in call.args(ctx))
    return f"{call.contract}.{call.function}({args})"


def archive_deployment(ddir: Path, rec: Deployment) -> Path:
    """Move a replaced deployment record aside (``deployments/replaced/``), never delete it."""
    src = Deployment.path_for(ddir, rec.network, rec.chain_id)
    dest_dir = ddir / "replaced"
    dest_dir.mkdir(parents=True, exist_ok=True)
    n = 1
    while (dest := dest_dir / f"{rec.network}-{rec.chain_id}.{n}.json").exists():
        n += 1
    src.replace(dest)
    return dest


def deploy_suite(client, account, params: Any = None, *, progress=None, new: bool = False) -> dict:
    """Deploy (or verify) the contract suite of ``zoo_cli.chain.suite`` on ``client``.

    Idempotent: a recorded suite whose code is still on-chain is verified, never deployed
    again; an interrupted deployment resumes. A second suite is deployed only with
    ``new=True`` (``zoo deploy --new``; the old record moves to ``deployments/replaced/``).
    A recorded suite whose contracts are all gone (devnet reset, anvil restarted) is
    redeployed; one whose code differs from the artifacts, or one recorded by
    ``zoo network add``, is never replaced silently.

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
    replaced = None
    if rec is not None and new and rec.contracts:
        replaced = str(archive_deployment(ddir, rec))
        rec = None
    if rec is not None:
        states = {name: _check_code(client, name, address, rec.code_hashes.get(name))
                  for name, address in rec.contracts.items()}
        bad = {n: st for n, st in states.items() if st != "ok"}
        if not bad:
            verified = list(rec.contracts)
            if rec.imported:
                return _result(rec, Deployment.path_for(ddir, rec.network, rec.chain_id), [], verified, [])
        elif rec.imported or any(st == "differs" for st in bad.values()):
            name, st = next(iter(bad.items()))
            what = "has no code any more" if st == "missing" else "does not hold this zoo version's contract code"
            raise OperationFailed(
                f"the deployment recorded for {rec.network} (chain id {rec.chain_id}): {name} at "
                f"{rec.contracts[name]} {what}",
                hint="check --network/--rpc; `zoo deploy --new` deploys a new suite on purpose"
                     + (f", or `zoo network add {rec.network} --rpc URL --nft ADDRESS` records another"
                        if rec.imported else ""),
            )
        else:  # every recorded contract is gone: the chain was reset, nothing to protect
            rec = None
    if rec is None:
        rec = Deployment(client.network.name, client.chain_id, deployer=account.address)

    deployed: list[str] = []
    wired: list[str] = []
    for step in plan.steps:
        if step.name in rec.contracts:
            continue
        if step.created_by is not None:
            creator, getter = step.created_by
            if creator not in rec.contracts:
                continue
            address = call_getter(client, creator, rec.contracts[creator], getter)
            rec.contracts[step.name] = address
            rec.code_hashes[step.name] = _keccak_hex(bytes(client.w3.eth.get_code(address)))
            rec.artifact_hashes[step.name] = _keccak_hex(
                _hex_bytes(load_artifact(step.name).get("deployedBytecode") or ""))
            rec.save(ddir)
            deployed.append(step.name)
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
        # modules the new contract created in its constructor are recorded right away
        for other in plan.steps:
            if other.created_by and other.created_by[0] == step.name and other.name not in rec.contracts:
                addr = call_getter(client, step.name, address, other.created_by[1])
                rec.contracts[other.name] = addr
                rec.code_hashes[other.name] = _keccak_hex(bytes(client.w3.eth.get_code(addr)))
                rec.artifact_hashes[other.name] = _keccak_hex(
                    _hex_bytes(load_artifact(other.name).get("deployedBytecode") or ""))
                rec.save(ddir)
                deployed.append(other.name)

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
    out = _result(rec, path, deployed, verified, wired)
    if replaced:
        out["replaced"] = replaced
    return out


def _result(rec: Deployment, path: Path, deployed: list, verified: list, wired: list) -> dict:
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


def call_getter(client, name: str, address: str, getter: str) -> str:
    """``name(address).getter()`` for an address-returning view function."""
    from web3 import Web3

    fn = getattr(contract(client, name, address).functions, getter)
    return Web3.to_checksum_address(fn().call())


# -- discovery (`zoo network add`) ------------------------------------------------------------
def _creation_block(client, address: str) -> int:
    """The first block holding code at ``address`` (binary search over eth_getCode); 0 when the
    node keeps no historical state (log queries then simply start at genesis)."""
    w3 = client.w3
    hi = int(w3.eth.block_number)
    lo = 0
    try:
        if not bytes(w3.eth.get_code(address, block_identifier=hi)):
            return 0
        while lo < hi:
            mid = (lo + hi) // 2
            if bytes(w3.eth.get_code(address, block_identifier=mid)):
                hi = mid
            else:
                lo = mid + 1
    except Exception:  # noqa: BLE001 - a pruned node refuses old state: fall back to genesis
        return 0
    return lo


def discover_suite(client, nft_address: str) -> tuple[Deployment, list[str]]:
    """Read a deployed suite from the chain, starting at its ZooModelNFT.

    Every module address comes from the NFT's getters (``suite.MODULE_GETTERS``); the code at
    each address must be this zoo version's artifact and each module must point back at the
    NFT. Returns the deployment record (``imported``, not saved) and the modules the NFT has
    not wired (zero address).
    """
    from web3 import Web3

    from zoo_cli.chain import suite
    from zoo_cli.errors import BadInput

    if not isinstance(nft_address, str) or not Web3.is_address(nft_address):
        raise BadInput(f"invalid contract address {nft_address!r}", hint="pass the 0x… address of the ZooModelNFT contract")
    nft = Web3.to_checksum_address(nft_address)
    where = f"on {client.network.name} (chain id {client.chain_id})"
    state = _check_code(client, suite.ROOT_CONTRACT, nft)
    if state == "missing":
        raise NotFound(f"no contract at {nft} {where}",
                       hint="check the address and --rpc (the ZooModelNFT address is in the owner's `zoo network show`)")
    if state != "ok":
        raise OperationFailed(f"the contract at {nft} {where} is not a ZooModelNFT of this zoo version",
                              hint="check the address, or upgrade zoo to the version that deployed it")
    rec = Deployment(client.network.name, client.chain_id, imported=True, complete=True)
    rec.contracts[suite.ROOT_CONTRACT] = nft
    unwired: list[str] = []
    for name, getter in suite.MODULE_GETTERS.items():
        address = call_getter(client, suite.ROOT_CONTRACT, nft, getter)
        if int(address, 16) == 0:
            unwired.append(name)
            continue
        state = _check_code(client, name, address)
        if state != "ok":
            what = "has no code" if state == "missing" else f"is not a {name} of this zoo version"
            raise OperationFailed(f"{name} at {address} (ZooModelNFT.{getter}()) {what}",
                                  hint="the suite is incomplete or from another zoo version; ask its deployer")
        art = load_artifact(name)
        if any(e.get("type") == "function" and e.get("name") == "nft" and not e.get("inputs") for e in art["abi"]):
            back = call_getter(client, name, address, "nft")
            if back != nft:
                raise OperationFailed(f"{name} at {address} belongs to the ZooModelNFT at {back}, not {nft}",
                                      hint="the suite is mis-wired; ask its deployer")
        rec.contracts[name] = address
    for name, address in rec.contracts.items():
        rec.code_hashes[name] = _keccak_hex(bytes(client.w3.eth.get_code(address)))
        rec.artifact_hashes[name] = _keccak_hex(_hex_bytes(load_artifact(name).get("deployedBytecode") or ""))
    rec.block = _creation_block(client, nft)
    return rec, unwired
