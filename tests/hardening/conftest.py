from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SOAK = bool(os.environ.get("ZOO_SOAK"))


def pytest_collection_modifyitems(config, items):
    """`soak` tests run only under `make soak` (ZOO_SOAK=1); otherwise they are deselected
    (not collected), so `make test` reports no skipped test."""
    if SOAK:
        return
    drop = [item for item in items if "soak" in item.keywords]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = [item for item in items if "soak" not in item.keywords]
