// SPDX-License-Identifier: CC0-1.0
pragma solidity ^0.8.20;

/// @title ZkEvalCheck — reference on-chain check of a zoo policy evaluation proof
/// @notice Reference for the ZooModelNFT integration (copy `_checkEval` into the NFT): it
/// binds ezkl proofs to a token's committed policy (Poseidon param hash), to a registered
/// evaluation set (commitment over the public features and the labels) and to the
/// architecture's verification key (vka digest), then counts correct predictions.
/// Instance layout per chunk of BATCH records (zoo_cli/engine/zk.py):
///   [0] param hash, [1 .. 1+BATCH*FEATURES) features, [1+BATCH*FEATURES .. ) predicted slots.
/// evalCommitment = keccak256(abi.encodePacked(uint32(n), inputsDigest_0..k-1, labels)),
/// inputsDigest_c = keccak256(abi.encodePacked(features of chunk c)).
contract ZkEvalCheck {
    uint256 internal constant BATCH = 64;
    uint256 internal constant FEATURES = 19;
    uint256 internal constant WIDTH = 1216; // BATCH * FEATURES
    uint256 internal constant N_INSTANCES = 1281; // 1 + WIDTH + BATCH
    bytes4 internal constant VERIFY_PROOF = bytes4(keccak256("verifyProof(bytes,uint256[],bytes32[])"));

    /// @notice Thrown when the number of proofs does not cover the evaluation set.
    error ZkEvalChunkCount(uint256 expected, uint256 got);
    /// @notice Thrown when a chunk's instances have the wrong length.
    error ZkEvalBadInstances(uint256 chunk, uint256 length);
    /// @notice Thrown when a chunk was proven for other weights than the committed ones.
    error ZkEvalParamHash(uint256 chunk, uint256 paramHash);
    /// @notice Thrown when the public features/labels are not the registered evaluation set.
    error ZkEvalCommitment(bytes32 commitment);
    /// @notice Thrown when the verifier rejects a proof or used another verification key.
    error ZkEvalProofRejected(uint256 chunk);

    /// @notice Emitted by `evaluate` (the NFT would store zkPerformance and emit its own event).
    event ZkEvaluated(uint256 indexed paramHash, bytes32 indexed evalCommitment, uint256 correct, uint256 accuracyBps);

    /// @notice The ezkl reusable Halo2 verifier (the architecture's vka registered there).
    address public immutable verifier;
    /// @notice keccak256 of the architecture's vka (fixed at deployment).
    bytes32 public immutable vkaDigest;

    /// @param verifier_ the reusable verifier
    /// @param vkaDigest_ the digest its `registerVka` returned for the policy architecture
    constructor(address verifier_, bytes32 vkaDigest_) {
        verifier = verifier_;
        vkaDigest = vkaDigest_;
    }

    /// @notice Check proofs and return the number of correct predictions and the accuracy.
    /// @param vka the verification-key artifact words (keccak256 must equal `vkaDigest`)
    /// @param paramHash the token's committed policy hash
    /// @param evalCommitment the registered evaluation set commitment
    /// @param labels the registered labels (one action slot per record)
    /// @param proofs one proof per chunk of BATCH records
    /// @param instances the public instances of each proof
    function evaluate(
        bytes32[] calldata vka,
        uint256 paramHash,
        bytes32 evalCommitment,
        bytes calldata labels,
        bytes[] calldata proofs,
        uint256[][] calldata instances
    ) external returns (uint256 correct, uint256 accuracyBps) {
        bytes32 commitment = _commitment(labels, instances);
        if (commitment != evalCommitment) revert ZkEvalCommitment(commitment);
        correct = _checkProofs(vka, paramHash, labels, proofs, instances);
        accuracyBps = correct * 10_000 / labels.length;
        emit ZkEvaluated(paramHash, evalCommitment, correct, accuracyBps);
    }

    /// @dev keccak256(uint32 n || inputsDigest_0..k-1 || labels); checks chunk count and shape.
    function _commitment(bytes calldata labels, uint256[][] calldata instances) internal pure returns (bytes32) {
        uint256 chunks = (labels.length + BATCH - 1) / BATCH;
        if (labels.length == 0 || instances.length != chunks) revert ZkEvalChunkCount(chunks, instances.length);
        bytes memory packed = abi.encodePacked(uint32(labels.length));
        for (uint256 c = 0; c < chunks; ++c) {
            if (instances[c].length != N_INSTANCES) revert ZkEvalBadInstances(c, instances[c].length);
            packed = bytes.concat(packed, _inputsDigest(instances[c]));
        }
        return keccak256(bytes.concat(packed, labels));
    }

    /// @dev Verifies every chunk against the committed weights; returns the correct count.
    function _checkProofs(
        bytes32[] calldata vka,
        uint256 paramHash,
        bytes calldata labels,
        bytes[] calldata proofs,
        uint256[][] calldata instances
    ) internal returns (uint256 correct) {
        if (proofs.length != instances.length) revert ZkEvalChunkCount(instances.length, proofs.length);
        for (uint256 c = 0; c < proofs.length; ++c) {
            if (instances[c][0] != paramHash) revert ZkEvalParamHash(c, instances[c][0]);
            _verifyChunk(vka, proofs[c], instances[c], c);
            correct += _countCorrect(instances[c], labels, c);
        }
    }

    function _inputsDigest(uint256[] calldata inst) private pure returns (bytes32 digest) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, add(inst.offset, 0x20), mul(WIDTH, 0x20))
            digest := keccak256(p, mul(WIDTH, 0x20))
        }
    }

    function _verifyChunk(
        bytes32[] calldata vka,
        bytes calldata proof,
        uint256[] calldata inst,
        uint256 c
    ) private {
        (bool ok, bytes memory ret) = verifier.call(abi.encodeWithSelector(VERIFY_PROOF, proof, inst, vka));
        // ezkl returns (bool, bytes32 vkaDigest, non-standard tail): read the first two words
        if (!ok || ret.length < 64) revert ZkEvalProofRejected(c);
        (uint256 success, bytes32 digest) = abi.decode(ret, (uint256, bytes32));
        if (success != 1 || digest != vkaDigest) revert ZkEvalProofRejected(c);
    }

    function _countCorrect(uint256[] calldata inst, bytes calldata labels, uint256 c)
        private
        pure
        returns (uint256 correct)
    {
        uint256 n = labels.length;
        for (uint256 i = 0; i < BATCH; ++i) {
            uint256 k = c * BATCH + i;
            if (k < n && inst[1 + WIDTH + i] == uint8(labels[k])) ++correct;
        }
    }
}
