// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IZooModelNFTCore, IEvaluationRegistry} from "./interfaces/IZooModules.sol";

/// @title ModelSpecialization — verifier-certified expertise (ZIP-6)
/// @notice `proof` = abi.encode(SpecializationProof, bytes signature), signed by a VERIFIER
/// (role on ZooModelNFT) as EIP-712 typed data in domain {name: "ZooModelSpecialization",
/// version: "1", chainId, verifyingContract: this}:
///
///   SpecializationProof(uint256 modelId,uint8 spec,uint256 score,uint256 experience,
///     uint256 successRate,bytes32 evidenceHash,bytes32 evalSet,uint256 deadline)
///
/// The evaluation set must be registered. certificateHash = keccak256(proof). A later proof
/// replaces a specialization only with a strictly higher score. The model's best
/// specialization becomes its headline `specialization` on the NFT.
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
        uint8 spec;
        uint256 score;
        uint256 experience;
        uint256 successRate;
        bytes32 evidenceHash;
        bytes32 evalSet;
        uint256 deadline;
    }

    bytes32 public constant SPECIALIZATION_PROOF_TYPEHASH = keccak256(
        "SpecializationProof(uint256 modelId,uint8 spec,uint256 score,uint256 experience,uint256 successRate,bytes32 evidenceHash,bytes32 evalSet,uint256 deadline)"
    );
    bytes32 private constant VERIFIER_ROLE = keccak256("VERIFIER_ROLE");
    uint256 public constant MAX_SCORE = 10_000;

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

    /// @notice The proof does not match the call (model or specialization).
    error SpecializationProofMismatch(uint256 modelId, uint8 spec);
    /// @notice The proof's deadline has passed.
    error SpecializationProofExpired(uint256 deadline);
    /// @notice The signer is not a verifier.
    error SpecializationNotVerifier(address signer);
    /// @notice Score or success rate above 10000.
    error SpecializationValueOutOfRange(uint256 value);
    /// @notice The new score does not beat the stored one (also stops replays).
    error SpecializationNotImproved(uint256 modelId, Specialization spec, uint256 current, uint256 offered);

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
        nft.ownerOf(modelId); // reverts ERC721NonexistentToken for unknown models
        address signer = ECDSA.recover(_hashTypedDataV4(_structHash(p)), signature);
        if (!nft.hasRole(VERIFIER_ROLE, signer)) revert SpecializationNotVerifier(signer);
        evaluationRegistry.requireRegistered(p.evalSet);

        bytes32 certificate = keccak256(proof);
        SpecializationScore memory entry = SpecializationScore(spec, p.score, p.experience, p.successRate, certificate);
        uint256 slot = _slot[modelId][spec];
        if (slot == 0) {
            modelSpecializations[modelId].push(entry);
            _slot[modelId][spec] = modelSpecializations[modelId].length;
        } else {
            SpecializationScore storage current = modelSpecializations[modelId][slot - 1];
            if (p.score <= current.score) revert SpecializationNotImproved(modelId, spec, current.score, p.score);
            modelSpecializations[modelId][slot - 1] = entry;
        }
        emit SpecializationEarned(modelId, spec, p.score, certificate);
        if (p.score > bestScore[modelId] || _isFirstSpecialization(modelId)) {
            bestScore[modelId] = p.score;
            nft.setSpecialization(modelId, uint8(spec) + 1);
        }
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

    function _isFirstSpecialization(uint256 modelId) private view returns (bool) {
        return modelSpecializations[modelId].length == 1 && bestScore[modelId] == 0;
    }

    function _structHash(SpecializationProof memory p) private pure returns (bytes32) {
        return keccak256(
            abi.encode(
                SPECIALIZATION_PROOF_TYPEHASH,
                p.modelId,
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
