"""Regenerate the committed completion scripts in completions/ (`make completions`).

`--check` exits 1 when a committed script differs from what the code generates.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from zoo_cli.commands.completions import completion_script

FILES = {"bash": "zoo.bash", "zsh": "_zoo", "fish": "zoo.fish"}


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for shell, name in FILES.items():
        path = ROOT / "completions" / name
        text = completion_script(shell)
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.parent.mkdir(exist_ok=True)
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print(f"stale completion scripts: {', '.join(stale)} (run `make completions`)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
