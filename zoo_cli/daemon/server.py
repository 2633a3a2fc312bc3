"""The daemon's side (see zoo_cli/daemon/__init__.py): ``python -m zoo_cli.daemon.server
--home H --idle SECONDS``, started by ``zoo daemon start``.

The serving process stays single-threaded (it forks): it imports the heavy modules once,
then accepts connections; each connection gets a worker process (fork) that reads the
request, checks that this daemon's code is still what is installed, forks the command child
and relays its end, and the caller's signals, over the connection.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import hashlib
import importlib
import io
import json
import os
import pkgutil
import select
import signal
import socket
import struct
import sys
import threading
import time
import traceback

from zoo_cli.daemon import PROTOCOL, info_path, socket_path
from zoo_cli.daemon.client import FORWARDED_SIGNALS, connect, peer_uid_pid

# Imported once by the daemon: what the chain-facing commands load (web3 and eth-account for
# every network, py-evm and eth-tester for the embedded devnet) and zoo's own layers. Not
# torch/transformers/peft: training and querying pay for those anyway, and a forked child
# must not inherit the thread pools they start.
PRELOAD = ("web3", "eth_account", "eth_abi", "eth_keys", "eth_utils", "requests", "filelock",
           "web3.providers.eth_tester", "eth_tester", "eth_tester.backends.pyevm.main",
           "eth.vm.forks", "eth.chains.base", "eth.db.atomic", "zoo_cli.main")
PRELOAD_PACKAGES = ("zoo_cli.chain", "zoo_cli.storage", "zoo_cli.workflows", "zoo_cli.commands")
NEVER_PRELOADED = ("torch", "transformers", "peft")
_MAX_REQUEST = 4 << 20


class _Stop(Exception):
    pass


def preload() -> list[str]:
    """Import what the commands need; returns the modules that failed to import."""
    import warnings

    failed = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        names = list(PRELOAD)
        for pkg in PRELOAD_PACKAGES:
            mod = importlib.import_module(pkg)
            names += [info.name for info in pkgutil.walk_packages(mod.__path__, pkg + ".")]
        for name in names:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - an optional extra (zk, cluster) not installed: reported
                failed.append(name)
    failed += [f"{heavy} (imported, unexpectedly)" for heavy in NEVER_PRELOADED if heavy in sys.modules]
    return failed


def fingerprint() -> list:
    """What must not change under a running daemon: zoo's source files and the folders of
    installed packages (pip adds or removes a package there)."""
    import zoo_cli

    root = os.path.dirname(zoo_cli.__file__)
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                st = os.stat(os.path.join(folder, name))
                digest.update(f"{folder}/{name}:{st.st_mtime_ns}:{st.st_size};".encode())
    sites = []
    for entry in sys.path:
        if entry and os.path.isdir(entry) and "site-packages" in entry:
            sites.append([entry, os.stat(entry).st_mtime_ns])
    return [zoo_cli.__version__, sys.executable, digest.hexdigest(), sites]


def _send(conn: socket.socket, msg: dict) -> None:
    try:
        conn.sendall(json.dumps(msg).encode() + b"\n")
    except OSError:
        pass


def _recv_exact(conn: socket.socket, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = conn.recv(min(n - got, 1 << 16))
        if not chunk:
            raise ConnectionError("short request")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _read_request(conn: socket.socket) -> tuple[dict, list[int]]:
    conn.settimeout(10)
    head, fds, _flags, _addr = socket.recv_fds(conn, 4, 4)
    try:
        if len(head) < 4:
            head += _recv_exact(conn, 4 - len(head))
        (size,) = struct.unpack(">I", head)
        if size > _MAX_REQUEST:
            raise ValueError("request too large")
        request = json.loads(_recv_exact(conn, size))
        if not isinstance(request, dict) or (len(fds) < 3 and not request.get("check")):
            raise ValueError("malformed request")
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    conn.settimeout(None)
    return request, fds


def _worker(conn: socket.socket, expected: list, server_pid: int) -> None:
    """One connection: check the request, fork the command, relay signals and its end."""
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD, *FORWARDED_SIGNALS):
        signal.signal(signum, signal.SIG_DFL)
    try:
        request, fds = _read_request(conn)
    except (OSError, ValueError, ConnectionError):
        return
    why = None
    if request.get("v") != PROTOCOL:
        why = "another protocol version"
    elif request.get("python") != sys.executable:
        why = f"this daemon runs {sys.executable}"
    elif fingerprint() != expected:
        why = "zoo or its packages changed since the daemon started; it stops"
        os.kill(server_pid, signal.SIGTERM)
    if why or request.get("check"):
        for fd in fds:
            os.close(fd)
        _send(conn, {"refused": why} if why else {"ok": True})
        return
    pid = os.fork()
    if pid == 0:
        _child(conn, request, fds)  # never returns
    for fd in fds:
        os.close(fd)
    _send(conn, {"started": pid})
    _relay(conn, pid)


def _relay(conn: socket.socket, pid: int) -> None:
    pidfd = os.pidfd_open(pid)
    watched, pending = [conn, pidfd], b""
    while True:
        ready, _, _ = select.select(watched, [], [])
        if pidfd in ready:
            _, status = os.waitpid(pid, 0)
            if os.WIFSIGNALED(status):
                _send(conn, {"signal": os.WTERMSIG(status)})
            else:
                _send(conn, {"exit": os.waitstatus_to_exitcode(status)})
            return
        try:
            data = conn.recv(4096)
        except OSError:
            data = b""
        if not data:  # the caller is gone (killed outright): so is its command
            os.kill(pid, signal.SIGKILL)
            watched = [pidfd]
            continue
        pending += data
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            try:
                signum = int(json.loads(line).get("kill"))
            except (ValueError, TypeError, AttributeError):
                continue
            if signum in FORWARDED_SIGNALS:
                os.kill(pid, signum)
        pending = pending[-4096:]


def _stream(fd: int, encoding: str, errors: str, *, write: bool, unbuffered: bool = False) -> io.TextIOWrapper:
    """A standard stream over ``fd`` built the way Python builds its own at start-up
    (``unbuffered``: the caller's PYTHONUNBUFFERED)."""
    if not write:
        return io.TextIOWrapper(io.FileIO(fd, "rb", closefd=False), encoding=encoding, errors=errors)
    tty = os.isatty(fd)
    buffered = io.BufferedWriter(io.FileIO(fd, "wb", closefd=False))
    return io.TextIOWrapper(buffered, encoding=encoding, errors=errors, line_buffering=tty or fd == 2,
                            write_through=unbuffered or fd == 2)


def _child(conn: socket.socket, request: dict, fds: list[int]) -> None:
    """The command, in the caller's place: its streams, folder, umask, environment and argv."""
    code = 1
    try:
        conn.close()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        for signum in request.get("ignored") or []:
            if int(signum) in FORWARDED_SIGNALS:
                signal.signal(int(signum), signal.SIG_IGN)
        for target, fd in enumerate(fds[:3]):
            os.dup2(fd, target)
        for fd in fds[:3]:
            if fd > 2:
                os.close(fd)
        if len(fds) > 3:
            from zoo_cli.chain import passwords

            passwords.TTY_FD = fds[3]  # password prompts go to the caller's terminal
        os.chdir(request["cwd"])
        os.umask(int(request["umask"]))
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in dict(request["env"]).items()})
        sys.argv = [str(a) for a in request["argv"]]
        (ie, ierr), (oe, oerr), (ee, eerr) = request["stdio"]
        sys.stdin = sys.__stdin__ = _stream(0, ie, ierr, write=False)
        unbuffered = bool(os.environ.get("PYTHONUNBUFFERED"))
        sys.stdout = sys.__stdout__ = _stream(1, oe, oerr, write=True, unbuffered=unbuffered)
        sys.stderr = sys.__stderr__ = _stream(2, ee, eerr, write=True)
        if hasattr(atexit, "_clear"):
            atexit._clear()  # the daemon's own exit handlers are not this command's
        from zoo_cli.main import run

        try:
            run()
            code = 0
        except SystemExit as exc:
            code = _exit_code(exc.code)
        except BaseException:  # noqa: BLE001 - what the interpreter does with an uncaught exception
            traceback.print_exc()
            code = 1
        for thread in threading.enumerate():  # the interpreter waits for these at exit too
            if thread is not threading.main_thread() and not thread.daemon:
                thread.join()
        if hasattr(atexit, "_run_exitfuncs"):
            atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # a closed pipe: the exit status still counts
                stream.flush()
        os._exit(code)


def _exit_code(value) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    with contextlib.suppress(Exception):
        sys.stderr.write(f"{value}\n")
    return 1


def _prepare_folder(path: str) -> None:
    """The socket's folder: ours, 0700, not a link."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    st = os.lstat(path)
    if not os.path.isdir(path) or os.path.islink(path) or st.st_uid != os.getuid():
        raise SystemExit(f"error: {path} is not a folder of this user; refusing to put the daemon's socket there")
    if st.st_mode & 0o077:
        os.chmod(path, 0o700)


def _still_ours(sock_path: str, inode: int) -> bool:
    try:
        return os.stat(sock_path).st_ino == inode
    except OSError:
        return False


def _write_info(home: str, info: dict) -> None:
    path = info_path(home)
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(info, f)
    os.replace(tmp, path)


def serve(home: str, idle_s: float) -> int:
    sock_path = socket_path(home)
    os.makedirs(os.path.join(home, "run"), mode=0o700, exist_ok=True)
    _prepare_folder(os.path.dirname(sock_path))
    existing = connect(sock_path)
    if existing is not None:  # another daemon already serves this home
        existing.close()
        return 0
    t0 = time.monotonic()
    failed = preload()
    expected = fingerprint()
    if threading.active_count() != 1:
        raise SystemExit("error: a preloaded module started a thread; the daemon cannot fork safely")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        os.unlink(sock_path)  # a dead daemon's socket (nobody answered above)
    except FileNotFoundError:
        pass
    old = os.umask(0o177)
    try:
        listener.bind(sock_path)
    finally:
        os.umask(old)
    listener.listen(64)
    inode = os.stat(sock_path).st_ino
    _write_info(home, {"pid": os.getpid(), "socket": sock_path, "home": home, "started": time.time(),
                       "idle_s": idle_s, "python": sys.executable, "preload_s": round(time.monotonic() - t0, 3),
                       "preload_failed": failed})

    def stop(_signum, _frame):
        raise _Stop

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # workers are reaped by the kernel
    last = time.monotonic()
    try:
        while True:
            left = idle_s - (time.monotonic() - last)
            if left <= 0:
                break
            ready, _, _ = select.select([listener], [], [], min(left, 30.0))
            if not ready:
                if not _still_ours(sock_path, inode):  # the home was removed, or another daemon took over
                    break
                continue
            conn, _ = listener.accept()
            if peer_uid_pid(conn)[0] != os.getuid():
                conn.close()
                continue
            last = time.monotonic()
            pid = os.fork()
            if pid == 0:
                try:
                    listener.close()
                    _worker(conn, expected, os.getppid())
                finally:
                    os._exit(0)  # a worker never returns into the accept loop
            conn.close()
    except _Stop:
        pass
    finally:
        listener.close()
        try:
            if os.stat(sock_path).st_ino == inode:
                os.unlink(sock_path)
            with open(info_path(home)) as f:
                if json.load(f).get("pid") == os.getpid():
                    os.unlink(info_path(home))
        except (OSError, ValueError):
            pass
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zoo_cli.daemon.server")
    parser.add_argument("--home", required=True)
    parser.add_argument("--idle", type=float, default=1800.0, help="seconds without a command before it exits")
    args = parser.parse_args(argv)
    return serve(os.path.abspath(args.home), args.idle)


if __name__ == "__main__":
    sys.exit(main())
