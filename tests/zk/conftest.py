"""Shared, expensive zk fixtures: keys are built once per session (or reused from
``ZOO_TEST_ZK_CACHE``, a folder kept between runs), and each proof is made once."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # makes tests/support importable


@pytest.fixture(scope="session")
def zk_root(tmp_path_factory) -> Path:
    cached = os.environ.get("ZOO_TEST_ZK_CACHE")
    if cached:
        Path(cached).mkdir(parents=True, exist_ok=True)
        return Path(cached)
    return tmp_path_factory.mktemp("zk")


@pytest.fixture(scope="session")
def defi_policy():
    from zoo_cli.engine import policy as pol
    from zoo_cli.engine.synth import synth

    return pol.train_policy(synth("defi", 2000, 1))


@pytest.fixture(scope="session")
def other_policy():
    """Other weights (different seed and data) of the same architecture."""
    from zoo_cli.engine import policy as pol
    from zoo_cli.engine.synth import synth

    return pol.train_policy(synth("defi", 600, 2), pol.PolicyConfig(seed=7, epochs=120))


@pytest.fixture(scope="session")
def eval_records():
    """The registered evaluation set (a verifier's own seed), one 64-row chunk."""
    from zoo_cli.engine.synth import synth

    return synth("defi", 64, 4242)


@pytest.fixture(scope="session")
def honest_proof(zk_root, defi_policy, eval_records):
    from zoo_cli.engine import zk

    return zk.prove(defi_policy, eval_records, zk_root)


@pytest.fixture(scope="session")
def other_proof(zk_root, other_policy, eval_records):
    from zoo_cli.engine import zk

    return zk.prove(other_policy, eval_records, zk_root)
