"""Adapters onto a model: a fresh base copy with stored adapters loaded as named PEFT adapters.

Above engine.adapters (the bytes format) and engine.quant (int4 storage), which it
combines; everything that runs an adapter loads it through :func:`load_peft`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from zoo_cli.engine.adapters import check_adapter, write_adapter
from zoo_cli.engine.base import BaseModel, load_base
from zoo_cli.engine.quant import materialize
from zoo_cli.errors import BadInput


def load_peft(base: BaseModel, adapters: list[dict[str, bytes]], names: list[str] | None = None,
              trainable: bool = False, device: str | None = None):
    """A fresh base copy with every adapter loaded (the first one active); (model, tokenizer)."""
    from peft import PeftModel

    if not adapters:
        raise BadInput("no adapter given")
    names = names or [f"a{i}" for i in range(len(adapters))]
    adapters = [materialize(a) for a in adapters]  # stored int4 -> float32 LoRA
    model, tok = load_base(base, device)
    with tempfile.TemporaryDirectory(prefix="zoo-adapter-") as d:
        for i, (name, adapter) in enumerate(zip(names, adapters)):
            check_adapter(adapter)
            folder = write_adapter(adapter, Path(d) / name)
            try:
                if i == 0:
                    model = PeftModel.from_pretrained(model, str(folder), adapter_name=name,
                                                      is_trainable=trainable)
                else:
                    model.load_adapter(str(folder), adapter_name=name, is_trainable=trainable)
            except (ValueError, RuntimeError, KeyError) as exc:
                raise BadInput(f"adapter {i + 1} does not fit base {base.id}: {exc}".splitlines()[0],
                               hint="was it trained on a different base model?") from None
    model.set_adapter(names[0])
    if not trainable:
        model.eval()
    return model, tok
