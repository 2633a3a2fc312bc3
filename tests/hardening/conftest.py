from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SOAK = bool(os.environ.get("ZOO_SOAK"))


def pytest_collection_modifyitems(config, items):
    """`soak` tests run only under `make soak` (ZOO_SOAK=1)."""
    if SOAK:
        return
    skip = pytest.mark.skip(reason="soak profile: make soak (ZOO_SOAK=1)")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)
