// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IERC2981} from "@openzeppelin/contracts/interfaces/IERC2981.sol";
import {IERC4906} from "@openzeppelin/contracts/interfaces/IERC4906.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IEvaluationRegistry, ITrainingRewards, IZooMarketplaceEntry} from "./interfaces/IZooModules.sol";
import {IERC4907} from "./interfaces/IERC4907.sol";
import {KeyRegistry} from "./KeyRegistry.sol";

/// @title ZooModelNFT — personal AI models (LoRA adapters) as ERC-721 tokens (ZIP-6 ZRC-AI)
/// @notice Implements the seed's IZRCAI (mintModel, updateModel, forkModel, mergeModels,
/// leaseModel, sellTrainingData, getModelMetadata, getModelPerformance) plus ERC-2981
/// royalties to the creators of the direct parents, ERC-4906 metadata-update events and
/// ERC-4907 rentable users. Roles (DEFAULT_ADMIN_ROLE, VERIFIER_ROLE) for the whole suite
/// live here; the other contracts ask this one.
///
/// Training reports are EIP-712 typed data, domain {name: "ZooModelNFT", version: "1",
/// chainId, verifyingContract: this}, primary type:
///
///   TrainingReport(uint256 tokenId,uint256 generation,bytes32 parentHash,bytes32 newHash,
///     bytes32 datasetRoot,bytes32 evalSet,uint256 opsCount,uint256 performance,
///     uint256 quality,bytes32[] taskIds,uint256[] taskScores,uint256 deadline)
///
/// (one line, no spaces after commas). `proof` = abi.encode(TrainingReport, bytes signature)
/// with the 65-byte r||s||v signature. `generation` is the token's current generation (the
/// nonce), `parentHash` its current model hash. Task ids are keccak256 of the task name.
///
/// Training ledger (LP-102 style): each update appends the entry
///   head' = keccak256(abi.encode(head, datasetRoot, opsCount, newHash, signer))
/// emitted as TrainingLedgerEntry; the chain is re-computable from events and checked
/// against `ledgerHead` / `ledgerCount` on-chain. A minted token starts at head 0, a fork at
/// its parent's head, a merge at keccak256(abi.encode(parentHeads)).
///
/// Domains vs specializations: every token carries a *domain label* (0 General, 1 DeFi,
/// 2 Gaming, 3 NFT, 4 Social, 5 DAO), set at mint and re-set by the owner (the CLI sets the
/// domain with most training ops); `getModelMetadata(..).specialization` is that label. The
/// 8 ZIP-6 enum values are *earned* specializations (ModelSpecialization registry); the
/// best one is `earnedSpecialization` ("General" when none).
///
/// Lineage carry-over: a fork copies the parent's generation, trainingOps, performance,
/// domain and earned headline specialization (task scores are not copied: they belong to the evaluated version and
/// are re-established by the next report); a merge gets generation = max(parent
/// generations) + 1, trainingOps = sum of the parents' ops, performance 0 until evaluated,
/// domain = the first parent's.
contract ZooModelNFT is ERC721, AccessControl, EIP712, IERC2981, IERC4906, IERC4907 {
    /// @notice Role whose signatures make training reports "verified" and who registers
    /// evaluation sets, signs specialization proofs and settles marketplace disputes.
    bytes32 public constant VERIFIER_ROLE = keccak256("VERIFIER_ROLE");

    /// @notice EIP-712 type hash of TrainingReport (see contract NatSpec for the string).
    bytes32 public constant TRAINING_REPORT_TYPEHASH = keccak256(
        "TrainingReport(uint256 tokenId,uint256 generation,bytes32 parentHash,bytes32 newHash,bytes32 datasetRoot,bytes32 evalSet,uint256 opsCount,uint256 performance,uint256 quality,bytes32[] taskIds,uint256[] taskScores,uint256 deadline)"
    );

    uint256 public constant MAX_PERFORMANCE = 10_000;
    uint256 public constant MAX_QUALITY = 200; // 100 * QUALITY_MULTIPLIER (2)
    uint256 public constant MAX_TASKS = 16;
    uint256 public constant MIN_MERGE_PARENTS = 2;
    uint256 public constant MAX_MERGE_PARENTS = 8;
    /// @notice Highest domain label index (0 General, 1 DeFi, 2 Gaming, 3 NFT, 4 Social, 5 DAO).
    uint8 public constant MAX_DOMAIN = 5;

    /// @notice Total ERC-2981 royalty, in basis points, split among the direct parents' creators.
    uint96 public immutable royaltyBps;
    /// @notice The suite's KeyRegistry (public encryption keys), created with this contract and
    /// fixed for its lifetime, so a client that knows only this address finds every module.
    address public immutable keyRegistry;

    /// @notice Growth stages by cumulative training ops (0 / 100 / 1,000 / 10,000 / 100,000).
    enum Stage {
        Newborn,
        Learning,
        Adapted,
        Expert,
        Master
    }

    /// @notice The seed's AIModelNFT struct, extended (fields after lastUpdated are zoo's;
    /// new fields are only ever appended). `specialization` is the domain label
    /// (domainName(domain)); `earnedSpecialization` the best earned ZIP-6 specialization.
    struct AIModelNFT {
        uint256 tokenId;
        address owner;
        bytes32 modelHash;
        uint256 generation;
        uint256 trainingOps;
        uint256 performance;
        string specialization;
        uint256 lastUpdated;
        bytes32 baseModel;
        uint256[] parents;
        bytes32 ledgerHead;
        uint256 ledgerCount;
        bool verified;
        address creator;
        string metadataURI;
        string earnedSpecialization;
        uint8 domain;
    }

    /// @notice EIP-712 training report (see contract NatSpec).
    struct TrainingReport {
        uint256 tokenId;
        uint256 generation;
        bytes32 parentHash;
        bytes32 newHash;
        bytes32 datasetRoot;
        bytes32 evalSet;
        uint256 opsCount;
        uint256 performance;
        uint256 quality;
        bytes32[] taskIds;
        uint256[] taskScores;
        uint256 deadline;
    }

    // Storage kept to a few slots per token so updateModel stays cheap: the hot fields
    // (generation, ops, performance, lastUpdated, ledger count, lock, flags) share one slot.
    struct ModelRecord {
        bytes32 modelHash;
        bytes32 baseModel;
        bytes32 ledgerHead;
        uint32 generation;
        uint32 ledgerCount;
        uint64 trainingOps;
        uint16 performance;
        uint40 lastUpdated;
        uint40 lockedUntil;
        bool verified;
        uint8 specialization;
        uint8 domain;
        address creator;
        uint32 transferCount;
    }

    struct UserInfo {
        address user;
        uint64 expires;
    }

    uint256 private _nextTokenId = 1;
    mapping(uint256 tokenId => ModelRecord) private _records;
    mapping(uint256 tokenId => uint256[]) private _parents;
    mapping(uint256 tokenId => mapping(bytes32 taskId => uint256)) private _taskScores;
    mapping(uint256 tokenId => string) private _metadataURIs;
    mapping(uint256 tokenId => UserInfo) private _users;

    /// @notice Wired modules (set by the admin after deployment).
    address public marketplace;
    address public trainingRewards;
    address public evaluationRegistry;
    address public specializationRegistry;
    /// @notice The zk evaluation module (ZkEvaluator), the only caller of setZkPerformance.
    address public zkModule;

    /// @notice Committed policy model of a token: the Poseidon hash of its quantized weights
    /// (ezkl hashed params). Kept across updateModel (the CLI carries the policy files into
    /// every new container); changed only by setPolicyHash, which clears zkPerformance.
    mapping(uint256 tokenId => bytes32) public policyHash;
    /// @notice Accuracy (0-10000) of the committed policy proven in zero knowledge.
    mapping(uint256 tokenId => uint256) public zkPerformance;

    /// @notice The zk evaluation module was (re)pointed.
    event ZkModuleSet(address module);
    /// @notice The token's policy commitment changed (zkPerformance cleared if it differs).
    event PolicyHashSet(uint256 indexed tokenId, bytes32 policyHash);
    /// @notice A zero-knowledge evaluation of the committed policy was recorded.
    event ZkPerformanceRecorded(uint256 indexed tokenId, bytes32 policyHash, uint256 score);
    /// @notice A model was minted.
    event ModelMinted(uint256 indexed tokenId, address indexed to, bytes32 baseModel, bytes32 modelHash);
    /// @notice A training report was applied (new generation).
    event ModelUpdated(
        uint256 indexed tokenId,
        uint256 generation,
        bytes32 modelHash,
        address indexed signer,
        bool verified,
        uint256 opsCount,
        uint256 performance,
        bytes32[] taskIds,
        uint256[] taskScores
    );
    /// @notice One hash-chained training-ledger entry (LP-102 style).
    event TrainingLedgerEntry(
        uint256 indexed tokenId,
        uint256 indexed index,
        bytes32 prevHead,
        bytes32 datasetRoot,
        uint256 opsCount,
        bytes32 modelHash,
        address signer,
        bytes32 newHead
    );
    /// @notice A model was forked.
    event ModelForked(uint256 indexed newTokenId, uint256 indexed parentId, address indexed owner, bytes32 modelHash);
    /// @notice Models were merged into a new token.
    event ModelsMerged(uint256 indexed newTokenId, address indexed owner, uint256[] parentIds, bytes32 modelHash);
    /// @notice The token's public metadata URI changed.
    event MetadataURISet(uint256 indexed tokenId, string uri);
    /// @notice The marketplace locked (until > now) or unlocked (0) a token.
    event TokenLocked(uint256 indexed tokenId, uint64 until);
    /// @notice The token's headline specialization changed.
    event SpecializationSet(uint256 indexed tokenId, uint8 specialization);
    /// @notice The token's domain label changed (0 General … 5 DAO).
    event DomainSet(uint256 indexed tokenId, uint8 domain);
    /// @notice The admin wired the suite's modules.
    event ModulesSet(address marketplace, address trainingRewards, address evaluationRegistry, address specialization);

    /// @notice The token is locked by a pending order or an active paid lease.
    error ZooModelLocked(uint256 tokenId, uint256 lockedUntil);
    /// @notice The report's generation is not the token's current one.
    error ZooModelStaleGeneration(uint256 tokenId, uint256 expected, uint256 got);
    /// @notice This exact report was already applied (it produced the current version).
    error ZooModelReportReplayed(uint256 tokenId, uint256 generation);
    /// @notice The report's deadline has passed.
    error ZooModelReportExpired(uint256 deadline, uint256 nowTs);
    /// @notice The report is for another token.
    error ZooModelWrongToken(uint256 expected, uint256 got);
    /// @notice The report's parent hash is not the token's current model hash.
    error ZooModelParentHashMismatch(bytes32 expected, bytes32 got);
    /// @notice The report's new hash differs from the `newHash` argument.
    error ZooModelNewHashMismatch(bytes32 argument, bytes32 reported);
    /// @notice The signer is neither the owner nor a verifier.
    error ZooModelUnauthorizedSigner(address signer);
    /// @notice A performance/score/quality value is out of range.
    error ZooModelValueOutOfRange(uint256 value, uint256 max);
    /// @notice taskIds and taskScores differ in length, or too many tasks.
    error ZooModelBadTaskList(uint256 ids, uint256 scores);
    /// @notice A model hash of zero was given where a hash is required.
    error ZooModelZeroHash();
    /// @notice Merge needs 2–8 parents.
    error ZooModelParentCount(uint256 count);
    /// @notice A parent appears twice in a merge.
    error ZooModelDuplicateParent(uint256 tokenId);
    /// @notice The caller is not the owner of `tokenId`.
    error ZooModelNotOwner(uint256 tokenId, address caller);
    /// @notice Only the wired module may call this.
    error ZooModelOnlyModule(address caller);
    /// @notice The wired marketplace is missing.
    error ZooModelNoMarketplace();
    /// @notice Specialization index out of range (0 = general, 1..8).
    error ZooModelBadSpecialization(uint8 specialization);
    /// @notice Domain label index out of range (0 General … 5 DAO).
    error ZooModelBadDomain(uint8 domain);

    /// @param admin Receives DEFAULT_ADMIN_ROLE.
    /// @param royaltyBps_ Total royalty (basis points, ≤ 10,000) split among parents' creators.
    constructor(address admin, uint96 royaltyBps_) ERC721("Zoo Model", "ZOOAI") EIP712("ZooModelNFT", "1") {
        if (royaltyBps_ > 10_000) revert ZooModelValueOutOfRange(royaltyBps_, 10_000);
        royaltyBps = royaltyBps_;
        keyRegistry = address(new KeyRegistry());
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ---------------------------------------------------------------- admin wiring

    /// @notice Wire the suite's modules (admin only; may be re-pointed by the admin).
    function setModules(address marketplace_, address rewards_, address evalRegistry_, address specialization_)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        marketplace = marketplace_;
        trainingRewards = rewards_;
        evaluationRegistry = evalRegistry_;
        specializationRegistry = specialization_;
        emit ModulesSet(marketplace_, rewards_, evalRegistry_, specialization_);
    }

    /// @notice Point at the zk evaluation module (admin only; zero disables it).
    function setZkModule(address module) external onlyRole(DEFAULT_ADMIN_ROLE) {
        zkModule = module;
        emit ZkModuleSet(module);
    }

    // ---------------------------------------------------------------- minting and lineage

    /// @notice Mint a new model for `to` on `baseModel` (model hash 0 until the first update).
    /// @return tokenId The new token id (ids start at 1).
    function mintModel(address to, bytes32 baseModel) external returns (uint256 tokenId) {
        tokenId = _createToken(to, to, baseModel, bytes32(0), bytes32(0), 0);
        emit ModelMinted(tokenId, to, baseModel, bytes32(0));
    }

    /// @notice Mint with an initial model container hash and public metadata URI (domain General).
    function mintModelWithHash(address to, bytes32 baseModel, bytes32 modelHash, string calldata uri)
        external
        returns (uint256 tokenId)
    {
        tokenId = _mintWithUri(to, baseModel, modelHash, uri, 0);
    }

    /// @notice Mint with hash, metadata URI and domain label (0 General, 1 DeFi, 2 Gaming,
    /// 3 NFT, 4 Social, 5 DAO; reverts ZooModelBadDomain above 5). Emits DomainSet.
    function mintModelWithDomain(address to, bytes32 baseModel, bytes32 modelHash, string calldata uri, uint8 domain)
        external
        returns (uint256 tokenId)
    {
        if (domain > MAX_DOMAIN) revert ZooModelBadDomain(domain);
        tokenId = _mintWithUri(to, baseModel, modelHash, uri, domain);
        emit DomainSet(tokenId, domain);
    }

    /// @notice Fork `tokenId` (owner only): a new token with parent = tokenId and the parent's hash.
    function forkModel(uint256 tokenId) external returns (uint256 newTokenId) {
        newTokenId = _fork(tokenId, _records[tokenId].modelHash);
    }

    /// @notice Fork with the hash of a re-keyed copy of the parent's model (one transaction).
    function forkModelWithHash(uint256 tokenId, bytes32 newHash) external returns (uint256 newTokenId) {
        if (newHash == bytes32(0)) revert ZooModelZeroHash();
        newTokenId = _fork(tokenId, newHash);
    }

    /// @notice Merge 2–8 models the caller owns into a new token listing them as parents
    /// (model hash 0 and the first parent's base model until the merged version is recorded).
    function mergeModels(uint256[] calldata tokenIds) external returns (uint256 newTokenId) {
        newTokenId = _merge(tokenIds, bytes32(0), bytes32(0));
    }

    /// @notice Merge with the merged model's hash and base model.
    function mergeModelsWithHash(uint256[] calldata tokenIds, bytes32 mergedHash, bytes32 baseModel)
        external
        returns (uint256 newTokenId)
    {
        if (mergedHash == bytes32(0)) revert ZooModelZeroHash();
        newTokenId = _merge(tokenIds, mergedHash, baseModel);
    }

    // ---------------------------------------------------------------- training updates

    /// @notice Record a new model version. Caller: owner or approved. `proof` =
    /// abi.encode(TrainingReport, signature) signed by the owner (self-attested) or a
    /// VERIFIER (verified: must reference a registered evaluation set covering every task;
    /// credits the reward pool).
    function updateModel(uint256 tokenId, bytes32 newHash, bytes calldata proof) external {
        (TrainingReport memory r, bytes memory signature) = abi.decode(proof, (TrainingReport, bytes));
        address owner = _requireOwned(tokenId);
        if (!_isAuthorized(owner, msg.sender, tokenId)) revert ERC721InsufficientApproval(msg.sender, tokenId);
        ModelRecord storage rec = _records[tokenId];
        _checkReport(tokenId, rec, newHash, r);
        address signer = ECDSA.recover(_hashTypedDataV4(_structHash(r)), signature);
        bool verified;
        if (signer == owner) {
            verified = false;
        } else if (hasRole(VERIFIER_ROLE, signer)) {
            verified = true;
            IEvaluationRegistry(evaluationRegistry).requireCovered(r.evalSet, r.taskIds);
        } else {
            revert ZooModelUnauthorizedSigner(signer);
        }
        _apply(tokenId, rec, r, signer, verified);
        if (verified && trainingRewards != address(0)) {
            ITrainingRewards(trainingRewards).creditTraining(tokenId, rec.generation, r.datasetRoot, owner, r.quality);
        }
    }

    /// @notice EIP-712 digest of a report, for off-chain signers to cross-check.
    function trainingReportDigest(TrainingReport calldata r) external view returns (bytes32) {
        return _hashTypedDataV4(_structHash(r));
    }

    /// @notice Set the public metadata URI (ipfs://CID of the metadata JSON); owner or approved.
    function setTokenURI(uint256 tokenId, string calldata uri) external {
        address owner = _requireOwned(tokenId);
        if (!_isAuthorized(owner, msg.sender, tokenId)) revert ERC721InsufficientApproval(msg.sender, tokenId);
        _metadataURIs[tokenId] = uri;
        emit MetadataURISet(tokenId, uri);
        emit MetadataUpdate(tokenId);
    }

    /// @notice Set the domain label (0 General … 5 DAO); owner or approved. Allowed while the
    /// token is locked (a label, not a model version).
    function setDomain(uint256 tokenId, uint8 domain) external {
        address owner = _requireOwned(tokenId);
        if (!_isAuthorized(owner, msg.sender, tokenId)) revert ERC721InsufficientApproval(msg.sender, tokenId);
        if (domain > MAX_DOMAIN) revert ZooModelBadDomain(domain);
        _records[tokenId].domain = domain;
        emit DomainSet(tokenId, domain);
        emit MetadataUpdate(tokenId);
    }

    /// @notice Commit the token's policy model (ezkl Poseidon param hash); owner or approved,
    /// not while locked. A new commitment clears zkPerformance (it belonged to other weights).
    function setPolicyHash(uint256 tokenId, bytes32 hash) external {
        address owner = _requireOwned(tokenId);
        if (!_isAuthorized(owner, msg.sender, tokenId)) revert ERC721InsufficientApproval(msg.sender, tokenId);
        _requireUnlocked(tokenId);
        if (policyHash[tokenId] != hash) {
            policyHash[tokenId] = hash;
            delete zkPerformance[tokenId];
        }
        emit PolicyHashSet(tokenId, hash);
        emit MetadataUpdate(tokenId);
    }

    // ---------------------------------------------------------------- monetization (seed entry points)

    /// @notice Seed entry point: open an escrowed paid lease of `tokenId` for `lessee`
    /// (msg.value = lease price per second × duration); forwarded to the marketplace.
    function leaseModel(uint256 tokenId, address lessee, uint256 duration) external payable {
        if (marketplace == address(0)) revert ZooModelNoMarketplace();
        IZooMarketplaceEntry(marketplace).leaseFor{value: msg.value}(tokenId, lessee, duration, msg.sender);
    }

    /// @notice Seed entry point: buy the training data of `tokenId` for `buyer` at the owner's
    /// data price; escrowed and key-delivered by the marketplace like a sale.
    function sellTrainingData(uint256 tokenId, address buyer) external payable {
        if (marketplace == address(0)) revert ZooModelNoMarketplace();
        IZooMarketplaceEntry(marketplace).buyDataFor{value: msg.value}(tokenId, buyer, msg.sender);
    }

    // ---------------------------------------------------------------- ERC-4907

    /// @notice Set the ERC-4907 user of `tokenId` until `expires` (owner or approved;
    /// not while a paid lease or an order locks the token).
    function setUser(uint256 tokenId, address user, uint64 expires) external {
        address owner = _requireOwned(tokenId);
        if (!_isAuthorized(owner, msg.sender, tokenId)) revert ERC721InsufficientApproval(msg.sender, tokenId);
        _requireUnlocked(tokenId);
        _setUser(tokenId, user, expires);
    }

    /// @notice Current user of `tokenId` (zero once expired).
    function userOf(uint256 tokenId) external view returns (address) {
        UserInfo memory u = _users[tokenId];
        return uint256(u.expires) >= block.timestamp ? u.user : address(0);
    }

    /// @notice Expiry timestamp of the user of `tokenId`.
    function userExpires(uint256 tokenId) external view returns (uint256) {
        return _users[tokenId].expires;
    }

    // ---------------------------------------------------------------- module hooks

    /// @notice Marketplace only: lock the token until `until` (0 unlocks).
    function setLock(uint256 tokenId, uint64 until) external {
        _onlyModule(marketplace);
        _requireOwned(tokenId);
        _records[tokenId].lockedUntil = uint40(until);
        emit TokenLocked(tokenId, until);
    }

    /// @notice Marketplace only: move a sold token to its buyer.
    function marketTransfer(address from, address to, uint256 tokenId) external {
        _onlyModule(marketplace);
        _transfer(from, to, tokenId);
    }

    /// @notice Marketplace only: apply a paid lease.
    function marketSetUser(uint256 tokenId, address user, uint64 expires) external {
        _onlyModule(marketplace);
        _requireOwned(tokenId);
        _setUser(tokenId, user, expires);
    }

    /// @notice Specialization registry only: set the token's headline specialization (1..8).
    function setSpecialization(uint256 tokenId, uint8 specialization) external {
        _onlyModule(specializationRegistry);
        _requireOwned(tokenId);
        if (specialization > 8) revert ZooModelBadSpecialization(specialization);
        _records[tokenId].specialization = specialization;
        emit SpecializationSet(tokenId, specialization);
        emit MetadataUpdate(tokenId);
    }

    /// @notice zk module only: record the proven accuracy (0-10000) of the committed policy.
    function setZkPerformance(uint256 tokenId, uint256 score) external {
        _onlyModule(zkModule);
        _requireOwned(tokenId);
        if (score > MAX_PERFORMANCE) revert ZooModelValueOutOfRange(score, MAX_PERFORMANCE);
        zkPerformance[tokenId] = score;
        emit ZkPerformanceRecorded(tokenId, policyHash[tokenId], score);
        emit MetadataUpdate(tokenId);
    }

    // ---------------------------------------------------------------- views

    /// @notice Full model record (seed struct, extended).
    function getModelMetadata(uint256 tokenId) external view returns (AIModelNFT memory) {
        return _metadata(tokenId, _requireOwned(tokenId));
    }

    /// @notice Records of the existing tokens with ids in [fromId, fromId + count) — one
    /// eth_call per page for `zoo list`. Ids above totalMinted (and id 0) are skipped, so
    /// the array may be shorter than `count` (empty past the end).
    function getModelsBatch(uint256 fromId, uint256 count) external view returns (AIModelNFT[] memory models) {
        uint256 n;
        (fromId, n) = _page(fromId, count);
        models = new AIModelNFT[](n);
        for (uint256 i; i < n; ++i) {
            uint256 id = fromId + i;
            models[i] = _metadata(id, _ownerOf(id));
        }
    }

    /// @notice Just the columns `zoo list` shows, for the same id range as getModelsBatch
    /// (about half the storage reads and a fraction of the encoding): owners, metadata URIs
    /// and one packed word per token, packed = generation | trainingOps << 64 |
    /// performance << 128 | domain << 192 | earned specialization << 200.
    function getListRows(uint256 fromId, uint256 count)
        external
        view
        returns (address[] memory owners, uint256[] memory packed, string[] memory uris)
    {
        uint256 n;
        (fromId, n) = _page(fromId, count);
        owners = new address[](n);
        packed = new uint256[](n);
        uris = new string[](n);
        for (uint256 i; i < n; ++i) {
            uint256 id = fromId + i;
            ModelRecord storage rec = _records[id];
            packed[i] = uint256(rec.generation) | (uint256(rec.trainingOps) << 64) | (uint256(rec.performance) << 128)
                | (uint256(rec.domain) << 192) | (uint256(rec.specialization) << 200);
            owners[i] = _ownerOf(id);
            uris[i] = _metadataURIs[id];
        }
    }

    /// @dev First id and length of the existing tokens in [fromId, fromId + count).
    function _page(uint256 fromId, uint256 count) private view returns (uint256 first, uint256 n) {
        uint256 last = _nextTokenId - 1;
        if (fromId == 0) {
            if (count == 0) return (1, 0);
            fromId = 1;
            count -= 1;
        }
        n = fromId > last ? 0 : last - fromId + 1;
        if (count < n) n = count;
        first = fromId;
    }

    /// @notice Latest scores of `tokenId` on several task ids (keccak256 of the names), in order.
    function getTaskScores(uint256 tokenId, bytes32[] calldata taskIds) external view returns (uint256[] memory scores) {
        _requireOwned(tokenId);
        mapping(bytes32 => uint256) storage s = _taskScores[tokenId];
        scores = new uint256[](taskIds.length);
        for (uint256 i; i < taskIds.length; ++i) {
            scores[i] = s[taskIds[i]];
        }
    }

    /// @notice Latest score (0–10000) of `tokenId` on `task` (a task name).
    function getModelPerformance(uint256 tokenId, string calldata task) external view returns (uint256) {
        _requireOwned(tokenId);
        return _taskScores[tokenId][keccak256(bytes(task))];
    }

    /// @notice Latest score of `tokenId` on the task id keccak256(name).
    function getTaskScore(uint256 tokenId, bytes32 taskId) external view returns (uint256) {
        _requireOwned(tokenId);
        return _taskScores[tokenId][taskId];
    }

    /// @notice Growth stage by cumulative training ops.
    function stage(uint256 tokenId) external view returns (Stage) {
        _requireOwned(tokenId);
        uint256 ops = _records[tokenId].trainingOps;
        if (ops >= 100_000) return Stage.Master;
        if (ops >= 10_000) return Stage.Expert;
        if (ops >= 1_000) return Stage.Adapted;
        if (ops >= 100) return Stage.Learning;
        return Stage.Newborn;
    }

    /// @notice Direct parents (lineage) of `tokenId`.
    function parentsOf(uint256 tokenId) external view returns (uint256[] memory) {
        _requireOwned(tokenId);
        return _parents[tokenId];
    }

    /// @notice Training-ledger head and entry count.
    function ledgerOf(uint256 tokenId) external view returns (bytes32 head, uint256 count) {
        _requireOwned(tokenId);
        ModelRecord storage rec = _records[tokenId];
        return (rec.ledgerHead, rec.ledgerCount);
    }

    /// @notice Generation, transfer count and lock expiry (for the marketplace).
    function marketState(uint256 tokenId)
        external
        view
        returns (uint256 generation, uint256 transferCount, uint256 lockedUntil)
    {
        _requireOwned(tokenId);
        ModelRecord storage rec = _records[tokenId];
        return (rec.generation, rec.transferCount, rec.lockedUntil);
    }

    /// @notice Number of tokens minted so far (ids are 1..totalMinted).
    function totalMinted() external view returns (uint256) {
        return _nextTokenId - 1;
    }

    /// @notice Name of a specialization index (0 = "General", 1..8 = ZIP-6 list order).
    function specializationName(uint8 s) public pure returns (string memory) {
        if (s == 1) return "DeFi_Yield_Optimizer";
        if (s == 2) return "DeFi_Arbitrage_Bot";
        if (s == 3) return "NFT_Valuation_Expert";
        if (s == 4) return "NFT_Trend_Predictor";
        if (s == 5) return "Game_Strategy_Master";
        if (s == 6) return "Game_Economy_Optimizer";
        if (s == 7) return "Social_Influencer";
        if (s == 8) return "DAO_Governance_Analyst";
        return "General";
    }

    /// @notice Name of a domain label index: 0 "General", 1 "DeFi", 2 "Gaming", 3 "NFT",
    /// 4 "Social", 5 "DAO" (reverts ZooModelBadDomain above 5).
    function domainName(uint8 d) public pure returns (string memory) {
        if (d == 0) return "General";
        if (d == 1) return "DeFi";
        if (d == 2) return "Gaming";
        if (d == 3) return "NFT";
        if (d == 4) return "Social";
        if (d == 5) return "DAO";
        revert ZooModelBadDomain(d);
    }

    /// @notice Public metadata JSON URI (ipfs://CID), set by the owner.
    function tokenURI(uint256 tokenId) public view override returns (string memory) {
        _requireOwned(tokenId);
        return _metadataURIs[tokenId];
    }

    /// @notice ERC-2981: the whole royalty, reported against the first direct parent's
    /// creator (single-receiver standard); zoo's Marketplace pays every parent via royaltySplits.
    function royaltyInfo(uint256 tokenId, uint256 salePrice) external view returns (address, uint256) {
        uint256[] storage parents = _parents[tokenId];
        if (parents.length == 0) return (address(0), 0);
        return (_records[parents[0]].creator, salePrice * royaltyBps / 10_000);
    }

    /// @notice Royalty split among the creators of the direct parents (≤ 8: bounded work).
    function royaltySplits(uint256 tokenId, uint256 salePrice)
        external
        view
        returns (address[] memory receivers, uint256[] memory amounts)
    {
        uint256[] storage parents = _parents[tokenId];
        uint256 n = parents.length;
        receivers = new address[](n);
        amounts = new uint256[](n);
        if (n == 0) return (receivers, amounts);
        uint256 total = salePrice * royaltyBps / 10_000;
        uint256 share = total / n;
        for (uint256 i; i < n; ++i) {
            receivers[i] = _records[parents[i]].creator;
            amounts[i] = share;
        }
        amounts[0] += total - share * n;
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId)
        public
        view
        override(ERC721, AccessControl, IERC165)
        returns (bool)
    {
        return interfaceId == type(IERC2981).interfaceId || interfaceId == bytes4(0x49064906)
            || interfaceId == type(IERC4907).interfaceId || ERC721.supportsInterface(interfaceId)
            || AccessControl.supportsInterface(interfaceId);
    }

    // ---------------------------------------------------------------- internals

    // Single override point for ownership changes: locks, lease clearing, listing epochs.
    function _update(address to, uint256 tokenId, address auth) internal override returns (address from) {
        from = _ownerOf(tokenId);
        if (from != address(0)) {
            ModelRecord storage rec = _records[tokenId];
            if (rec.lockedUntil > block.timestamp) revert ZooModelLocked(tokenId, rec.lockedUntil);
            unchecked {
                rec.transferCount += 1; // invalidates marketplace listings of the previous owner
            }
            if (_users[tokenId].user != address(0)) {
                delete _users[tokenId];
                emit UpdateUser(tokenId, address(0), 0);
            }
        }
        return super._update(to, tokenId, auth);
    }

    function _createToken(
        address to,
        address creator,
        bytes32 baseModel,
        bytes32 modelHash,
        bytes32 head,
        uint8 domain
    ) private returns (uint256 tokenId) {
        tokenId = _nextTokenId++;
        ModelRecord storage rec = _records[tokenId];
        if (modelHash != bytes32(0)) rec.modelHash = modelHash;
        rec.baseModel = baseModel;
        if (head != bytes32(0)) rec.ledgerHead = head;
        rec.lastUpdated = uint40(block.timestamp);
        if (domain != 0) rec.domain = domain;
        rec.creator = creator;
        _mint(to, tokenId);
    }

    function _mintWithUri(address to, bytes32 baseModel, bytes32 modelHash, string calldata uri, uint8 domain)
        private
        returns (uint256 tokenId)
    {
        tokenId = _createToken(to, to, baseModel, modelHash, bytes32(0), domain);
        if (bytes(uri).length != 0) {
            _metadataURIs[tokenId] = uri;
            emit MetadataURISet(tokenId, uri);
        }
        emit ModelMinted(tokenId, to, baseModel, modelHash);
    }

    function _metadata(uint256 tokenId, address owner) private view returns (AIModelNFT memory m) {
        ModelRecord storage rec = _records[tokenId];
        // Packed-slot fields first, with no call in between, so the optimizer loads the slot
        // once (getModelsBatch reads hundreds of records in one eth_call).
        m.generation = rec.generation;
        m.ledgerCount = rec.ledgerCount;
        m.trainingOps = rec.trainingOps;
        m.performance = rec.performance;
        m.lastUpdated = rec.lastUpdated;
        m.verified = rec.verified;
        uint8 earned = rec.specialization;
        uint8 domain = rec.domain;
        m.domain = domain;
        m.tokenId = tokenId;
        m.owner = owner;
        m.modelHash = rec.modelHash;
        m.baseModel = rec.baseModel;
        m.ledgerHead = rec.ledgerHead;
        m.creator = rec.creator;
        m.specialization = domainName(domain);
        m.earnedSpecialization = specializationName(earned);
        m.parents = _parents[tokenId];
        m.metadataURI = _metadataURIs[tokenId];
    }

    function _fork(uint256 parentId, bytes32 newHash) private returns (uint256 newTokenId) {
        address owner = _requireOwned(parentId);
        if (owner != msg.sender) revert ZooModelNotOwner(parentId, msg.sender);
        ModelRecord storage p = _records[parentId];
        newTokenId = _createToken(msg.sender, msg.sender, p.baseModel, newHash, p.ledgerHead, p.domain);
        ModelRecord storage c = _records[newTokenId];
        c.generation = p.generation;
        c.trainingOps = p.trainingOps;
        c.performance = p.performance;
        c.verified = p.verified;
        c.specialization = p.specialization;
        _parents[newTokenId].push(parentId);
        emit ModelForked(newTokenId, parentId, msg.sender, newHash);
    }

    function _merge(uint256[] calldata ids, bytes32 mergedHash, bytes32 baseModel) private returns (uint256 newTokenId) {
        uint256 n = ids.length;
        if (n < MIN_MERGE_PARENTS || n > MAX_MERGE_PARENTS) revert ZooModelParentCount(n);
        bytes32[] memory heads = new bytes32[](n);
        uint256 maxGen;
        uint256 ops;
        for (uint256 i; i < n; ++i) {
            uint256 id = ids[i];
            address owner = _requireOwned(id);
            if (owner != msg.sender) revert ZooModelNotOwner(id, msg.sender);
            for (uint256 j; j < i; ++j) {
                if (ids[j] == id) revert ZooModelDuplicateParent(id);
            }
            ModelRecord storage p = _records[id];
            heads[i] = p.ledgerHead;
            if (p.generation > maxGen) maxGen = p.generation;
            ops += p.trainingOps;
        }
        ModelRecord storage first = _records[ids[0]];
        if (baseModel == bytes32(0)) baseModel = first.baseModel;
        newTokenId = _createToken(
            msg.sender, msg.sender, baseModel, mergedHash, keccak256(abi.encode(heads)), first.domain
        );
        ModelRecord storage c = _records[newTokenId];
        c.generation = uint32(maxGen + 1);
        c.trainingOps = uint64(ops);
        _parents[newTokenId] = ids;
        emit ModelsMerged(newTokenId, msg.sender, ids, mergedHash);
    }

    function _checkReport(uint256 tokenId, ModelRecord storage rec, bytes32 newHash, TrainingReport memory r)
        private
        view
    {
        if (rec.lockedUntil > block.timestamp) revert ZooModelLocked(tokenId, rec.lockedUntil);
        if (r.tokenId != tokenId) revert ZooModelWrongToken(tokenId, r.tokenId);
        if (r.deadline < block.timestamp) revert ZooModelReportExpired(r.deadline, block.timestamp);
        uint256 gen = rec.generation;
        if (r.generation != gen) {
            // The report that produced the current version, sent again.
            if (r.generation + 1 == gen && r.newHash == rec.modelHash) revert ZooModelReportReplayed(tokenId, r.generation);
            revert ZooModelStaleGeneration(tokenId, gen, r.generation);
        }
        if (r.parentHash != rec.modelHash) revert ZooModelParentHashMismatch(rec.modelHash, r.parentHash);
        if (newHash == bytes32(0)) revert ZooModelZeroHash();
        if (r.newHash != newHash) revert ZooModelNewHashMismatch(newHash, r.newHash);
        if (r.performance > MAX_PERFORMANCE) revert ZooModelValueOutOfRange(r.performance, MAX_PERFORMANCE);
        if (r.quality > MAX_QUALITY) revert ZooModelValueOutOfRange(r.quality, MAX_QUALITY);
        if (r.taskIds.length != r.taskScores.length || r.taskIds.length > MAX_TASKS) {
            revert ZooModelBadTaskList(r.taskIds.length, r.taskScores.length);
        }
        if (r.opsCount > type(uint32).max) revert ZooModelValueOutOfRange(r.opsCount, type(uint32).max);
    }

    function _apply(uint256 tokenId, ModelRecord storage rec, TrainingReport memory r, address signer, bool verified)
        private
    {
        mapping(bytes32 => uint256) storage scores = _taskScores[tokenId];
        for (uint256 i; i < r.taskIds.length; ++i) {
            uint256 s = r.taskScores[i];
            if (s > MAX_PERFORMANCE) revert ZooModelValueOutOfRange(s, MAX_PERFORMANCE);
            scores[r.taskIds[i]] = s;
        }
        bytes32 prev = rec.ledgerHead;
        bytes32 head = keccak256(abi.encode(prev, r.datasetRoot, r.opsCount, r.newHash, signer));
        uint32 index = rec.ledgerCount;
        rec.modelHash = r.newHash;
        rec.ledgerHead = head;
        uint32 gen = rec.generation + 1;
        rec.generation = gen;
        rec.ledgerCount = index + 1;
        rec.trainingOps += uint64(r.opsCount);
        rec.performance = uint16(r.performance);
        rec.lastUpdated = uint40(block.timestamp);
        rec.verified = verified;
        emit TrainingLedgerEntry(tokenId, index, prev, r.datasetRoot, r.opsCount, r.newHash, signer, head);
        _emitUpdated(tokenId, gen, r, signer, verified);
    }

    function _emitUpdated(uint256 tokenId, uint256 gen, TrainingReport memory r, address signer, bool verified) private {
        emit ModelUpdated(tokenId, gen, r.newHash, signer, verified, r.opsCount, r.performance, r.taskIds, r.taskScores);
        emit MetadataUpdate(tokenId);
    }

    function _structHash(TrainingReport memory r) private pure returns (bytes32) {
        return keccak256(
            abi.encode(
                TRAINING_REPORT_TYPEHASH,
                r.tokenId,
                r.generation,
                r.parentHash,
                r.newHash,
                r.datasetRoot,
                r.evalSet,
                r.opsCount,
                r.performance,
                r.quality,
                keccak256(abi.encodePacked(r.taskIds)),
                keccak256(abi.encodePacked(r.taskScores)),
                r.deadline
            )
        );
    }

    function _setUser(uint256 tokenId, address user, uint64 expires) private {
        _users[tokenId] = UserInfo(user, expires);
        emit UpdateUser(tokenId, user, expires);
    }

    function _requireUnlocked(uint256 tokenId) private view {
        uint256 until = _records[tokenId].lockedUntil;
        if (until > block.timestamp) revert ZooModelLocked(tokenId, until);
    }

    function _onlyModule(address module) private view {
        if (msg.sender != module || module == address(0)) revert ZooModelOnlyModule(msg.sender);
    }
}
