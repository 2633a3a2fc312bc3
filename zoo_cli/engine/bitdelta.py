"""BitDelta (ZIP-7): 1-bit sign + one scale per tensor.

Each adapter tensor W becomes ``scale * sign(W)`` with ``scale = mean(|W|)`` (the
L2-optimal scale for a sign matrix). Signs are bit-packed (uint8) in a safetensors
file next to the float32 scales and shapes; the adapter config travels with it, so
:func:`decompress` gives back a normal PEFT adapter. About 1/32 of the float32 size.
"""

from __future__ import annotations

import json

from zoo_cli.engine.adapters import (
    CONFIG,
    WEIGHTS,
    adapter_tensors,
    canonical_safetensors,
    check_adapter,
)
from zoo_cli.errors import BadInput

BD_CONFIG = "bitdelta_config.json"
BD_WEIGHTS = "adapter_bitdelta.safetensors"
FORMAT = "zoo-bitdelta-1"


def compress(adapter: dict[str, bytes]) -> dict[str, bytes]:
    """PEFT adapter -> BitDelta files ``{bitdelta_config.json, adapter_bitdelta.safetensors}``."""
    import numpy as np
    import torch
    from safetensors.torch import save

    check_adapter(adapter)
    tensors = adapter_tensors(adapter)
    out, shapes = {}, {}
    for name, w in sorted(tensors.items()):
        w = w.detach().float().cpu()
        flat = w.reshape(-1).numpy()
        bits = np.packbits(flat >= 0)
        out[f"{name}.signs"] = torch.from_numpy(bits.copy())
        out[f"{name}.scale"] = torch.tensor([float(np.abs(flat).mean())], dtype=torch.float32)
        shapes[name] = {"shape": list(w.shape), "dtype": str(tensors[name].dtype).removeprefix("torch.")}
    cfg = {"format": FORMAT, "tensors": shapes, "adapter_config": json.loads(adapter[CONFIG])}
    return {BD_CONFIG: (json.dumps(cfg, sort_keys=True) + "\n").encode(),
            BD_WEIGHTS: canonical_safetensors(save(out, metadata={"format": "pt", "zoo.bitdelta": FORMAT}))}


def decompress(compressed: dict[str, bytes], base=None) -> dict[str, bytes]:
    """BitDelta files -> a PEFT adapter (``base`` given: its id/hash go in the metadata)."""
    import numpy as np
    import torch
    from safetensors.torch import load, save

    try:
        cfg = json.loads(compressed[BD_CONFIG])
        packed = load(compressed[BD_WEIGHTS])
    except (KeyError, ValueError) as exc:
        raise BadInput(f"not a BitDelta adapter: {exc}") from None
    if cfg.get("format") != FORMAT:
        raise BadInput(f"unsupported BitDelta format {cfg.get('format')!r}")
    tensors = {}
    for name, info in cfg["tensors"].items():
        shape = info["shape"]
        n = int(np.prod(shape)) if shape else 1
        signs = np.unpackbits(packed[f"{name}.signs"].numpy())[:n].astype(np.float32) * 2 - 1
        scale = float(packed[f"{name}.scale"][0])
        dtype = getattr(torch, info.get("dtype", "float32"))
        tensors[name] = torch.from_numpy(signs * scale).reshape(shape).to(dtype)
    if base is not None:
        from zoo_cli.engine.adapters import make_adapter

        return make_adapter(cfg["adapter_config"], tensors, base, extra={"bitdelta": FORMAT})
    meta = {"format": "pt", "zoo.bitdelta": FORMAT}
    return {CONFIG: (json.dumps(cfg["adapter_config"], sort_keys=True, indent=2) + "\n").encode(),
            WEIGHTS: canonical_safetensors(save(dict(sorted(tensors.items())), metadata=meta))}


def size_report(adapter: dict[str, bytes], compressed: dict[str, bytes]) -> dict:
    a = len(adapter[WEIGHTS])
    c = len(compressed[BD_WEIGHTS])
    return {"adapter_bytes": a, "bitdelta_bytes": c, "ratio": round(c / a, 4)}
