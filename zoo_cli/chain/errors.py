"""Decoding reverts: custom errors from every committed artifact's ABI, by 4-byte selector.

web3 v8 does not name Solidity custom errors, so we match the selector against the
``error`` entries of all ABIs in ``zoo_cli/chain/artifacts/`` (OpenZeppelin's standard
errors included) and decode the arguments with eth_abi.
"""

from __future__ import annotations

import functools
import re

from zoo_cli.errors import (
    EXIT_FAILED,
    EXIT_NOT_FOUND,
    EXIT_PERMISSION,
    NotFound,
    OperationFailed,
    PermissionDenied,
    ZooError,
)

_AUTH_PATTERNS = (
    "NotOwner", "Unauthorized", "AccessControl", "InsufficientApproval", "InvalidApprover",
    "InvalidOperator", "NotLessee", "LeaseExpired", "NotAuthorized", "NotApproved",
    "OnlyOwner", "OwnableUnauthorized", "NotSeller", "NotBuyer", "NotVerifier", "Forbidden",
    "IncorrectOwner", "OnlyModule",
)
_NOT_FOUND_PATTERNS = ("NonexistentToken", "UnknownToken", "UnknownOrder", "NoSuchToken",
                       "NonexistentOrder", "ZkNotProven", "NoZkModule")

# Solidity's builtin reverts.
_ERROR_STRING = bytes.fromhex("08c379a0")  # Error(string)
_PANIC = bytes.fromhex("4e487b71")  # Panic(uint256)
_PANIC_CODES = {
    0x01: "assertion failed", 0x11: "arithmetic overflow or underflow",
    0x12: "division by zero", 0x21: "invalid enum value", 0x22: "bad storage byte array",
    0x31: "pop on empty array", 0x32: "array index out of bounds",
    0x41: "out of memory", 0x51: "call to a zero-initialized function",
}


def exit_code_for(error_name: str) -> int:
    """Authorization errors -> 4, nonexistent token -> 3, anything else -> 1."""
    if any(p in error_name for p in _NOT_FOUND_PATTERNS):
        return EXIT_NOT_FOUND
    if any(p in error_name for p in _AUTH_PATTERNS):
        return EXIT_PERMISSION
    return EXIT_FAILED


class ContractRevert(ZooError):
    """A reverted call or transaction, decoded: ``error_name`` and ``args`` (name -> value)."""

    def __init__(self, error_name: str, args: dict, message: str | None = None,
                 hint: str | None = None, data: bytes = b""):
        self.error_name = error_name
        self.args_dict = dict(args)
        self.data = bytes(data)
        self.code = exit_code_for(error_name)
        text = message or f"reverted: {format_error(error_name, args)}"
        super().__init__(text, hint=hint or default_hint(error_name, self.code), type_name=error_name)

    @property
    def decoded_args(self) -> dict:
        return self.args_dict

    def as_zoo_error(self) -> ZooError:
        """The same error as the plain class its exit code stands for."""
        cls = {EXIT_PERMISSION: PermissionDenied, EXIT_NOT_FOUND: NotFound}.get(
            self.code, OperationFailed)
        return cls(self.message, hint=self.hint, type_name=self.error_name)


_HINTS = {
    "MarketBadStatus": "the order is not in a state that allows this; see `zoo lease status TOKEN` or docs/marketplace.md",
    "ZooModelLocked": "a pending order or an active paid lease locks the token; wait until it ends",
    "ZooModelStaleGeneration": "the token changed since this report was made; rerun the command",
    "ZooModelReportExpired": "the signed report expired; rerun the command to sign a fresh one",
    "SpecializationNoZkModule": "this deployment has no zk evaluation module: zoo deploy",
    "SpecializationZkNotProven": "prove the token's policy first: zoo prove TOKEN --tasks DOMAIN",
    "SpecializationZkStale": "the token was updated since its last zk proof: zoo prove TOKEN --tasks DOMAIN",
    "SpecializationZkWrongTasks": "prove it on the specialization's domain alone: zoo prove TOKEN --tasks DOMAIN",
    "SpecializationZkTooFewRecords": "prove it on a set of at least 64 records: zoo prove TOKEN --tasks DOMAIN",
    "SpecializationZkScoreTooLow": "train the policy more (zoo train TOKEN DATA.jsonl --policy), then "
                                   "zoo prove TOKEN --tasks DOMAIN",
    "SpecializationProofStale": "the token changed since the verifier evaluated it: rerun zoo specialize TOKEN SPEC",
    "TrainingRewardsTokenLocked": "an order of the token is pending; claim after it settles (zoo lease status TOKEN lists its orders)",
    "ZooModelPolicyHashTaken": "another token already committed these policy weights; train a policy of your own: "
                               "zoo train TOKEN DATA.jsonl --policy",
    "ZkEvalSetWrongToken": "that evaluation set was drawn for another token: zoo prove TOKEN draws a fresh one",
    "ZkEvalSetStale": "the token was updated since its evaluation set was drawn: zoo prove TOKEN draws a fresh one",
    "ZkEvalSetUsed": "that evaluation set was already used (sets are single-use): zoo prove TOKEN draws a fresh one",
    "ZooModelMarketNotAccepted": "the marketplace was re-pointed; the owner accepts the new one with "
                                 "acceptMarketplace() (docs/contracts.md)",
    "ZooModelModulesWired": "modules are wired once at deployment; changes go through proposeModule/executeModule",
}


def default_hint(error_name: str, code: int) -> str:
    """A next step for a decoded revert when the caller gave none."""
    if error_name in _HINTS:
        return _HINTS[error_name]
    if code == EXIT_PERMISSION:
        return "use the owner's (or an approved) account: --account NAME"
    if code == EXIT_NOT_FOUND:
        return "check the token id with `zoo list`"
    return "nothing was sent; see docs/contracts.md for what this error means"


def _fmt_value(value) -> str:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_fmt_value(v) for v in value) + "]"
    return str(value)


def format_error(name: str, args: dict) -> str:
    return f"{name}(" + ", ".join(f"{k}={_fmt_value(v)}" for k, v in args.items()) + ")"


def _abi_type(entry: dict) -> str:
    t = entry["type"]
    if t.startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in entry.get("components", []))
        return f"({inner}){t[5:]}"
    return t


@functools.lru_cache(maxsize=1)
def error_registry() -> dict[bytes, tuple[str, list[str], list[str]]]:
    """selector -> (name, arg names, arg types) over every committed artifact."""
    from eth_utils import keccak

    from zoo_cli.chain.abi import iter_artifacts

    registry: dict[bytes, tuple[str, list[str], list[str]]] = {}
    for artifact in iter_artifacts():
        for entry in artifact.get("abi", []):
            if entry.get("type") != "error":
                continue
            types = [_abi_type(i) for i in entry.get("inputs", [])]
            names = [i.get("name") or f"arg{n}" for n, i in enumerate(entry.get("inputs", []))]
            sig = f"{entry['name']}({','.join(types)})"
            registry.setdefault(keccak(text=sig)[:4], (entry["name"], names, types))
    return registry


def register_abi(abi: list[dict]) -> None:
    """Add the errors of an ABI outside the artifacts folder (tests, extra contracts)."""
    from eth_utils import keccak

    reg = error_registry()
    for entry in abi:
        if entry.get("type") == "error":
            types = [_abi_type(i) for i in entry.get("inputs", [])]
            names = [i.get("name") or f"arg{n}" for n, i in enumerate(entry.get("inputs", []))]
            reg.setdefault(keccak(text=f"{entry['name']}({','.join(types)})")[:4],
                           (entry["name"], names, types))


def _checksum_values(types: list[str], values) -> list:
    from eth_utils import to_checksum_address

    out = []
    for t, v in zip(types, values):
        out.append(to_checksum_address(v) if t == "address" else v)
    return out


def decode_revert(data: bytes | str | None, message: str | None = None) -> ContractRevert:
    """Revert data -> ContractRevert (custom error, Error(string), Panic, or unknown)."""
    if isinstance(data, str):
        data = bytes.fromhex(data.removeprefix("0x")) if data not in ("", "0x") else b""
    data = bytes(data or b"")
    from eth_abi import decode

    if len(data) >= 4:
        selector, body = data[:4], data[4:]
        if selector == _ERROR_STRING:
            try:
                (reason,) = decode(["string"], body)
                return ContractRevert("Error", {"reason": reason}, f"reverted: {reason}", data=data)
            except Exception:  # noqa: BLE001, S110 - malformed payload falls through to unknown
                pass
        elif selector == _PANIC:
            try:
                (code,) = decode(["uint256"], body)
                what = _PANIC_CODES.get(code, f"panic code {code:#x}")
                return ContractRevert("Panic", {"code": code}, f"reverted: panic ({what})", data=data)
            except Exception:  # noqa: BLE001, S110
                pass
        else:
            known = error_registry().get(selector)
            if known:
                name, names, types = known
                try:
                    values = _checksum_values(types, decode(types, body))
                    return ContractRevert(name, dict(zip(names, values)), data=data)
                except Exception:  # noqa: BLE001, S110 - wrong payload for the selector
                    pass
            return ContractRevert(
                "UnknownError", {"selector": "0x" + selector.hex()},
                f"reverted with unknown error 0x{selector.hex()} (data 0x{data.hex()[:136]})",
                hint="the contract is not one of zoo's committed artifacts", data=data)
    text = message or "reverted without a reason"
    return ContractRevert("Revert", {}, text if text.startswith("reverted") else f"reverted: {text}",
                          data=data)


_HEX_RE = re.compile(r"0x[0-9a-fA-F]*")


def revert_from_exception(exc: BaseException) -> ContractRevert | None:
    """Map web3's ContractLogicError/ContractCustomError/RPC errors to a ContractRevert."""
    from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError

    if isinstance(exc, (ContractCustomError, ContractLogicError, ContractPanicError)):
        data = getattr(exc, "data", None)
        if isinstance(data, dict):
            data = data.get("data")
        if isinstance(data, str) and _HEX_RE.fullmatch(data):
            return decode_revert(data, getattr(exc, "message", None))
        msg = str(getattr(exc, "message", None) or exc)
        return decode_revert(b"", msg.replace("execution reverted: ", "").replace(
            "execution reverted", "reverted without a reason"))
    return None


def node_error(exc: BaseException) -> ZooError | None:
    """Classify node-side rejections (funds, nonce) into ZooErrors; None if unknown."""
    text = str(getattr(exc, "message", None) or exc)
    low = text.lower()
    if "insufficient funds" in low or "cannot afford" in low or "afford txn" in low:
        return OperationFailed(
            "insufficient funds for gas * price + value",
            hint="fund the account (on dev networks use a dev account: `zoo account balance --all`)",
        )
    if "nonce too low" in low or "invalid nonce" in low or ("nonce" in low and "expected" in low):
        return OperationFailed(f"transaction rejected: {text}",
                               hint="another transaction from this account got in first; retry")
    return None
