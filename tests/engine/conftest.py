"""Shared fixtures: one built-in base (cached in $ZOO_CACHE) and one trained adapter per session."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def base():
    from zoo_cli.config import default_cache
    from zoo_cli.engine.base import resolve_base

    return resolve_base("zoo-tiny", default_cache())


@pytest.fixture(scope="session")
def defi_data():
    from zoo_cli.engine.data import dataset_from_records
    from zoo_cli.engine.synth import synth

    return dataset_from_records(synth("defi", 2000, seed=1))


@pytest.fixture(scope="session")
def defi_result(base, defi_data):
    """The demo's training run: default settings on 2,000 synthetic DeFi records."""
    from zoo_cli.engine.train import TrainConfig, train

    return train(base, defi_data, TrainConfig())


@pytest.fixture(scope="session")
def gaming_result(base):
    from zoo_cli.engine.data import dataset_from_records
    from zoo_cli.engine.synth import synth
    from zoo_cli.engine.train import TrainConfig, train

    return train(base, dataset_from_records(synth("gaming", 600, seed=2)), TrainConfig(steps=60, seed=1))


@pytest.fixture(scope="session")
def eval_sets():
    """The verifier's registered evaluation sets: a seed the owner does not control."""
    from zoo_cli.engine.data import dataset_from_records
    from zoo_cli.engine.synth import synth

    return {d: dataset_from_records(synth(d, 200, seed=9001)).records for d in ("defi", "gaming")}
