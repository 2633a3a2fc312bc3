"""The warm daemon (``zoo daemon start``): whole-process latency for scripts.

A ``zoo`` process spends most of a read command importing web3 (0.9 s on the reference
machine: web3 → eth-account → eth-keyfile → py_ecc's BLS module, which builds pairing tables
at import). ``zoo daemon start`` starts one process per home that has imported web3,
eth-account, py-evm and zoo's command tree once. While it runs, ``zoo`` (zoo_cli/entry.py)
imports only this package and ``client`` (with no daemon running: this package and one
``lstat``); it passes its argv, environment, working folder, umask and its own stdin, stdout
and stderr (file descriptors, SCM_RIGHTS) over a Unix socket, and the daemon forks a child that runs the command exactly as ``zoo`` would, on the caller's
terminal and files. The child's exit status (or the signal that ended it) becomes the
caller's; signals the caller receives (Ctrl-C, SIGTERM, SIGHUP) are passed on to the child,
and a caller killed outright takes its command with it. No secret lives in the daemon: it
runs with a scrubbed environment, and each child reads passwords the way ``zoo`` does, then
exits.

Protocol, one connection per command:

- caller → daemon: 4-byte big-endian length with fds 0, 1, 2 (and the caller's terminal, when
  it has one) attached, then that many bytes of JSON: ``{"v", "argv", "env", "cwd", "umask",
  "python", "stdio"}``;
- daemon → caller: JSON lines: ``{"started": pid}`` then ``{"exit": n}`` or ``{"signal": n}``;
  or ``{"refused": why}`` before anything ran (the caller then runs the command itself);
- caller → daemon: ``{"kill": n}`` lines for the signals it receives.

Trust: the socket is 0600 in a 0700 folder; both ends check the other's uid (SO_PEERCRED).
A daemon whose code or Python packages changed since it started refuses and exits.
"""

from __future__ import annotations

import os
import stat

PROTOCOL = 1
# Global options that take a value (zoo_cli/main.py): their value is not the command word.
_VALUE_OPTIONS = frozenset({"--home", "--network", "--rpc", "--ipfs", "--gateway", "--account", "--password-file"})
_MAX_SOCKET_PATH = 100  # AF_UNIX paths are limited to 107 bytes on Linux


def command_word(args: list[str]) -> tuple[str | None, str | None]:
    """``(--home value, first command word)`` of ``zoo``'s arguments (argv[1:])."""
    home, i = None, 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("--home="):
            home = arg[len("--home="):]
        elif arg in _VALUE_OPTIONS:
            if arg == "--home" and i + 1 < len(args):
                home = args[i + 1]
            i += 1
        elif arg == "--" or not arg.startswith("-"):
            word = args[i + 1] if arg == "--" and i + 1 < len(args) else arg
            return home, (None if word == "--" else word)
        i += 1
    return home, None


def home_dir(flag: str | None, environ) -> str:
    """The home a command runs against (config.load_settings' rule), as an absolute path."""
    raw = flag or environ.get("ZOO_HOME") or os.path.join(os.path.expanduser("~"), ".zoo")
    return os.path.abspath(os.path.expanduser(raw))


def socket_path(home: str) -> str:
    """``$ZOO_HOME/run/daemon.sock``, or a per-user folder under /tmp for a home whose path is
    too long for a Unix socket."""
    path = os.path.join(home, "run", "daemon.sock")
    if len(path.encode()) <= _MAX_SOCKET_PATH:
        return path
    import hashlib  # only here: every `zoo` run computes this path

    digest = hashlib.sha256(home.encode()).hexdigest()[:24]
    return os.path.join("/tmp", f"zoo-{os.getuid()}", f"{digest}.sock")


def live_socket(argv: list[str], environ) -> str | None:
    """The socket of the home's daemon when this command may go there: a socket file of this
    user's at the home's socket path. None for help and ``--version`` (no command word),
    ``zoo daemon …``, completions and ``ZOO_NO_DAEMON=1`` — and, the common case, when no
    daemon runs (one ``lstat``)."""
    if environ.get("ZOO_NO_DAEMON") or "_ZOO_COMPLETE" in environ:
        return None
    flag, word = command_word(argv[1:])
    if word is None or word == "daemon":
        return None
    path = socket_path(home_dir(flag, environ))
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return path if stat.S_ISSOCK(st.st_mode) and st.st_uid == os.getuid() else None


def info_path(home: str) -> str:
    """Where a running daemon records its pid, socket and start time (JSON, 0600)."""
    return os.path.join(home, "run", "daemon.json")


def log_path(home: str) -> str:
    return os.path.join(home, "run", "daemon.log")
