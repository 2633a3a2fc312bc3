// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IZooModelNFTCore, ITrainingRewards, IZooZkNFT} from "./interfaces/IZooModules.sol";
import {ZooModelNFT} from "./ZooModelNFT.sol";

/// @title TrainingRewards — funded pool paying for verified training (ZIP-6)
/// @notice Credits REWARD_PER_TRAINING * quality / 100 per verified update, quality in
/// [0, 100 * QUALITY_MULTIPLIER] from the verifier-signed report. Anti-gaming: one reward
/// per (token, generation), one per dataset Merkle root across all tokens (forks cannot
/// re-earn on the same data), only for an improvement — a verified score above the token's
/// best verified score from the same source (signed reports and zk evaluations count
/// separately; a fork or merge starts from its direct parents' best), at most
/// `capPerPeriod` per owner AND per token per `period` (moving a token to another address
/// does not reset its cap), and never more than the pool holds beyond what it already owes
/// (solvency: totalOwed <= balance). Rewards accrue to the model; its current owner claims
/// them, not while an order of the token is pending (a seller cannot empty a token it is
/// selling; an active paid lease does not block: the owner stays the owner). Not stoppable here: Sybil owners (fresh tokens and
/// addresses), and dataset roots and op counts are the owner's claims. Callers: the NFT (verified
/// reports) and the NFT's zk module (zero-knowledge evaluations; it passes the policy hash as
/// `datasetRoot`, so one policy earns once across all tokens), and anyone through the seed's
/// own entry point `rewardTraining` with a VERIFIER-signed EIP-712 quality proof (domain
/// "TrainingRewards" v1) bound to the token, its current generation and model hash, and the
/// dataset root — under the same rules (it counts as a signed report for the improvement rule).
contract TrainingRewards is ITrainingRewards, ReentrancyGuardTransient, EIP712 {
    uint256 public constant REWARD_PER_TRAINING = 0.001 ether;
    uint256 public constant QUALITY_MULTIPLIER = 2;
    /// @notice keccak256("VERIFIER_ROLE"), the role on the NFT whose holders sign quality proofs.
    bytes32 public constant VERIFIER_ROLE = keccak256("VERIFIER_ROLE");
    /// @notice EIP-712 type of a quality proof (rewardTraining).
    bytes32 public constant QUALITY_PROOF_TYPEHASH = keccak256(
        "QualityProof(uint256 modelId,uint256 generation,bytes32 modelHash,bytes32 datasetRoot,uint256 opsCount,uint256 quality,uint256 score,uint256 deadline)"
    );

    /// @notice A verifier's statement that generation `generation` (model `modelHash`) of
    /// `modelId`, trained on `opsCount` records committed by `datasetRoot`, scores `score`
    /// (0..10000, the verified performance) on the verifier's set, giving reward `quality`
    /// (percent, 0..200), valid until `deadline`.
    struct QualityProof {
        uint256 modelId;
        uint256 generation;
        bytes32 modelHash;
        bytes32 datasetRoot;
        uint256 opsCount;
        uint256 quality;
        uint256 score;
        uint256 deadline;
    }

    /// @notice The model NFT (with its zk module `nft.zkModule()`, the only callers of creditTraining).
    IZooModelNFTCore public immutable nft;
    /// @notice Max credited per owner per period (wei).
    uint256 public immutable capPerPeriod;
    /// @notice Period length for the cap (seconds).
    uint256 public immutable period;

    /// @notice Unclaimed rewards per model.
    mapping(uint256 modelId => uint256) public modelRewards;
    /// @notice Total ever credited for models while `user` owned them.
    mapping(address user => uint256) public userRewards;
    /// @notice Whether (token, generation) was rewarded.
    mapping(uint256 modelId => mapping(uint256 generation => bool)) public rewardedGeneration;
    /// @notice Whether a dataset root was rewarded (any token).
    mapping(bytes32 datasetRoot => bool) public rewardedDataset;
    /// @notice Credited per owner per period index (timestamp / period).
    mapping(address owner => mapping(uint256 periodIndex => uint256)) public creditedInPeriod;
    /// @notice Credited per token per period index (timestamp / period).
    mapping(uint256 modelId => mapping(uint256 periodIndex => uint256)) public tokenCreditedInPeriod;
    // best verified score + 1 per model and crediting source (0 = none recorded yet)
    mapping(uint256 modelId => mapping(address source => uint256)) private _best;
    /// @notice Sum of unclaimed rewards (the pool's liabilities).
    uint256 public totalOwed;

    /// @notice The pool received funds.
    event PoolFunded(address indexed from, uint256 amount);
    /// @notice A verified update earned `amount` (credited to the model).
    event TrainingRewarded(
        uint256 indexed modelId, address indexed owner, uint256 generation, bytes32 datasetRoot, uint256 amount
    );
    /// @notice A verified update earned nothing; reason: 1 generation already rewarded,
    /// 2 dataset already rewarded, 3 owner's or token's period cap reached, 4 pool empty,
    /// 5 quality 0, 6 no improvement on the token's best verified score.
    event TrainingRewardSkipped(uint256 indexed modelId, uint256 generation, bytes32 datasetRoot, uint8 reason);
    /// @notice The owner claimed a model's rewards.
    event RewardsClaimed(uint256 indexed modelId, address indexed owner, uint256 amount);

    /// @notice Only the model NFT may credit.
    error TrainingRewardsOnlyNFT(address caller);
    /// @notice The caller does not own the model.
    error TrainingRewardsNotOwner(uint256 modelId, address caller);
    /// @notice Nothing to claim.
    error TrainingRewardsNothingToClaim(uint256 modelId);
    /// @notice Sending the claim failed.
    error TrainingRewardsTransferFailed(address to, uint256 amount);
    /// @notice Funding with zero value, or a zero period.
    error TrainingRewardsInvalidAmount();
    /// @notice An order of the token is pending (its lock has no end yet): claim after it settles.
    error TrainingRewardsTokenLocked(uint256 modelId, uint256 lockedUntil);

    // A pending marketplace order locks the token with no end (type(uint64).max, stored as at
    // least type(uint40).max); a completed paid lease locks it until a real expiry.
    uint256 private constant PENDING_ORDER_LOCK = type(uint40).max;
    /// @notice The quality proof is not for this model, training data or its current version.
    error TrainingRewardsProofMismatch(uint256 modelId, uint256 generation, bytes32 modelHash);
    /// @notice The quality proof's deadline has passed.
    error TrainingRewardsProofExpired(uint256 deadline);
    /// @notice The quality proof is not signed by a VERIFIER.
    error TrainingRewardsNotVerifier(address signer);
    /// @notice Nothing was credited; reason as in TrainingRewardSkipped.
    error TrainingRewardsNotRewarded(uint256 modelId, uint256 generation, uint8 reason);

    /// @param nft_ The model NFT. @param capPerPeriod_ Cap per owner per period (wei).
    /// @param period_ Cap period (seconds, > 0).
    constructor(IZooModelNFTCore nft_, uint256 capPerPeriod_, uint256 period_) EIP712("TrainingRewards", "1") {
        if (period_ == 0) revert TrainingRewardsInvalidAmount();
        nft = nft_;
        capPerPeriod = capPerPeriod_;
        period = period_;
    }

    /// @notice Add funds to the pool.
    function fund() external payable {
        if (msg.value == 0) revert TrainingRewardsInvalidAmount();
        emit PoolFunded(msg.sender, msg.value);
    }

    /// @notice Funds not yet owed to anyone.
    function available() public view returns (uint256) {
        return address(this).balance - totalOwed;
    }

    /// @inheritdoc ITrainingRewards
    /// @dev Never reverts on policy grounds: a verified update must not fail for lack of reward.
    function creditTraining(
        uint256 modelId,
        uint256 generation,
        bytes32 datasetRoot,
        address owner,
        uint256 quality,
        uint256 score
    ) external returns (uint256 credited) {
        if (msg.sender != address(nft) && msg.sender != IZooZkNFT(address(nft)).zkModule()) {
            revert TrainingRewardsOnlyNFT(msg.sender);
        }
        uint8 reason;
        (credited, reason) = _credit(modelId, generation, datasetRoot, owner, quality, score, msg.sender);
        if (reason != 0) emit TrainingRewardSkipped(modelId, generation, datasetRoot, reason);
    }

    /// @notice The seed's entry point (ZIP-6): credit a training with a VERIFIER-signed quality
    /// proof. `trainingData` = abi.encode(bytes32 datasetRoot, uint256 opsCount); `qualityProof`
    /// = abi.encode(QualityProof, bytes signature). The proof must name this model at its
    /// current generation and model hash and this training data. Callable by anyone (the
    /// reward accrues to the model); reverts when nothing would be credited. The proof's score
    /// counts as a signed report's (the NFT's source) for the improvement rule.
    function rewardTraining(uint256 modelId, bytes calldata trainingData, bytes calldata qualityProof)
        external
        nonReentrant
        returns (uint256 credited)
    {
        (bytes32 datasetRoot, uint256 opsCount) = abi.decode(trainingData, (bytes32, uint256));
        (QualityProof memory p, bytes memory signature) = abi.decode(qualityProof, (QualityProof, bytes));
        ZooModelNFT.AIModelNFT memory m = ZooModelNFT(address(nft)).getModelMetadata(modelId);
        if (
            p.modelId != modelId || p.datasetRoot != datasetRoot || p.opsCount != opsCount
                || p.generation != m.generation || p.modelHash != m.modelHash
        ) revert TrainingRewardsProofMismatch(modelId, p.generation, p.modelHash);
        if (block.timestamp > p.deadline) revert TrainingRewardsProofExpired(p.deadline);
        address signer = ECDSA.recover(_hashTypedDataV4(qualityProofHash(p)), signature);
        if (!nft.hasRole(VERIFIER_ROLE, signer)) revert TrainingRewardsNotVerifier(signer);
        uint8 reason;
        (credited, reason) = _credit(modelId, p.generation, datasetRoot, m.owner, p.quality, p.score, address(nft));
        if (reason != 0) revert TrainingRewardsNotRewarded(modelId, p.generation, reason);
    }

    /// @notice EIP-712 struct hash of a quality proof.
    function qualityProofHash(QualityProof memory p) public pure returns (bytes32) {
        return keccak256(
            abi.encode(
                QUALITY_PROOF_TYPEHASH, p.modelId, p.generation, p.modelHash, p.datasetRoot, p.opsCount, p.quality,
                p.score, p.deadline
            )
        );
    }

    /// @notice EIP-712 digest of a quality proof, for off-chain signers to cross-check.
    function qualityProofDigest(QualityProof calldata p) external view returns (bytes32) {
        return _hashTypedDataV4(qualityProofHash(p));
    }

    /// @dev The shared rules: improvement over the best verified score from `source`, one
    /// reward per (token, generation) and per dataset root, the owner's and the token's cap per
    /// period, solvency. Returns (credited, 0) or (0, reason).
    function _credit(
        uint256 modelId,
        uint256 generation,
        bytes32 datasetRoot,
        address owner,
        uint256 quality,
        uint256 score,
        address source
    ) private returns (uint256 credited, uint8 reason) {
        uint256 best = _bestOf(modelId, source);
        if (score > best) _best[modelId][source] = score + 1;
        else if (_best[modelId][source] == 0) _best[modelId][source] = best + 1;
        if (rewardedGeneration[modelId][generation]) reason = 1;
        else if (rewardedDataset[datasetRoot]) reason = 2;
        else if (quality == 0) reason = 5;
        else if (score <= best) reason = 6;
        uint256 periodIndex = block.timestamp / period;
        if (reason == 0) {
            if (quality > 100 * QUALITY_MULTIPLIER) quality = 100 * QUALITY_MULTIPLIER;
            credited = REWARD_PER_TRAINING * quality / 100;
            uint256 used = creditedInPeriod[owner][periodIndex];
            uint256 tokenUsed = tokenCreditedInPeriod[modelId][periodIndex];
            if (tokenUsed > used) used = tokenUsed;
            uint256 room = used >= capPerPeriod ? 0 : capPerPeriod - used;
            if (credited > room) credited = room;
            if (credited == 0) reason = 3;
            uint256 free = available();
            if (credited > free) credited = free;
            if (credited == 0 && reason == 0) reason = 4;
        }
        if (reason != 0) return (0, reason);
        rewardedGeneration[modelId][generation] = true;
        rewardedDataset[datasetRoot] = true;
        creditedInPeriod[owner][periodIndex] += credited;
        tokenCreditedInPeriod[modelId][periodIndex] += credited;
        modelRewards[modelId] += credited;
        userRewards[owner] += credited;
        totalOwed += credited;
        emit TrainingRewarded(modelId, owner, generation, datasetRoot, credited);
    }

    /// @notice Best verified score (0-10000) of `modelId` from `source` (the NFT for signed
    /// reports, the zk module for zk evaluations); a model with none yet inherits the best of
    /// its direct parents. A reward needs a score above it.
    function bestVerifiedScore(uint256 modelId, address source) external view returns (uint256) {
        return _bestOf(modelId, source);
    }

    /// @notice Claim a model's unclaimed rewards (current owner only, no order of the token
    /// pending; pull payment).
    function claimRewards(uint256 modelId) external nonReentrant {
        if (nft.ownerOf(modelId) != msg.sender) revert TrainingRewardsNotOwner(modelId, msg.sender);
        (,, uint256 lockedUntil) = nft.marketState(modelId);
        if (lockedUntil >= PENDING_ORDER_LOCK) revert TrainingRewardsTokenLocked(modelId, lockedUntil);
        uint256 amount = modelRewards[modelId];
        if (amount == 0) revert TrainingRewardsNothingToClaim(modelId);
        modelRewards[modelId] = 0;
        totalOwed -= amount;
        emit RewardsClaimed(modelId, msg.sender, amount);
        (bool ok,) = payable(msg.sender).call{value: amount}("");
        if (!ok) revert TrainingRewardsTransferFailed(msg.sender, amount);
    }

    // Stored best (+1), or for a model with none yet the best of its direct parents (≤ 8).
    function _bestOf(uint256 modelId, address source) private view returns (uint256 best) {
        uint256 stored = _best[modelId][source];
        if (stored != 0) return stored - 1;
        uint256[] memory parents = nft.parentsOf(modelId);
        for (uint256 i; i < parents.length; ++i) {
            uint256 p = _best[parents[i]][source];
            if (p > best + 1) best = p - 1;
        }
    }
}
