"""`zoo --help` and every `<cmd> --help` must not import web3, torch, transformers or peft."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("web3", "torch", "transformers", "peft", "eth_account", "eth_tester", "eth", "cryptography")

PROBE = """
import sys
from zoo_cli.main import app
sys.argv = ["zoo"] + {args!r}
try:
    app()
except SystemExit:
    pass
heavy = sorted(m for m in {heavy!r} if m in sys.modules)
print("HEAVY:" + ",".join(heavy), file=sys.stderr)
"""


def _help_of(args):
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args, heavy=HEAVY)], capture_output=True, text=True, cwd=ROOT, check=False
    )
    line = [l for l in out.stderr.splitlines() if l.startswith("HEAVY:")]
    assert line, out.stderr
    return out.stdout, line[0][len("HEAVY:"):]


def _commands():
    import typer.main

    from zoo_cli.main import app

    root = typer.main.get_command(app)
    paths = []
    for name, cmd in root.commands.items():
        paths.append([name])
        for sub in getattr(cmd, "commands", {}) or {}:
            paths.append([name, sub])
    return paths


def test_root_help_is_light():
    stdout, heavy = _help_of(["--help"])
    assert "Usage: zoo" in stdout
    assert heavy == ""


def test_every_command_help_is_light():
    for path in _commands():
        stdout, heavy = _help_of(path + ["--help"])
        assert "Usage:" in stdout, path
        assert heavy == "", f"{' '.join(path)} --help imported {heavy}"


def test_completions_are_fresh():
    r = subprocess.run([sys.executable, "tools/gen_completions.py", "--check"], cwd=ROOT, capture_output=True, text=True,
                       check=False)
    assert r.returncode == 0, r.stderr


def test_completion_script_names_zoo():
    r = subprocess.run([sys.executable, "-m", "zoo_cli", "completions", "bash"], cwd=ROOT, capture_output=True, text=True,
                       check=False)
    assert r.returncode == 0 and "_ZOO_COMPLETE" in r.stdout


def test_help_reads_like_the_docs():
    """Metavars as the prose writes them, examples on one line, whole first sentences in the
    command list (issue 18 polish); presentation only."""
    import os

    def help_of(*args):
        return subprocess.run([sys.executable, "-m", "zoo_cli", *args, "--help"], capture_output=True, text=True,
                              env={**os.environ, "COLUMNS": "80"}, cwd=ROOT, check=True).stdout

    grant = help_of("lease", "grant")
    assert "Usage: zoo lease grant [OPTIONS] TOKEN\n" in grant
    assert "--to ADDR" in grant and "--for DURATION" in grant and "<str>" not in grant and "<int range>" not in grant
    assert "Example: zoo lease grant 1 --to 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --for 7d" in grant
    train = help_of("train")
    assert "[OPTIONS] TOKEN DATA" in train and "--steps N" in train and "--verifier-url URL" in train
    top = " ".join(help_of().split())
    assert "completions Print the completion script for SHELL (e.g. `zoo completions bash >" in top
    commands = help_of().split("Commands:")[1]
    assert "...\n" not in commands  # no first sentence cut short
