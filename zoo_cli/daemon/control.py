"""Start, stop and describe a home's warm daemon (the `zoo daemon` commands' work)."""

from __future__ import annotations

import json
import os
import sys
import time

from zoo_cli.daemon import PROTOCOL, info_path, log_path, socket_path
from zoo_cli.daemon.client import connect, peer_uid_pid, send_request
from zoo_cli.errors import OperationFailed


def _running_pid(home: str) -> int | None:
    """The pid of the daemon answering on this home's socket, or None."""
    sock = connect(socket_path(home))
    if sock is None:
        return None
    try:
        return peer_uid_pid(sock)[1]
    finally:
        sock.close()


def _current(home: str) -> bool:
    """Ask the running daemon whether it still runs the installed code (a stale one stops)."""
    sock = connect(socket_path(home))
    if sock is None:
        return False
    try:
        send_request(sock, {"v": PROTOCOL, "check": True, "python": sys.executable})
        return json.loads(sock.makefile("rb").readline() or b"{}").get("ok") is True
    except (OSError, ValueError):
        return False
    finally:
        sock.close()


def _info(home: str) -> dict:
    try:
        with open(info_path(home)) as f:
            info = json.load(f)
        return info if isinstance(info, dict) else {}
    except (OSError, ValueError):
        return {}


def status(home: str) -> dict:
    pid = _running_pid(home)
    if pid is None:
        return {"running": False, "home": home, "socket": socket_path(home)}
    info = _info(home)
    if info.get("pid") != pid:  # the file of an earlier daemon: nothing in it describes this one
        info = {}
    return {"running": True, "pid": pid, "home": home, "socket": socket_path(home),
            "uptime_s": round(time.time() - info["started"], 1) if info.get("started") else None,
            "idle_s": info.get("idle_s"), "preload_s": info.get("preload_s"), "python": info.get("python"),
            "log": log_path(home)}


def start(home: str, idle_s: int, *, wait_s: float = 60.0) -> dict:
    """Start the daemon for ``home`` unless one runs; returns its status and whether it was started."""
    from zoo_cli import childproc

    pid = _running_pid(home)
    if pid is not None and _current(home):
        return {**status(home), "started_now": False}
    if pid is not None:  # it runs older code or another Python: replace it
        stop(home)
    os.makedirs(os.path.join(home, "run"), mode=0o700, exist_ok=True)
    proc = childproc.spawn_detached([sys.executable, "-m", "zoo_cli.daemon.server", "--home", home,
                                     "--idle", str(idle_s)], log_path=log_path(home), env_extra={"ZOO_HOME": home})
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if _running_pid(home) is not None:
            return {**status(home), "started_now": True}
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    else:
        proc.kill()
    raise OperationFailed(f"the zoo daemon did not start ({_log_tail(home) or 'no output'})",
                          hint=f"see {log_path(home)}; zoo runs every command without it meanwhile")


def stop(home: str, *, wait_s: float = 10.0) -> dict:
    """Stop this home's daemon (commands it is running finish); idempotent."""
    import signal

    pid = _running_pid(home)
    if pid is None:
        return {"running": False, "stopped": False, "home": home}
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return {"running": False, "stopped": True, "pid": pid, "home": home}
        time.sleep(0.05)
    raise OperationFailed(f"the zoo daemon (pid {pid}) did not stop within {wait_s:.0f} s",
                          hint=f"kill {pid}")


def _log_tail(home: str) -> str:
    try:
        with open(log_path(home), errors="replace") as f:
            lines = [line.strip() for line in f.read()[-2000:].splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""
