// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IZooModelNFTCore, IEvaluationRegistry} from "./interfaces/IZooModules.sol";

/// @title EvaluationRegistry — held-out evaluation sets registered by verifiers
/// @notice A VERIFIER (role on ZooModelNFT) registers each evaluation set by the Merkle root
/// of its records (the set's id), its CID and the task ids (keccak256 of task names) it
/// scores. Verified training reports and specialization proofs must name a registered set,
/// so a verifier never scores a model on data the owner chose.
contract EvaluationRegistry is IEvaluationRegistry {
    struct EvalSet {
        address registrar;
        uint64 registeredAt;
        string cid;
        bytes32[] taskIds;
    }

    /// @notice The model NFT holding the roles.
    IZooModelNFTCore public immutable nft;
    bytes32 private constant VERIFIER_ROLE = keccak256("VERIFIER_ROLE");

    mapping(bytes32 evalSet => EvalSet) private _sets;
    mapping(bytes32 evalSet => mapping(bytes32 taskId => bool)) private _covers;

    /// @notice An evaluation set was registered.
    event EvaluationSetRegistered(bytes32 indexed evalSet, address indexed registrar, string cid, bytes32[] taskIds);

    /// @notice The caller lacks VERIFIER_ROLE.
    error EvaluationNotVerifier(address caller);
    /// @notice A set with this Merkle root is already registered.
    error EvaluationSetExists(bytes32 evalSet);
    /// @notice No set is registered under this id.
    error EvaluationSetUnknown(bytes32 evalSet);
    /// @notice The set does not score this task.
    error EvaluationTaskNotCovered(bytes32 evalSet, bytes32 taskId);
    /// @notice Registration needs a non-zero root, a CID and at least one task.
    error EvaluationSetInvalid();

    /// @param nft_ The ZooModelNFT whose VERIFIER_ROLE may register sets.
    constructor(IZooModelNFTCore nft_) {
        nft = nft_;
    }

    /// @notice Register an evaluation set (VERIFIER only). `merkleRoot` is its id.
    function registerEvalSet(bytes32 merkleRoot, string calldata cid, bytes32[] calldata taskIds) external {
        if (!nft.hasRole(VERIFIER_ROLE, msg.sender)) revert EvaluationNotVerifier(msg.sender);
        if (merkleRoot == bytes32(0) || bytes(cid).length == 0 || taskIds.length == 0) revert EvaluationSetInvalid();
        EvalSet storage s = _sets[merkleRoot];
        if (s.registrar != address(0)) revert EvaluationSetExists(merkleRoot);
        s.registrar = msg.sender;
        s.registeredAt = uint64(block.timestamp);
        s.cid = cid;
        s.taskIds = taskIds;
        for (uint256 i; i < taskIds.length; ++i) {
            _covers[merkleRoot][taskIds[i]] = true;
        }
        emit EvaluationSetRegistered(merkleRoot, msg.sender, cid, taskIds);
    }

    /// @notice Registered set `evalSet` (reverts if unknown).
    function getEvalSet(bytes32 evalSet) external view returns (EvalSet memory) {
        if (_sets[evalSet].registrar == address(0)) revert EvaluationSetUnknown(evalSet);
        return _sets[evalSet];
    }

    /// @notice Whether `evalSet` is registered and scores `taskId`.
    function covers(bytes32 evalSet, bytes32 taskId) external view returns (bool) {
        return _covers[evalSet][taskId];
    }

    /// @inheritdoc IEvaluationRegistry
    function requireRegistered(bytes32 evalSet) public view {
        if (_sets[evalSet].registrar == address(0)) revert EvaluationSetUnknown(evalSet);
    }

    /// @inheritdoc IEvaluationRegistry
    function requireCovered(bytes32 evalSet, bytes32[] calldata taskIds) external view {
        requireRegistered(evalSet);
        for (uint256 i; i < taskIds.length; ++i) {
            if (!_covers[evalSet][taskIds[i]]) revert EvaluationTaskNotCovered(evalSet, taskIds[i]);
        }
    }
}
