"""Real protocol bytecode on a test chain: Uniswap V2 (npm build artifacts) and the
OpenZeppelin fixtures of contracts/test/fixtures (compiled here with the project's solc-js,
cached under .cache/fixtures by source hash; never shipped).

npm packages are looked up under node_modules/ first, then .npm-extra/node_modules/ (a
helper's local install while the shared node_modules lacks them).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "contracts" / "test" / "fixtures"
FRONTEND = REPO / "contracts" / "solc-standard-json.cjs"
CACHE = REPO / ".cache" / "fixtures"
NPM_ROOTS = (REPO / "node_modules", REPO / ".npm-extra" / "node_modules")


def npm_file(rel: str) -> Path:
    for root in NPM_ROOTS:
        p = root / rel
        if p.is_file():
            return p
    raise FileNotFoundError(f"{rel}: run `npm ci` (package.json lists it)")


def uniswap_available() -> bool:
    try:
        npm_file("@uniswap/v2-core/build/UniswapV2Factory.json")
        return True
    except FileNotFoundError:
        return False


def uniswap_artifact(name: str) -> dict:
    """{abi, bytecode} of a Uniswap V2 contract from the published npm build/ folders."""
    for pkg in ("@uniswap/v2-core", "@uniswap/v2-periphery"):
        try:
            data = json.loads(npm_file(f"{pkg}/build/{name}.json").read_text())
        except FileNotFoundError:
            continue
        return {"abi": data["abi"], "bytecode": "0x" + data["bytecode"].removeprefix("0x")}
    raise FileNotFoundError(name)


def compile_fixtures() -> dict[str, dict]:
    """{name: {abi, bytecode}} for every contract in contracts/test/fixtures/*.sol."""
    sources = {f"test/fixtures/{p.name}": {"content": p.read_text()} for p in sorted(FIXTURES.glob("*.sol"))}
    key = hashlib.sha256(json.dumps(sources, sort_keys=True).encode()).hexdigest()[:16]
    cached = CACHE / f"{key}.json"
    if cached.exists():
        return json.loads(cached.read_text())
    request = {"language": "Solidity", "sources": sources, "settings": {
        "optimizer": {"enabled": True, "runs": 200}, "evmVersion": "cancun",
        "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}}}}
    proc = subprocess.run(["node", str(FRONTEND), "--standard-json"], input=json.dumps(request).encode(),
                          capture_output=True, check=False, cwd=REPO)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.decode()[-2000:])
    out = json.loads(proc.stdout)
    errors = [e for e in out.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise RuntimeError("\n".join(e["formattedMessage"] for e in errors))
    arts = {}
    for path in sources:
        for name, c in out["contracts"].get(path, {}).items():
            if c["evm"]["bytecode"]["object"]:
                arts[name] = {"abi": c["abi"], "bytecode": "0x" + c["evm"]["bytecode"]["object"]}
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp")
    tmp.write_text(json.dumps(arts))
    tmp.replace(cached)
    return arts


class Chain:
    """A thin web3 wrapper over an anvil with its unlocked dev accounts."""

    def __init__(self, url: str):
        from web3 import Web3

        self.url = url
        self._session = None
        self.w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}))
        self.accounts = self.w3.eth.accounts

    def deploy(self, art: dict, *args, sender: str | None = None):
        c = self.w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
        txh = c.constructor(*args).transact({"from": sender or self.accounts[0]})
        rcpt = self.w3.eth.wait_for_transaction_receipt(txh)
        assert rcpt.status == 1
        return self.w3.eth.contract(address=rcpt.contractAddress, abi=art["abi"])

    def _raw(self, method: str, params: list):
        import requests

        if self._session is None:
            self._session = requests.Session()
        body = self._session.post(self.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
                                  timeout=60).json()
        if "error" in body:
            raise RuntimeError(f"{method}: {body['error']}")
        return body["result"]

    def send(self, fn, sender: str, value: int = 0, wait: bool = True):
        """Send a contract call from an unlocked account with raw JSON-RPC (web3's
        middleware stack costs ~10 ms a call on a busy machine); anvil automines."""
        tx = {"from": sender, "to": fn.address, "data": fn._encode_transaction_data(),
              "value": hex(value), "gas": hex(3_000_000)}
        txh = self._raw("eth_sendTransaction", [tx])
        if wait:
            rcpt = self.receipt(txh)
            assert int(rcpt["status"], 16) == 1, fn
            return {"blockNumber": int(rcpt["blockNumber"], 16), "transactionHash": txh}
        return txh

    def receipt(self, txh: str, timeout: float = 30.0) -> dict:
        """Poll briefly: anvil may answer eth_sendTransaction just before it mines."""
        import time

        deadline = time.monotonic() + timeout
        while (rcpt := self._raw("eth_getTransactionReceipt", [txh])) is None:
            if time.monotonic() > deadline:
                raise TimeoutError(txh)
            time.sleep(0.005)
        return rcpt

    def mine(self, n: int = 1) -> None:
        self._raw("anvil_mine", [hex(n)])

    def block_number(self) -> int:
        return int(self._raw("eth_blockNumber", []), 16)
