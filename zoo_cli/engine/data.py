"""Reading, validating and committing to interaction data (JSON Lines).

The dataset commitment that goes on-chain is a Merkle root over per-record hashes:
leaf = sha256(canonical JSON of the validated record: sorted keys, no spaces, UTF-8,
``None`` fields dropped), node = sha256(left || right), an odd node is carried up
unchanged. ``ops`` is the number of records trained on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from zoo_cli.engine.schemas import DOMAINS, Interaction, parse_record
from zoo_cli.errors import BadInput

MAX_LINE_BYTES = 1 << 20  # 1 MiB: an interaction is a few hundred bytes
MAX_REPORTED_ERRORS = 10_000


@dataclass(frozen=True)
class LineError:
    line: int
    reason: str


@dataclass
class Dataset:
    """Validated interactions plus the commitment recorded on-chain."""

    records: list[Interaction]
    domains: tuple[str, ...]
    skipped: int = 0
    merkle_root: bytes = b""
    errors: list[LineError] = field(default_factory=list)

    @property
    def ops(self) -> int:
        return len(self.records)

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.records:
            out[r.domain] = out.get(r.domain, 0) + 1
        return out


def canonical_json(record: Interaction | dict) -> bytes:
    obj = record.model_dump(mode="json", exclude_none=True) if not isinstance(record, dict) else record
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_hash(record: Interaction | dict) -> bytes:
    return hashlib.sha256(canonical_json(record)).digest()


def merkle_root(records: list[Interaction] | list[bytes]) -> bytes:
    """bytes32 root over records (or precomputed leaf hashes); sha256(b'') for none."""
    level = [r if isinstance(r, bytes) else record_hash(r) for r in records]
    if not level:
        return hashlib.sha256(b"").digest()
    while len(level) > 1:
        nxt = [hashlib.sha256(level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def _iter_lines(path: Path) -> Iterator[tuple[int, bytes | None, str | None]]:
    """Yield (line number, raw bytes or None, error) without ever holding a huge line."""
    with open(path, "rb") as fh:
        n = 0
        while True:
            chunk = fh.readline(MAX_LINE_BYTES + 1)
            if not chunk:
                return
            n += 1
            if len(chunk) > MAX_LINE_BYTES and not chunk.endswith(b"\n"):
                size = len(chunk)
                while chunk and not chunk.endswith(b"\n"):  # skip the rest of the line
                    chunk = fh.readline(1 << 20)
                    size += len(chunk)
                yield n, None, f"line too long ({size:,} bytes; at most {MAX_LINE_BYTES:,})"
                continue
            yield n, chunk, None


def _open_checked(path: Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise BadInput(f"{path}: no such file", hint="make one with: zoo data synth --domain defi --n 2000 -o FILE")
    if path.is_dir():
        raise BadInput(f"{path} is a directory, not a JSON Lines file", hint="pass the path of a .jsonl file")
    if path.stat().st_size == 0:
        raise BadInput(f"{path} is empty", hint="one JSON object per line; try: zoo data synth --domain defi --n 100 -o FILE")
    return path


def _scan(path: Path, domain: str | None) -> tuple[list[Interaction], list[LineError], int]:
    records: list[Interaction] = []
    errors: list[LineError] = []
    bad = 0
    for n, raw, err in _iter_lines(path):
        if raw is not None:
            if not raw.strip():
                continue  # blank lines are allowed (trailing newline etc.)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                err = f"not UTF-8 (invalid byte at column {exc.start + 1})"
            else:
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as exc:
                    err = f"invalid JSON: {exc.msg} at column {exc.colno}"
                else:
                    try:
                        rec = parse_record(obj)
                    except ValueError as exc:
                        err = str(exc)
                    else:
                        if domain and rec.domain != domain:
                            err = f"domain is {rec.domain!r}, expected {domain!r}"
                        else:
                            records.append(rec)
        if err is not None:
            bad += 1
            if len(errors) < MAX_REPORTED_ERRORS:
                errors.append(LineError(n, err))
    return records, errors, bad


def check_file(path: Path, domain: str | None = None) -> list[LineError]:
    """Every bad line with its 1-based number and reason (empty list: the file is valid)."""
    path = _open_checked(path)
    records, errors, _ = _scan(path, domain)
    if not records and not errors:
        raise BadInput(f"{path} has no records (only blank lines)",
                       hint="write one JSON event per line, e.g. `zoo data synth --domain defi -o FILE`")
    return errors


def load_records(path: Path, skip_invalid: bool = False, domain: str | None = None) -> Dataset:
    """Validate a JSONL file into a :class:`Dataset`; bad lines refuse it unless ``skip_invalid``."""
    path = _open_checked(path)
    if domain is not None and domain not in DOMAINS:
        raise BadInput(f"unknown domain {domain!r}", hint=f"use one of: {', '.join(DOMAINS)}")
    records, errors, bad = _scan(path, domain)
    if errors and not skip_invalid:
        first = errors[0]
        raise BadInput(
            f"{path}: {bad} bad line(s); first at line {first.line}: {first.reason}",
            hint=f"see them all with: zoo data check {path}  (or pass --skip-invalid)",
        )
    if not records:
        raise BadInput(f"{path} has no valid records", hint=f"zoo data check {path}")
    return dataset_from_records(records, skipped=bad, errors=errors)


def dataset_from_records(records: list[Interaction] | list[dict], skipped: int = 0,
                         errors: list[LineError] | None = None) -> Dataset:
    """Build a Dataset from records or plain dicts (validated here)."""
    parsed: list[Interaction] = []
    for i, r in enumerate(records):
        if isinstance(r, dict):
            try:
                r = parse_record(r)
            except ValueError as exc:
                raise BadInput(f"record {i}: {exc}") from None
        parsed.append(r)
    if not parsed:
        raise BadInput("no records")
    domains = tuple(d for d in DOMAINS if any(r.domain == d for r in parsed))
    return Dataset(parsed, domains, skipped, merkle_root(parsed), list(errors or []))


def is_held_out(record: Interaction, fraction: float = 0.1) -> bool:
    """Deterministic split by record hash: independent of file order and of the seed."""
    h = int.from_bytes(record_hash(record)[:8], "big")
    return h % 10_000 < int(fraction * 10_000)


def split(records: list[Interaction], fraction: float = 0.1) -> tuple[list[Interaction], list[Interaction]]:
    """(train, held-out). Tiny sets keep at least one record on each side when possible."""
    train, held = [], []
    for r in records:
        (held if is_held_out(r, fraction) else train).append(r)
    if not held and len(train) > 1:
        held.append(train.pop())
    if not train and len(held) > 1:
        train.append(held.pop())
    return train, held


def write_jsonl(records: list[dict], path: Path) -> None:
    from zoo_cli.fsutil import atomic_write

    data = "".join(json.dumps(r, separators=(",", ":"), ensure_ascii=False) + "\n" for r in records)
    atomic_write(Path(path), data.encode(), mode=0o644)
