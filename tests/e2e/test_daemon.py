"""`zoo daemon` (issue 17, whole-process latency): a warm per-home process runs the commands
`zoo` hands it, on the caller's streams, folder and environment, with the caller's exit
status, signals and terminal — and nothing changes for a caller when it is gone or stale."""

from __future__ import annotations

import json
import os
import pty
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest

from e2e.zoocli import REPO, ZOO, Zoo

pytestmark = pytest.mark.timeout(600)


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        ppid = next((line.split()[1] for line in status.splitlines() if line.startswith("PPid:")), None)
        if ppid == str(pid):
            out.append(int(entry.name))
    return out


def _commands_in(daemon_pid: int) -> list[int]:
    """The command children the daemon runs now (daemon -> worker -> command)."""
    return [c for w in _children(daemon_pid) for c in _children(w)]


def _wait_for(predicate, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    """An embedded-devnet home with its daemon running; stopped (by PID) at the end."""
    zoo = Zoo(tmp_path_factory.mktemp("daemon") / "home")
    zoo("init", "--dev")
    started = zoo("daemon", "start", "--idle", "10m", env={"ZOO_PASSWORD": "fixture-secret"}).data
    assert started["running"] and started["started_now"]
    yield zoo, started["pid"]
    zoo("daemon", "stop", expect=None)
    if _alive(started["pid"]):
        os.kill(started["pid"], signal.SIGKILL)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_commands_give_what_they_give_without_the_daemon(warm, tmp_path):
    zoo, pid = warm
    minted = zoo("mint", "--name", "warm-one").data
    assert minted["name"] == "warm-one"
    for args, code in ((["--json", "show", minted["token_id"]], 0), (["--json", "list"], 0),
                       (["show", 999], 3), (["--json", "show", 999], 3), (["show", "--bogus"], 2)):
        through = zoo(*args, json_out=False, expect=code)
        direct = zoo(*args, json_out=False, expect=code, env={"ZOO_NO_DAEMON": "1"})
        assert (through.stdout, through.stderr) == (direct.stdout, direct.stderr), args
    # the caller's working folder and stdin
    (tmp_path / "notes.txt").write_text("hello from the caller's folder\n")
    added = zoo("ipfs", "add", "notes.txt", cwd=tmp_path).data
    cat = subprocess.run(ZOO + ["ipfs", "cat", added["cid"]], env=zoo.base_env(), capture_output=True, check=True)
    assert cat.stdout == b"hello from the caller's folder\n"
    piped = subprocess.run(ZOO + ["--json", "--password-file", "/dev/stdin", "account", "new", "piped"],
                           input="from-the-pipe\n", text=True, env=zoo.base_env(), capture_output=True, check=True)
    address = json.loads(piped.stdout)["address"]
    keystore = next(p for p in (zoo.home / "keystore").rglob("*") if p.is_file() and address[2:].lower() in p.read_text().lower())
    from eth_account import Account

    key = Account.decrypt(json.loads(keystore.read_text()), "from-the-pipe")
    assert Account.from_key(key).address == address
    assert _alive(pid) and zoo("daemon", "status").data["pid"] == pid


def test_the_socket_is_private(warm):
    zoo, _pid = warm
    sock = Path(zoo("daemon", "status").data["socket"])
    assert stat.S_IMODE(sock.stat().st_mode) == 0o600 and stat.S_ISSOCK(sock.stat().st_mode)
    assert stat.S_IMODE(sock.parent.stat().st_mode) == 0o700
    info = zoo.home / "run" / "daemon.json"
    assert stat.S_IMODE(info.stat().st_mode) == 0o600
    env = Path(f"/proc/{_pid}/environ").read_bytes()  # started with ZOO_PASSWORD set (fixture)
    assert b"ZOO_PASSWORD" not in env and b"fixture-secret" not in env


def test_signals_reach_the_command_and_a_killed_caller_takes_it_along(warm):
    zoo, pid = warm
    port = _port()
    proc = subprocess.Popen(ZOO + ["serve", "--port", str(port)], env=zoo.base_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    command = _wait_for(lambda: _commands_in(pid))[0]
    _wait_for(lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0)
    proc.send_signal(signal.SIGTERM)  # graceful, as without the daemon: exit 0
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert '"stopped"' in err and '"SIGTERM"' in err
    _wait_for(lambda: not _alive(command))

    proc = subprocess.Popen(ZOO + ["serve", "--port", str(_port())], env=zoo.base_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    command = _wait_for(lambda: _commands_in(pid))[0]
    proc.kill()
    proc.wait(timeout=30)
    _wait_for(lambda: not _alive(command), timeout=30)
    assert _alive(pid)


def test_password_prompt_on_the_callers_terminal(warm):
    zoo, pid = warm
    env = {k: v for k, v in zoo.base_env().items() if k != "ZOO_NO_PROMPT"}
    child, master = pty.fork()
    if child == 0:  # the caller, with the pty as its controlling terminal
        os.chdir(REPO)
        os.execve(ZOO[0], ZOO + ["--json", "account", "new", "typed"], env)
    seen = bytearray()

    def read_until(text: bytes) -> bool:
        while text not in seen:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                return False
            if not chunk:
                return False
            seen.extend(chunk)
        return True

    assert read_until(b"Password for"), seen
    assert _commands_in(pid), "the prompt came from a command child of the daemon"
    os.write(master, b"s3cret-typed\n")
    assert read_until(b"Repeat password"), seen
    os.write(master, b"s3cret-typed\n")
    read_until(b"}")
    _, status = os.waitpid(child, 0)
    os.close(master)
    assert os.waitstatus_to_exitcode(status) == 0, seen
    assert b"s3cret-typed" not in seen  # no echo
    pw = zoo.home.parent / "typed.pw"
    pw.write_text("s3cret-typed\n")
    names = [a["name"] for a in zoo("account", "list").data]
    assert "typed" in names


def test_a_stale_daemon_steps_aside(tmp_path):
    zoo = Zoo(tmp_path / "home")
    zoo("init", "--dev")
    pid = zoo("daemon", "start").data["pid"]
    try:
        source = REPO / "zoo_cli" / "daemon" / "__init__.py"
        st = source.stat()
        os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # "zoo was upgraded"
        listed = zoo("list")  # refused by the daemon, run by the caller itself
        assert listed.data == []
        _wait_for(lambda: not _alive(pid), timeout=30)
        assert zoo("daemon", "status").data["running"] is False
        again = zoo("daemon", "start").data
        assert again["started_now"] and again["pid"] != pid
        assert zoo("daemon", "stop").data["stopped"] is True
        assert zoo("daemon", "stop").data["stopped"] is False  # idempotent
        # a dead daemon's socket left behind: commands run without it
        pid = zoo("daemon", "start").data["pid"]
        os.kill(pid, signal.SIGKILL)
        _wait_for(lambda: not _alive(pid), timeout=30)
        assert (zoo.home / "run" / "daemon.sock").exists()
        assert zoo("list").data == []
        assert zoo("daemon", "start").data["started_now"] is True
    finally:
        status = zoo("daemon", "status", expect=None)
        zoo("daemon", "stop", expect=None)
        data = json.loads(status.stdout or "{}")
        if data.get("pid") and _alive(data["pid"]):
            os.kill(data["pid"], signal.SIGKILL)


def test_same_answers_on_each_backend(zoo_env):
    """On the embedded devnet and on anvil: the daemon answers as `zoo` does, and the command
    really goes through it (a stopped daemon holds it until it continues)."""
    zoo = zoo_env
    pid = zoo("daemon", "start", "--idle", "10m").data["pid"]
    try:
        token = zoo("mint", "--name", f"daemon-{zoo.backend}").data["token_id"]
        for args, code in ((["--json", "show", token], 0), (["--json", "list", "--limit", "5"], 0),
                           (["--json", "account", "balance"], 0), (["show", 99999], 3)):
            through = zoo(*args, json_out=False, expect=code)
            direct = zoo(*args, json_out=False, expect=code, env={"ZOO_NO_DAEMON": "1"})
            assert (through.stdout, through.stderr) == (direct.stdout, direct.stderr), args
        os.kill(pid, signal.SIGSTOP)
        try:
            held = subprocess.Popen(ZOO + ["--json", "show", str(token)], env=zoo.base_env(),
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(2)
            assert held.poll() is None  # waiting for the daemon, not running on its own
        finally:
            os.kill(pid, signal.SIGCONT)
        out, err = held.communicate(timeout=120)
        assert held.returncode == 0, err
        assert json.loads(out)["token_id"] == token
    finally:
        zoo("daemon", "stop", expect=None)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
