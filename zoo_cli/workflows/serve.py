"""`zoo serve`: the owner's models answering over HTTP (the logic; services/model_api.py is
the HTTP layer, docs/serve.md the API).

The serving account is the selected account: it serves the tokens it **owns** (it holds
their content keys; the keys never leave this process). A caller, identified by an EIP-712
signed request (services/auth.py), may use a token when, judged from chain state at the
pending block's time (so `zoo devnet advance` takes effect at once):

- it owns the token, or
- it is the token's active ERC-4907 user: a free grant (`zoo lease grant`), a key lease, or a
  paid **hosted lease** (`zoo lease offer --hosted URL` / `zoo lease take`: the Marketplace
  sets the buyer as user for the paid period and never delivers a key).

Token facts (owner, user, user expiry, generation, model hash, base, performance) are read
once per block and token; the role is judged against the current pending time on every
request. Decrypted adapters load lazily into an LRU of warm models (engine/serving.py) keyed
by (token, model hash), each an adapter on one shared copy of its base model: a new
generation loads fresh, the least recently used one is dropped past ``max_models`` or past
``max_memory`` bytes of loaded weights (a base no adapter uses any more is freed). Every
answer is signed by the serving account (EIP-712 ``ModelAnswer``, chain/signed_requests.py):
an attestation by the owner, not a proof of computation.
"""

from __future__ import annotations

import json
import threading
import time

from zoo_cli.chain.zoo import ZERO32_HEX, ZERO_ADDRESS, hex32
from zoo_cli.config import Settings
from zoo_cli.errors import BadInput, NotFound, PermissionDenied, refusal
from zoo_cli.workflows.generation import ADAPTER, part
from zoo_cli.workflows.session import Session

MAX_PROMPT = 2000  # characters, as `zoo ask`
MAX_ENSEMBLE = 8
DEFAULT_WARM_MEMORY = 4 * 1024**3  # bytes of warm weights (shared bases + adapters), `zoo serve --warm-memory`


class ModelService:
    """One serving account's models: authorisation, warm models, answers, attestations."""

    def __init__(self, settings: Settings, *, max_models: int = 8, max_memory: int | None = DEFAULT_WARM_MEMORY,
                 batching: bool = True, max_batch: int = 64):
        from zoo_cli.engine.serving import WarmPool

        self.settings = settings
        self.max_models = max(1, int(max_models))
        self.batching, self.max_batch = batching, max_batch
        self._session: Session | None = None
        self._chain = threading.RLock()  # one chain/storage session shared by the request threads
        self._facts: dict[int, tuple[int, dict]] = {}  # token -> (block, facts)
        # warm models: an LRU over (token, model hash), one shared base per base model
        self.pool = WarmPool(max_models=self.max_models, max_bytes=max_memory, max_batch=max_batch, batching=batching)
        self._warm_lock = threading.Lock()
        self._loading: dict[tuple[int, bytes], threading.Lock] = {}
        self.identity: dict | None = None
        self.signer = None

    # -- start / stop ---------------------------------------------------------------------
    def start(self) -> dict:
        """Open the chain, unlock the serving account: ``{server, chain_id, nft, marketplace}``."""
        s = Session(self.settings)
        self._session = s
        with self._chain:
            self.signer = s.signer
            self.identity = {"server": s.address, "chain_id": int(s.client.chain_id), "nft": s.nft.address,
                             "marketplace": s.market.address}
        return self.identity

    def close(self) -> None:
        self.pool.close()
        if self._session is not None:
            with self._chain:
                self._session.close()
                self._session = None

    @property
    def s(self) -> Session:
        if self._session is None:
            raise refusal(NotFound, "not_ready", "the service is not started", status=503)
        return self._session

    # -- public reads -----------------------------------------------------------------------
    def models(self) -> list[dict]:
        """The tokens the serving account owns (public metadata, with their listing)."""
        from zoo_cli.workflows.inspect import list_models, listing_of

        with self._chain:  # one chain user at a time in this process
            rows = list_models(self.settings, owner=self.identity["server"], mine=False, for_sale=False,
                               specialization=None)
            for r in rows:
                r["listing"] = listing_of(self.s, int(r["token_id"]))
        return rows

    def model(self, token_id: int) -> dict:
        """A token's public metadata, lineage, scores, stage and listing, and whether it is served here."""
        from zoo_cli.workflows.inspect import show_model

        try:
            with self._chain:
                d = show_model(self.settings, token_id)
        except NotFound as err:
            raise refusal(NotFound, "unknown_token", err.message, err.hint or "") from None
        d["served"] = d["owner"].lower() == self.identity["server"].lower() and d["cid"] is not None
        return d

    # -- authorisation ----------------------------------------------------------------------
    def facts(self, token_id: int) -> tuple[dict, int]:
        """The token's chain facts (cached per block) and the pending block's time."""
        from zoo_cli.workflows.models import read_record

        with self._chain:
            s = self.s
            now = s.now()  # syncs the embedded devnet to its head
            block = int(s.w3.eth.block_number)
            cached = self._facts.get(token_id)
            if cached is not None and cached[0] == block:
                return cached[1], now
            try:
                rec = read_record(s, token_id)
            except NotFound as err:
                raise refusal(NotFound, "unknown_token", err.message, "see GET /v1/models") from None
            user = s.zoo.user_of(token_id) or ZERO_ADDRESS
            facts = {"token_id": token_id, "owner": rec.owner, "user": user,
                     "user_expires": s.zoo.user_expires(token_id),
                     "generation": rec.generation, "model_hash": rec.model_hash,
                     "base": rec.base_model, "performance": rec.performance, "record": rec}
            if len(self._facts) > 10_000:
                self._facts.clear()
            self._facts[token_id] = (block, facts)
            return facts, now

    def authorise(self, caller: str, token_id: int) -> tuple[dict, str]:
        """``(facts, role)`` with role ``owner`` or ``user``; 404 when this server does not
        serve the token, 403 when ``caller`` may not use it now."""
        f, now = self.facts(token_id)
        server = self.identity["server"]
        if f["owner"].lower() != server.lower():
            raise refusal(NotFound, "not_served", f"token {token_id} is not served here (its owner is {f['owner']})",
                          "ask the owner's endpoint (see the token's listing)")
        if f["model_hash"] == ZERO32_HEX:
            raise refusal(NotFound, "not_trained", f"token {token_id} has no trained version yet",
                          "the owner trains it first")
        if caller.lower() == f["owner"].lower():
            return f, "owner"
        user, expires = f["user"] or ZERO_ADDRESS, f["user_expires"]
        if user.lower() == caller.lower():
            if expires >= now:
                return f, "user"
            raise refusal(PermissionDenied, "lease_expired",
                          f"the lease of token {token_id} by {caller} ended at {expires} (chain time now {now})",
                          f"take a new lease: zoo lease take {token_id} --for 1d")
        raise refusal(PermissionDenied, "forbidden",
                      f"{caller} is neither the owner nor the active user of token {token_id}",
                      f"lease it: zoo lease take {token_id} --for 1d (a hosted lease gives API access)")

    # -- warm models ------------------------------------------------------------------------
    def warm(self, f: dict):
        """The token's warm model for its current model hash (decrypted and loaded once)."""
        key = (int(f["token_id"]), f["model_hash"])
        m = self.pool.get(key)
        if m is not None:
            return m
        with self._warm_lock:
            lock = self._loading.setdefault(key, threading.Lock())
        with lock:
            m = self.pool.get(key)
            if m is not None:
                return m
            for old in [k for k in self.pool.warm_keys() if k[0] == key[0]]:  # an older generation
                self.pool.discard(old)
            try:
                m = self._load(f)
            finally:
                with self._warm_lock:
                    self._loading.pop(key, None)
        return m

    def _load(self, f: dict):
        """Decrypt the token's adapter and put it on the shared copy of its base."""
        from zoo_cli.workflows.models import base_for, load_adapter

        with self._chain:
            files, manifest = load_adapter(self.s, int(f["token_id"]), f["record"])
            base = base_for(self.s, manifest, f["base"])
        adapter = part(files, ADAPTER)
        return self.pool.add((int(f["token_id"]), f["model_hash"]), base, adapter)

    def warm_count(self) -> int:
        return len(self.pool)

    # -- answers ----------------------------------------------------------------------------
    def _members(self, caller: str, token_ids: list[int]) -> tuple[object, list, list[dict]]:
        if not token_ids:
            raise refusal(BadInput, "bad_request", "give at least one token")
        if len(set(token_ids)) != len(token_ids):
            raise refusal(BadInput, "bad_request", "a token appears twice")
        if len(token_ids) > MAX_ENSEMBLE:
            raise refusal(BadInput, "bad_request", f"an ensemble has at most {MAX_ENSEMBLE} tokens")
        checked = [self.authorise(caller, int(t)) for t in token_ids]  # every token before any loading
        if len({f["base"] for f, _ in checked}) > 1:
            raise refusal(BadInput, "mixed_bases", "an ensemble needs tokens of the same base model")
        members, infos = [], []
        for f, role in checked:
            m = self.warm(f)
            members.append((m, float(max(f["performance"], 1))))
            infos.append({"token_id": f["token_id"], "generation": f["generation"],
                          "model_hash": f["model_hash"], "performance": f["performance"], "role": role})
        return members[0][0].base, members, infos

    def ask(self, caller: str, token_ids: list[int], prompt: str) -> tuple[dict, list[dict]]:
        from zoo_cli.engine.infer import ensemble_predict

        prompt = (prompt or "").strip()
        if not prompt:
            raise refusal(BadInput, "bad_request", "the prompt is empty")
        if len(prompt) > MAX_PROMPT:
            raise refusal(BadInput, "prompt_too_long", f"the prompt is over {MAX_PROMPT} characters")
        base, members, infos = self._members(caller, token_ids)
        vote = ensemble_predict(base, members, [prompt])[0]
        votes = [{"token_id": i["token_id"], "answer": a, "weight": i["performance"]}
                 for i, a in zip(infos, vote.answers)]
        return {"answer": vote.answer, "agreement": round(vote.share, 4), "votes": votes, "prompt": prompt}, infos

    def suggest(self, caller: str, token_ids: list[int], task: str, fields: dict) -> tuple[dict, list[dict]]:
        from zoo_cli.engine.infer import suggest as run

        base, members, infos = self._members(caller, token_ids)
        try:
            out = run(base, members, task, **fields)
        except BadInput as err:
            raise refusal(BadInput, "bad_request", err.message, err.hint or "") from None
        except (TypeError, ValueError) as exc:
            raise refusal(BadInput, "bad_request", f"bad field for task {task!r}: {exc}") from None
        return out, infos

    def attest(self, request_hash: bytes, result: dict, infos: list[dict]) -> dict:
        """The answer document: the result, the exact text signed, and the owner's signature."""
        from zoo_cli.chain import signed_requests as sr

        text = json.dumps(result, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        issued = int(time.time())
        msg = sr.answer_message(request_hash=request_hash, token_ids=[i["token_id"] for i in infos],
                                generations=[i["generation"] for i in infos],
                                model_hashes=[bytes.fromhex(i["model_hash"][2:]) for i in infos],
                                result_text=text, issued_at=issued)
        sig = sr.sign_answer(self.signer, chain_id=self.identity["chain_id"], message=msg)
        return {"tokens": [i["token_id"] for i in infos], "members": infos, "result": result, "result_text": text,
                "attestation": {"signer": self.identity["server"], "chain_id": self.identity["chain_id"],
                                "request_hash": hex32(request_hash),
                                "result_hash": hex32(msg["resultHash"]), "issued_at": issued,
                                "signature": sig}}
