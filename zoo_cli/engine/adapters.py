"""Adapters as bytes: the PEFT folder format held in memory (``dict[str, bytes]``).

``adapter_config.json`` is PEFT's own config with ``base_model_name_or_path`` set to
the base model's id (export rewrites it to the local folder); the weights are
``adapter_model.safetensors`` (never pickle) whose metadata records the base hash
and library versions, so a reader can tell what an adapter needs.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from zoo_cli.engine.base import BaseModel
from zoo_cli.errors import BadInput

CONFIG = "adapter_config.json"
WEIGHTS = "adapter_model.safetensors"
ADAPTER_FILES = (CONFIG, WEIGHTS)


def check_adapter(adapter: dict[str, bytes]) -> None:
    missing = [n for n in ADAPTER_FILES if n not in adapter]
    if missing:
        raise BadInput(f"adapter is missing {', '.join(missing)}")
    if adapter[WEIGHTS][:8] == b"" or adapter[WEIGHTS][:1] in (b"\x80", b"PK"):
        raise BadInput("adapter weights are not safetensors")


def adapter_config(adapter: dict[str, bytes]) -> dict:
    return json.loads(adapter[CONFIG])


def adapter_metadata(adapter: dict[str, bytes]) -> dict[str, str]:
    from safetensors import safe_open

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / WEIGHTS
        p.write_bytes(adapter[WEIGHTS])
        with safe_open(str(p), framework="pt") as f:
            return dict(f.metadata() or {})


def adapter_tensors(adapter: dict[str, bytes]) -> dict:
    from safetensors.torch import load

    return load(adapter[WEIGHTS])


def make_adapter(config: dict, tensors: dict, base: BaseModel, extra: dict | None = None) -> dict[str, bytes]:
    """Serialise a LoRA config dict + state dict (PEFT key names) deterministically."""
    from safetensors.torch import save

    from zoo_cli.engine.runtime import versions

    config = dict(config)
    config["base_model_name_or_path"] = base.id
    meta = {"format": "pt", "zoo.base_id": base.id, "zoo.base_sha256": base.hash32.hex()}
    meta.update({f"zoo.{k}": v for k, v in versions().items()})
    meta.update({f"zoo.{k}": str(v) for k, v in (extra or {}).items()})
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in sorted(tensors.items())}
    return {
        CONFIG: (json.dumps(config, sort_keys=True, indent=2, default=_json_default) + "\n").encode(),
        WEIGHTS: canonical_safetensors(save(tensors, metadata=meta)),
    }


def canonical_safetensors(data: bytes) -> bytes:
    """Same file with a sorted-key header: the safetensors writer orders metadata keys
    arbitrarily (a hash map), which would break bit-identical adapters."""
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # keep the data 8-byte aligned, as the writer does
    return len(text).to_bytes(8, "little") + text + data[8 + n:]


def _json_default(o):
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    if hasattr(o, "value"):
        return o.value
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def from_peft_model(model, base: BaseModel, adapter_name: str = "default", extra: dict | None = None) -> dict[str, bytes]:
    """Serialise one adapter of a PeftModel."""
    from peft import get_peft_model_state_dict

    cfg = model.peft_config[adapter_name].to_dict()
    sd = get_peft_model_state_dict(model, adapter_name=adapter_name, save_embedding_layers=False)
    return make_adapter(cfg, sd, base, extra)


def write_adapter(adapter: dict[str, bytes], folder: Path) -> Path:
    from zoo_cli.fsutil import write_into

    write_into(folder, {name: adapter[name] for name in ADAPTER_FILES})
    return Path(folder)
