"""Warm models for a long-running server: adapters loaded once, kept in memory over **one
shared base** per base model, answering concurrent callers in shared forward passes.

A :class:`WarmModel` is a member the inference helpers accept wherever they take an adapter
(``engine.infer._answers`` calls its ``answers``), so ``ensemble_predict`` and ``suggest``
run on it unchanged.

- **One base, many adapters** (:class:`WarmPool`): the warm models of one base model are
  named LoRA adapters of one PeftModel (:class:`SharedBase`) — the base weights are in memory
  once, each warm model adds only its adapter. The pool is an LRU bounded by a count
  (``max_models``) and by memory (``max_bytes``: loaded base weights + adapter weights): past
  either bound the least recently used adapter not answering right now is deleted from its
  base, and a base no adapter uses any more is freed. A routed model (``zoo merge --method
  route``: an expert per input) is not one adapter: it keeps its own path and loads its
  experts per call.
- **Batching** (:class:`Batcher`): the first caller to find a base idle runs every prompt
  waiting at that moment (up to ``max_batch``) — whatever their lengths and whichever
  adapters of that base they ask — through one padded batch
  (``evaluate.generate_padded``: left padding, attention mask, per-row position ids; rows on
  different adapters through peft's mixed-adapter ``adapter_names``) and hands each caller
  its own answers; callers arriving meanwhile wait for the next round. No timer, so a lone
  request pays no batching delay. ``batching=False`` runs callers one at a time (the
  benchmark's baseline). Greedy answers are the ones the caller would get alone.
"""

from __future__ import annotations

import itertools
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from zoo_cli.engine.base import BaseModel
from zoo_cli.errors import BadInput


@dataclass
class _Waiting:
    tag: object
    prompts: list[str]
    result: list[str] | None = None
    error: BaseException | None = None
    done: bool = False


class Batcher:
    """Concurrent ``submit(tag, prompts)`` calls answered in shared rounds: ``run(waiting)``
    gets the waiting calls of one round and returns their answers, flattened in order."""

    def __init__(self, run, max_batch: int = 64, batching: bool = True):
        self.run, self.max_batch, self.batching = run, max_batch, batching
        self.rounds = 0  # forward rounds run (for tests and the benchmark)
        self._pending: list[_Waiting] = []
        self._busy = False
        self._cv = threading.Condition()

    def submit(self, tag, prompts: list[str]) -> list[str]:
        me = _Waiting(tag, list(prompts))
        with self._cv:
            self._pending.append(me)
            while not me.done:
                if self._busy:
                    self._cv.wait()
                    continue
                self._busy = True
                take, n = [], 0
                limit = self.max_batch if self.batching else 1
                while self._pending and (not take or n + len(self._pending[0].prompts) <= limit):
                    w = self._pending.pop(0)
                    take.append(w)
                    n += len(w.prompts)
                self._cv.release()
                try:
                    try:
                        out, err = self.run(take), None
                    except BaseException as exc:  # noqa: BLE001 - handed to every caller of the round
                        out, err = None, exc
                finally:
                    self._cv.acquire()
                i = 0
                for w in take:
                    if err is None:
                        w.result = out[i:i + len(w.prompts)]
                    w.error = err
                    i += len(w.prompts)
                    w.done = True
                self.rounds += 1
                self._busy = False
                self._cv.notify_all()
        if me.error is not None:
            raise me.error
        return list(me.result or [])


def _param_bytes(model) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters()) + \
        sum(b.numel() * b.element_size() for b in model.buffers())


class SharedBase:
    """One loaded base model with any number of named LoRA adapters (a PeftModel once the
    first is added). Adding, deleting and forward passes are serialised by one lock."""

    def __init__(self, base: BaseModel, max_batch: int = 64, batching: bool = True):
        from zoo_cli.engine.base import load_base

        self.base = base
        self.model, self.tok = load_base(base)
        self.model.eval()
        self.base_bytes = _param_bytes(self.model)
        self.adapters: dict[str, int] = {}  # name -> bytes its weights add
        self._mixable: dict[str, bool] = {}  # plain LoRA: may share a batch with other adapters
        self._lock = threading.RLock()
        self.batcher = Batcher(self._round, max_batch, batching)

    def add(self, name: str, adapter: dict[str, bytes]) -> int:
        """Load ``adapter`` as ``name``; the bytes its weights take."""
        from peft import PeftModel

        from zoo_cli.engine.adapters import adapter_config, check_adapter, write_adapter
        from zoo_cli.engine.quant import materialize

        adapter = materialize(adapter)  # stored int4 -> float32 LoRA
        check_adapter(adapter)
        cfg = adapter_config(adapter)
        with self._lock, tempfile.TemporaryDirectory(prefix="zoo-adapter-") as d:
            folder = write_adapter(adapter, Path(d) / "adapter")
            before = _param_bytes(self.model)
            try:
                if isinstance(self.model, PeftModel):
                    self.model.load_adapter(str(folder), adapter_name=name, is_trainable=False)
                else:
                    self.model = PeftModel.from_pretrained(self.model, str(folder), adapter_name=name,
                                                           is_trainable=False)
            except (ValueError, RuntimeError, KeyError) as exc:
                raise BadInput(f"adapter does not fit base {self.base.id}: {exc}".splitlines()[0],
                               hint="was it trained on a different base model?") from None
            self.model.eval()
            size = _param_bytes(self.model) - before
            self.adapters[name] = size
            self._mixable[name] = str(cfg.get("peft_type", "LORA")).upper() == "LORA" and not cfg.get("use_dora")
        return size

    def remove(self, name: str) -> None:
        """Delete adapter ``name`` (its weights are freed; the base stays)."""
        import warnings

        with self._lock, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # peft's "adapter X was active which is now deleted"
            if name in self.adapters:
                self.model.delete_adapter(name)
                del self.adapters[name], self._mixable[name]

    def close(self) -> None:
        with self._lock:
            self.model = self.tok = None
            self.adapters.clear()

    def answers(self, name: str, prompts: list[str]) -> list[str]:
        return self.batcher.submit(name, prompts)

    def run_with(self, name: str, fn):
        """``fn(model, tokenizer)`` with only adapter ``name`` active, nothing else running."""
        with self._lock:
            self.model.set_adapter(name)
            return fn(self.model, self.tok)

    def _round(self, take: list[_Waiting]) -> list[str]:
        from zoo_cli.engine.evaluate import generate_padded

        prompts = [p for w in take for p in w.prompts]
        names = [w.tag for w in take for _ in w.prompts]
        with self._lock:
            if len(set(names)) == 1:
                self.model.set_adapter(names[0])
                return generate_padded(self.model, self.tok, prompts)
            if all(self._mixable[n] for n in set(names)):
                return generate_padded(self.model, self.tok, prompts, adapter_names=names)
            out: list[str] = [""] * len(prompts)
            for n in sorted(set(names)):  # adapters peft cannot mix in one batch: one batch each
                idx = [i for i, m in enumerate(names) if m == n]
                self.model.set_adapter(n)
                for i, a in zip(idx, generate_padded(self.model, self.tok, [prompts[i] for i in idx])):
                    out[i] = a
            return out


@dataclass(eq=False)
class WarmModel:
    """One warm adapter over ``base``. Standalone (``pool=None``) it holds its own copy of the
    base; made by :meth:`WarmPool.add` it is an adapter of the pool's shared base."""

    base: BaseModel
    adapter: dict[str, bytes]
    max_batch: int = 64
    batching: bool = True
    pool: WarmPool | None = None
    key: object = None
    name: str | None = None  # its adapter name on the shared base
    nbytes: int = 0  # memory its adapter takes (pooled)
    shared: SharedBase | None = None
    _model: object = None
    _load_lock: threading.Lock = field(default_factory=threading.Lock)
    _batcher: Batcher | None = None

    def __post_init__(self):
        self._batcher = Batcher(self._own_round, self.max_batch, self.batching)

    @property
    def routed(self) -> bool:
        from zoo_cli.engine.router import is_routed

        return is_routed(self.adapter)

    @property
    def batches(self) -> int:
        """Forward rounds run for this model's callers (its shared base's, when pooled)."""
        return self.shared.batcher.rounds if self.shared is not None else self._batcher.rounds

    # -- standalone: its own copy of the base ------------------------------------------------
    def load(self) -> None:
        """Load the base copy with the adapter (idempotent; a routed adapter loads per call)."""
        if self.routed or self.pool is not None:
            return
        with self._load_lock:
            if self._model is None:
                from zoo_cli.engine.loading import load_peft

                self._model = load_peft(self.base, [self.adapter])

    def loaded(self):
        """``(model, tokenizer)`` of a standalone plain (not routed) adapter, loaded once."""
        self.load()
        return self._model

    def _run(self, prompts: list[str]) -> list[str]:
        from zoo_cli.engine.evaluate import generate_padded
        from zoo_cli.engine.router import run_routed

        if self.routed:
            return run_routed(self.base, self.adapter, prompts, generate_padded)
        self.load()
        model, tok = self._model
        return generate_padded(model, tok, prompts)

    def _own_round(self, take: list[_Waiting]) -> list[str]:
        return self._run([p for w in take for p in w.prompts])

    # -- what the inference helpers call ------------------------------------------------------
    def answers(self, prompts: list[str]) -> list[str]:
        if self.pool is not None:
            return self.pool.answer(self, prompts)
        return self._batcher.submit(None, prompts)

    def run_with(self, fn):
        """``fn(model, tokenizer)`` on this (plain) adapter, alone on its model meanwhile."""
        if self.pool is not None:
            return self.pool.run_with(self, fn)
        return fn(*self.loaded())


class WarmPool:
    """Warm models keyed by the caller's key (``zoo serve``: token and model hash), at most
    ``max_models`` of them and at most ``max_bytes`` of loaded weights (``None``: no memory
    bound), least recently used evicted first; one :class:`SharedBase` per base model."""

    def __init__(self, *, max_models: int = 8, max_bytes: int | None = None, max_batch: int = 64,
                 batching: bool = True):
        self.max_models = max(1, int(max_models))
        self.max_bytes = max_bytes
        self.max_batch, self.batching = max_batch, batching
        self._lru: OrderedDict[object, WarmModel] = OrderedDict()
        self._bases: dict[bytes, SharedBase] = {}
        self._pins: dict[int, int] = {}  # id(warm model) -> callers inside it now
        self._retired: dict[int, WarmModel] = {}  # dropped while answering: freed when its callers leave
        self._names = itertools.count(1)
        self._lock = threading.RLock()  # held while a model loads: readers that must not wait use _snapshot
        self._snapshot = {"models": 0, "bases": 0, "adapters": 0, "bytes": 0}

    # -- the LRU ------------------------------------------------------------------------------
    def get(self, key) -> WarmModel | None:
        with self._lock:
            m = self._lru.get(key)
            if m is not None:
                self._lru.move_to_end(key)
            return m

    def add(self, key, base: BaseModel, adapter: dict[str, bytes]) -> WarmModel:
        """Load ``adapter`` over the shared copy of ``base`` (the warm model already there if any)."""
        with self._lock:
            if key in self._lru:
                return self.get(key)
            m = WarmModel(base, adapter, self.max_batch, self.batching, pool=self, key=key)
            self._attach(m)
            self._lru[key] = m
            self._evict(keep=m)
            self._refresh()
            return m

    def discard(self, key) -> None:
        with self._lock:
            m = self._lru.pop(key, None)
            if m is not None:
                self._drop(m)
            self._refresh()

    def warm_keys(self) -> list:
        with self._lock:
            return list(self._lru)

    def __len__(self) -> int:
        return self._snapshot["models"]

    def memory(self) -> int:
        """Bytes of loaded weights: every shared base once, plus each adapter."""
        with self._lock:
            return sum(b.base_bytes for b in self._bases.values()) + \
                sum(m.nbytes for m in (*self._lru.values(), *self._retired.values()))

    def stats(self) -> dict:
        """``{models, bases, adapters, bytes}`` as of the last change (never waits for a load)."""
        return dict(self._snapshot)

    def _refresh(self) -> None:
        self._snapshot = {"models": len(self._lru), "bases": len(self._bases),
                          "adapters": sum(len(b.adapters) for b in self._bases.values()), "bytes": self.memory()}

    def close(self) -> None:
        with self._lock:
            for b in self._bases.values():
                b.close()
            self._bases.clear()
            self._lru.clear()
            self._retired.clear()
            self._refresh()

    # -- loading and freeing -------------------------------------------------------------------
    def _attach(self, m: WarmModel) -> None:
        """Put ``m``'s adapter on its shared base (loading the base if none is loaded)."""
        if m.routed:  # not one adapter: its own path, experts loaded per call
            m.nbytes = 0
            return
        shared = self._bases.get(m.base.hash32)
        if shared is None:
            shared = self._bases[m.base.hash32] = SharedBase(m.base, self.max_batch, self.batching)
        name = f"m{next(self._names)}"
        try:
            m.nbytes = shared.add(name, m.adapter)
        except BaseException:
            if not shared.adapters:
                self._bases.pop(m.base.hash32, None)
                shared.close()
            raise
        m.name, m.shared = name, shared

    def _drop(self, m: WarmModel) -> None:
        if self._pins.get(id(m)):
            self._retired[id(m)] = m  # callers inside: free it when they leave
        else:
            self._free(m)

    def _free(self, m: WarmModel) -> None:
        shared, name = m.shared, m.name
        m.shared, m.name, m.nbytes = None, None, 0
        if shared is None:
            return
        if len(shared.adapters) <= 1:
            self._bases.pop(shared.base.hash32, None)  # no other adapter uses the base: free it
            shared.close()
        else:
            shared.remove(name)

    def _over(self) -> bool:
        return len(self._lru) > self.max_models or (self.max_bytes is not None and self.memory() > self.max_bytes)

    def _evict(self, keep: WarmModel | None = None) -> None:
        while self._over():
            victim = next((k for k, m in self._lru.items() if m is not keep and not self._pins.get(id(m))), None)
            if victim is None:  # all answering (or the one just asked for): over the bound until they finish
                return
            self._free(self._lru.pop(victim))

    # -- answering -------------------------------------------------------------------------------
    def _pin(self, m: WarmModel) -> WarmModel:
        with self._lock:
            if self._lru.get(m.key) is not m and id(m) not in self._retired:
                current = self._lru.get(m.key)
                if current is not None:
                    m = current  # evicted and loaded again meanwhile
                else:  # evicted while the caller held it: load it again
                    self._attach(m)
                    self._lru[m.key] = m
            if m.key in self._lru and self._lru[m.key] is m:
                self._lru.move_to_end(m.key)
            self._pins[id(m)] = self._pins.get(id(m), 0) + 1
            self._evict(keep=m)
            self._refresh()
            return m

    def _unpin(self, m: WarmModel) -> None:
        with self._lock:
            left = self._pins[id(m)] - 1
            if left:
                self._pins[id(m)] = left
                return
            del self._pins[id(m)]
            if self._retired.pop(id(m), None) is not None:
                self._free(m)
            self._evict()
            self._refresh()

    def answer(self, m: WarmModel, prompts: list[str]) -> list[str]:
        m = self._pin(m)
        try:
            if m.shared is None:  # routed
                return m._batcher.submit(None, prompts)
            return m.shared.answers(m.name, prompts)
        finally:
            self._unpin(m)

    def run_with(self, m: WarmModel, fn):
        m = self._pin(m)
        try:
            if m.shared is None:
                raise BadInput("a routed model has no single adapter to run")
            return m.shared.run_with(m.name, fn)
        finally:
            self._unpin(m)
