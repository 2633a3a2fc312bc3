// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IZooModelNFTCore, ITrainingRewards, IZooZkNFT} from "./interfaces/IZooModules.sol";

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
/// `datasetRoot`, so one policy earns once across all tokens).
contract TrainingRewards is ITrainingRewards, ReentrancyGuardTransient {
    uint256 public constant REWARD_PER_TRAINING = 0.001 ether;
    uint256 public constant QUALITY_MULTIPLIER = 2;

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

    /// @param nft_ The model NFT. @param capPerPeriod_ Cap per owner per period (wei).
    /// @param period_ Cap period (seconds, > 0).
    constructor(IZooModelNFTCore nft_, uint256 capPerPeriod_, uint256 period_) {
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
        uint256 best = _bestOf(modelId, msg.sender);
        if (score > best) _best[modelId][msg.sender] = score + 1;
        else if (_best[modelId][msg.sender] == 0) _best[modelId][msg.sender] = best + 1;
        uint8 reason;
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
        if (reason != 0) {
            emit TrainingRewardSkipped(modelId, generation, datasetRoot, reason);
            return 0;
        }
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
