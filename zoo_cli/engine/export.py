"""Export: a standard PEFT adapter folder plus a model card, loadable with no zoo code:

    AutoPeftModelForCausalLM.from_pretrained(DIR, local_files_only=True)

works offline because ``base_model_name_or_path`` names the local base folder. With
``compress="int4"`` the folder holds ``adapter_int4.safetensors`` instead (the per-group
int4 form, ~7x smaller) and its README shows how to dequantize it before loading.
"""

from __future__ import annotations

import json
from pathlib import Path

from zoo_cli.engine.adapters import ADAPTER_FILES, CONFIG, WEIGHTS, adapter_metadata, check_adapter
from zoo_cli.engine.base import BaseModel
from zoo_cli.errors import BadInput

EXPORT_FORMATS = ("none", "int4")
FORMAT_PEFT = "peft-float32"


def export_adapter(base: BaseModel, adapter: dict[str, bytes], out_dir: Path,
                   card: dict | None = None, compress: str = "none") -> list[Path]:
    """Write adapter_config.json, the weights and README.md into ``out_dir``.

    ``compress="none"``: ``adapter_model.safetensors`` in float32, a plain PEFT folder.
    ``compress="int4"``: ``adapter_int4.safetensors``, the per-group int4 form zoo stores
    (an adapter stored in float32 is quantized now); the README shows how to dequantize it
    (:func:`zoo_cli.engine.quant.dequantize_folder`, or its torch-only copy in the README).
    """
    from zoo_cli.engine.quant import INT4_WEIGHTS, compress_int4, is_compressed, materialize
    from zoo_cli.engine.router import ROUTER, experts, fallback, is_routed
    from zoo_cli.fsutil import atomic_write

    if compress not in EXPORT_FORMATS:
        raise BadInput(f"unknown export format {compress!r}", hint="use --compress none or --compress int4")
    routed = is_routed(adapter)
    pool = experts(adapter) if routed else {}
    if routed:
        router_bytes = adapter[ROUTER]
        adapter = fallback(adapter)
    if compress == "int4":
        # keep the stored int4 bytes as they are; quantize a float32 adapter now
        def convert(a):
            if is_compressed(a):
                return {CONFIG: a[CONFIG], INT4_WEIGHTS: a[INT4_WEIGHTS]}
            check_adapter(a)
            return compress_int4(a)
        weights_name, stale = INT4_WEIGHTS, WEIGHTS
    else:
        def convert(a):
            a = materialize(a)  # an int4-stored adapter exports as plain float32 PEFT
            check_adapter(a)
            return a
        weights_name, stale = WEIGHTS, INT4_WEIGHTS
    meta = adapter_metadata(materialize(adapter))
    adapter = convert(adapter)
    pool = {n: convert(e) for n, e in pool.items()}
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise BadInput(f"{out} exists and is not a directory")
    existing = [n for n in (*ADAPTER_FILES, INT4_WEIGHTS, "README.md") if (out / n).exists()]
    if existing and not (card or {}).get("overwrite", False):
        raise BadInput(f"{out} already holds an adapter ({', '.join(existing)})",
                       hint="choose an empty directory")
    config = json.loads(adapter[CONFIG])
    config["base_model_name_or_path"] = str(base.path)
    files = [out / CONFIG, out / weights_name, out / "README.md"]
    atomic_write(files[0], (json.dumps(config, sort_keys=True, indent=2) + "\n").encode(), mode=0o644)
    atomic_write(files[1], adapter[weights_name], mode=0o644)
    (out / stale).unlink(missing_ok=True)  # --force over an export of the other format
    text = model_card(base, config, meta, card or {}, int4=compress == "int4")
    if routed:
        routes = json.loads(router_bytes).get("routes", {})
        text += ("\n## Routed merge\n\nThis folder's top-level adapter is the `cat` merge of all parents "
                 "(for prompts of no expert's domain). Each domain has its own expert, a plain PEFT folder:\n\n"
                 + "".join(f"- {d}: `experts/{n}`\n" for d, n in sorted(routes.items()))
                 + "\nLoad them with `PeftModel.from_pretrained(base, DIR/experts/NAME)` (more with "
                   "`load_adapter`) and pick one per prompt with `set_adapter` (router.json).\n")
        if compress == "int4":
            text += "The experts are int4 too: dequantize each `experts/NAME` folder first.\n"
    atomic_write(files[2], text.encode(), mode=0o644)
    if routed:
        # a routed merge: one PEFT folder per expert + the router config next to the
        # top-level (cat merge) adapter; PeftModel.from_pretrained(base, DIR/experts/<name>)
        files.append(out / ROUTER)
        atomic_write(files[-1], router_bytes, mode=0o644)
        for name, exp in sorted(pool.items()):
            ecfg = json.loads(exp[CONFIG])
            ecfg["base_model_name_or_path"] = str(base.path)
            files += [out / "experts" / name / CONFIG, out / "experts" / name / weights_name]
            atomic_write(files[-2], (json.dumps(ecfg, sort_keys=True, indent=2) + "\n").encode(), mode=0o644)
            atomic_write(files[-1], exp[weights_name], mode=0o644)
            (out / "experts" / name / stale).unlink(missing_ok=True)
    return files


# The README of an int4 export repeats zoo_cli.engine.quant.dequantize_folder with torch and
# safetensors only (tests/engine/test_export.py runs this very text).
INT4_LOADER = '''import json, torch
from safetensors import safe_open
from safetensors.torch import save_file

def dequantize_int4(src_dir, dst_dir):
    """adapter_int4.safetensors -> adapter_model.safetensors (float32 PEFT)."""
    import os, shutil
    os.makedirs(dst_dir, exist_ok=True)
    with safe_open(os.path.join(src_dir, "adapter_int4.safetensors"), "pt") as f:
        meta, group = f.metadata(), int(f.metadata()["zoo.group"])
        out = {}
        for name, info in json.loads(meta["zoo.tensors"]).items():
            packed, scale = f.get_tensor(name + ".q4"), f.get_tensor(name + ".scale").float()
            q = torch.stack([packed & 0x0F, packed >> 4], dim=1).reshape(-1).float() - 8
            n = 1
            for s in info["shape"]:
                n *= s
            vals = (q[: scale.numel() * group].reshape(-1, group) * scale[:, None]).reshape(-1)[:n]
            out[name] = vals.reshape(info["shape"]).to(getattr(torch, info["dtype"])).contiguous()
    save_file(out, os.path.join(dst_dir, "adapter_model.safetensors"), metadata={"format": "pt"})
    if os.path.abspath(src_dir) != os.path.abspath(dst_dir):
        shutil.copy(os.path.join(src_dir, "adapter_config.json"), dst_dir)
'''


def model_card(base: BaseModel, config: dict, meta: dict, card: dict, int4: bool = False) -> str:
    scores = card.get("task_scores") or {}
    lines: list[str] = [
        "---",
        "library_name: peft",
        f"base_model: {base.id}",
        "tags: [lora, zoo, zip-6]",
        "---",
        "",
        f"# {card.get('name') or 'zoo personal model'}",
        "",
        "A LoRA adapter owned as an NFT on the zoo network (ZIP-6).",
        "",
        f"- base model: `{base.id}` (weights sha256 `0x{base.hash32.hex()}`), folder `{base.path}`",
        (f"- LoRA rank {config.get('r')}, alpha {config.get('lora_alpha')}, "
         f"modules {', '.join(sorted(config.get('target_modules') or []))}"),
    ]
    for key in ("token_id", "generation", "training_ops", "performance", "specialization"):
        if card.get(key) is not None:
            lines.append(f"- {key.replace('_', ' ')}: {card[key]}")
    if scores:
        lines.append("- task scores (0-10000): " + ", ".join(f"{t} {s}" for t, s in sorted(scores.items())))
    versions = {k[4:]: v for k, v in meta.items() if k in ("zoo.torch", "zoo.transformers", "zoo.peft")}
    if versions:
        lines.append("- trained with " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())))
    if int4:
        lines += [
            "",
            "## int4 weights",
            "",
            "`adapter_int4.safetensors` holds the LoRA factors as per-group int4 (groups of 64 values,",
            "4-bit codes two per byte, low nibble first, value = (code - 8) x the group's float16",
            "scale; shapes in the `zoo.tensors` metadata). Dequantize to a plain float32 PEFT folder",
            "first, with zoo (`from zoo_cli.engine.quant import dequantize_folder;",
            "dequantize_folder(DIR, OUT)`) or with torch alone:",
            "",
            "```python",
            INT4_LOADER.rstrip("\n"),
            "",
            "dequantize_int4(DIR, OUT)  # then load OUT as below",
            "```",
        ]
    lines += [
        "",
        "## Use",
        "",
        "```python",
        "from peft import AutoPeftModelForCausalLM",
        "from transformers import AutoTokenizer",
        f"model = AutoPeftModelForCausalLM.from_pretrained({'OUT' if int4 else 'DIR'}, local_files_only=True)",
        f"tok = AutoTokenizer.from_pretrained({str(base.path)!r}, local_files_only=True)",
        "```",
        "",
        'Prompts look like `pool=ETH/USDC apy=4.2 risk=low ->`; the model continues with the',
        "action (e.g. ` stake ETH`). Prepend the tokenizer's `<s>` token.",
        "",
    ]
    return "\n".join(lines)
