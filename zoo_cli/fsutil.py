"""Small filesystem helpers: atomic, fsynced writes with explicit modes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` atomically: temp file in the same dir + fsync + rename.

    The file is created with ``mode`` from the start, so a secret is never readable by
    others, not even for an instant.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


#: Sub-folders a written file may sit in, one level down and named by a plain component:
#: a routed merge stores its experts as ``experts/<expert>/<file>`` (engine/router.py).
NESTED_FOLDERS = ("experts",)


def _plain_component(part: str) -> bool:
    return bool(part) and part not in (".", "..") and "\\" not in part and "\0" not in part and "/" not in part


def child_path(folder: Path, name: str) -> Path:
    """``folder / name``, refused unless it stays inside ``folder``: a plain file name, or
    ``<nested>/<sub>/<file>`` for a folder of :data:`NESTED_FOLDERS` (no ``..``, no absolute
    path, no backslashes or NUL, no symlink pointing out).

    Every place that writes files whose names came from a container or another party goes
    through here (:func:`write_into`), so a hostile name can never write outside zoo's folder.
    """
    from zoo_cli.errors import IntegrityError

    folder = Path(folder)
    parts = name.split("/") if isinstance(name, str) else []
    ok = isinstance(name, str) and not os.path.isabs(name) and all(_plain_component(p) for p in parts) and (
        len(parts) == 1 or (len(parts) == 3 and parts[0] in NESTED_FOLDERS))
    target = folder.joinpath(*parts) if ok else None
    if target is not None:
        root = folder.resolve()
        resolved = target.resolve()
        ok = resolved.parent == root.joinpath(*parts[:-1])
    if not ok:
        raise IntegrityError(f"malformed container: refusing to write {name!r} outside {folder}",
                             hint="the model files were not written by zoo; do not use this version")
    return target


def write_into(folder: Path, files: dict[str, bytes], *, mode: int = 0o600) -> list[Path]:
    """Atomically write each ``name -> bytes`` into ``folder`` (created 0700), every name
    checked by :func:`child_path` first, before anything is written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    targets = [(child_path(folder, name), data) for name, data in files.items()]
    for path, data in targets:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(path, data, mode=mode)
    return [p for p, _ in targets]


def atomic_write_text(path: Path, text: str, *, mode: int = 0o644) -> None:
    atomic_write(path, text.encode("utf-8"), mode=mode)


def sha256_file(path: Path) -> bytes:
    """sha256 of a file, read in 1 MiB pieces (constant memory)."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.digest()
