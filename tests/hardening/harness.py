"""Shared by tests/badinput and tests/hardening: real `zoo` subprocesses, state snapshots,
the error-contract check and the list of commands this build has.

A case for a command that has not landed yet is skipped (not failed), so the corpus can
be written ahead of the commands: add rows to ``tests/badinput/cases.py``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from e2e.zoocli import REPO, ZOO, Result, Zoo  # noqa: F401
from support.anvil import rpc

# Paths under $ZOO_HOME that may change without being "state" (logs, lock files); the
# embedded chain (devnet/) is compared by its committed head and meta table instead.
IGNORED_DIRS = {"logs", "devnet"}
IGNORED_SUFFIXES = (".lock",)
# stderr lines that may accompany an error (progress notes), besides `error:` and `hint:`
NOTE_PATTERNS = (re.compile(r"^waiting for another zoo process"),)


@functools.lru_cache(maxsize=1)
def available_commands() -> frozenset[str]:
    """Every command path of this build (`mint`, `lease grant`, ...), parsed from --help."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}

    def names(*path: str) -> list[str]:
        out = subprocess.run(ZOO + [*path, "--help"], capture_output=True, text=True, env=env, timeout=60,
                             check=False).stdout
        section = out.split("Commands:", 1)[1] if "Commands:" in out else ""
        return [m.group(1) for m in re.finditer(r"^  ([a-z][a-z0-9-]*)\s", section, re.MULTILINE)]

    found: set[str] = set()
    for top in names():
        found.add(top)
        for sub in names(top):
            found.add(f"{top} {sub}")
    return frozenset(found)


def snapshot_home(home: Path) -> dict[str, str]:
    """relative path -> sha256 (and mode) of every file under ``home`` that holds state."""
    snap: dict[str, str] = {}
    for root, dirs, files in os.walk(home):
        rel_root = Path(root).relative_to(home)
        if rel_root == Path("."):
            dirs[:] = [d for d in dirs if d not in IGNORED_DIRS]
        for name in files:
            if name.endswith(IGNORED_SUFFIXES):
                continue
            path = Path(root) / name
            try:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                mode = oct(path.stat().st_mode & 0o777)
            except FileNotFoundError:
                continue
            snap[str(rel_root / name)] = f"{digest}:{mode}"
    return snap


def embedded_chain_state(home: Path) -> dict | None:
    """The embedded devnet's committed canonical head and meta table (chain time offset...)."""
    db = home / "devnet" / "chain.sqlite"
    if not db.exists():
        return None
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        head = conn.execute("SELECT v FROM kv WHERE k = ?", (b"v1:canonical_head_hash",)).fetchone()
        meta = dict(conn.execute("SELECT k, v FROM meta").fetchall())
    finally:
        conn.close()
    return {"head": head[0].hex() if head else None, "meta": meta}


def rpc_chain_state(url: str) -> dict:
    block = rpc(url, "eth_getBlockByNumber", ["latest", False])
    return {"number": block["number"], "hash": block["hash"]}


def chain_state(zoo: Zoo, extra_rpcs: tuple[str, ...] = ()) -> dict:
    state = {"embedded": embedded_chain_state(zoo.home)}
    for url in ({zoo.rpc} if zoo.rpc else set()) | set(extra_rpcs):
        state[url] = rpc_chain_state(url)
    return state


def error_contract_problems(res: Result, code: int, json_mode: bool = True, report: bool | str = False) -> list[str]:
    """What is wrong with how ``res`` reports an error (empty list: it follows CLI.md)."""
    problems = []
    if res.code != code:
        problems.append(f"exit code {res.code}, documented {code}")
    if "Traceback" in res.stderr or "Traceback" in res.stdout:
        problems.append("traceback printed")
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error: ")]
    hints = [ln for ln in lines if ln.startswith("hint: ")]
    others = [ln for ln in lines if not ln.startswith(("error: ", "hint: "))
              and not any(p.search(ln) for p in NOTE_PATTERNS)]
    if len(errors) != 1:
        problems.append(f"{len(errors)} `error:` lines on stderr")
    elif len(errors[0]) > 400:
        problems.append("error line is not readable (over 400 characters)")
    if len(hints) != 1 or not hints[0][6:].strip():
        problems.append(f"{len(hints)} non-empty `hint:` lines on stderr")
    if others:
        problems.append(f"other stderr lines: {others[:3]}")
    if json_mode:
        try:
            doc = json.loads(res.stdout)
        except ValueError:
            problems.append(f"stdout is not one JSON document: {res.stdout[:200]!r}")
        else:
            err = doc.get("error") if isinstance(doc, dict) else None
            if report == "verify":  # a verification report (history --verify): a failed check in it
                checks = doc.get("checks") if isinstance(doc, dict) else None
                if doc.get("ok") is not False or not checks or not any(c.get("ok") is False for c in checks):
                    problems.append(f"not a failed verification report: {doc!r:.200}")
            elif report:  # a validation report: every error carries its line number
                errs = doc.get("errors") if isinstance(doc, dict) else None
                if doc.get("valid") is not False or not errs or not all(isinstance(e.get("line"), int) for e in errs):
                    problems.append(f"not a line-numbered report: {doc!r:.200}")
            elif not isinstance(err, dict) or set(err) < {"code", "type", "message", "hint"}:
                problems.append(f"no {{error: {{code, type, message, hint}}}} document: {doc!r:.200}")
            else:
                if err["code"] != res.code:
                    problems.append(f"JSON code {err['code']} != exit code {res.code}")
                if err["type"] == "InternalError":
                    problems.append(f"unexpected exception: {err['message']}")
                if not err["message"] or not err["hint"]:
                    problems.append("empty message or hint in JSON")
    return problems


def diff_snapshots(before: dict, after: dict) -> list[str]:
    out = []
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            what = "added" if key not in before else "removed" if key not in after else "changed"
            out.append(f"{what}: {key}")
    return out


# -- a failing write (disk full) -------------------------------------------------------------
ENOSPC_SITE = '''
import errno, os
_target = os.environ.get("ZOO_TEST_ENOSPC_UNDER")
if _target:
    def _full(fd):
        try:
            where = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return
        if where.startswith(_target):
            raise OSError(errno.ENOSPC, "No space left on device", where)
    _real_fsync, _real_write = os.fsync, os.write
    def _fsync(fd):
        _full(fd)
        return _real_fsync(fd)
    def _write(fd, data):
        # a full disk fails the write itself (the blockstore makes large batches durable
        # with syncfs, so failing fsync alone does not reach every write)
        _full(fd)
        return _real_write(fd, data)
    os.fsync, os.write = _fsync, _write
'''


def enospc_env(tmp: Path, under: Path) -> dict:
    """Environment for a zoo process whose durable writes under ``under`` fail with ENOSPC
    (every file zoo stores is fsynced before it is renamed into place)."""
    site = tmp / "enospc-site"
    site.mkdir(parents=True, exist_ok=True)
    (site / "sitecustomize.py").write_text(ENOSPC_SITE)
    path = os.environ.get("PYTHONPATH", "")
    return {"PYTHONPATH": f"{site}{os.pathsep}{path}" if path else str(site), "ZOO_TEST_ENOSPC_UNDER": str(under)}
