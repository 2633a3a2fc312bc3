# zoo — two commands for a newcomer: `make demo` and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python
PIP := .venv/bin/pip
STAMPS := .stamps
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup demo test test-py test-forge contracts bench fuzz soak slither completions lint clean

setup: $(STAMPS)/venv $(STAMPS)/npm $(STAMPS)/sdk

$(STAMPS)/venv: pyproject.toml
	@test -x $(PY) || python3 -m venv .venv
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[dev,cluster,zk]'
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/npm: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@mkdir -p $(STAMPS) && touch $@

# the TypeScript SDK's own dependencies (viem, typescript), from its lock file
$(STAMPS)/sdk: sdk/typescript/package.json sdk/typescript/package-lock.json
	npm ci --prefix sdk/typescript --no-audit --no-fund --loglevel=error
	@mkdir -p $(STAMPS) && touch $@

contracts: setup
	$(PY) tools/compile_contracts.py

completions: setup
	$(PY) tools/gen_completions.py

demo: setup
	bash tools/demo.sh

# The js-ipfs node the Kubo-backend tests need is installed (npm, network-bound) while forge
# runs; pytest waits for it under its own lock otherwise (tests/storage/conftest.py).
test: setup
	@mkdir -p .tools; (flock .tools/jsipfs.install.lock bash tools/jsipfs/setup.sh > .tools/jsipfs-setup.log 2>&1 || true) & \
	  jsipfs=$$!; bash tools/forge_test.sh; rc=$$?; wait $$jsipfs; [ $$rc -eq 0 ] || exit $$rc
	$(MAKE) --no-print-directory test-py

test-forge: setup
	bash tools/forge_test.sh

test-py: setup
	$(PY) -m pytest -q -n 2 --dist loadfile --durations=30

bench: setup
	$(PY) benches/run_all.py

fuzz: setup
	FOUNDRY_PROFILE=fuzz bash tools/forge_test.sh

soak: setup
	ZOO_SOAK=1 $(PY) -m pytest -q -s --timeout=0 tests/hardening -m soak

slither: setup
	bash tools/slither.sh

lint: setup
	.venv/bin/ruff check zoo_cli tests benches tools

clean:
	rm -rf .venv node_modules $(STAMPS) contracts/out contracts/cache
