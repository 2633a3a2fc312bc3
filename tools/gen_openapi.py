"""Write the committed OpenAPI document of `zoo serve` (docs/serve.openapi.json).

    python tools/gen_openapi.py          # rewrite it
    python tools/gen_openapi.py --check  # exit 1 when the committed file is stale

The e2e test (tests/e2e/test_serve.py) also checks it against a running server.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET = REPO / "docs" / "serve.openapi.json"


def document() -> str:
    from zoo_cli.config import load_settings
    from zoo_cli.services.model_api import build_app

    with tempfile.TemporaryDirectory() as home:
        return json.dumps(build_app(load_settings(home=home)).openapi(), indent=2, sort_keys=True) + "\n"


def main() -> int:
    text = document()
    if "--check" in sys.argv:
        if not TARGET.exists() or TARGET.read_text() != text:
            print(f"{TARGET.relative_to(REPO)} is stale: run python tools/gen_openapi.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    raise SystemExit(main())
