"""Zero-knowledge proof of a policy's evaluation (ezkl, KZG/Halo2), fully offline.

What one proof states
---------------------
For the circuit of an architecture (``PolicyConfig.arch_id``) and a batch of
:data:`ZK_BATCH` feature rows ``x``: *"a network whose parameters hash (Poseidon) to
``param_hash`` maps the rows ``x`` to the action slots ``y``"*. The public instances, in
this order (one flat ``uint256[]`` of ``1 + B*F + B`` felts for the EVM verifier), are::

    [0]            param_hash: Poseidon hash of the quantized parameters (ezkl "hashed")
    [1 .. 1+B*F)   x: the quantized features, row-major (felt = round(feature * 2**INPUT_SCALE))
    [1+B*F .. )    y: the argmax action slot of every row

Parameters are *hashed*, not fixed, so the proving key, verification key and the Solidity
verifier depend only on the architecture and the SRS: one verifier serves every policy of
an architecture, and ``param_hash`` is the commitment stored in the token's record.

An evaluation set of N records is cut into ``ceil(N / B)`` chunks of B rows; the last is
padded with all-zero rows whose label is :data:`PAD_LABEL` (not counted). Accuracy is not
computed in-circuit: anyone holding the registered labels recomputes it from the public
outputs (see :func:`accuracy_from_instances`, which mirrors the contract check)::

    inputs_digest[c] = keccak256(abi.encodePacked(uint256[B*F] x of chunk c))
    eval_commitment  = keccak256(abi.encodePacked(uint32(N), inputs_digest[0..k), bytes labels))
    correct          = #{i < N : y[i] == labels[i]};  accuracy_bps = correct * 10000 / N

The VERIFIER role registers ``eval_commitment`` (plus the set's CID) per task; the prover
cannot pick the rows because their felts are public and hashed into that commitment.

Caching: everything an architecture needs lives in ``<zk_root>/<arch_id>/<srs_id>/``
(settings, reference circuit, pk, vk, verifier artifact, manifest.json with sizes and
timings), built once under a file lock. ``srs_id`` is ``devnet-unsafe`` for the locally
generated SRS (``ezkl.gen_srs``: its toxic waste is known to this machine, so it is only
for devnets) or ``srs-<sha256[:16]>`` of a ceremony file passed as ``srs``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from zoo_cli import childproc
from zoo_cli.engine import policy as pol
from zoo_cli.errors import BadInput, NotFound, OperationFailed

ZK_BATCH = 64          # rows per proof
NUM_INNER_COLS = 2     # keeps a 64-row batch within 2**15 rows
PAD_LABEL = 255        # label of padding rows (never counted)
MANIFEST = "manifest.json"

Progress = Callable[[str, int, int], None]  # (step, done, total)
# steps: "srs", "settings", "setup", "commit", "witness", "prove", "verifier"


def _noop(step: str, done: int, total: int) -> None:
    pass


def _ezkl():
    """ezkl (and onnx, which torch.onnx.export needs to write the policy graph), or a clear
    error: both come with the optional ``zk`` extra."""
    try:
        import ezkl
        import onnx  # noqa: F401 - imported by torch.onnx.export, checked here for the message
    except ImportError as exc:
        raise NotFound(f"zero-knowledge proofs need the zk extra ({exc.name} is not installed)",
                       hint="pip install 'zoo-cli[zk]' (ezkl, onnx); `make setup` installs it") from None
    return ezkl


# -- architecture keys ------------------------------------------------------------------------

@dataclass
class ArchKeys:
    """Paths and facts of one architecture's cached circuit material."""

    dir: Path
    config: pol.PolicyConfig
    srs_path: Path
    srs_id: str
    unsafe_srs: bool
    manifest: dict

    @property
    def settings(self) -> Path:
        return self.dir / "settings.json"

    @property
    def pk(self) -> Path:
        return self.dir / "pk.key"

    @property
    def vk(self) -> Path:
        return self.dir / "vk.key"

    @property
    def logrows(self) -> int:
        return int(self.manifest["logrows"])

    @property
    def sizes(self) -> dict[str, int]:
        return {"pk": self.pk.stat().st_size, "vk": self.vk.stat().st_size,
                "srs": self.srs_path.stat().st_size}


def _sha256_file(path: Path) -> str:
    from zoo_cli.fsutil import sha256_file

    return sha256_file(path).hex()


def _reference_policy(config: pol.PolicyConfig) -> pol.Policy:
    """Deterministic random weights: only the circuit *shape* comes from it (params are hashed)."""
    import torch

    gen = torch.Generator().manual_seed(20240609)
    tensors = {
        "l1.weight": torch.randn(config.hidden, config.n_features, generator=gen),
        "l1.bias": torch.randn(config.hidden, generator=gen) * 0.1,
        "l2.weight": torch.randn(config.n_classes, config.hidden, generator=gen),
        "l2.bias": torch.randn(config.n_classes, generator=gen) * 0.1,
    }
    pol.quantize_(tensors)
    return pol.Policy(config, tensors, pol.POLICY_DOMAINS)


def _calibration_rows() -> list[list[float]]:
    """Feature rows of every domain (synthetic), to size the circuit's ranges."""
    from zoo_cli.engine.synth import synth

    rows = [pol.encode(r) for d in pol.POLICY_DOMAINS for r in synth(d, ZK_BATCH // 4, 7)]
    return rows[:ZK_BATCH]


def _write_input(path: Path, rows: Sequence[Sequence[float]]) -> None:
    flat = [v for row in rows for v in row]
    path.write_text(json.dumps({"input_data": [flat]}))


def _run_args():
    ezkl = _ezkl()
    ra = ezkl.PyRunArgs()
    ra.input_visibility = "public"
    ra.output_visibility = "public"
    ra.param_visibility = "hashed"
    ra.input_scale = pol.INPUT_SCALE
    ra.param_scale = pol.PARAM_SCALE
    ra.num_inner_cols = NUM_INNER_COLS
    return ra


def _srs_identity(srs: Path | None) -> tuple[str, bool]:
    if srs is None:
        return "devnet-unsafe", True
    srs = Path(srs)
    if not srs.is_file():
        raise NotFound(f"SRS file {srs} not found", hint="pass the ceremony SRS file with --srs PATH")
    return f"srs-{_sha256_file(srs)[:16]}", False


def arch_dir(zk_root: Path, config: pol.PolicyConfig | None = None, srs: Path | None = None) -> Path:
    config = config or pol.PolicyConfig()
    srs_id, _ = _srs_identity(srs)
    return Path(zk_root) / config.arch_id / srs_id


def ensure_keys(zk_root: Path, config: pol.PolicyConfig | None = None, *, srs: Path | None = None,
                progress: Progress | None = None) -> ArchKeys:
    """Build (once, under a file lock) or load the circuit, SRS, pk and vk of an architecture.

    ``srs=None`` generates a local SRS with ``ezkl.gen_srs``: UNSAFE, devnet only (whoever
    ran it could forge proofs). On a real network pass the ceremony SRS file.
    """
    from filelock import FileLock

    config = config or pol.PolicyConfig()
    progress = progress or _noop
    srs_id, unsafe = _srs_identity(srs)
    d = Path(zk_root) / config.arch_id / srs_id
    d.mkdir(parents=True, exist_ok=True)
    with FileLock(str(d / ".lock")):
        manifest_path = d / MANIFEST
        if manifest_path.exists():
            manifest = json.loads(manifest_path.read_text())
            srs_path = d / "kzg.srs" if unsafe else Path(manifest["srs_path"])
            keys = ArchKeys(d, config, srs_path, srs_id, unsafe, manifest)
            if keys.pk.exists() and keys.vk.exists() and srs_path.exists():
                return keys
        return _build_keys(d, config, srs, srs_id, unsafe, progress)


def _build_keys(d: Path, config: pol.PolicyConfig, srs: Path | None, srs_id: str, unsafe: bool,
                progress: Progress) -> ArchKeys:
    ezkl = _ezkl()
    timings: dict[str, float] = {}
    ref = _reference_policy(config)
    pol.export_onnx(ref, ZK_BATCH, d / "reference.onnx")
    _write_input(d / "calibration.json", _calibration_rows())

    progress("settings", 0, 1)
    t = time.perf_counter()
    settings = d / "settings.json"
    if not ezkl.gen_settings(str(d / "reference.onnx"), str(settings), py_run_args=_run_args()):
        raise OperationFailed("ezkl gen_settings failed")
    ezkl.calibrate_settings(str(d / "calibration.json"), str(d / "reference.onnx"), str(settings),
                            "resources", scales=[pol.INPUT_SCALE], max_logrows=17)
    ezkl.compile_circuit(str(d / "reference.onnx"), str(d / "reference.ezkl"), str(settings))
    logrows = int(json.loads(settings.read_text())["run_args"]["logrows"])
    timings["settings_s"] = round(time.perf_counter() - t, 2)
    progress("settings", 1, 1)

    progress("srs", 0, 1)
    t = time.perf_counter()
    if unsafe:
        srs_path = d / "kzg.srs"
        if not srs_path.exists():
            ezkl.gen_srs(str(d / "kzg.srs.tmp"), logrows)
            os.replace(d / "kzg.srs.tmp", srs_path)
    else:
        srs_path = Path(srs).resolve()
    timings["srs_s"] = round(time.perf_counter() - t, 2)
    progress("srs", 1, 1)

    progress("setup", 0, 1)
    t = time.perf_counter()
    for p in (d / "pk.key", d / "vk.key"):
        p.unlink(missing_ok=True)
    try:
        ok = ezkl.setup(str(d / "reference.ezkl"), str(d / "vk.key.tmp"), str(d / "pk.key.tmp"),
                        srs_path=str(srs_path))
    except (RuntimeError, ValueError) as exc:  # ezkl reports failures as RuntimeError
        raise OperationFailed(f"ezkl setup failed: {exc}",
                              hint=f"the SRS must have at least 2**{logrows} points") from None
    if not ok:
        raise OperationFailed("ezkl setup failed")
    os.replace(d / "vk.key.tmp", d / "vk.key")
    os.replace(d / "pk.key.tmp", d / "pk.key")
    timings["setup_s"] = round(time.perf_counter() - t, 2)
    progress("setup", 1, 1)

    manifest = {
        "arch_id": config.arch_id,
        "config": asdict(config),
        "batch": ZK_BATCH,
        "n_features": config.n_features,
        "n_params": config.n_params,
        "logrows": logrows,
        "srs_id": srs_id,
        "srs_path": str(srs_path),
        "srs_unsafe": unsafe,
        "srs_sha256": _sha256_file(srs_path),
        "vk_sha256": _sha256_file(d / "vk.key"),
        "ezkl_version": ezkl.__version__,
        "instances": {"layout": ["param_hash", "inputs", "outputs"], "param_hash": 1,
                      "inputs": ZK_BATCH * config.n_features, "outputs": ZK_BATCH},
        "timings": timings,
        "sizes": {"pk": (d / "pk.key").stat().st_size, "vk": (d / "vk.key").stat().st_size,
                  "srs": srs_path.stat().st_size},
    }
    (d / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return ArchKeys(d, config, srs_path, srs_id, unsafe, manifest)


# -- per-policy circuit -----------------------------------------------------------------------

def _compile_policy(keys: ArchKeys, policy: pol.Policy, work: Path) -> Path:
    """The architecture's circuit with this policy's weights (witness-side only)."""
    ezkl = _ezkl()
    if policy.config.arch_id != keys.config.arch_id:
        raise BadInput(f"policy architecture {policy.config.arch_id} does not match keys {keys.config.arch_id}")
    work.mkdir(parents=True, exist_ok=True)
    onnx_path, compiled = work / "policy.onnx", work / "policy.ezkl"
    pol.export_onnx(policy, ZK_BATCH, onnx_path)
    if not ezkl.compile_circuit(str(onnx_path), str(compiled), str(keys.settings)):
        raise OperationFailed("ezkl compile_circuit failed")
    return compiled


def _felt(value: str) -> int:
    """ezkl felts: ``0x``-prefixed big-endian, or bare 64-hex little-endian (proof instances)."""
    if value.startswith("0x"):
        return int(value, 16)
    return int.from_bytes(bytes.fromhex(value), "little")


def _felt_le(value: int) -> str:
    """The bare little-endian hex form ezkl writes into proof files."""
    return value.to_bytes(32, "little").hex()


def _felt_hex(value: int) -> str:
    return "0x" + value.to_bytes(32, "big").hex()


def param_hash(policy: pol.Policy, zk_root: Path, *, srs: Path | None = None) -> str:
    """The on-chain commitment of a policy: the Poseidon hash of its quantized parameters
    exactly as ezkl's hashed visibility computes it (a BN254 field element, 0x + 64 hex, which
    is also its bytes32 form). Computed by running the circuit's witness generation."""
    import tempfile

    keys = ensure_keys(zk_root, policy.config, srs=srs)
    with tempfile.TemporaryDirectory(prefix="zoo-zk-", dir=keys.dir) as tmp:
        work = Path(tmp)
        compiled = _compile_policy(keys, policy, work)
        _write_input(work / "input.json", [[0.0] * policy.config.n_features] * ZK_BATCH)
        wit = _ezkl().gen_witness(str(work / "input.json"), str(compiled), str(work / "witness.json"))
    return _felt_hex(_felt(wit["processed_params"]["poseidon_hash"][0]))


# -- evaluation sets --------------------------------------------------------------------------

@dataclass(frozen=True)
class EvalSet:
    """The public, registrable form of an evaluation set (what the VERIFIER commits to)."""

    n: int
    chunks: list[list[int]]  # per chunk: B*F input felts (ints)
    labels: bytes            # one action slot per record (N bytes)
    inputs_digests: list[bytes]
    commitment: bytes        # keccak256(uint32 N || digests || labels)

    def to_json(self) -> dict:
        return {"n": self.n, "labels": self.labels.hex(),
                "inputs_digests": ["0x" + d.hex() for d in self.inputs_digests],
                "commitment": "0x" + self.commitment.hex(), "batch": ZK_BATCH}


def _keccak(data: bytes) -> bytes:
    from Crypto.Hash import keccak  # pycryptodome, a dependency of eth-hash/web3 stacks

    return keccak.new(digest_bits=256, data=data).digest()


def eval_set(records: Sequence[Any], config: pol.PolicyConfig | None = None) -> EvalSet:
    """Encode an evaluation set (records of any policy domain) into its public commitment."""
    config = config or pol.PolicyConfig()
    recs = [pol._as_record(r) for r in records]
    if not recs:
        raise BadInput("an evaluation set needs at least one record")
    if len(recs) > 0xFFFFFFFF:
        raise BadInput("evaluation set too large")
    scale = 2 ** pol.INPUT_SCALE
    rows = [[round(v * scale) for v in pol.encode(r)] for r in recs]
    labels = bytes(pol.label(r) for r in recs)
    chunks: list[list[int]] = []
    for start in range(0, len(rows), ZK_BATCH):
        part = rows[start:start + ZK_BATCH]
        part += [[0] * config.n_features] * (ZK_BATCH - len(part))
        chunks.append([v for row in part for v in row])
    digests = [_keccak(b"".join(v.to_bytes(32, "big") for v in chunk)) for chunk in chunks]
    commitment = _keccak(len(recs).to_bytes(4, "big") + b"".join(digests) + labels)
    return EvalSet(len(recs), chunks, labels, digests, commitment)


# -- proofs -----------------------------------------------------------------------------------

@dataclass
class ChunkProof:
    index: int
    proof: dict                 # ezkl proof JSON (protocol, instances, proof, ...)
    instances: list[int]        # flat public instances (inputs, param hash, outputs)

    @property
    def proof_bytes(self) -> bytes:
        return bytes.fromhex(self.proof["hex_proof"].removeprefix("0x"))

    def outputs(self, n_features: int = pol.N_FEATURES) -> list[int]:
        return self.instances[1 + ZK_BATCH * n_features:]


@dataclass
class EvalProof:
    """Proof of evaluation of one policy on one evaluation set (one chunk per B records)."""

    arch_id: str
    srs_id: str
    param_hash: str
    eval_commitment: str
    n: int
    labels: bytes
    chunks: list[ChunkProof]
    correct: int
    accuracy_bps: int
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        return self.correct / self.n

    @property
    def proof_size(self) -> int:
        return sum(len(c.proof_bytes) for c in self.chunks)

    def to_json(self) -> dict:
        return {
            "format": "zoo-zk-eval/1", "arch_id": self.arch_id, "srs_id": self.srs_id,
            "param_hash": self.param_hash, "eval_commitment": self.eval_commitment, "n": self.n,
            "labels": self.labels.hex(), "correct": self.correct, "accuracy_bps": self.accuracy_bps,
            "timings": self.timings,
            "chunks": [{"index": c.index, "proof": c.proof} for c in self.chunks],
        }

    @classmethod
    def from_json(cls, doc: dict, n_features: int = pol.N_FEATURES) -> EvalProof:
        if doc.get("format") != "zoo-zk-eval/1":
            raise BadInput("not a zoo zk evaluation proof")
        chunks = [ChunkProof(c["index"], c["proof"], [_felt(v) for v in c["proof"]["instances"][0]])
                  for c in doc["chunks"]]
        return cls(doc["arch_id"], doc["srs_id"], doc["param_hash"], doc["eval_commitment"], doc["n"],
                   bytes.fromhex(doc["labels"]), chunks, doc["correct"], doc["accuracy_bps"],
                   doc.get("timings", {}))


def accuracy_from_instances(chunk_instances: Sequence[Sequence[int]], labels: bytes,
                            n_features: int = pol.N_FEATURES) -> tuple[int, int]:
    """(correct, accuracy_bps) from public outputs and registered labels — the contract's rule."""
    n = len(labels)
    correct = 0
    for c, inst in enumerate(chunk_instances):
        outs = inst[1 + ZK_BATCH * n_features:]
        for i, y in enumerate(outs):
            k = c * ZK_BATCH + i
            if k < n and y == labels[k]:
                correct += 1
    return correct, (correct * 10_000 // n if n else 0)


def commitment_from_instances(chunk_instances: Sequence[Sequence[int]], labels: bytes,
                              n_features: int = pol.N_FEATURES) -> bytes:
    """Recompute the evaluation-set commitment from proof instances (as the contract does)."""
    width = ZK_BATCH * n_features
    digests = [_keccak(b"".join(v.to_bytes(32, "big") for v in inst[1:1 + width])) for inst in chunk_instances]
    return _keccak(len(labels).to_bytes(4, "big") + b"".join(digests) + labels)


def prove(policy: pol.Policy, eval_records: Sequence[Any], zk_root: Path, *, srs: Path | None = None,
          progress: Progress | None = None) -> EvalProof:
    """Prove the evaluation of ``policy`` on ``eval_records`` (the registered set)."""
    import tempfile

    ezkl = _ezkl()
    progress = progress or _noop
    keys = ensure_keys(zk_root, policy.config, srs=srs, progress=progress)
    es = eval_set(eval_records, policy.config)
    scale = 2 ** pol.INPUT_SCALE
    timings = {"witness_s": 0.0, "prove_s": 0.0}
    chunks: list[ChunkProof] = []
    with tempfile.TemporaryDirectory(prefix="zoo-zk-", dir=keys.dir) as tmp:
        work = Path(tmp)
        progress("commit", 0, 1)
        compiled = _compile_policy(keys, policy, work)
        progress("commit", 1, 1)
        total = len(es.chunks)
        for c, flat in enumerate(es.chunks):
            progress("prove", c, total)
            rows = [[v / scale for v in flat[i:i + policy.config.n_features]]
                    for i in range(0, len(flat), policy.config.n_features)]
            _write_input(work / "input.json", rows)
            t = time.perf_counter()
            ezkl.gen_witness(str(work / "input.json"), str(compiled), str(work / "witness.json"))
            timings["witness_s"] += time.perf_counter() - t
            t = time.perf_counter()
            try:
                ezkl.prove(str(work / "witness.json"), str(compiled), str(keys.pk),
                           str(work / "proof.json"), srs_path=str(keys.srs_path))
            except (RuntimeError, ValueError) as exc:
                raise OperationFailed(f"ezkl prove failed: {exc}") from None
            timings["prove_s"] += time.perf_counter() - t
            proof = json.loads((work / "proof.json").read_text())
            instances = [_felt(v) for v in proof["instances"][0]]
            if instances[1:1 + len(flat)] != flat:
                raise OperationFailed("proof inputs differ from the evaluation set (feature encoding drift)")
            chunks.append(ChunkProof(c, proof, instances))
        progress("prove", total, total)
    phash = _felt_hex(chunks[0].instances[0])
    correct, bps = accuracy_from_instances([c.instances for c in chunks], es.labels, policy.config.n_features)
    timings = {k: round(v, 3) for k, v in timings.items()}
    return EvalProof(policy.config.arch_id, keys.srs_id, phash, "0x" + es.commitment.hex(), es.n,
                     es.labels, chunks, correct, bps, timings)


def verify_local(proof: EvalProof, zk_root: Path, *, srs: Path | None = None,
                 expected_param_hash: str | None = None, expected_commitment: str | None = None,
                 config: pol.PolicyConfig | None = None) -> bool:
    """Check every chunk with ezkl and recompute param hash, commitment and accuracy.

    Returns False on any mismatch (a tampered proof, a changed public output, other weights
    than ``expected_param_hash``, another set than ``expected_commitment``).
    """
    import tempfile

    ezkl = _ezkl()
    config = config or pol.PolicyConfig()
    if proof.arch_id != config.arch_id or not proof.chunks:
        return False
    keys = ensure_keys(zk_root, config, srs=srs)
    width = ZK_BATCH * config.n_features
    insts = [c.instances for c in proof.chunks]
    if any(len(i) != width + 1 + ZK_BATCH for i in insts):
        return False
    hashes = {i[0] for i in insts}
    if len(hashes) != 1 or _felt_hex(hashes.pop()) != proof.param_hash:
        return False
    if expected_param_hash is not None and _felt(expected_param_hash) != _felt(proof.param_hash):
        return False
    if len(proof.labels) != proof.n:
        return False
    commitment = "0x" + commitment_from_instances(insts, proof.labels, config.n_features).hex()
    if commitment != proof.eval_commitment:
        return False
    if expected_commitment is not None and expected_commitment.lower() != commitment:
        return False
    if accuracy_from_instances(insts, proof.labels, config.n_features) != (proof.correct, proof.accuracy_bps):
        return False
    with tempfile.TemporaryDirectory(prefix="zoo-zk-", dir=keys.dir) as tmp:
        for c in proof.chunks:
            doc = dict(c.proof)
            doc["instances"] = [[_felt_le(v) for v in c.instances]]
            path = Path(tmp) / f"proof{c.index}.json"
            path.write_text(json.dumps(doc))
            try:
                if not ezkl.verify(str(path), str(keys.settings), str(keys.vk), srs_path=str(keys.srs_path)):
                    return False
            except (RuntimeError, ValueError):
                return False
    return True


# -- EVM verifier (the Solidity side: chain/zkverifier.py; both meet in workflows/zk.py) ------

def write_evm_verifier(keys: ArchKeys, solc_home: Path) -> tuple[Path, Path]:
    """ezkl's *reusable* Halo2 verifier source and this architecture's verification-key
    artifact (``ZkVerifier.sol``, ``vka.bin`` in the keys folder). ezkl runs in a child
    process whose HOME is ``solc_home`` (chain.solcjs) so it finds solc 0.8.20 offline."""
    sol, abi, vka = keys.dir / "ZkVerifier.sol", keys.dir / "ZkVerifier.abi", keys.dir / "vka.bin"
    # the child says "done" once both files are written and leaves with os._exit: an ezkl
    # child has been seen to die with SIGSEGV under load, which an exit that skips the
    # interpreter's teardown (tokio threads still alive) avoids; a crash after "done" is
    # still a success, one before it is retried
    code = ("import asyncio, os, sys, ezkl\n"  # these calls are async in ezkl 23
            "async def main():\n"
            "    ok = await ezkl.create_evm_verifier("
            f"{str(keys.vk)!r}, {str(keys.settings)!r}, {str(sol)!r}, {str(abi)!r}, "
            f"srs_path={str(keys.srs_path)!r}, reusable=True)\n"
            f"    return ok and await ezkl.create_evm_vka({str(keys.vk)!r}, {str(keys.settings)!r}, "
            f"{str(vka)!r}, srs_path={str(keys.srs_path)!r})\n"
            "ok = asyncio.run(main())\n"
            "sys.stdout.write('done\\n' if ok else 'failed\\n'); sys.stdout.flush()\n"
            "os._exit(0 if ok else 1)\n")
    attempts = 3
    for attempt in range(1, attempts + 1):
        for stale in (sol, vka):
            stale.unlink(missing_ok=True)
        proc = childproc.run([sys.executable, "-c", code], env_extra={"HOME": str(solc_home)},
                             capture_output=True, check=False)
        if proc.stdout.splitlines()[-1:] == [b"done"] and sol.exists() and vka.exists():
            break
        if attempt == attempts:
            raise OperationFailed(f"ezkl create_evm_verifier failed (exit {proc.returncode}): "
                                  f"{proc.stderr.decode()[-800:]}", hint="rerun with --verbose")
        if os.environ.get("ZOO_DEBUG"):
            from zoo_cli.notices import note

            note(f"zk: create_evm_verifier exit {proc.returncode}, retrying: {proc.stderr.decode()[-800:]}")
        time.sleep(attempt)
    return sol, vka
