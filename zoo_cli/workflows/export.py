"""`zoo export TOKEN -o DIR [--car]`: owners only.

Without ``--car``: a standard PEFT adapter folder (adapter_config.json,
adapter_model.safetensors, README.md model card) — the one command that writes a
decrypted adapter to disk. With ``--car``: the token's *encrypted* container (manifest,
payload, wrapped keys) as a CAR v1 file, importable with ``ipfs dag import`` or
``zoo ipfs car import``. ``--compress int4`` writes the per-group int4 weights
(``adapter_int4.safetensors``, quantized at export if the token stores float32) instead of
float32; the JSON reports the ``format`` and the ``bytes`` written. A lessee holds the key of the generation it leased but may not
export (exit 4): export is the owner's right (documented limit, ARCHITECTURE.md).
"""

from __future__ import annotations

from pathlib import Path

from zoo_cli.config import Settings
from zoo_cli.errors import BadInput, NotFound
from zoo_cli.workflows.generation import ADAPTER, part
from zoo_cli.workflows.models import base_for, cid_of, load_adapter, public_metadata, read_record
from zoo_cli.workflows.session import Session


def export(settings: Settings, token_id: int, out: Path, *, car: bool = False, overwrite: bool = False,
           compress: str = "none") -> dict:
    from zoo_cli.engine.export import EXPORT_FORMATS
    from zoo_cli.workflows.fork import require_owner

    out = Path(out)
    if compress not in EXPORT_FORMATS:
        raise BadInput(f"unknown --compress {compress!r}", hint="use --compress none or --compress int4")
    if car and compress != "none":
        raise BadInput("--car exports the encrypted container as stored; --compress applies to the PEFT folder",
                       hint=f"zoo export {token_id} -o DIR --compress {compress}")
    with Session(settings) as s:
        rec = read_record(s, token_id)
        require_owner(s, token_id, rec, "export")
        cid = cid_of(rec.model_hash)
        if cid is None:
            raise NotFound(f"token {token_id} has no trained version yet", hint=f"zoo train {token_id} DATA.jsonl")
        if car:
            path = out if out.suffix == ".car" else out / f"token-{token_id}-gen{rec.generation}.car"
            if path.is_dir():
                raise BadInput(f"{path} is a directory", hint="pass a file name ending in .car or a directory")
            path.parent.mkdir(parents=True, exist_ok=True)
            blocks = s.storage.car_export(cid, path)
            return {"path": str(path), "files": [str(path)], "cid": cid, "blocks": blocks, "encrypted": True,
                    "token_id": token_id, "generation": rec.generation,
                    "format": "car", "bytes": path.stat().st_size}
        files, manifest = load_adapter(s, token_id, rec)
        adapter = part(files, ADAPTER)
        if not adapter:
            raise NotFound(f"token {token_id} holds no adapter files")
        base = base_for(s, manifest, rec.base_model)
        meta = public_metadata(s, rec.metadata_uri)
        card = {"name": meta.get("name") or f"model #{token_id}", "token_id": token_id,
                "generation": rec.generation, "training_ops": rec.training_ops,
                "performance": rec.performance, "specialization": rec.specialization,
                "task_scores": meta.get("task_scores") or {}, "overwrite": overwrite}
        from zoo_cli.engine.export import FORMAT_PEFT, export_adapter
        from zoo_cli.engine.quant import FORMAT_INT4

        written = export_adapter(base, adapter, out, card=card, compress=compress)
        weights = [p for p in written if p.suffix == ".safetensors"]
        return {"path": str(out), "files": [str(p) for p in written], "cid": cid, "encrypted": False,
                "token_id": token_id, "generation": rec.generation, "base_model": str(base.path),
                "compress": compress, "format": FORMAT_INT4 if compress == "int4" else FORMAT_PEFT,
                "bytes": sum(p.stat().st_size for p in written),
                "weights_bytes": sum(p.stat().st_size for p in weights)}
