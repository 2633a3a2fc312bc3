"""End-to-end fixtures: fresh zoo homes on the embedded devnet and on a real anvil.

`zoo_env` is parametrised over both backends (session-scoped: `zoo init --dev` once per
backend); `trained` mints and trains one token per backend, reused by every test that
only needs *a* trained model (training is the expensive step).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from e2e.zoocli import Zoo, new_zoo  # noqa: E402
from support.anvil import start_anvil  # noqa: E402

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


@pytest.fixture(scope="session", params=["embedded", "anvil"])
def zoo_env(request, tmp_path_factory) -> Zoo:
    """An initialised home (dev accounts, contracts, verifier dev9) per backend."""
    return _new_env(tmp_path_factory, request.param, request)


@pytest.fixture(scope="session")
def defi_data(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "defi.jsonl"
    Zoo(tmp_path_factory.mktemp("synth-home"))("data", "synth", "--domain", "defi", "--n", TRAIN_RECORDS,
                                               "--seed", "1", "-o", path)
    return path


@pytest.fixture(scope="session")
def trained(zoo_env: Zoo, defi_data: Path) -> dict:
    """One token minted by dev0 and trained once (verified by dev9) on this backend."""
    token = zoo_env("mint", "--name", "shared").data["token_id"]
    result = zoo_env("train", token, defi_data, "--steps", TRAIN_STEPS).data
    return {"token_id": token, "train": result, "data": defi_data}


def pytest_collection_modifyitems(config, items):
    """Tests marked `embedded_only` (they tamper with the local blockstore) are not collected
    for the anvil backend at all — deselected, not skipped."""
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec and callspec.params.get("zoo_env") == "anvil" and item.get_closest_marker("embedded_only"):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
