"""solc 0.8.20 from npm (``solc0820@npm:solc@0.8.20``), offline: the compiler ezkl expects at
``$HOME/.svm/0.8.20/solc-0.8.20``, and a ``--standard-json`` compile for zoo's own use.

ezkl's ``create_evm_verifier`` looks for a native-looking solc under ``$HOME/.svm``; zoo
gives it a project-owned HOME (:func:`solc_home`, never the user's) holding a small shell
shim that runs ``solc_stream.cjs`` (shipped in this package, so it works from an installed
wheel) on node with the npm package.

Where the npm package is found, in order: ``$ZOO_SOLC0820``; ``<zk_root>/node_modules/solc0820``
(``npm install --prefix "$ZOO_HOME/zk" solc0820@npm:solc@0.8.20``); the ``node_modules`` of a
source checkout (``make setup`` installs it there).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

from zoo_cli import childproc
from zoo_cli.errors import NotFound, OperationFailed

SOLC_VERSION = "0.8.20"
SHIM_DIR = Path(__file__).resolve().parent / "solc"
CHECKOUT_MODULES = Path(__file__).resolve().parents[2] / "node_modules"
INSTALL_HINT = 'run `make setup` in a zoo checkout, or `npm install --prefix "$ZOO_HOME/zk" solc0820@npm:solc@0.8.20`'


def _node() -> str:
    node = shutil.which("node")
    if not node:
        raise NotFound("node is not installed", hint="install Node.js 20 and run `make setup`")
    return node


def solc_package(zk_root: Path) -> Path:
    """The npm solc 0.8.20 package folder (see the module doc for the search order)."""
    env = os.environ.get("ZOO_SOLC0820")
    candidates = [Path(env)] if env else [Path(zk_root) / "node_modules" / "solc0820", CHECKOUT_MODULES / "solc0820"]
    for package in candidates:
        if (package / "index.js").exists():
            return package
    raise NotFound(f"solc {SOLC_VERSION} (npm solc0820) not found at {candidates[0]}", hint=INSTALL_HINT)


def solc_home(zk_root: Path) -> Path:
    """A project-owned HOME holding ``.svm/0.8.20/solc-0.8.20`` (the solc-js shim) for ezkl."""
    home = Path(zk_root) / "home"
    target = home / ".svm" / SOLC_VERSION / f"solc-{SOLC_VERSION}"
    script = (SHIM_DIR / f"solc-{SOLC_VERSION}.sh").read_text()
    script = (script.replace("@NODE@", _node()).replace("@SCRIPT@", str(SHIM_DIR / "solc_stream.cjs"))
              .replace("@SOLC0820@", str(solc_package(zk_root))))
    if not target.exists() or target.read_text() != script:
        # a temp name of our own: another process may be writing its copy (or running the
        # shim) at the same moment; a shared temp name could hand it a half-written file
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(script)
        tmp.chmod(0o755)
        os.replace(tmp, target)
    return home


def compile_source(zk_root: Path, source: str, name: str) -> dict:
    """``{contract name: {abi, evm: {bytecode, deployedBytecode}}}`` of ``name.sol``
    (optimizer runs 1, shanghai), or OperationFailed with solc's first error."""
    home = solc_home(zk_root)
    request = {
        "language": "Solidity",
        "sources": {f"{name}.sol": {"content": source}},
        "settings": {"optimizer": {"enabled": True, "runs": 1}, "evmVersion": "shanghai",
                     "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object",
                                                     "evm.deployedBytecode.object"]}}},
    }
    proc = childproc.run([str(home / ".svm" / SOLC_VERSION / f"solc-{SOLC_VERSION}"), "--standard-json"],
                         input=json.dumps(request).encode(), capture_output=True, check=False)
    if proc.returncode != 0:
        raise OperationFailed(f"solc {SOLC_VERSION} failed: {proc.stderr.decode()[-500:]}")
    out = json.loads(proc.stdout)
    errors = [e["formattedMessage"] for e in out.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise OperationFailed(f"{name} does not compile: " + errors[0][:500])
    return out["contracts"][f"{name}.sol"]
