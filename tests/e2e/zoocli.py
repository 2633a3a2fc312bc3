"""Drive the real `zoo` command in a subprocess against a given ZOO_HOME and backend."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ZOO = [sys.executable, "-m", "zoo_cli"]


@dataclass
class Result:
    args: list[str]
    code: int
    stdout: str
    stderr: str

    @property
    def data(self):
        return json.loads(self.stdout)

    def __repr__(self) -> str:  # shows up in assertion messages
        return f"zoo {' '.join(self.args)} -> {self.code}\nstdout: {self.stdout[-2000:]}\nstderr: {self.stderr[-3000:]}"


@dataclass
class Zoo:
    """A `zoo` runner bound to one home and network (embedded devnet or an anvil URL)."""

    home: Path
    rpc: str | None = None
    network: str | None = None
    env: dict = field(default_factory=dict)

    @property
    def backend(self) -> str:
        return "anvil" if self.rpc else "embedded"

    def base_env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZOO_")}
        env.update(ZOO_HOME=str(self.home), ZOO_NO_PROMPT="1", HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
        if "ZOO_CACHE" in os.environ:
            env["ZOO_CACHE"] = os.environ["ZOO_CACHE"]
        if self.rpc:
            env["ZOO_RPC"] = self.rpc
            env["ZOO_NETWORK"] = self.network or "anvil"
        env.update(self.env)
        return env

    def run(self, *args: str | int, account: str | None = None, json_out: bool = True, expect: int | None = 0,
            env: dict | None = None, timeout: float = 900, cwd: Path | None = None, stdin: str | None = None) -> Result:
        argv: list[str] = []
        if account:
            argv += ["--account", account]
        if json_out:
            argv.append("--json")
        argv += [str(a) for a in args]
        full_env = self.base_env()
        if env:
            full_env.update(env)
        proc = subprocess.run(ZOO + argv, capture_output=True, text=True, env=full_env, timeout=timeout,
                              cwd=str(cwd or self.home.parent), input=stdin, check=False)
        res = Result(argv, proc.returncode, proc.stdout, proc.stderr)
        if expect is not None:
            assert res.code == expect, res
        if json_out and res.stdout.strip():
            json.loads(res.stdout)  # exactly one JSON document, always
        return res

    def __call__(self, *args, **kwargs) -> Result:
        return self.run(*args, **kwargs)


def new_zoo(tmp_path_factory, backend: str, request) -> Zoo:
    """A fresh, initialised (`zoo init --dev`) home on ``backend`` (embedded or anvil)."""
    root = tmp_path_factory.mktemp(f"zoo-{backend}")
    if backend == "anvil":
        node = request.getfixturevalue("anvil_node")
        zoo = Zoo(root / "home", rpc=node.url, network="anvil")
    else:
        zoo = Zoo(root / "home")
    zoo("init", "--dev")
    return zoo
