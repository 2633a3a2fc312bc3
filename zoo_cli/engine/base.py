"""Base models: the built-in ``zoo-tiny`` and any local Hugging Face causal-LM folder.

``zoo-tiny`` is a small Llama-style model with a byte-level BPE tokenizer, both made
locally from a config and a seed, then briefly pre-trained on built-in synthetic text
that covers the interaction vocabulary of every domain (with *random* actions, so it
knows the format but no user's habits). It is built once into
``$ZOO_CACHE/bases/zoo-tiny-<version>/`` (a standard HF folder) under a file lock, and
identified by the sha256 of its ``model.safetensors`` (the on-chain ``baseModel``).
``tools/build_base.py`` runs the same build.

Any other base is a folder transformers loads as a causal LM (Llama, Qwen2, GPT-2,
Mistral, Phi, Gemma, ...), given by path or by a model id already in the local Hugging
Face cache (never downloaded); it is identified by :func:`canonical_hash` (config +
weight files).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from zoo_cli.errors import BadInput, NotFound

BUILTIN_NAME = "zoo-tiny"
ZOO_TINY_VERSION = "1"
ZOO_TINY_ID = f"{BUILTIN_NAME}-{ZOO_TINY_VERSION}"

# Everything that determines the built-in base. Change it -> bump ZOO_TINY_VERSION.
ZOO_TINY_SPEC = {
    "seed": 1234,
    "vocab_size": 1024,
    "hidden_size": 128,
    "intermediate_size": 384,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "num_key_value_heads": 4,
    "max_position_embeddings": 512,
    "corpus_per_domain": 3000,
    "pretrain_steps": 160,
    "pretrain_batch": 8,
    "seq_len": 256,
    "lr": 3e-3,
    "threads": 2,
}

Progress = Callable[[int, int, dict], None]


@dataclass(frozen=True)
class BaseModel:
    """A base model on disk: ``id`` names it, ``hash32`` is the on-chain baseModel."""

    id: str
    path: Path
    hash32: bytes
    builtin: bool = False

    @property
    def hash_hex(self) -> str:
        return "0x" + self.hash32.hex()


# -- identification -------------------------------------------------------------------------

def _sha256_file(path: Path) -> bytes:
    from zoo_cli.fsutil import sha256_file

    return sha256_file(path)


def _weight_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in (".safetensors", ".bin")
                   and not p.name.startswith(("adapter_", "training_args", "optimizer")))
    if not files:
        raise BadInput(f"{folder} has no model weights (*.safetensors)",
                       hint="pass a Hugging Face causal-LM folder or use --base zoo-tiny")
    return files


def weights_hash(folder: Path) -> bytes:
    """sha256 of the single weights file, or of the sorted (name, sha256) list of shards."""
    files = _weight_files(folder)
    if len(files) == 1:
        return _sha256_file(files[0])
    h = hashlib.sha256()
    for p in files:
        h.update(p.name.encode() + b"\0" + _sha256_file(p))
    return h.digest()


# config.json keys that say nothing about the model (who saved it, with which version)
_VOLATILE_CONFIG_KEYS = ("transformers_version", "_name_or_path", "_commit_hash")


def canonical_hash(folder: Path) -> bytes:
    """The on-chain ``baseModel`` of a local folder: sha256 over a canonical form of its
    ``config.json`` (sorted keys, compact, minus the saving library's version) and the
    sorted (file name, sha256) list of its weight files. Two folders holding the same
    model, saved by different transformers versions or copied anywhere, hash the same;
    a changed config (e.g. rope scaling) or weight gives another base."""
    folder = Path(folder)
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError) as exc:
        raise BadInput(f"{folder}/config.json is unreadable: {exc}") from None
    for k in _VOLATILE_CONFIG_KEYS:
        config.pop(k, None)
    h = hashlib.sha256(b"zoo-base-v1\0")
    h.update(json.dumps(config, sort_keys=True, separators=(",", ":")).encode() + b"\0")
    for p in _weight_files(folder):
        h.update(p.name.encode() + b"\0" + _sha256_file(p))
    return h.digest()


def _is_zoo_tiny_copy(folder: Path) -> bytes | None:
    """A copy of the built-in base keeps the built-in identity (its weights sha256)."""
    meta = folder / "zoo-base.json"
    if not meta.exists() or not (folder / "model.safetensors").exists():
        return None
    try:
        info = json.loads(meta.read_text())
    except ValueError:
        return None
    if not str(info.get("id", "")).startswith(BUILTIN_NAME):
        return None
    digest = _sha256_file(folder / "model.safetensors")
    return digest if digest.hex() == info.get("sha256") else None


def _hf_cache_snapshot(model_id: str) -> Path | None:
    """The local snapshot folder of ``model_id`` in the Hugging Face cache, or None.

    Offline only (``local_files_only``): never a download."""
    from zoo_cli.engine.runtime import offline

    offline()
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(model_id, local_files_only=True,
                                      cache_dir=os.environ.get("HF_HUB_CACHE") or None))
    except Exception:  # noqa: BLE001 - not cached (LocalEntryNotFoundError), bad id (HFValidationError), ...
        return None


def resolve_base(name_or_path: str | Path | None, cache: Path, progress: Progress | None = None) -> BaseModel:
    """``zoo-tiny`` (built into ``cache`` once), a local HF model folder, or the id of a
    model already in the local Hugging Face cache (``org/name``; never downloaded)."""
    name = str(name_or_path or BUILTIN_NAME)
    if name in (BUILTIN_NAME, ZOO_TINY_ID):
        return ensure_zoo_tiny(Path(cache), progress)
    path = Path(name).expanduser()
    model_id = None
    if not path.is_dir():
        snap = None if name.startswith((".", "/", "~")) else _hf_cache_snapshot(name)
        if snap is None:
            raise NotFound(f"base model {name!r} not found (no such folder, not in the local Hugging Face cache)",
                           hint=f"use --base {BUILTIN_NAME}, a local model folder, or a model id already "
                                "downloaded into ~/.cache/huggingface (zoo never downloads)")
        path, model_id = snap, name
    if not (path / "config.json").exists():
        raise BadInput(f"{path} is not a Hugging Face model folder (no config.json)",
                       hint="pass a folder written by save_pretrained (config.json + *.safetensors)")
    tiny = _is_zoo_tiny_copy(path)
    if tiny is not None:
        return BaseModel(id=path.name, path=path.resolve(), hash32=tiny)
    return BaseModel(id=model_id or path.name, path=path.resolve(), hash32=canonical_hash(path))


def zoo_tiny_dir(cache: Path) -> Path:
    return Path(cache) / "bases" / ZOO_TINY_ID


def ensure_zoo_tiny(cache: Path, progress: Progress | None = None) -> BaseModel:
    """The cached built-in base, built once (file lock: concurrent processes wait)."""
    from filelock import FileLock

    target = zoo_tiny_dir(cache)
    meta = target / "zoo-base.json"
    if not meta.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(target) + ".lock"):
            if not meta.exists():
                tmp = Path(tempfile.mkdtemp(prefix=f".{ZOO_TINY_ID}.", dir=target.parent))
                try:
                    if not _install_shipped(tmp):
                        build_zoo_tiny(tmp, progress)
                    if target.exists():
                        shutil.rmtree(target)
                    os.replace(tmp, target)
                except BaseException:
                    shutil.rmtree(tmp, ignore_errors=True)
                    raise
    info = json.loads(meta.read_text())
    return BaseModel(id=ZOO_TINY_ID, path=target, hash32=bytes.fromhex(info["sha256"]), builtin=True)


def shipped_zoo_tiny() -> Path:
    """The zoo-tiny weights shipped in the package (built by tools/build_base.py)."""
    return Path(__file__).resolve().parent / "assets" / ZOO_TINY_ID


def _install_shipped(dest: Path) -> bool:
    """Copy the shipped zoo-tiny into ``dest`` after checking its weights hash.

    Shipping the weights (3.7 MB) makes the on-chain ``baseModel`` identical on every
    machine — a float-level rebuild on another CPU could differ — and spares every new
    cache the ~30 s pre-training. Returns False when the package carries no copy.
    """
    src = shipped_zoo_tiny()
    meta = src / "zoo-base.json"
    if not meta.exists():
        return False
    expected = json.loads(meta.read_text())["sha256"]
    if _sha256_file(src / "model.safetensors").hex() != expected:
        raise BadInput(f"the shipped {ZOO_TINY_ID} weights do not match their recorded hash",
                       hint="reinstall zoo (pip install -e .) or delete the assets folder to rebuild")
    for item in src.iterdir():
        if item.is_file():
            shutil.copyfile(item, dest / item.name)
    return True


# -- building zoo-tiny ----------------------------------------------------------------------

def _corpus(spec: dict) -> list[tuple[str, str]]:
    from zoo_cli.engine.schemas import DOMAINS, example_text, parse_record
    from zoo_cli.engine.synth import synth

    pairs = []
    for i, domain in enumerate(DOMAINS):
        for rec in synth(domain, spec["corpus_per_domain"], seed=spec["seed"] + i, profile="random"):
            pairs.append(example_text(parse_record(rec)))
    return pairs


def build_tokenizer(corpus: list[str], vocab_size: int):
    """Byte-level BPE (digits split one by one) trained on ``corpus``; deterministic."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=["<pad>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tok.train_from_iterator(sorted(set(corpus)), trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>",
                                   pad_token="<pad>", model_max_length=512)


def build_zoo_tiny(out_dir: Path, progress: Progress | None = None, spec: dict | None = None) -> bytes:
    """Build, pre-train and save zoo-tiny into ``out_dir``; returns its weights hash."""
    from zoo_cli.engine.runtime import torch_setup

    spec = dict(ZOO_TINY_SPEC, **(spec or {}))
    torch = torch_setup()
    old_threads = torch.get_num_threads()
    torch.set_num_threads(spec["threads"])  # part of the recipe: results depend on it
    try:
        from transformers import LlamaConfig, LlamaForCausalLM

        from zoo_cli.engine.loop import run_steps
        from zoo_cli.engine.packing import encode_examples, pack

        t0 = time.monotonic()
        pairs = _corpus(spec)
        tokenizer = build_tokenizer([f"{p} {t}" for p, t in pairs], spec["vocab_size"])
        torch.manual_seed(spec["seed"])
        config = LlamaConfig(
            vocab_size=len(tokenizer), hidden_size=spec["hidden_size"],
            intermediate_size=spec["intermediate_size"], num_hidden_layers=spec["num_hidden_layers"],
            num_attention_heads=spec["num_attention_heads"],
            num_key_value_heads=spec["num_key_value_heads"],
            max_position_embeddings=spec["max_position_embeddings"], tie_word_embeddings=True,
            bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id, attn_implementation="sdpa",
        )
        model = LlamaForCausalLM(config)
        examples = encode_examples(tokenizer, pairs, loss_on_prompt=True, max_len=spec["seq_len"])
        packed = pack(examples, spec["seq_len"], tokenizer.pad_token_id, seed=spec["seed"])
        params = [p for p in model.parameters() if p.requires_grad]
        run_steps(model, params, packed, steps=spec["pretrain_steps"], batch_size=spec["pretrain_batch"],
                  lr=spec["lr"], seed=spec["seed"], warmup=20, progress=progress, phase="pretrain")
        model.eval()
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(out_dir, safe_serialization=True)
        tokenizer.save_pretrained(out_dir)
        (out_dir / "generation_config.json").unlink(missing_ok=True)
        digest = _sha256_file(out_dir / "model.safetensors")
        (out_dir / "zoo-base.json").write_text(json.dumps({
            "id": ZOO_TINY_ID, "sha256": digest.hex(), "spec": spec,
            "build_seconds": round(time.monotonic() - t0, 1),
            "params": sum(p.numel() for p in model.parameters()),
        }, indent=2) + "\n")
        (out_dir / "README.md").write_text(
            f"# {ZOO_TINY_ID}\n\nzoo's built-in base model: a {config.num_hidden_layers}-layer "
            f"Llama-style causal LM (hidden {config.hidden_size}), built locally and deterministically "
            f"by zoo_cli.engine.base.build_zoo_tiny (tools/build_base.py).\n\n"
            f"weights sha256: 0x{digest.hex()}\n")
        return digest
    finally:
        torch.set_num_threads(old_threads)


# -- loading --------------------------------------------------------------------------------

_LOADED: dict[str, tuple] = {}


def load_tokenizer(base: BaseModel):
    from zoo_cli.engine.runtime import offline

    offline()
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(base.path), local_files_only=True)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok


def load_base(base: BaseModel, device: str | None = None):
    """A fresh (model, tokenizer) pair on ``device`` (default: the one chosen with
    ``engine.device.use``, else the CPU); the pristine weights are cached per process.

    Any architecture transformers loads as a causal LM works; anything else is a clean
    ``BadInput`` naming the folder (never a traceback)."""
    import copy

    from zoo_cli.engine.device import current
    from zoo_cli.engine.runtime import torch_setup

    torch_setup()
    key = f"{base.path}|{base.hash32.hex()}"
    if key not in _LOADED:
        model = _load_causal_lm(base)
        model.eval()
        try:
            tok = load_tokenizer(base)
        except (OSError, ValueError, TypeError) as exc:
            raise BadInput(f"base {base.id}: cannot load its tokenizer ({str(exc).splitlines()[0]})",
                           hint="the folder needs tokenizer files (tokenizer.json / tokenizer_config.json)") from None
        if tok.bos_token_id is None or tok.eos_token_id is None:
            # zoo's examples are "<s> prompt target </s>": a tokenizer without bos uses eos
            if tok.eos_token_id is None:
                raise BadInput(f"base {base.id}: its tokenizer has no end-of-sequence token",
                               hint="use a causal-LM tokenizer with an eos token")
            tok.bos_token = tok.eos_token
        _LOADED.clear()
        _LOADED[key] = (model, tok)
    model, tok = _LOADED[key]
    return copy.deepcopy(model).to(device or current().device), tok


def _load_causal_lm(base: BaseModel):
    from transformers import AutoModelForCausalLM

    try:
        return AutoModelForCausalLM.from_pretrained(
            str(base.path), local_files_only=True, dtype="float32", attn_implementation="sdpa")
    except (ValueError, OSError, KeyError, TypeError, ImportError) as first:
        if "sdpa" not in str(first).lower() and "attn" not in str(first).lower():
            raise BadInput(f"base {base.id} is not a causal LM transformers can load: "
                           f"{str(first).splitlines()[0][:300]}",
                           hint="pass a local Hugging Face causal-LM folder (config.json + *.safetensors)") from None
    try:  # an architecture without an SDPA kernel: the eager attention
        return AutoModelForCausalLM.from_pretrained(str(base.path), local_files_only=True, dtype="float32")
    except (ValueError, OSError, KeyError, TypeError, ImportError) as exc:
        raise BadInput(f"base {base.id} is not a causal LM transformers can load: {str(exc).splitlines()[0][:300]}",
                       hint="pass a local Hugging Face causal-LM folder (config.json + *.safetensors)") from None
