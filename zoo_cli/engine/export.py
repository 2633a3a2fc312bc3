"""Export: a standard PEFT adapter folder plus a model card, loadable with no zoo code:

    AutoPeftModelForCausalLM.from_pretrained(DIR, local_files_only=True)

works offline because ``base_model_name_or_path`` names the local base folder.
"""

from __future__ import annotations

import json
from pathlib import Path

from zoo_cli.engine.adapters import ADAPTER_FILES, CONFIG, WEIGHTS, adapter_metadata, check_adapter
from zoo_cli.engine.base import BaseModel
from zoo_cli.errors import BadInput


def export_adapter(base: BaseModel, adapter: dict[str, bytes], out_dir: Path,
                   card: dict | None = None) -> list[Path]:
    """Write adapter_config.json, adapter_model.safetensors and README.md into ``out_dir``."""
    from zoo_cli.engine.router import ROUTER, experts, fallback, is_routed
    from zoo_cli.fsutil import atomic_write

    routed = is_routed(adapter)
    pool = experts(adapter) if routed else {}
    if routed:
        router_bytes = adapter[ROUTER]
        adapter = fallback(adapter)
    from zoo_cli.engine.quant import materialize

    adapter = materialize(adapter)  # an int4-stored adapter exports as plain float32 PEFT
    pool = {n: materialize(e) for n, e in pool.items()}
    check_adapter(adapter)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise BadInput(f"{out} exists and is not a directory")
    existing = [n for n in (*ADAPTER_FILES, "README.md") if (out / n).exists()]
    if existing and not (card or {}).get("overwrite", False):
        raise BadInput(f"{out} already holds an adapter ({', '.join(existing)})",
                       hint="choose an empty directory")
    config = json.loads(adapter[CONFIG])
    config["base_model_name_or_path"] = str(base.path)
    meta = adapter_metadata(adapter)
    files = [out / CONFIG, out / WEIGHTS, out / "README.md"]
    atomic_write(files[0], (json.dumps(config, sort_keys=True, indent=2) + "\n").encode(), mode=0o644)
    atomic_write(files[1], adapter[WEIGHTS], mode=0o644)
    text = model_card(base, config, meta, card or {})
    if routed:
        routes = json.loads(router_bytes).get("routes", {})
        text += ("\n## Routed merge\n\nThis folder's top-level adapter is the `cat` merge of all parents "
                 "(for prompts of no expert's domain). Each domain has its own expert, a plain PEFT folder:\n\n"
                 + "".join(f"- {d}: `experts/{n}`\n" for d, n in sorted(routes.items()))
                 + "\nLoad them with `PeftModel.from_pretrained(base, DIR/experts/NAME)` (more with "
                   "`load_adapter`) and pick one per prompt with `set_adapter` (router.json).\n")
    atomic_write(files[2], text.encode(), mode=0o644)
    if routed:
        # a routed merge: one plain PEFT folder per expert + the router config next to the
        # top-level (cat merge) adapter; PeftModel.from_pretrained(base, DIR/experts/<name>)
        files.append(out / ROUTER)
        atomic_write(files[-1], router_bytes, mode=0o644)
        for name, exp in sorted(pool.items()):
            check_adapter(exp)
            ecfg = json.loads(exp[CONFIG])
            ecfg["base_model_name_or_path"] = str(base.path)
            files += [out / "experts" / name / CONFIG, out / "experts" / name / WEIGHTS]
            atomic_write(files[-2], (json.dumps(ecfg, sort_keys=True, indent=2) + "\n").encode(), mode=0o644)
            atomic_write(files[-1], exp[WEIGHTS], mode=0o644)
    return files


def model_card(base: BaseModel, config: dict, meta: dict, card: dict) -> str:
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
    lines += [
        "",
        "## Use",
        "",
        "```python",
        "from peft import AutoPeftModelForCausalLM",
        "from transformers import AutoTokenizer",
        "model = AutoPeftModelForCausalLM.from_pretrained(DIR, local_files_only=True)",
        f"tok = AutoTokenizer.from_pretrained({str(base.path)!r}, local_files_only=True)",
        "```",
        "",
        'Prompts look like `pool=ETH/USDC apy=4.2 risk=low ->`; the model continues with the',
        "action (e.g. ` stake ETH`). Prepend the tokenizer's `<s>` token.",
        "",
    ]
    return "\n".join(lines)
