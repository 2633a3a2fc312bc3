"""Device selection, shared by training, evaluation, ``ask``/``suggest`` and merges.

``--device auto|cpu|cuda|mps`` resolves to a :class:`DeviceChoice`: the torch device and
the autocast dtype used for forward passes. Weights (and the LoRA master weights the
optimiser updates) stay float32 everywhere; on a CUDA GPU the forward runs under bf16
autocast (fp16 + a gradient scaler where bf16 is not supported); CPU and MPS run plain
float32, so CPU results are bit-identical to a run without this module.

A workflow calls :func:`use` once; engine functions that are not handed a device explicitly
(``load_base``, ``load_peft``) then place models on the chosen one.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from zoo_cli.errors import BadInput

DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class DeviceChoice:
    device: str  # "cpu", "cuda", "cuda:1", "mps"
    autocast: str | None  # "bfloat16" / "float16" / None (plain float32)

    @property
    def kind(self) -> str:
        return self.device.split(":", 1)[0]

    @property
    def dtype(self) -> str:
        """The compute dtype reported in metrics."""
        return self.autocast or "float32"

    def to_json(self) -> dict:
        return {"device": self.device, "dtype": self.dtype}


def _cuda_available(torch) -> bool:
    try:
        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001 - a broken driver reads as "no GPU"
        return False


def _mps_available(torch) -> bool:
    mps = getattr(getattr(torch, "backends", None), "mps", None)
    try:
        return bool(mps is not None and mps.is_available())
    except Exception:  # noqa: BLE001 - as above
        return False


def _cuda_autocast(torch) -> str:
    try:
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    except Exception:  # noqa: BLE001 - unknown capability: the safe choice
        return "float16"


def select(requested: str | None = "auto") -> DeviceChoice:
    """Resolve ``--device``: ``auto`` prefers CUDA, then MPS, then the CPU.

    Asking for a device that is not there is a clean error (never a silent CPU fallback).
    """
    import torch

    name = (requested or "auto").strip().lower()
    kind = name.split(":", 1)[0]
    if kind not in DEVICES or (":" in name and kind != "cuda"):
        raise BadInput(f"unknown device {requested!r}", hint="use --device auto, cpu, cuda, cuda:N or mps")
    if kind == "auto":
        if _cuda_available(torch):
            return DeviceChoice("cuda", _cuda_autocast(torch))
        if _mps_available(torch):
            return DeviceChoice("mps", None)
        return DeviceChoice("cpu", None)
    if kind == "cuda":
        if not _cuda_available(torch):
            raise BadInput("--device cuda: no CUDA GPU is available to torch",
                           hint="use --device cpu (or auto), or install a CUDA build of torch")
        if ":" in name:
            idx = name.split(":", 1)[1]
            if not idx.isdigit() or int(idx) >= torch.cuda.device_count():
                raise BadInput(f"--device {name}: there are {torch.cuda.device_count()} CUDA device(s)",
                               hint="use --device cuda (the first GPU)")
        return DeviceChoice(name, _cuda_autocast(torch))
    if kind == "mps":
        if not _mps_available(torch):
            raise BadInput("--device mps: Apple MPS is not available", hint="use --device cpu (or auto)")
        return DeviceChoice("mps", None)
    return DeviceChoice("cpu", None)


_CURRENT: DeviceChoice | None = None


def use(requested: str | None = "auto") -> DeviceChoice:
    """Select the device for the rest of this process's engine calls."""
    global _CURRENT
    _CURRENT = select(requested)
    return _CURRENT


def current() -> DeviceChoice:
    """The device chosen by :func:`use` (the CPU when none was chosen)."""
    return _CURRENT or DeviceChoice("cpu", None)


def for_model(model) -> DeviceChoice:
    """The choice matching where ``model`` lives (autocast only on CUDA)."""
    import torch

    dev = next(model.parameters()).device
    if dev.type == "cuda":
        return DeviceChoice(str(dev), _cuda_autocast(torch))
    return DeviceChoice(str(dev.type), None)


def autocast(choice: DeviceChoice):
    """The forward-pass context: torch.autocast on CUDA, nothing elsewhere."""
    if not choice.autocast:
        return contextlib.nullcontext()
    import torch

    return torch.autocast(device_type=choice.kind, dtype=getattr(torch, choice.autocast))


def grad_scaler(choice: DeviceChoice):
    """A GradScaler for fp16 autocast (bf16 and float32 need none), else None."""
    if choice.autocast != "float16":
        return None
    import torch

    return torch.amp.GradScaler(choice.kind)
