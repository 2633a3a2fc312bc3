"""The committed contract artifacts (``zoo_cli/chain/artifacts/*.json``): ABI and bytecode.

The lowest module of ``chain/``: the error and event decoders (``chain/errors.py``,
``chain/tx.py``) and the bindings (``chain/contracts.py``) all read artifacts through it, so
none of them needs another to do so.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from importlib import resources

from zoo_cli.errors import NotFound


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


