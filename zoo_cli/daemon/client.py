"""The caller's side of the warm daemon (see zoo_cli/daemon/__init__.py).

Imported by ``zoo`` only when a daemon socket exists (``live_socket``); standard library only.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import sys

from zoo_cli.daemon import PROTOCOL

# What the caller passes on to the command while it runs in the daemon.
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)
_PEERCRED = struct.Struct("3i")  # pid, uid, gid


def peer_uid_pid(sock: socket.socket) -> tuple[int, int]:
    """``(uid, pid)`` of the process at the other end of a Unix socket."""
    pid, uid, _gid = _PEERCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size))
    return uid, pid


def connect(path: str) -> socket.socket | None:
    """A connection to the daemon at ``path`` when one of this user's answers there, else None."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(5)
        sock.connect(path)
        if peer_uid_pid(sock)[0] != os.getuid():  # someone else's process behind our path
            sock.close()
            return None
    except OSError:
        sock.close()
        return None
    return sock


def send_request(sock: socket.socket, request: dict, fds: list[int] | tuple = ()) -> None:
    """The request frame: 4-byte big-endian length (carrying ``fds``), then the JSON."""
    body = json.dumps(request).encode()
    head = struct.pack(">I", len(body))
    if fds:
        socket.send_fds(sock, [head], list(fds))
    else:
        sock.sendall(head)
    sock.sendall(body)


def _terminal_fd() -> int | None:
    """The caller's controlling terminal, for password prompts (the child has none of its own)."""
    try:
        return os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return None


def _request(argv: list[str]) -> dict | None:
    try:
        cwd = os.getcwd()
    except OSError:  # the working folder was removed: let zoo itself say so
        return None
    umask = os.umask(0o077)
    os.umask(umask)
    stdio = [[getattr(s, "encoding", None) or "utf-8", getattr(s, "errors", None) or "strict"]
             for s in (sys.stdin, sys.stdout, sys.stderr)]
    return {"v": PROTOCOL, "argv": ["zoo", *argv[1:]], "env": dict(os.environ), "cwd": cwd, "umask": umask,
            "python": sys.executable, "stdio": stdio, "ignored": _ignored_signals()}


def _ignored_signals() -> list[int]:
    """Signals this process was started with ignored (e.g. SIGINT for `cmd &` in a script): the
    command ignores them too."""
    return [int(s) for s in FORWARDED_SIGNALS if signal.getsignal(s) == signal.SIG_IGN]


def _read_message(reader) -> dict | None:
    try:
        line = reader.readline()
    except OSError:
        return None
    if not line:
        return None
    try:
        msg = json.loads(line)
    except ValueError:
        return None
    return msg if isinstance(msg, dict) else None


def forward(argv: list[str], path: str) -> int | None:
    """Run ``argv`` in the daemon listening at ``path`` (``live_socket``) and return its exit
    status; None when it is not there or refused before running anything: the caller then
    runs the command itself."""
    sock = connect(path)
    if sock is None:
        return None
    try:
        for fd in (0, 1, 2):
            os.fstat(fd)
    except OSError:  # a closed standard stream cannot be passed on
        sock.close()
        return None
    request = _request(argv)
    if request is None:
        sock.close()
        return None
    tty = _terminal_fd()
    try:
        send_request(sock, request, [0, 1, 2] + ([tty] if tty is not None else []))
    except OSError:
        sock.close()
        return None
    finally:
        if tty is not None:
            os.close(tty)
    sock.settimeout(None)
    reader = sock.makefile("rb")
    first = _read_message(reader)
    if first is None or "started" not in first:  # refused (stale code, another Python): run here
        sock.close()
        return None
    return _wait(sock, reader)


def _wait(sock: socket.socket, reader) -> int:
    def relay(signum, _frame):
        try:
            sock.sendall(json.dumps({"kill": signum}).encode() + b"\n")
        except OSError:
            pass

    for signum in FORWARDED_SIGNALS:  # ignored ones too: the command starts ignoring them, and may change that
        signal.signal(signum, relay)
    msg = _read_message(reader)
    if msg is None:
        sys.stderr.write("error: the zoo daemon stopped while running this command\n"
                         "hint: rerun the same command (it resumes safely); `zoo daemon status` shows the daemon\n")
        return 1
    if "signal" in msg:
        signum = int(msg["signal"])
        for forwarded in FORWARDED_SIGNALS:
            signal.signal(forwarded, signal.SIG_DFL)
        sys.stdout.flush()
        os.kill(os.getpid(), signum)  # end the way the command ended
        return 128 + signum
    return int(msg.get("exit", 1))
