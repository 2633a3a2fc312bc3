"""Child processes: every process zoo starts gets a scrubbed environment.

A child (ezkl in a fresh interpreter, solc) needs PATH, HOME, locale and the like, never the
user's secrets: ``ZOO_PASSWORD``, ``ZOO_PASSWORD_FILE`` (the path to one), any variable whose
name says it holds a secret, and any variable whose value *is* the keystore password (read
from ``ZOO_PASSWORD`` or the password file). A child's crash dump, its logs or a process
listing (``/proc/<pid>/environ``) then cannot leak them. All ``subprocess`` use in zoo goes
through :func:`run` (a test checks that no other module calls ``subprocess`` directly).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any, Mapping

SECRET_VARS = frozenset({"ZOO_PASSWORD", "ZOO_PASSWORD_FILE", "ZOO_PRIVATE_KEY", "ETH_PASSWORD",
                         "ETH_KEYSTORE_PASSWORD", "PRIVATE_KEY", "MNEMONIC"})
_SECRET_NAME = re.compile(r"PASSWORD|PASSWD|PASSPHRASE|SECRET|PRIVATE_?KEY|MNEMONIC|API_?KEY|CREDENTIAL"
                          r"|(^|_)TOKEN($|_)", re.IGNORECASE)


def _password_values(env: Mapping[str, str]) -> set[str]:
    values = {env["ZOO_PASSWORD"]} if env.get("ZOO_PASSWORD") else set()
    path = env.get("ZOO_PASSWORD_FILE")
    if path:
        try:
            text = Path(path).expanduser().read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = ""
        values |= {v for v in (text, text.rstrip("\r\n"), text.strip()) if v}
    return values


def child_env(extra: Mapping[str, str] | None = None, *, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) without secrets, plus ``extra``."""
    base = dict(os.environ if base is None else base)
    secrets = _password_values(base)
    env = {k: v for k, v in base.items()
           if k not in SECRET_VARS and not _SECRET_NAME.search(k) and v not in secrets}
    env.update(extra or {})
    return env


def run(argv: list[str], *, env_extra: Mapping[str, str] | None = None, **kwargs: Any) -> subprocess.CompletedProcess:
    """``subprocess.run`` with a scrubbed environment (``env=`` is not accepted: use ``env_extra``)."""
    if "env" in kwargs:
        raise TypeError("childproc.run builds the environment itself; pass env_extra")
    return subprocess.run(argv, env=child_env(env_extra), **kwargs)  # noqa: S603 (argv lists only)


def worker_pool(workers: int):
    """A pool of zoo's own worker processes (``spawn``: no fork of a threaded server), for the
    services' job executor. Unlike :func:`run`'s children these are zoo itself: they unlock
    the service's keystore, so they keep the service's environment (password source
    included) — they run no foreign program."""
    import concurrent.futures
    import multiprocessing

    return concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
