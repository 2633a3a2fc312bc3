"""Dataset workflows: synthesize and check interaction files."""

from __future__ import annotations

from pathlib import Path

from zoo_cli.chain.zoo import hex32
from zoo_cli.config import Settings
from zoo_cli.errors import BadInput


def synth(settings: Settings, domain: str, n: int, seed: int, out: Path, profile: str | None = None) -> dict:
    from zoo_cli.engine.data import merkle_root, write_jsonl
    from zoo_cli.engine.schemas import DOMAINS, parse_record
    from zoo_cli.engine.synth import synth as make

    if domain not in DOMAINS:
        raise BadInput(f"unknown domain {domain!r}", hint=f"use one of: {', '.join(DOMAINS)}")
    if n <= 0:
        raise BadInput("--n must be positive", hint="for example --n 2000")
    if Path(out).is_dir():
        raise BadInput(f"{out} is a directory", hint="pass a file name, e.g. -o defi.jsonl")
    records = make(domain, n, seed, profile) if profile else make(domain, n, seed)
    write_jsonl(records, out)
    root = merkle_root([parse_record(r) for r in records])
    return {"path": str(out), "domain": domain, "records": len(records), "seed": seed, "merkle_root": hex32(root)}


def check(settings: Settings, path: Path, domain: str | None) -> dict:
    from zoo_cli.engine.data import check_file, load_records

    errors = check_file(path, domain)
    result = {"path": str(path), "valid": not errors, "errors": [{"line": e.line, "reason": e.reason} for e in errors]}
    if not errors:
        ds = load_records(path, domain=domain)
        result.update(records=ds.ops, domains=ds.counts, merkle_root=hex32(ds.merkle_root))
    else:
        result["bad_lines"] = len(errors)
    return result
