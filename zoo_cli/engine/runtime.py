"""Process-wide setup for the torch side: offline mode, threads, device, quiet logs."""

from __future__ import annotations

import os


def offline() -> None:
    """Never touch the Hugging Face hub (a failed lookup retries for ~47 s)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def torch_setup(threads: int | None = None):
    """Import torch with our settings; returns the module."""
    offline()
    import torch

    if threads:
        torch.set_num_threads(int(threads))
    _quiet()
    return torch


def _quiet() -> None:
    """No library progress bars or advisory warnings: the CLI renders its own progress."""
    import warnings

    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
    warnings.filterwarnings("ignore", message=".*Could not find a config file.*")


def pick_device(device: str = "auto") -> str:
    """The torch device for ``--device`` (see engine.device, which also picks the dtype)."""
    from zoo_cli.engine.device import select

    return select(device).device


def versions() -> dict[str, str]:
    import peft
    import safetensors
    import torch
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__,
            "peft": peft.__version__, "safetensors": safetensors.__version__}
