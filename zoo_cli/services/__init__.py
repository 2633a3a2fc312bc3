"""Long-running HTTP services (an entry layer like commands/: parse -> call workflows -> render).

The foundation (reused by the verifier, the model API and the IPFS gateway; documented in
docs/design.md "services/"):

- :mod:`.http`   ``create_app``: FastAPI app factory with the body-size limit, per-client
                  rate limits, one JSON error format (``ApiError``) and JSON-line access logs;
                  ``serve``: uvicorn on 127.0.0.1 by default with graceful SIGTERM.
- :mod:`.auth`   EIP-712 signed requests (chain/signed_requests.py) checked against a
                  persistent nonce store: replays are refused across restarts.
- :mod:`.jobs`   a sqlite job store (idempotent by request hash, survives SIGKILL) and the
                  small ``JobExecutor`` interface (``LocalProcessExecutor`` now; a Ray
                  executor later implements the same three methods).
- :mod:`.logs`   structured logs: one JSON object per line, to stderr or a file.

Services built on it: :mod:`.verifier` (`zoo verifier serve`), :mod:`.model_api` (`zoo serve`,
over workflows/serve.py) and :mod:`.gateway` (`zoo ipfs serve`).

Nothing here holds business logic; heavy imports stay inside functions.
"""
