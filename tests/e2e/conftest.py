"""End-to-end fixtures: fresh zoo homes on the embedded devnet and on a real anvil.

`zoo_env` is parametrised over both backends; each backend's home is built once per test
process (`zoo init --dev`) and cached, so switching between the backends from one test file
to the next never tears a home down and rebuilds it (a session-scoped *parametrised*
fixture would: pytest finalises it at every switch, and with one file per xdist work unit
that meant a new home and a new training run for almost every file). `trained` mints and
trains one token per backend, cached the same way and reused by every test that only needs
*a* trained model (training is the expensive step).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support.anvil import start_anvil

from e2e.zoocli import Zoo, new_zoo

TRAIN_RECORDS = 600
TRAIN_STEPS = 60


@pytest.fixture(scope="session")
def anvil_node():
    node = start_anvil(31337)
    try:
        yield node
    finally:
        node.stop()


def _new_env(tmp_path_factory, backend: str, request) -> Zoo:
    return new_zoo(tmp_path_factory, backend, request)


@pytest.fixture(scope="session")
def _homes() -> dict:
    """Per-process cache: backend -> Zoo home, and ("trained", backend) -> trained token."""
    return {}


@pytest.fixture(params=["embedded", "anvil"])
def zoo_env(request, tmp_path_factory, _homes) -> Zoo:
    """An initialised home (dev accounts, contracts, verifier dev9) per backend."""
    backend = request.param
    if backend not in _homes:
        _homes[backend] = _new_env(tmp_path_factory, backend, request)
    return _homes[backend]


@pytest.fixture(scope="session")
def defi_data(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "defi.jsonl"
    Zoo(tmp_path_factory.mktemp("synth-home"))("data", "synth", "--domain", "defi", "--n", TRAIN_RECORDS,
                                               "--seed", "1", "-o", path)
    return path


@pytest.fixture
def trained(zoo_env: Zoo, defi_data: Path, _homes) -> dict:
    """One token minted by dev0 and trained once (verified by dev9) on this backend."""
    key = ("trained", str(zoo_env.home))
    if key not in _homes:
        token = zoo_env("mint", "--name", "shared").data["token_id"]
        result = zoo_env("train", token, defi_data, "--steps", TRAIN_STEPS).data
        _homes[key] = {"token_id": token, "train": result, "data": defi_data}
    return _homes[key]


def pytest_collection_modifyitems(config, items):
    """Tests marked `embedded_only` (they tamper with the local blockstore) or
    `backend_neutral` (what they check does not depend on the chain backend, and the same
    commands run on anvil in other tests) are not collected for the anvil backend at all —
    deselected, not skipped."""
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec and callspec.params.get("zoo_env") == "anvil" and (
                item.get_closest_marker("embedded_only") or item.get_closest_marker("backend_neutral")):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
