"""Adapter compression (ZIP-7 integration point): per-group int4 of the LoRA factors, and a
true BitDelta of the full weight delta, with their sizes and retention side by side.

- ``int4`` (the default): every LoRA tensor (A and B) flattened in groups of 64 values,
  each group stored as 4-bit signed integers (-8..7, two per byte) with one float16
  absmax scale: 4.25 bits per value, ~7.5x smaller than float32.
- ``bitdelta``: for each adapted matrix the *full* delta ``ΔW = scaling · B @ A``
  becomes ``scale · sign(ΔW)`` (1 bit per weight of the base matrix, one float32 scale =
  mean |ΔW|). For a low-rank adapter the full delta has ``out × in`` entries instead of
  ``r · (out + in)``: it is usually *larger* than the float32 adapter; it suits merged
  or fully fine-tuned deltas. It is not a LoRA adapter any more: it is measured by adding
  the reconstructed delta to the base weights (:func:`apply_deltas`), and reported next to
  int4 by ``benches/models.py --only compression`` rather than offered as a stored adapter format.

A compressed adapter is ``{adapter_config.json, adapter_int4.safetensors}``; the stored
bytes are what the on-chain hash covers; :func:`materialize` gives back a PEFT adapter.
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

INT4_WEIGHTS = "adapter_int4.safetensors"
FORMAT_INT4 = "zoo-int4-g64-1"
GROUP = 64
METHODS = ("none", "int4", "bitdelta")
DEFAULT = "int4"


def compress_int4(adapter: dict[str, bytes], group: int = GROUP) -> dict[str, bytes]:
    import torch
    from safetensors.torch import save

    check_adapter(adapter)
    out: dict = {}
    shapes: dict = {}
    for name, w in sorted(adapter_tensors(adapter).items()):
        flat = w.detach().float().reshape(-1)
        n = flat.numel()
        pad = (-n) % group
        g = torch.nn.functional.pad(flat, (0, pad)).reshape(-1, group)
        scale = (g.abs().amax(dim=1) / 7.0).clamp_min(1e-12).to(torch.float16)
        q = torch.clamp(torch.round(g / scale.float()[:, None]), -8, 7).to(torch.int16) + 8  # 0..15
        q = q.reshape(-1).to(torch.uint8)
        if q.numel() % 2:
            q = torch.cat([q, torch.zeros(1, dtype=torch.uint8)])
        packed = (q[0::2] | (q[1::2] << 4)).contiguous()
        out[f"{name}.q4"] = packed
        out[f"{name}.scale"] = scale.contiguous()
        shapes[name] = {"shape": list(w.shape), "dtype": str(w.dtype).removeprefix("torch.")}
    meta = {"format": "pt", "zoo.quant": FORMAT_INT4, "zoo.group": str(group),
            "zoo.tensors": json.dumps(shapes, sort_keys=True, separators=(",", ":"))}
    return {CONFIG: adapter[CONFIG], INT4_WEIGHTS: canonical_safetensors(save(out, metadata=meta))}


def decompress_int4(compressed: dict[str, bytes]) -> dict[str, bytes]:
    import tempfile
    from pathlib import Path

    import torch
    from safetensors import safe_open
    from safetensors.torch import save

    try:
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / INT4_WEIGHTS
            p.write_bytes(compressed[INT4_WEIGHTS])
            with safe_open(str(p), framework="pt") as f:
                meta = dict(f.metadata() or {})
                tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open has no __iter__
        if meta.get("zoo.quant") != FORMAT_INT4:
            raise ValueError(f"format {meta.get('zoo.quant')!r}")
        shapes = json.loads(meta["zoo.tensors"])
        group = int(meta["zoo.group"])
    except (KeyError, ValueError, OSError) as exc:
        raise BadInput(f"not an int4 adapter: {exc}") from None
    out = {}
    for name, info in shapes.items():
        packed = tensors[f"{name}.q4"]
        q = torch.stack([packed & 0x0F, packed >> 4], dim=1).reshape(-1).to(torch.float32) - 8
        scale = tensors[f"{name}.scale"].float()
        n = 1
        for s in info["shape"]:
            n *= s
        vals = (q[: scale.numel() * group].reshape(-1, group) * scale[:, None]).reshape(-1)[:n]
        out[name] = vals.reshape(info["shape"]).to(getattr(torch, info.get("dtype", "float32")))
    return {CONFIG: compressed[CONFIG],
            WEIGHTS: canonical_safetensors(save(dict(sorted(out.items())),
                                                metadata={"format": "pt", "zoo.quant": FORMAT_INT4}))}


def dequantize_folder(src, dst=None):
    """Turn a ``zoo export --compress int4`` folder into a plain float32 PEFT folder.

    ``src`` holds ``adapter_config.json`` + ``adapter_int4.safetensors``; ``dst`` (default:
    ``src`` itself) receives ``adapter_config.json`` + ``adapter_model.safetensors``, loadable
    with ``PeftModel.from_pretrained(base, dst)``. The experts of a routed merge
    (``src/experts/NAME``) are converted too. Returns ``dst``. Format: each tensor flattened
    in groups of ``zoo.group`` values; ``NAME.q4`` holds two 4-bit codes per byte (low
    nibble first), value = (code - 8) * ``NAME.scale`` (float16, one per group); shapes and
    dtypes in the ``zoo.tensors`` metadata (JSON). The README of an export repeats this as a
    torch-only function for machines without zoo.
    """
    from pathlib import Path

    from zoo_cli.fsutil import atomic_write

    src = Path(src)
    dst = Path(dst) if dst is not None else src
    try:
        stored = {CONFIG: (src / CONFIG).read_bytes(), INT4_WEIGHTS: (src / INT4_WEIGHTS).read_bytes()}
    except OSError as exc:
        raise BadInput(f"{src} is not an int4 adapter folder: {exc.strerror or exc}",
                       hint="export one with: zoo export TOKEN -o DIR --compress int4") from None
    plain = decompress_int4(stored)
    atomic_write(dst / CONFIG, plain[CONFIG], mode=0o644)
    atomic_write(dst / WEIGHTS, plain[WEIGHTS], mode=0o644)
    experts = src / "experts"
    if experts.is_dir():
        for sub in sorted(p for p in experts.iterdir() if (p / INT4_WEIGHTS).is_file()):
            dequantize_folder(sub, dst / "experts" / sub.name)
    return dst


def is_compressed(adapter: dict[str, bytes] | None) -> bool:
    return bool(adapter) and INT4_WEIGHTS in adapter and WEIGHTS not in adapter


def materialize(adapter: dict[str, bytes]) -> dict[str, bytes]:
    """A loadable PEFT adapter from stored files (dequantizes an int4 adapter)."""
    return decompress_int4(adapter) if is_compressed(adapter) else adapter


def compress(adapter: dict[str, bytes], method: str = DEFAULT) -> dict[str, bytes]:
    if method not in METHODS:
        raise BadInput(f"unknown compression {method!r}", hint=f"use one of: {', '.join(METHODS)}")
    if method == "none":
        return adapter
    if method == "int4":
        return compress_int4(adapter)
    raise BadInput("bitdelta stores the full weight delta, not a LoRA adapter",
                   hint="use --compress int4 for adapters; see docs/models.md")


# -- true BitDelta of the full delta ---------------------------------------------------------

def full_deltas(adapter: dict[str, bytes]) -> dict[str, object]:
    """module path -> ΔW = scaling · B @ A (float32, base-weight layout, out x in)."""
    cfg = json.loads(adapter[CONFIG])
    scaling = float(cfg.get("lora_alpha", 2 * cfg["r"])) / float(cfg["r"])
    t = adapter_tensors(adapter)
    out = {}
    for k, a in t.items():
        if ".lora_A." not in k:
            continue
        b = t[k.replace(".lora_A.", ".lora_B.")]
        delta = scaling * (b.float() @ a.float())
        if cfg.get("fan_in_fan_out"):
            delta = delta.T
        out[k.split(".lora_A.")[0]] = delta
    return out


def bitdelta(deltas: dict) -> tuple[dict, int]:
    """1-bit sign of each full delta with a per-matrix scale (mean |ΔW|, the L2-optimal
    scale for a sign matrix). Returns (reconstructed deltas, stored bytes: bits + scales)."""
    out, size = {}, 0
    for name, d in deltas.items():
        scale = d.abs().mean()
        out[name] = scale * torch_sign(d)
        size += (d.numel() + 7) // 8 + 4
    return out, size


def torch_sign(d):
    import torch

    return torch.where(d >= 0, torch.ones_like(d), -torch.ones_like(d))


def apply_deltas(model, deltas: dict) -> None:
    """Add full deltas to the (plain, non-PEFT) base model's weights in place."""
    import torch

    mods = dict(model.named_modules())
    with torch.no_grad():
        for key, d in deltas.items():
            path = key.removeprefix("base_model.model.")
            mod = mods.get(path)
            if mod is None:
                raise BadInput(f"delta for unknown module {path}")
            w = mod.weight
            w += (d.T if w.shape != d.shape else d).to(w.dtype)
