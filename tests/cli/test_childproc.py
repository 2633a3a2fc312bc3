"""Secrets never reach a child process (issue 13, item 11c): every process zoo starts (ezkl in a
fresh interpreter, solc) gets a scrubbed environment through zoo_cli.childproc."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import zoo_cli
from zoo_cli import childproc

PACKAGE = Path(zoo_cli.__file__).parent


def test_child_gets_no_password_env_or_password_file_contents(tmp_path, monkeypatch):
    pw_file = tmp_path / "pw.txt"
    pw_file.write_text("s3cret-from-file\n")
    monkeypatch.setenv("ZOO_PASSWORD", "s3cret-env")
    monkeypatch.setenv("ZOO_PASSWORD_FILE", str(pw_file))
    monkeypatch.setenv("COPY_OF_PW", "s3cret-from-file")     # the password under another name
    monkeypatch.setenv("MY_API_KEY", "k")
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    monkeypatch.setenv("ZOO_HOME", str(tmp_path))            # ordinary settings pass through
    proc = childproc.run([sys.executable, "-c", "import json, os; print(json.dumps(dict(os.environ)))"],
                         env_extra={"HOME": str(tmp_path)}, capture_output=True, text=True, check=True)
    env = json.loads(proc.stdout)
    for name in ("ZOO_PASSWORD", "ZOO_PASSWORD_FILE", "COPY_OF_PW", "MY_API_KEY", "GITHUB_TOKEN"):
        assert name not in env
    assert "s3cret" not in proc.stdout
    assert env["ZOO_HOME"] == str(tmp_path) and env["HOME"] == str(tmp_path) and "PATH" in env


def test_no_module_starts_a_process_except_through_childproc():
    """The ezkl verifier build and solc used ``subprocess.run`` with ``os.environ`` (ZOO_PASSWORD
    included); every child now goes through childproc.run."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "childproc.py":
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n.split(".")[0] in ("subprocess", "multiprocessing", "pty", "ray") for n in names):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os"
                    and node.attr in ("system", "popen", "execv", "execve", "execvp", "spawnv", "posix_spawn")):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno} os.{node.attr}")
    assert offenders == []


def _environ() -> dict:
    import os

    return dict(os.environ)


def test_service_pool_workers_drop_the_password_source(tmp_path, monkeypatch):
    """Job workers compute on work orders; the service keeps its keystore and signs
    (issue 17): a worker's environment names no password or password file."""
    pw_file = tmp_path / "pw.txt"
    pw_file.write_text("s3cret-from-file\n")
    monkeypatch.setenv("ZOO_PASSWORD", "s3cret-env")
    monkeypatch.setenv("ZOO_PASSWORD_FILE", str(pw_file))
    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    pool = childproc.worker_pool(1)
    try:
        env = pool.submit(_environ).result(timeout=120)
    finally:
        pool.shutdown()
    assert "ZOO_PASSWORD" not in env and "ZOO_PASSWORD_FILE" not in env
    assert "s3cret" not in json.dumps(env) and env["ZOO_HOME"] == str(tmp_path)
