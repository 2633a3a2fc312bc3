"""Warm models for a long-running server: an adapter loaded once over its base and kept in
memory, answering concurrent callers in shared forward passes.

A :class:`WarmModel` is a member the inference helpers accept wherever they take an adapter
(``engine.infer._answers`` calls its ``answers``), so ``ensemble_predict`` and ``suggest``
run on it unchanged. Concurrent ``answers`` calls are **batched**: the first caller to find
the model idle runs every prompt waiting at that moment (up to ``max_batch``) through one
``generate`` call — greedy decoding groups prompts by length into batched forward passes —
and hands each caller its own answers; callers arriving meanwhile wait for the next round.
No timer, so a lone request pays no batching delay. ``batching=False`` runs callers one at a
time (the benchmark's baseline).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from zoo_cli.engine.base import BaseModel


@dataclass
class _Waiting:
    prompts: list[str]
    result: list[str] | None = None
    error: BaseException | None = None
    done: bool = False


@dataclass
class WarmModel:
    base: BaseModel
    adapter: dict[str, bytes]
    max_batch: int = 64
    batching: bool = True
    batches: int = 0  # forward rounds run (for tests and the benchmark)
    _model: object = None
    _pending: list[_Waiting] = field(default_factory=list)
    _busy: bool = False
    _cv: threading.Condition = field(default_factory=threading.Condition)
    _load_lock: threading.Lock = field(default_factory=threading.Lock)

    def load(self) -> None:
        """Load the base copy with the adapter (idempotent; a routed adapter loads per call)."""
        from zoo_cli.engine.router import is_routed

        if is_routed(self.adapter):
            return
        with self._load_lock:
            if self._model is None:
                from zoo_cli.engine.loading import load_peft

                self._model = load_peft(self.base, [self.adapter])

    def loaded(self):
        """``(model, tokenizer)`` of a plain (not routed) adapter, loaded once."""
        self.load()
        return self._model

    def _run(self, prompts: list[str]) -> list[str]:
        from zoo_cli.engine.evaluate import generate
        from zoo_cli.engine.router import is_routed, run_routed

        if is_routed(self.adapter):
            return run_routed(self.base, self.adapter, prompts, generate)
        self.load()
        model, tok = self._model
        return generate(model, tok, prompts)

    def answers(self, prompts: list[str]) -> list[str]:
        me = _Waiting(list(prompts))
        with self._cv:
            self._pending.append(me)
            while True:
                if me.done:
                    break
                if not self._busy:
                    self._busy = True
                    take, n = [], 0
                    limit = self.max_batch if self.batching else 1
                    while self._pending and (not take or n + len(self._pending[0].prompts) <= limit):
                        w = self._pending.pop(0)
                        take.append(w)
                        n += len(w.prompts)
                    self._cv.release()
                    try:
                        flat = [p for w in take for p in w.prompts]
                        try:
                            out = self._run(flat)
                            err = None
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
                    self.batches += 1
                    self._busy = False
                    self._cv.notify_all()
                    continue
                self._cv.wait()
        if me.error is not None:
            raise me.error
        return list(me.result or [])
