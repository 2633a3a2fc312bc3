// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IZooModelNFTCore, ITrainingRewards, IZooZkNFT, IZkEvaluation} from "./interfaces/IZooModules.sol";

/// @title ZkEvaluator — on-chain check of zero-knowledge evaluations of a token's policy model
/// @notice Binds ezkl proofs (zoo_cli/engine/zk.py) to a token's committed policy (the NFT's
/// `policyHash`: the Poseidon hash of the quantized weights, public instance 0), to an
/// evaluation set registered by a VERIFIER (commitment over the public features and the
/// labels) and to the architecture's verification key (the vka digest the generated,
/// reusable Halo2 verifier returns), counts correct predictions and records the accuracy on
/// the NFT as `zkPerformance`. A zk-proven evaluation counts as verified for rewards: the
/// pool is credited once per (token, generation) and once per policy hash (passed as the
/// dataset root), quality = accuracy * 2 / 100, only for an improvement on the token's best.
///
/// Binding (issue 13): the evaluation set's labels travel in calldata, so a set is public
/// once used. A VERIFIER therefore registers each set for ONE token and its current
/// generation (a fresh draw per evaluation); the first accepted proof on it consumes it.
/// A proof cannot be replayed onto another token (ZkEvalSetWrongToken), after an update
/// (ZkEvalSetStale) or again (ZkEvalSetUsed), and an older set never overwrites the result
/// of a newer one (sets are numbered; each token only moves forward).
///
/// Instance layout per chunk of BATCH records:
///   [0] param hash, [1 .. 1+BATCH*FEATURES) features, [1+BATCH*FEATURES .. ) predicted slots.
/// evalCommitment = keccak256(abi.encodePacked(uint32(n), inputsDigest_0..k-1, labels)),
/// inputsDigest_c = keccak256(abi.encodePacked(uint256[BATCH*FEATURES] features of chunk c)).
/// The verifier itself is generated per installation (its SRS) and deployed at run time;
/// the admin points this contract at it with `setVerifier(verifier, vkaDigest)`.
/// ModelSpecialization grants specializations from the last proof (`lastEvaluation`).
contract ZkEvaluator is IZkEvaluation {
    uint256 public constant BATCH = 64;
    uint256 public constant FEATURES = 19;
    uint256 internal constant WIDTH = 1216; // BATCH * FEATURES
    uint256 internal constant N_INSTANCES = 1281; // 1 + WIDTH + BATCH
    uint256 internal constant MAX_QUALITY = 200;
    bytes32 internal constant DEFAULT_ADMIN_ROLE = 0x00;
    bytes32 public constant VERIFIER_ROLE = keccak256("VERIFIER_ROLE");
    bytes4 internal constant VERIFY_PROOF = bytes4(keccak256("verifyProof(bytes,uint256[],bytes32[])"));

    /// @notice A registered zk evaluation set (the records live on IPFS at `cid`).
    struct ZkEvalSet {
        address registrar;
        uint32 n;
        uint64 registeredAt;
        string cid;
        bytes32[] taskIds;
        uint256 tokenId;
        uint32 generation;
        uint64 seq;
    }

    /// @notice Least delay before a changed verifier takes effect (the first one is immediate).
    uint256 public constant VERIFIER_DELAY = 2 days;

    /// @notice The model NFT (roles, ownership, policy commitments, zkPerformance).
    address public immutable nft;
    /// @notice The ezkl reusable verifier (0 until the admin sets it).
    address public verifier;
    /// @notice keccak256 of the architecture's vka registered on `verifier`.
    bytes32 public vkaDigest;
    /// @notice Number of sets registered so far (each set's `seq` is its 1-based index).
    uint64 public setCount;
    /// @notice `seq` of the last set a proof of the token was accepted on (0 = none).
    mapping(uint256 tokenId => uint64) public lastSeq;
    /// @notice A proposed verifier change (setVerifier after the first) and when it applies.
    address public pendingVerifier;
    bytes32 public pendingVkaDigest;
    uint256 public pendingVerifierEta;

    mapping(bytes32 commitment => ZkEvalSet) private _sets;
    /// @notice Last proven evaluation per token: the token's generation + 1 then (0 = none).
    mapping(uint256 tokenId => uint256) public lastGeneration;
    /// @notice Last proven evaluation per token: the evaluation set's commitment.
    mapping(uint256 tokenId => bytes32) public lastCommitment;

    /// @notice The admin pointed the module at a (new) verifier and vka digest.
    event ZkVerifierSet(address verifier, bytes32 vkaDigest);
    /// @notice A VERIFIER registered a zk evaluation set.
    event ZkEvalSetRegistered(bytes32 indexed commitment, address indexed registrar, uint32 n, bytes32[] taskIds, string cid);
    /// @notice The set was drawn for `tokenId` at `generation` (its `seq`-th set).
    event ZkEvalSetBound(bytes32 indexed commitment, uint256 indexed tokenId, uint256 generation, uint64 seq);
    /// @notice The admin proposed another verifier, effective from `eta` (executeVerifier).
    event ZkVerifierProposed(address verifier, bytes32 vkaDigest, uint256 eta);
    /// @notice A proof of the committed policy's evaluation was accepted.
    event ZkEvaluated(
        uint256 indexed tokenId,
        uint256 generation,
        bytes32 policyHash,
        bytes32 indexed commitment,
        uint256 correct,
        uint256 n,
        uint256 accuracyBps,
        uint256 rewarded
    );

    /// @notice Caller lacks the admin role (on the NFT).
    error ZkNotAdmin(address caller);
    /// @notice Caller lacks the VERIFIER role (on the NFT).
    error ZkNotVerifier(address caller);
    /// @notice No verifier has been set yet.
    error ZkNoVerifier();
    /// @notice Registration with zero commitment/size, no tasks or an empty CID.
    error ZkEvalSetInvalid();
    /// @notice The evaluation set is already registered.
    error ZkEvalSetExists(bytes32 commitment);
    /// @notice The evaluation set is not registered.
    error ZkEvalSetUnknown(bytes32 commitment);
    /// @notice The token has no committed policy (setPolicyHash first).
    error ZkNoPolicy(uint256 tokenId);
    /// @notice The number of proofs does not cover the evaluation set.
    error ZkEvalChunkCount(uint256 expected, uint256 got);
    /// @notice A chunk's instances have the wrong length.
    error ZkEvalBadInstances(uint256 chunk, uint256 length);
    /// @notice A chunk was proven for other weights than the committed ones.
    error ZkEvalParamHash(uint256 chunk, uint256 paramHash);
    /// @notice The public features/labels are not the registered evaluation set.
    error ZkEvalCommitment(bytes32 commitment);
    /// @notice The verifier rejected a proof or used another verification key.
    error ZkEvalProofRejected(uint256 chunk);
    /// @notice The set was registered for another token.
    error ZkEvalSetWrongToken(bytes32 commitment, uint256 tokenId);
    /// @notice The set was drawn for an older generation of the token.
    error ZkEvalSetStale(bytes32 commitment, uint256 setGeneration, uint256 currentGeneration);
    /// @notice The set was already used, or a newer set of the token was (no rollback).
    error ZkEvalSetUsed(bytes32 commitment, uint64 seq, uint64 lastSeq);
    /// @notice No proposed verifier, or its delay has not passed.
    error ZkVerifierTimelock(uint256 eta);

    /// @param nft_ The model NFT.
    constructor(address nft_) {
        nft = nft_;
    }

    /// @notice Point at the reusable verifier and the vka digest its registerVka returned
    /// (admin). Immediate only while none is set (the verifier is generated per installation,
    /// after deployment); a change afterwards is a proposal that executeVerifier applies after
    /// VERIFIER_DELAY (the admin cannot swap in a lenient verifier unannounced).
    function setVerifier(address verifier_, bytes32 vkaDigest_) external {
        _onlyAdmin();
        if (verifier == address(0)) {
            _setVerifier(verifier_, vkaDigest_);
        } else {
            uint256 eta = block.timestamp + VERIFIER_DELAY;
            (pendingVerifier, pendingVkaDigest, pendingVerifierEta) = (verifier_, vkaDigest_, eta);
            emit ZkVerifierProposed(verifier_, vkaDigest_, eta);
        }
    }

    /// @notice Apply the proposed verifier once VERIFIER_DELAY has passed (admin).
    function executeVerifier() external {
        _onlyAdmin();
        uint256 eta = pendingVerifierEta;
        if (eta == 0 || block.timestamp < eta) revert ZkVerifierTimelock(eta);
        _setVerifier(pendingVerifier, pendingVkaDigest);
        delete pendingVerifier;
        delete pendingVkaDigest;
        delete pendingVerifierEta;
    }

    /// @notice Register an evaluation set drawn for one evaluation of `tokenId` at its current
    /// generation (VERIFIER only): its commitment, size, tasks and CID. Only a proof of that
    /// token at that generation may use it, once.
    function registerZkEvalSet(
        bytes32 commitment,
        uint32 n,
        bytes32[] calldata taskIds,
        string calldata cid,
        uint256 tokenId
    ) external {
        if (!IZooModelNFTCore(nft).hasRole(VERIFIER_ROLE, msg.sender)) revert ZkNotVerifier(msg.sender);
        if (commitment == bytes32(0) || n == 0 || taskIds.length == 0 || bytes(cid).length == 0) {
            revert ZkEvalSetInvalid();
        }
        (uint256 generation,,) = IZooModelNFTCore(nft).marketState(tokenId); // reverts for unknown tokens
        ZkEvalSet storage s = _sets[commitment];
        if (s.registrar != address(0)) revert ZkEvalSetExists(commitment);
        uint64 seq = ++setCount;
        s.registrar = msg.sender;
        s.n = n;
        s.registeredAt = uint64(block.timestamp);
        s.cid = cid;
        s.taskIds = taskIds;
        s.tokenId = tokenId;
        s.generation = uint32(generation);
        s.seq = seq;
        emit ZkEvalSetRegistered(commitment, msg.sender, n, taskIds, cid);
        emit ZkEvalSetBound(commitment, tokenId, generation, seq);
    }

    /// @notice A registered set (registrar 0 when unknown).
    function getZkEvalSet(bytes32 commitment) external view returns (ZkEvalSet memory) {
        return _sets[commitment];
    }

    /// @notice The token's last accepted proof: generation + 1 at proof time (0 = never proven),
    /// the evaluation set's commitment, size and task ids. The accuracy is the NFT's zkPerformance.
    function lastEvaluation(uint256 tokenId)
        external
        view
        returns (uint256 generationPlusOne, bytes32 commitment, uint32 n, bytes32[] memory taskIds)
    {
        generationPlusOne = lastGeneration[tokenId];
        commitment = lastCommitment[tokenId];
        ZkEvalSet storage s = _sets[commitment];
        return (generationPlusOne, commitment, s.n, s.taskIds);
    }

    /// @notice Check proofs of the token's committed policy on a registered set, record the
    /// accuracy as the token's zkPerformance and credit the reward pool. Anyone may submit.
    /// @param tokenId the token
    /// @param commitment the registered evaluation set
    /// @param labels the registered labels (one action slot per record)
    /// @param proofs one proof per chunk of BATCH records
    /// @param instances the public instances of each proof
    /// @param vka the verification-key artifact words (the verifier checks its digest)
    function submitZkEval(
        uint256 tokenId,
        bytes32 commitment,
        bytes calldata labels,
        bytes[] calldata proofs,
        uint256[][] calldata instances,
        bytes32[] calldata vka
    ) external returns (uint256 accuracyBps) {
        uint256 correct = _verifyAll(_precheck(tokenId, commitment), commitment, labels, proofs, instances, vka);
        accuracyBps = _record(tokenId, commitment, correct, labels.length);
    }

    /// @dev The token's policy hash, after checking the module is set up and the set registered.
    function _precheck(uint256 tokenId, bytes32 commitment) private view returns (uint256 phash) {
        if (verifier == address(0)) revert ZkNoVerifier();
        ZkEvalSet storage s = _sets[commitment];
        if (s.registrar == address(0)) revert ZkEvalSetUnknown(commitment);
        if (s.tokenId != tokenId) revert ZkEvalSetWrongToken(commitment, s.tokenId);
        phash = uint256(IZooZkNFT(nft).policyHash(tokenId));
        if (phash == 0) revert ZkNoPolicy(tokenId);
    }

    /// @dev Commitment and every proof; returns the number of correct predictions.
    function _verifyAll(
        uint256 phash,
        bytes32 commitment,
        bytes calldata labels,
        bytes[] calldata proofs,
        uint256[][] calldata instances,
        bytes32[] calldata vka
    ) private returns (uint256) {
        bytes32 got = _commitment(labels, instances);
        if (got != commitment) revert ZkEvalCommitment(got);
        return _checkProofs(vka, phash, labels, proofs, instances);
    }

    /// @dev Store the accuracy on the NFT, remember the evaluation, credit the pool, emit.
    function _record(uint256 tokenId, bytes32 commitment, uint256 correct, uint256 n)
        private
        returns (uint256 accuracyBps)
    {
        bytes32 phash = IZooZkNFT(nft).policyHash(tokenId);
        (uint256 generation,,) = IZooModelNFTCore(nft).marketState(tokenId);
        ZkEvalSet storage s = _sets[commitment];
        if (s.generation != generation) revert ZkEvalSetStale(commitment, s.generation, generation);
        uint64 last = lastSeq[tokenId];
        if (s.seq <= last) revert ZkEvalSetUsed(commitment, s.seq, last);
        lastSeq[tokenId] = s.seq;
        accuracyBps = correct * 10_000 / n;
        IZooZkNFT(nft).setZkPerformance(tokenId, accuracyBps);
        lastGeneration[tokenId] = generation + 1;
        lastCommitment[tokenId] = commitment;
        uint256 rewarded;
        address pool = IZooZkNFT(nft).trainingRewards();
        if (pool != address(0)) {
            address owner = IZooModelNFTCore(nft).ownerOf(tokenId);
            rewarded = ITrainingRewards(pool).creditTraining(
                tokenId, generation, phash, owner, accuracyBps * MAX_QUALITY / 10_000, accuracyBps
            );
        }
        emit ZkEvaluated(tokenId, generation, phash, commitment, correct, n, accuracyBps, rewarded);
    }

    function _onlyAdmin() private view {
        if (!IZooModelNFTCore(nft).hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) revert ZkNotAdmin(msg.sender);
    }

    function _setVerifier(address verifier_, bytes32 vkaDigest_) private {
        verifier = verifier_;
        vkaDigest = vkaDigest_;
        emit ZkVerifierSet(verifier_, vkaDigest_);
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

    function _verifyChunk(bytes32[] calldata vka, bytes calldata proof, uint256[] calldata inst, uint256 c) private {
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
