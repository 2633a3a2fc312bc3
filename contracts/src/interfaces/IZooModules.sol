// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Interfaces between the zoo contracts (ZIP-6)
/// @notice The narrow views and hooks each module needs from the others. The model
/// NFT is the single source of truth for ownership, generation, locks and roles.

/// @notice What the marketplace, rewards, specialization and registry contracts read from
/// and call on the model NFT.
interface IZooModelNFTCore {
    /// @notice Owner of `tokenId` (reverts for a nonexistent token).
    function ownerOf(uint256 tokenId) external view returns (address);

    /// @notice Whether `operator` may act for all tokens of `owner`.
    function isApprovedForAll(address owner, address operator) external view returns (bool);

    /// @notice AccessControl role check (roles live on the NFT only).
    function hasRole(bytes32 role, address account) external view returns (bool);

    /// @notice Generation, transfer count and lock expiry of a token, read by the marketplace
    /// to tie listings and orders to one version and one owner period.
    function marketState(uint256 tokenId)
        external
        view
        returns (uint256 generation, uint256 transferCount, uint256 lockedUntil);

    /// @notice Training-ledger head and entry count of `tokenId`.
    function ledgerOf(uint256 tokenId) external view returns (bytes32 head, uint256 count);

    /// @notice ERC-2981-style split among the creators of the direct parents.
    function royaltySplits(uint256 tokenId, uint256 salePrice)
        external
        view
        returns (address[] memory receivers, uint256[] memory amounts);

    /// @notice Marketplace hook: lock (or unlock with 0) transfers, updates and setUser;
    /// `until` must fit the NFT's uint40 lock (reverts otherwise, never truncates).
    function setLock(uint256 tokenId, uint64 until) external;

    /// @notice Marketplace hook: move a sold token (the marketplace holds no approval).
    function marketTransfer(address from, address to, uint256 tokenId) external;

    /// @notice Marketplace hook: apply a paid lease as ERC-4907 user.
    function marketSetUser(uint256 tokenId, address user, uint64 expires) external;

    /// @notice Specialization hook: record the token's best specialization (1-based, 0 = general).
    function setSpecialization(uint256 tokenId, uint8 specialization) external;

    /// @notice Direct parents (lineage) of `tokenId`.
    function parentsOf(uint256 tokenId) external view returns (uint256[] memory);

    /// @notice The token's current model container hash.
    function modelHashOf(uint256 tokenId) external view returns (bytes32);
}

/// @notice Evaluation sets registered by verifiers.
interface IEvaluationRegistry {
    /// @notice Reverts unless `evalSet` is registered and covers every task in `taskIds`.
    function requireCovered(bytes32 evalSet, bytes32[] calldata taskIds) external view;

    /// @notice Reverts unless `evalSet` is registered.
    function requireRegistered(bytes32 evalSet) external view;
}

/// @notice The reward pool, credited by the NFT on verified updates.
interface ITrainingRewards {
    /// @notice Credit a verified training update whose verified score is `score` (0-10000);
    /// returns the amount credited (may be 0: e.g. no improvement on the token's best).
    function creditTraining(
        uint256 tokenId,
        uint256 generation,
        bytes32 datasetRoot,
        address owner,
        uint256 quality,
        uint256 score
    ) external returns (uint256 credited);
}

/// @notice The marketplace entry used by the NFT's seed functions (leaseModel, sellTrainingData).
interface IZooMarketplaceEntry {
    /// @notice Open an escrowed lease order for `lessee`, paid by `payer`.
    function leaseFor(uint256 tokenId, address lessee, uint256 duration, address payer)
        external
        payable
        returns (uint256 orderId);

    /// @notice Open an escrowed training-data order for `buyer`, paid by `payer`.
    function buyDataFor(uint256 tokenId, address buyer, address payer) external payable returns (uint256 orderId);
}

/// @notice What the zk evaluation module (ZkEvaluator) and the reward pool read from and call
/// on the model NFT for zero-knowledge evaluations.
interface IZooZkNFT {
    /// @notice The zk evaluation module (the only caller of setZkPerformance).
    function zkModule() external view returns (address);

    /// @notice The wired reward pool.
    function trainingRewards() external view returns (address);

    /// @notice The token's committed policy (ezkl Poseidon param hash; 0 = none).
    function policyHash(uint256 tokenId) external view returns (bytes32);

    /// @notice The last proven accuracy of the committed policy (0-10000; 0 = none, or
    /// cleared by a new policy commitment).
    function zkPerformance(uint256 tokenId) external view returns (uint256);

    /// @notice zk module hook: record the proven accuracy (0-10000).
    function setZkPerformance(uint256 tokenId, uint256 score) external;
}

/// @notice What ModelSpecialization reads from the zk evaluation module (ZkEvaluator) to
/// grant specializations from zero-knowledge proofs of evaluation.
interface IZkEvaluation {
    /// @notice The token's last accepted proof: the token's generation then + 1 (0 = never
    /// proven), the evaluation set's commitment, its size and its task ids.
    function lastEvaluation(uint256 tokenId)
        external
        view
        returns (uint256 generationPlusOne, bytes32 commitment, uint32 n, bytes32[] memory taskIds);
}
