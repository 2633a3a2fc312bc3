"""Child processes: every process zoo starts gets a scrubbed environment.

A child (ezkl in a fresh interpreter, solc) needs PATH, HOME, locale and the like, never the
user's secrets: ``ZOO_PASSWORD``, ``ZOO_PASSWORD_FILE`` (the path to one), any variable whose
name says it holds a secret, and any variable whose value *is* the keystore password (read
from ``ZOO_PASSWORD`` or the password file). A child's crash dump, its logs or a process
listing (``/proc/<pid>/environ``) then cannot leak them. All ``subprocess`` use in zoo goes
through :func:`run` (a test checks that no other module calls ``subprocess`` directly); the
services' worker processes come from :func:`worker_pool` or, on a Ray cluster, from
:func:`ray_init`.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

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
    check = kwargs.pop("check", False)
    return subprocess.run(argv, env=child_env(env_extra), check=check, **kwargs)


def spawn_detached(argv: list[str], *, log_path: str | Path, env_extra: Mapping[str, str] | None = None) -> subprocess.Popen:
    """Start a long-lived helper (``zoo daemon start``) in its own session, scrubbed environment,
    stdin from /dev/null and its output appended to ``log_path`` (0600)."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        return subprocess.Popen(argv, env=child_env(env_extra), stdin=subprocess.DEVNULL, stdout=fd, stderr=fd,
                                start_new_session=True, close_fds=True)
    finally:
        os.close(fd)


def scrub_environ() -> None:
    """Drop this process's secrets from ``os.environ`` (what :func:`child_env` would not pass on)."""
    keep = child_env()
    for name in [k for k in os.environ if k not in keep]:
        del os.environ[name]


def worker_pool(workers: int):
    """A pool of zoo's own worker processes (``spawn``: no fork of a threaded server), for the
    services' job executor. Workers compute on the work orders the service hands them (the
    service keeps its keystore and signs): each worker drops the password source and other
    secrets from its environment as it starts (``scrub_environ``), so job code cannot reach
    the keystore through it."""
    import concurrent.futures
    import multiprocessing

    return concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                                  initializer=scrub_environ)


_ENVIRON = threading.Lock()


def ray_init(address: str, *, num_cpus: int | None = None, temp_dir: str | None = None):
    """Connect this process to a Ray cluster and return the ``ray`` module (imported here,
    lazily: an optional extra). ``address``: ``auto`` starts a local cluster (``num_cpus``
    workers) whose processes inherit a scrubbed environment (:func:`child_env`: no password
    source); ``ray://HOST:PORT`` (Ray Client) or ``HOST:PORT`` (the head's GCS) joins an
    existing cluster, whose processes were started by its operator."""
    import ray

    opts = {"logging_level": "ERROR", "log_to_driver": False, "configure_logging": True}
    if address == "auto":
        with _ENVIRON:  # the raylet and its workers copy os.environ as they start
            saved = dict(os.environ)
            os.environ.clear()
            os.environ.update(child_env())
            try:
                ray.init(address="local", num_cpus=num_cpus, include_dashboard=False,
                         **({"_temp_dir": temp_dir} if temp_dir else {}), **opts)
            finally:
                os.environ.clear()
                os.environ.update(saved)
    else:
        ray.init(address=address, **opts)
    return ray
