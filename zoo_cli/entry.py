"""The ``zoo`` console script: hand the command to this home's warm daemon when one runs
(``zoo daemon start``; zoo_cli/daemon), else run it in this process (zoo_cli/main.py)."""

from __future__ import annotations

import sys


def run() -> None:
    from zoo_cli.daemon.client import forward

    code = forward(sys.argv)
    if code is not None:
        sys.exit(code)
    from zoo_cli.main import run as run_here

    run_here()
