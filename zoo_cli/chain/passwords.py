"""Keystore passwords: dev default > --password-file > ZOO_PASSWORD_FILE > ZOO_PASSWORD > TTY.

Never echoed, never logged, never part of an error message. Without any source and
without a terminal this fails at once with a clear error (it never hangs in CI).
"""

from __future__ import annotations

import os
from pathlib import Path

from zoo_cli.errors import BadInput

NO_PASSWORD_HINT = "pass --password-file FILE or set ZOO_PASSWORD_FILE (or ZOO_PASSWORD)"


def _read_password_file(path: Path) -> str:
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"password file {path} not found", hint=NO_PASSWORD_HINT) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read password file {path}: {exc.__class__.__name__}") from None
    # The first line is the password (like geth/cast); a trailing newline is not part of it.
    return text.splitlines()[0] if text else ""


# The caller's terminal when this process is a `zoo daemon` child (zoo_cli/daemon/server.py):
# such a child has no controlling terminal, so /dev/tty would not reach the person typing.
TTY_FD: int | None = None


def _prompt_on(fd: int, prompt: str) -> str | None:
    """getpass on an open terminal: the prompt written there, the answer read with echo off."""
    import termios

    try:
        old = termios.tcgetattr(fd)
        quiet = termios.tcgetattr(fd)
        quiet[3] &= ~termios.ECHO
        os.write(fd, prompt.encode())
        termios.tcsetattr(fd, termios.TCSAFLUSH, quiet)
        try:
            answer = b""
            while not answer.endswith(b"\n"):
                chunk = os.read(fd, 1024)
                if not chunk:
                    return None
                answer += chunk
        finally:
            termios.tcsetattr(fd, termios.TCSAFLUSH, old)
            os.write(fd, b"\n")
    except (OSError, termios.error):
        return None
    return answer.decode(errors="replace").rstrip("\r\n")


def _tty_prompt(prompt: str) -> str | None:
    """Prompt on the controlling terminal (not stdout); None when there is none."""
    if TTY_FD is not None:
        return _prompt_on(TTY_FD, prompt)
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return None
    os.close(fd)
    import getpass

    try:
        with open("/dev/tty", "w") as stream:
            return getpass.getpass(prompt, stream=stream)
    except (OSError, EOFError):
        return None


def get_password(settings, entry=None, *, confirm: bool = False, purpose: str | None = None) -> str:
    """The password for ``entry`` (a KeyEntry, or None for a new account).

    ``confirm`` asks twice on a TTY (new accounts). ``settings.password_file`` already
    carries ``--password-file`` or ``ZOO_PASSWORD_FILE`` (see config.load_settings).
    """
    from zoo_cli.chain.keystore import DEV_PASSWORD, uses_dev_password

    if entry is not None and uses_dev_password(entry):  # only keystores `zoo init --dev` created
        return DEV_PASSWORD
    path = getattr(settings, "password_file", None)
    if path:
        return _read_password_file(path)
    env_file = os.environ.get("ZOO_PASSWORD_FILE")
    if env_file:
        return _read_password_file(Path(env_file))
    env_pw = os.environ.get("ZOO_PASSWORD")
    if env_pw:
        return env_pw
    label = purpose or (f"account {entry.name}" if entry is not None else "the new account")
    if os.environ.get("ZOO_NO_PROMPT") != "1":
        first = _tty_prompt(f"Password for {label}: ")
        if first is not None:
            if confirm:
                second = _tty_prompt("Repeat password: ")
                if second != first:
                    raise BadInput("passwords do not match", hint="try again")
            if not first:
                raise BadInput("empty password", hint=NO_PASSWORD_HINT)
            return first
    raise BadInput(f"no password for {label} and no terminal to ask on", hint=NO_PASSWORD_HINT)
