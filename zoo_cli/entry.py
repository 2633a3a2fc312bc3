"""The ``zoo`` console script: hand the command to this home's warm daemon when one runs
(``zoo daemon start``; zoo_cli/daemon), else run it in this process (zoo_cli/main.py)."""

from __future__ import annotations

import sys


def run() -> None:
    import os

    from zoo_cli.daemon import live_socket

    path = live_socket(sys.argv, os.environ)
    if path is not None:
        from zoo_cli.daemon.client import forward

        code = forward(sys.argv, path)
        if code is not None:
            sys.exit(code)
    from zoo_cli.main import run as run_here

    run_here()
