// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IZooModelNFTCore, IEvaluationRegistry, IZooZkNFT, IZkEvaluation} from "./interfaces/IZooModules.sol";

/// @title ModelSpecialization — verifier-certified expertise (ZIP-6)
/// @notice `proof` = abi.encode(SpecializationProof, bytes signature), signed by a VERIFIER
/// (role on ZooModelNFT) as EIP-712 typed data in domain {name: "ZooModelSpecialization",
/// version: "1", chainId, verifyingContract: this}:
///
///   SpecializationProof(uint256 modelId,uint256 generation,bytes32 modelHash,uint8 spec,
///     uint256 score,uint256 experience,uint256 successRate,bytes32 evidenceHash,
///     bytes32 evalSet,uint256 deadline)
///
/// The proof is bound to the version the verifier evaluated: `generation` and `modelHash`
/// must be the token's current ones (a proof for an older version, or for another token's
/// container, is refused). The evaluation set must be registered. certificateHash = keccak256(proof). A later proof
/// replaces a specialization only with a strictly higher score. The model's best
/// specialization becomes its headline `specialization` on the NFT.
///
/// Zero-knowledge path (issue 9): `earnSpecializationZk(modelId, spec)` needs no signature. It
/// reads the token's last accepted proof of evaluation from the NFT's zk module (ZkEvaluator):
/// it must be of the token's current generation, on a set of at least MIN_ZK_RECORDS records
/// whose only task is the specialization's domain (`domainTaskId`), and the proven accuracy
/// (the NFT's `zkPerformance`) must reach MIN_ZK_SCORE. score = successRate = that accuracy,
/// experience = the set's size, certificateHash = keccak256(abi.encode(zkModule, modelId,
/// generation, commitment, score)). Same storage and "strictly higher score" rule as above.
contract ModelSpecialization is EIP712 {
    /// @notice The 8 specializations of ZIP-6, in its order.
    enum Specialization {
        DeFi_Yield_Optimizer,
        DeFi_Arbitrage_Bot,
        NFT_Valuation_Expert,
        NFT_Trend_Predictor,
        Game_Strategy_Master,
        Game_Economy_Optimizer,
        Social_Influencer,
        DAO_Governance_Analyst
    }

    /// @notice ZIP-6's SpecializationScore (`type` is a Solidity keyword, hence `specType`).
    struct SpecializationScore {
        Specialization specType;
        uint256 score; // 0-10000
        uint256 experience; // relevant interactions
        uint256 successRate; // percent * 100 (0-10000)
        bytes32 certificateHash; // keccak256(proof)
    }

    /// @notice The signed statement (see contract NatSpec for the EIP-712 type string).
    struct SpecializationProof {
        uint256 modelId;
        uint256 generation;
        bytes32 modelHash;
        uint8 spec;
        uint256 score;
        uint256 experience;
        uint256 successRate;
        bytes32 evidenceHash;
        bytes32 evalSet;
        uint256 deadline;
    }

    bytes32 public constant SPECIALIZATION_PROOF_TYPEHASH = keccak256(
        "SpecializationProof(uint256 modelId,uint256 generation,bytes32 modelHash,uint8 spec,uint256 score,uint256 experience,uint256 successRate,bytes32 evidenceHash,bytes32 evalSet,uint256 deadline)"
    );
    bytes32 private constant VERIFIER_ROLE = keccak256("VERIFIER_ROLE");
    uint256 public constant MAX_SCORE = 10_000;
    /// @notice Least proven accuracy for a zk specialization: 60.00 %. No trusted party judges
    /// the result, so the bar is absolute: 15 points above the best majority-class rate of any
    /// domain (governance, about 45 %) and well below what trained policies reach (80-98 %).
    uint256 public constant MIN_ZK_SCORE = 6_000;
    /// @notice Least evaluation-set size for a zk specialization (one full 64-record proof).
    uint256 public constant MIN_ZK_RECORDS = 64;

    IZooModelNFTCore public immutable nft;
    IEvaluationRegistry public immutable evaluationRegistry;

    /// @notice Specializations per model, in the order first earned.
    mapping(uint256 modelId => SpecializationScore[]) public modelSpecializations;
    // index + 1 into modelSpecializations, 0 = not earned
    mapping(uint256 modelId => mapping(Specialization => uint256)) private _slot;
    /// @notice Best score per model (its headline specialization's score).
    mapping(uint256 modelId => uint256) public bestScore;

    /// @notice A specialization was earned or improved.
    event SpecializationEarned(
        uint256 indexed modelId, Specialization indexed spec, uint256 score, bytes32 certificateHash
    );

    /// @notice A specialization was earned from a zero-knowledge proof of evaluation (emitted
    /// with SpecializationEarned).
    event SpecializationEarnedZk(
        uint256 indexed modelId, Specialization indexed spec, uint256 generation, bytes32 commitment, uint256 n
    );

    /// @notice The proof does not match the call (model or specialization).
    error SpecializationProofMismatch(uint256 modelId, uint8 spec);
    /// @notice The proof's deadline has passed.
    error SpecializationProofExpired(uint256 deadline);
    /// @notice The proof is for another version of the model (generation or model hash).
    error SpecializationProofStale(uint256 modelId, uint256 generation, bytes32 modelHash);
    /// @notice The signer is not a verifier.
    error SpecializationNotVerifier(address signer);
    /// @notice Score or success rate above 10000.
    error SpecializationValueOutOfRange(uint256 value);
    /// @notice The new score does not beat the stored one (also stops replays).
    error SpecializationNotImproved(uint256 modelId, Specialization spec, uint256 current, uint256 offered);
    /// @notice The NFT has no zk evaluation module wired (`setZkModule`).
    error SpecializationNoZkModule();
    /// @notice The model has no accepted zk proof of evaluation.
    error SpecializationZkNotProven(uint256 modelId);
    /// @notice The model's last zk proof is of an older generation (it was updated since).
    error SpecializationZkStale(uint256 modelId, uint256 provenGeneration, uint256 currentGeneration);
    /// @notice The last proof's evaluation set is not exactly the specialization's domain task.
    error SpecializationZkWrongTasks(uint256 modelId, bytes32 commitment, bytes32 domainTask);
    /// @notice The last proof's evaluation set is smaller than MIN_ZK_RECORDS.
    error SpecializationZkTooFewRecords(uint256 modelId, uint256 n, uint256 minimum);
    /// @notice The proven accuracy is below MIN_ZK_SCORE (or was cleared by a new policy).
    error SpecializationZkScoreTooLow(uint256 modelId, uint256 score, uint256 minimum);

    /// @param nft_ The model NFT (roles, existence, headline). @param registry_ Evaluation sets.
    constructor(IZooModelNFTCore nft_, IEvaluationRegistry registry_) EIP712("ZooModelSpecialization", "1") {
        nft = nft_;
        evaluationRegistry = registry_;
    }

    /// @notice Record a verifier-certified specialization for `modelId` (anyone may submit).
    function earnSpecialization(uint256 modelId, Specialization spec, bytes calldata proof) external {
        (SpecializationProof memory p, bytes memory signature) = abi.decode(proof, (SpecializationProof, bytes));
        if (p.modelId != modelId || p.spec != uint8(spec)) revert SpecializationProofMismatch(p.modelId, p.spec);
        if (p.deadline < block.timestamp) revert SpecializationProofExpired(p.deadline);
        if (p.score > MAX_SCORE) revert SpecializationValueOutOfRange(p.score);
        if (p.successRate > MAX_SCORE) revert SpecializationValueOutOfRange(p.successRate);
        (uint256 generation,,) = nft.marketState(modelId); // ERC721NonexistentToken for unknown models
        if (p.generation != generation || p.modelHash != nft.modelHashOf(modelId)) {
            revert SpecializationProofStale(modelId, p.generation, p.modelHash);
        }
        address signer = ECDSA.recover(_hashTypedDataV4(_structHash(p)), signature);
        if (!nft.hasRole(VERIFIER_ROLE, signer)) revert SpecializationNotVerifier(signer);
        evaluationRegistry.requireRegistered(p.evalSet);

        _record(modelId, SpecializationScore(spec, p.score, p.experience, p.successRate, keccak256(proof)));
    }

    /// @notice Record a specialization from the model's last zero-knowledge proof of evaluation
    /// (ZkEvaluator.submitZkEval), without a verifier signature. Anyone may call: every input
    /// is on-chain. Requirements in the contract NatSpec; a replay fails SpecializationNotImproved.
    function earnSpecializationZk(uint256 modelId, Specialization spec) external {
        (uint256 generation,,) = nft.marketState(modelId); // ERC721NonexistentToken for unknown models
        address zkModule = IZooZkNFT(address(nft)).zkModule();
        if (zkModule == address(0)) revert SpecializationNoZkModule();
        (uint256 provenPlusOne, bytes32 commitment, uint32 n, bytes32[] memory taskIds) =
            IZkEvaluation(zkModule).lastEvaluation(modelId);
        if (provenPlusOne == 0) revert SpecializationZkNotProven(modelId);
        if (provenPlusOne != generation + 1) revert SpecializationZkStale(modelId, provenPlusOne - 1, generation);
        bytes32 task = domainTaskId(spec);
        if (taskIds.length != 1 || taskIds[0] != task) revert SpecializationZkWrongTasks(modelId, commitment, task);
        if (n < MIN_ZK_RECORDS) revert SpecializationZkTooFewRecords(modelId, n, MIN_ZK_RECORDS);
        uint256 score = IZooZkNFT(address(nft)).zkPerformance(modelId);
        if (score < MIN_ZK_SCORE) revert SpecializationZkScoreTooLow(modelId, score, MIN_ZK_SCORE);
        bytes32 certificate = keccak256(abi.encode(zkModule, modelId, generation, commitment, score));
        _record(modelId, SpecializationScore(spec, score, n, score, certificate));
        emit SpecializationEarnedZk(modelId, spec, generation, commitment, n);
    }

    /// @notice The task id a zk evaluation set must hold (alone) for `spec`: keccak256 of its
    /// domain name ("defi", "nft", "gaming", "social", "governance"), as the CLI registers them.
    function domainTaskId(Specialization spec) public pure returns (bytes32) {
        if (spec <= Specialization.DeFi_Arbitrage_Bot) return keccak256("defi");
        if (spec <= Specialization.NFT_Trend_Predictor) return keccak256("nft");
        if (spec <= Specialization.Game_Economy_Optimizer) return keccak256("gaming");
        if (spec == Specialization.Social_Influencer) return keccak256("social");
        return keccak256("governance");
    }

    /// @notice All specializations of `modelId`.
    function getSpecializations(uint256 modelId) external view returns (SpecializationScore[] memory) {
        return modelSpecializations[modelId];
    }

    /// @notice The stored score of one specialization (exists=false if never earned).
    function getSpecialization(uint256 modelId, Specialization spec)
        external
        view
        returns (bool exists, SpecializationScore memory s)
    {
        uint256 slot = _slot[modelId][spec];
        if (slot == 0) return (false, s);
        return (true, modelSpecializations[modelId][slot - 1]);
    }

    /// @notice EIP-712 digest of a proof, for off-chain signers to cross-check.
    function proofDigest(SpecializationProof calldata p) external view returns (bytes32) {
        return _hashTypedDataV4(_structHash(p));
    }

    /// @dev Store or improve (strictly higher score only) one specialization; keep the headline.
    function _record(uint256 modelId, SpecializationScore memory entry) private {
        Specialization spec = entry.specType;
        uint256 slot = _slot[modelId][spec];
        if (slot == 0) {
            modelSpecializations[modelId].push(entry);
            _slot[modelId][spec] = modelSpecializations[modelId].length;
        } else {
            SpecializationScore storage current = modelSpecializations[modelId][slot - 1];
            if (entry.score <= current.score) {
                revert SpecializationNotImproved(modelId, spec, current.score, entry.score);
            }
            modelSpecializations[modelId][slot - 1] = entry;
        }
        emit SpecializationEarned(modelId, spec, entry.score, entry.certificateHash);
        if (entry.score > bestScore[modelId] || _isFirstSpecialization(modelId)) {
            bestScore[modelId] = entry.score;
            nft.setSpecialization(modelId, uint8(spec) + 1);
        }
    }

    function _isFirstSpecialization(uint256 modelId) private view returns (bool) {
        return modelSpecializations[modelId].length == 1 && bestScore[modelId] == 0;
    }

    function _structHash(SpecializationProof memory p) private pure returns (bytes32) {
        return keccak256(
            abi.encode(
                SPECIALIZATION_PROOF_TYPEHASH,
                p.modelId,
                p.generation,
                p.modelHash,
                p.spec,
                p.score,
                p.experience,
                p.successRate,
                p.evidenceHash,
                p.evalSet,
                p.deadline
            )
        );
    }
}
