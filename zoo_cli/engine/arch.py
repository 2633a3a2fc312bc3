"""Per-architecture LoRA targets for any causal LM transformers can load.

The targets are every linear projection inside the transformer blocks (``nn.Linear`` and
GPT-2 style ``Conv1D``), never the embeddings or the output head: for Llama, Qwen2,
Mistral and Gemma that is ``q/k/v/o_proj`` + ``gate/up/down_proj`` (what zoo-tiny has
always used); for GPT-2 the fused ``c_attn``/``c_proj``/``c_fc`` Conv1D layers (with
``fan_in_fan_out``); for Phi ``q/k/v_proj``, ``dense``, ``fc1``/``fc2``. peft's own
per-architecture defaults (``TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING``, usually
the attention projections only) are a subset of these and are reported next to them; a
model with no linear layer in its blocks is refused cleanly.
"""

from __future__ import annotations

from dataclasses import dataclass

from zoo_cli.errors import BadInput

# names that are never LoRA targets: heads and embeddings (by their leaf name)
_EXCLUDE = {"lm_head", "embed_out", "output", "score", "classifier", "wte", "wpe", "embed_tokens"}


@dataclass(frozen=True)
class LoraTargets:
    modules: tuple[str, ...]
    fan_in_fan_out: bool
    peft_default: tuple[str, ...]  # peft's mapping for this model_type ("" if none)


def peft_defaults(model_type: str) -> tuple[str, ...]:
    from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as MAPPING

    return tuple(MAPPING.get(model_type) or ())


def lora_targets(model) -> LoraTargets:
    """Leaf names of the linear layers in ``model``'s blocks (sorted), for LoraConfig."""
    import torch
    from transformers.pytorch_utils import Conv1D

    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    names: set[str] = set()
    conv = False
    for full, module in model.named_modules():
        if not isinstance(module, (torch.nn.Linear, Conv1D)) or module is head:
            continue
        leaf = full.rsplit(".", 1)[-1]
        # only layers inside numbered blocks (model.layers.3.self_attn.q_proj, h.0.attn.c_attn)
        if leaf in _EXCLUDE or not _in_block(full):
            continue
        names.add(leaf)
        conv = conv or isinstance(module, Conv1D)
    model_type = str(getattr(getattr(model, "config", None), "model_type", "") or "")
    defaults = peft_defaults(model_type)
    if not names:
        raise BadInput(f"no linear layers to adapt in this {model_type or 'model'} architecture",
                       hint="use a causal LM with attention/MLP projections (Llama, Qwen2, GPT-2, Mistral, Phi, Gemma)")
    return LoraTargets(tuple(sorted(names)), conv, defaults)


def _in_block(full_name: str) -> bool:
    return any(part.isdigit() for part in full_name.split(".")[:-1])
