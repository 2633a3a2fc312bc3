"""Chain-layer fixtures: a session anvil, the embedded/anvil parametrised backend, Probe."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # makes tests/support importable

from support.anvil import REPO, Anvil, available, start_anvil

HERE = Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def _no_prompt(monkeypatch):
    """Never prompt in tests, never read the developer's environment."""
    monkeypatch.setenv("ZOO_NO_PROMPT", "1")
    for name in ("ZOO_PASSWORD", "ZOO_PASSWORD_FILE", "ZOO_ACCOUNT", "ZOO_RPC", "ZOO_NETWORK",
                 "ZOO_HOME", "ZOO_VERIFIER"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def anvil():
    """One anvil for the session (chain id 31337), killed by PID at the end."""
    if not available():
        pytest.skip("anvil binary missing (npm ci)")
    node = start_anvil(31337)
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(params=["embedded", "anvil"])
def chain_backend(request, tmp_path):
    """Settings for a fresh ``$ZOO_HOME`` on the embedded devnet or the session anvil."""
    from zoo_cli.config import load_settings

    home = tmp_path / "home"
    if request.param == "embedded":
        return load_settings(home=home)
    node: Anvil = request.getfixturevalue("anvil")
    return load_settings(home=home, network="anvil", rpc=node.url)


@pytest.fixture
def client(chain_backend):
    from zoo_cli.chain.client import open_chain

    c = open_chain(chain_backend)
    yield c
    c.close()


@pytest.fixture(scope="session")
def probe_artifact(tmp_path_factory) -> dict:
    """Compile tests/chain/Probe.sol with the project's solc-js (evmVersion cancun)."""
    source = (HERE / "Probe.sol").read_text()
    std = {
        "language": "Solidity",
        "sources": {"Probe.sol": {"content": source}},
        "settings": {
            "evmVersion": "cancun",
            "optimizer": {"enabled": True, "runs": 200},
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object",
                                            "evm.deployedBytecode.object"]}},
        },
    }
    script = ("const solc=require('solc');let s='';process.stdin.on('data',d=>s+=d);"
              "process.stdin.on('end',()=>process.stdout.write(solc.compile(s)));")
    out = subprocess.run(["node", "-e", script], input=json.dumps(std), capture_output=True,
                         text=True, cwd=REPO, check=True, timeout=120)
    result = json.loads(out.stdout)
    errors = [e for e in result.get("errors", []) if e["severity"] == "error"]
    assert not errors, errors
    c = result["contracts"]["Probe.sol"]["Probe"]
    art = {"contract": "Probe", "abi": c["abi"], "bytecode": "0x" + c["evm"]["bytecode"]["object"],
           "deployedBytecode": "0x" + c["evm"]["deployedBytecode"]["object"]}
    from zoo_cli.chain.errors import register_abi
    from zoo_cli.chain.tx import register_events

    register_abi(art["abi"])
    register_events(art["abi"])
    return art


@pytest.fixture
def dev_signer():
    from eth_account import Account

    from zoo_cli.chain.keystore import DEV_PRIVATE_KEYS

    return Account.from_key(DEV_PRIVATE_KEYS[0])
