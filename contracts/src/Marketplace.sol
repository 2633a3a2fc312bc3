// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IZooModelNFTCore, IZooMarketplaceEntry} from "./interfaces/IZooModules.sol";

/// @title Marketplace — escrowed model sales, paid leases and training-data sales (ZIP-6)
/// @notice Flow of every order: the buyer pays into escrow (the token is locked: no
/// transfers, updates or setUser); the seller, or an operator it approved for all its
/// tokens on the NFT, calls deliverKey with a reference to the content key wrapped for the
/// buyer; the buyer's client checks the key against the listing's key commitment
/// (keccak256 of the content key) and the ciphertext, then confirms, or disputes within
/// `disputeWindow`; after the window anyone can finalize. A dispute has two more windows,
/// each `disputeWindow` long: the seller reveals the key (or its evidence) encrypted to an
/// ARBITER only (`revealKey`); an ARBITER (a role of its own, not the VERIFIER) settles it
/// with `resolveDispute`. Default outcomes, callable by anyone (`timeoutDispute`): no reveal
/// in time refunds the payer; a reveal that no arbiter answered in time completes the order.
/// Without delivery within `deliveryTimeout` anyone can refund the payer. So every order has
/// a permissionless exit by `deadlineOf(orderId)`. Completion moves the NFT (sale) or sets
/// the ERC-4907 user and locks the token until the lease ends (lease). A hosted lease
/// (`LeaseKind.Hosted`) never delivers a key: it starts at once (user set, API access at the
/// listing's endpoint), and its escrow is released after the lease period plus
/// `disputeWindow` unless disputed. Lease durations are bounded by MAX_LEASE_DURATION and
/// the owner's minimum duration and minimum price per lease. A data offer is bound to a
/// dataset Merkle root proven against the token's training-ledger head.
/// Sales pay ERC-2981 royalties to the creators of the direct parents. All payouts are
/// credited and pulled with withdraw(). Listings are tied to the token's generation and
/// owner period (transfer count), so an update or a transfer invalidates them.
contract Marketplace is IZooMarketplaceEntry, ReentrancyGuardTransient {
    enum OrderKind {
        Sale,
        Lease,
        Data,
        HostedLease
    }

    /// @notice Which kind of lease a listing offers: Key hands the generation's content key
    /// to the lessee (for good: a key cannot be taken back); Hosted serves the model at
    /// `endpoint` to the ERC-4907 user and never delivers a key.
    enum LeaseKind {
        Key,
        Hosted
    }

    /// @notice Lease terms of a listing (argument of `list`).
    struct LeaseTerms {
        uint256 pricePerSecond; // 0 = not for lease
        uint256 minDuration; // seconds, >= 1 enforced
        uint256 maxDuration; // seconds, <= MAX_LEASE_DURATION
        uint256 minPrice; // minimum total payment of one lease (wei)
        LeaseKind kind;
        string endpoint; // Hosted: the API URL (1..MAX_ENDPOINT_LENGTH bytes); Key: empty
    }

    /// @notice Extra lease terms of a listing (beside `listings`).
    struct LeaseExtra {
        uint256 minDuration;
        uint256 minPrice;
        LeaseKind kind;
        string endpoint;
    }

    /// @notice One step of the training ledger's hash chain (event TrainingLedgerEntry).
    struct LedgerStep {
        bytes32 datasetRoot;
        uint256 opsCount;
        bytes32 modelHash;
        address signer;
    }

    /// @notice Dispute state of an order.
    struct DisputeInfo {
        uint64 disputedAt;
        uint64 revealedAt;
        address arbiter; // the arbiter the seller revealed to
    }

    enum OrderStatus {
        None,
        Pending,
        Delivered,
        Disputed,
        Completed,
        Refunded
    }

    /// @notice The seed's ModelListing, plus key commitment and the version it is tied to.
    struct ModelListing {
        uint256 tokenId;
        address seller;
        uint256 price; // 0 = not for sale
        bool forLease;
        uint256 leaseDuration; // maximum lease duration (seconds)
        uint256 leasePrice; // per second
        bytes32 keyCommitment; // keccak256(content key of this generation)
        uint256 generation;
        uint256 transferCount;
    }

    /// @notice Training-data offer of a token (sold to many buyers).
    struct DataListing {
        address seller;
        uint256 price;
        bytes32 keyCommitment; // keccak256(data key)
        uint256 transferCount;
        bytes32 datasetRoot; // Merkle root of the records on sale, an entry of the token's ledger
    }

    struct Order {
        OrderKind kind;
        OrderStatus status;
        uint256 tokenId;
        address seller;
        address buyer;
        address payer;
        uint256 amount;
        uint256 generation;
        uint64 createdAt;
        uint64 deliveredAt;
        uint64 leaseDuration;
        bytes32 keyCommitment;
    }

    /// @notice The role (on the NFT) that settles disputes; distinct from VERIFIER_ROLE.
    bytes32 public constant ARBITER_ROLE = keccak256("ARBITER_ROLE");
    /// @notice Longest lease (and longest listed maximum): 10 years, so lease expiries fit
    /// the NFT's uint40 lock and the order's uint64 duration.
    uint256 public constant MAX_LEASE_DURATION = 3650 days;
    /// @notice Longest hosted-lease endpoint URL (bytes).
    uint256 public constant MAX_ENDPOINT_LENGTH = 256;
    /// @notice Longest ledger proof accepted by setDataPrice (entries after the sold one + 1).
    uint256 public constant MAX_LEDGER_PROOF = 64;
    /// @dev Lock value while an order is open (the NFT stores locks as uint40).
    uint64 private constant HELD = type(uint40).max;

    IZooModelNFTCore public immutable nft;
    /// @notice Seconds the seller has to deliver the key after an order opens.
    uint256 public immutable deliveryTimeout;
    /// @notice Seconds the buyer has to dispute after delivery; also the seller's window to
    /// reveal after a dispute and the arbiters' window to rule after a reveal.
    uint256 public immutable disputeWindow;

    mapping(uint256 tokenId => ModelListing) public listings;
    mapping(uint256 tokenId => DataListing) public dataListings;
    mapping(uint256 orderId => Order) public orders;
    /// @notice Minimum duration/price, kind and endpoint of each listing's lease offer.
    mapping(uint256 tokenId => LeaseExtra) public leaseTerms;
    /// @notice Dispute timestamps and the arbiter revealed to, per order.
    mapping(uint256 orderId => DisputeInfo) public disputes;
    /// @notice Dataset Merkle root a data order was bought against (0 for other kinds).
    mapping(uint256 orderId => bytes32) public orderDatasetRoot;
    /// @notice Pull-payment balances.
    mapping(address account => uint256) public balances;
    uint256 public nextOrderId = 1;

    // Escrow accounting: totalHeld + totalCredited + totalRefunded == totalReceived, and
    // the contract balance == totalReceived - totalWithdrawn.
    uint256 public totalReceived;
    uint256 public totalHeld;
    uint256 public totalCredited;
    uint256 public totalRefunded;
    uint256 public totalWithdrawn;

    event Listed(
        uint256 indexed tokenId,
        address indexed seller,
        uint256 price,
        uint256 leasePricePerSecond,
        uint256 maxLeaseDuration,
        bytes32 keyCommitment,
        uint256 generation
    );
    event LeaseTermsSet(
        uint256 indexed tokenId, uint256 minDuration, uint256 minPrice, LeaseKind kind, string endpoint
    );
    event Delisted(uint256 indexed tokenId);
    event DataPriceSet(
        uint256 indexed tokenId, address indexed seller, uint256 price, bytes32 keyCommitment, bytes32 datasetRoot
    );
    event OrderOpened(
        uint256 indexed orderId,
        uint256 indexed tokenId,
        OrderKind kind,
        address indexed buyer,
        address seller,
        uint256 amount,
        uint256 leaseDuration,
        bytes32 keyCommitment
    );
    /// @notice The seller delivered the key wrapped for the buyer at `envelopeRef` (a CID).
    event KeyDelivered(uint256 indexed orderId, uint256 indexed tokenId, address indexed buyer, string envelopeRef);
    event OrderDisputed(uint256 indexed orderId, address indexed buyer);
    /// @notice The seller revealed the order's key (or its evidence) to `arbiter` only: an
    /// envelope at `evidenceRef` wrapped to the arbiter's KeyRegistry keys.
    event KeyRevealed(uint256 indexed orderId, address indexed arbiter, string evidenceRef);
    event DisputeResolved(uint256 indexed orderId, address indexed arbiter, bool refunded);
    /// @notice A dispute ended by its default outcome after a window passed.
    event DisputeTimedOut(uint256 indexed orderId, bool refunded);
    event OrderCompleted(uint256 indexed orderId, uint256 indexed tokenId, OrderKind kind, address buyer, uint256 leaseExpires);
    event OrderRefunded(uint256 indexed orderId, address indexed payer, uint256 amount);
    event Credited(address indexed account, uint256 amount, uint256 indexed orderId);
    event Withdrawn(address indexed account, uint256 amount);

    error MarketNotTokenOwner(uint256 tokenId, address caller);
    error MarketInvalidListing(uint256 tokenId);
    error MarketNotForLease(uint256 tokenId);
    error MarketBadDuration(uint256 duration, uint256 max);
    error MarketWrongPayment(uint256 expected, uint256 got);
    error MarketTokenLocked(uint256 tokenId, uint256 until);
    error MarketZeroAddress();
    error MarketEmptyOffer();
    error MarketOnlyNFT(address caller);
    error MarketUnknownOrder(uint256 orderId);
    error MarketBadStatus(uint256 orderId, OrderStatus status);
    error MarketNotSeller(uint256 orderId, address caller);
    error MarketNotBuyer(uint256 orderId, address caller);
    error MarketNotArbiter(address caller);
    error MarketAlreadyRevealed(uint256 orderId);
    error MarketRevealWindowClosed(uint256 orderId, uint256 closedAt);
    error MarketBadEndpoint(uint256 length);
    error MarketLeaseTooCheap(uint256 cost, uint256 minPrice);
    error MarketBadLedgerProof(uint256 tokenId);
    error MarketDeliveryTimedOut(uint256 orderId, uint256 deadline);
    error MarketTooEarly(uint256 orderId, uint256 availableAt);
    error MarketDisputeWindowClosed(uint256 orderId, uint256 closedAt);
    error MarketNothingToWithdraw(address account);
    error MarketTransferFailed(address to, uint256 amount);

    /// @param nft_ The model NFT. @param deliveryTimeout_ Seconds to deliver (default 1 day).
    /// @param disputeWindow_ Seconds to dispute after delivery (default 1 day).
    constructor(IZooModelNFTCore nft_, uint256 deliveryTimeout_, uint256 disputeWindow_) {
        nft = nft_;
        deliveryTimeout = deliveryTimeout_;
        disputeWindow = disputeWindow_;
    }

    // ------------------------------------------------------------------ listings

    /// @notice List `tokenId` for sale (`price` > 0) and/or lease (`lease.pricePerSecond` > 0,
    /// between `lease.minDuration` and `lease.maxDuration` seconds, at least `lease.minPrice` per
    /// lease), committing to the current content key (not needed for a hosted-only offer).
    /// Owner only.
    function list(uint256 tokenId, uint256 price, LeaseTerms calldata lease, bytes32 keyCommitment) external {
        _requireOwner(tokenId);
        bool forLease = lease.pricePerSecond != 0 && lease.maxDuration != 0;
        if (price == 0 && !forLease) revert MarketEmptyOffer();
        uint256 minDuration;
        if (forLease) {
            if (lease.maxDuration > MAX_LEASE_DURATION) {
                revert MarketBadDuration(lease.maxDuration, MAX_LEASE_DURATION);
            }
            minDuration = lease.minDuration == 0 ? 1 : lease.minDuration;
            if (minDuration > lease.maxDuration) revert MarketBadDuration(minDuration, lease.maxDuration);
            uint256 len = bytes(lease.endpoint).length;
            if (lease.kind == LeaseKind.Hosted ? (len == 0 || len > MAX_ENDPOINT_LENGTH) : len != 0) {
                revert MarketBadEndpoint(len);
            }
        }
        bool needsKey = price != 0 || (forLease && lease.kind == LeaseKind.Key);
        if (needsKey && keyCommitment == bytes32(0)) revert MarketEmptyOffer();
        (uint256 generation, uint256 transferCount, uint256 lockedUntil) = nft.marketState(tokenId);
        if (lockedUntil > block.timestamp) revert MarketTokenLocked(tokenId, lockedUntil);
        listings[tokenId] = ModelListing(
            tokenId,
            msg.sender,
            price,
            forLease,
            forLease ? lease.maxDuration : 0,
            forLease ? lease.pricePerSecond : 0,
            keyCommitment,
            generation,
            transferCount
        );
        if (forLease) {
            leaseTerms[tokenId] = LeaseExtra(minDuration, lease.minPrice, lease.kind, lease.endpoint);
            emit LeaseTermsSet(tokenId, minDuration, lease.minPrice, lease.kind, lease.endpoint);
        } else {
            delete leaseTerms[tokenId];
        }
        emit Listed(
            tokenId,
            msg.sender,
            price,
            forLease ? lease.pricePerSecond : 0,
            forLease ? lease.maxDuration : 0,
            keyCommitment,
            generation
        );
    }

    /// @notice Remove the listing of `tokenId` (owner only).
    function delist(uint256 tokenId) external {
        _requireOwner(tokenId);
        delete listings[tokenId];
        delete leaseTerms[tokenId];
        emit Delisted(tokenId);
    }

    /// @notice Set the training-data price, data-key commitment and dataset of `tokenId`
    /// (owner only; price 0 withdraws the offer, no proof needed). The records on sale are
    /// the dataset whose Merkle root is `ledger[0].datasetRoot`, an entry of the token's
    /// training ledger: `ledger` is that entry and every later one, and hashing them onto
    /// `prevHead` (the head before that entry) must give the token's current ledger head.
    function setDataPrice(
        uint256 tokenId,
        uint256 price,
        bytes32 keyCommitment,
        bytes32 prevHead,
        LedgerStep[] calldata ledger
    ) external {
        _requireOwner(tokenId);
        bytes32 root;
        if (price != 0) {
            if (keyCommitment == bytes32(0)) revert MarketEmptyOffer();
            if (ledger.length == 0 || ledger.length > MAX_LEDGER_PROOF) revert MarketBadLedgerProof(tokenId);
            bytes32 h = prevHead;
            for (uint256 i; i < ledger.length; ++i) {
                LedgerStep calldata e = ledger[i];
                h = keccak256(abi.encode(h, e.datasetRoot, e.opsCount, e.modelHash, e.signer));
            }
            (bytes32 head,) = nft.ledgerOf(tokenId);
            root = ledger[0].datasetRoot;
            if (h != head || root == bytes32(0)) revert MarketBadLedgerProof(tokenId);
        }
        (, uint256 transferCount,) = nft.marketState(tokenId);
        dataListings[tokenId] = DataListing(msg.sender, price, keyCommitment, transferCount, root);
        emit DataPriceSet(tokenId, msg.sender, price, keyCommitment, root);
    }

    /// @notice Whether the listing of `tokenId` is still valid (same owner period and generation).
    function isListingValid(uint256 tokenId) public view returns (bool) {
        ModelListing storage l = listings[tokenId];
        if (l.seller == address(0)) return false;
        (uint256 generation, uint256 transferCount,) = nft.marketState(tokenId);
        return l.generation == generation && l.transferCount == transferCount;
    }

    // ------------------------------------------------------------------ orders

    /// @notice Buy `tokenId` at its listed price (msg.value must equal it); escrowed.
    function buyModel(uint256 tokenId) external payable nonReentrant returns (uint256 orderId) {
        ModelListing storage l = _validListing(tokenId);
        if (l.price == 0) revert MarketInvalidListing(tokenId);
        if (msg.value != l.price) revert MarketWrongPayment(l.price, msg.value);
        orderId = _open(OrderKind.Sale, tokenId, l.seller, msg.sender, msg.sender, l.generation, 0, l.keyCommitment);
    }

    /// @notice Lease `tokenId` for `duration` seconds (msg.value = lease price × duration); escrowed.
    function leaseModel(uint256 tokenId, uint256 duration) external payable nonReentrant returns (uint256 orderId) {
        orderId = _openLease(tokenId, msg.sender, duration, msg.sender);
    }

    /// @inheritdoc IZooMarketplaceEntry
    function leaseFor(uint256 tokenId, address lessee, uint256 duration, address payer)
        external
        payable
        nonReentrant
        returns (uint256 orderId)
    {
        if (msg.sender != address(nft)) revert MarketOnlyNFT(msg.sender);
        orderId = _openLease(tokenId, lessee, duration, payer);
    }

    /// @notice Buy the training data of `tokenId` at its data price; escrowed.
    function buyTrainingData(uint256 tokenId) external payable nonReentrant returns (uint256 orderId) {
        orderId = _openData(tokenId, msg.sender, msg.sender);
    }

    /// @inheritdoc IZooMarketplaceEntry
    function buyDataFor(uint256 tokenId, address buyer, address payer)
        external
        payable
        nonReentrant
        returns (uint256 orderId)
    {
        if (msg.sender != address(nft)) revert MarketOnlyNFT(msg.sender);
        orderId = _openData(tokenId, buyer, payer);
    }

    /// @notice Seller (or its approved operator): deliver the key wrapped for the buyer.
    function deliverKey(uint256 orderId, string calldata envelopeRef) external nonReentrant {
        Order storage o = _order(orderId, OrderStatus.Pending);
        if (msg.sender != o.seller && !nft.isApprovedForAll(o.seller, msg.sender)) {
            revert MarketNotSeller(orderId, msg.sender);
        }
        uint256 deadline = o.createdAt + deliveryTimeout;
        if (block.timestamp > deadline) revert MarketDeliveryTimedOut(orderId, deadline);
        o.status = OrderStatus.Delivered;
        o.deliveredAt = uint64(block.timestamp);
        emit KeyDelivered(orderId, o.tokenId, o.buyer, envelopeRef);
    }

    /// @notice Buyer: the delivered key checks out; release payment and complete.
    function confirmDelivery(uint256 orderId) external nonReentrant {
        Order storage o = _order(orderId, OrderStatus.Delivered);
        if (msg.sender != o.buyer) revert MarketNotBuyer(orderId, msg.sender);
        _complete(orderId, o);
    }

    /// @notice Buyer: dispute a delivery within the window (a hosted lease: until its period
    /// ends plus the window). The seller then has `disputeWindow` to reveal to an arbiter.
    function dispute(uint256 orderId) external nonReentrant {
        Order storage o = _order(orderId, OrderStatus.Delivered);
        if (msg.sender != o.buyer) revert MarketNotBuyer(orderId, msg.sender);
        uint256 closes = _disputeCloses(o);
        if (block.timestamp > closes) revert MarketDisputeWindowClosed(orderId, closes);
        o.status = OrderStatus.Disputed;
        disputes[orderId].disputedAt = uint64(block.timestamp);
        emit OrderDisputed(orderId, msg.sender);
    }

    /// @notice Seller (or its approved operator): answer a dispute by revealing the order's
    /// key — or, for a hosted lease, its evidence — to `arbiter` only: `evidenceRef` points at
    /// an envelope wrapped to the arbiter's KeyRegistry keys (never to the public: that would
    /// publish the model). Within `disputeWindow` of the dispute, once.
    function revealKey(uint256 orderId, address arbiter, string calldata evidenceRef) external nonReentrant {
        Order storage o = _order(orderId, OrderStatus.Disputed);
        if (msg.sender != o.seller && !nft.isApprovedForAll(o.seller, msg.sender)) {
            revert MarketNotSeller(orderId, msg.sender);
        }
        if (!nft.hasRole(ARBITER_ROLE, arbiter)) revert MarketNotArbiter(arbiter);
        DisputeInfo storage d = disputes[orderId];
        if (d.revealedAt != 0) revert MarketAlreadyRevealed(orderId);
        uint256 closes = d.disputedAt + disputeWindow;
        if (block.timestamp > closes) revert MarketRevealWindowClosed(orderId, closes);
        d.revealedAt = uint64(block.timestamp);
        d.arbiter = arbiter;
        emit KeyRevealed(orderId, arbiter, evidenceRef);
    }

    /// @notice Anyone: complete a delivered order once the dispute window has passed.
    function finalize(uint256 orderId) external nonReentrant {
        Order storage o = _order(orderId, OrderStatus.Delivered);
        uint256 closes = _disputeCloses(o);
        if (block.timestamp <= closes) revert MarketTooEarly(orderId, closes + 1);
        _complete(orderId, o);
    }

    /// @notice ARBITER: settle a dispute, refunding the payer or completing the order (any time
    /// while it is disputed, before or after the seller's reveal). When completing after
    /// checking the revealed key, the arbiter may deliver that key to the buyer itself:
    /// `envelopeRef` (the key wrapped for the buyer; empty for none) is emitted as a new
    /// KeyDelivered, so a buyer whose first delivery was bad still gets a good key.
    function resolveDispute(uint256 orderId, bool refundBuyer, string calldata envelopeRef) external nonReentrant {
        if (!nft.hasRole(ARBITER_ROLE, msg.sender)) revert MarketNotArbiter(msg.sender);
        Order storage o = _order(orderId, OrderStatus.Disputed);
        emit DisputeResolved(orderId, msg.sender, refundBuyer);
        if (!refundBuyer && bytes(envelopeRef).length != 0) {
            emit KeyDelivered(orderId, o.tokenId, o.buyer, envelopeRef);
        }
        if (refundBuyer) _refund(orderId, o);
        else _complete(orderId, o);
    }

    /// @notice Anyone: end a dispute by its default outcome once a window passed: no reveal
    /// within `disputeWindow` of the dispute refunds the payer; a reveal no arbiter ruled on
    /// within `disputeWindow` completes the order.
    function timeoutDispute(uint256 orderId) external nonReentrant {
        Order storage o = _order(orderId, OrderStatus.Disputed);
        DisputeInfo storage d = disputes[orderId];
        bool revealed = d.revealedAt != 0;
        uint256 closes = (revealed ? d.revealedAt : d.disputedAt) + disputeWindow;
        if (block.timestamp <= closes) revert MarketTooEarly(orderId, closes + 1);
        emit DisputeTimedOut(orderId, !revealed);
        if (revealed) _complete(orderId, o);
        else _refund(orderId, o);
    }

    /// @notice Anyone: refund the payer of an order whose key was not delivered in time.
    function refund(uint256 orderId) external nonReentrant {
        Order storage o = _order(orderId, OrderStatus.Pending);
        uint256 deadline = o.createdAt + deliveryTimeout;
        if (block.timestamp <= deadline) revert MarketTooEarly(orderId, deadline + 1);
        _refund(orderId, o);
    }

    /// @notice The time after which anyone can end order `orderId` (refund, finalize or
    /// timeoutDispute); 0 for a finished (or unknown) order. A dispute can only move it later,
    /// to at most createdAt + deliveryTimeout + lease period (hosted) + 3 × disputeWindow.
    function deadlineOf(uint256 orderId) public view returns (uint256) {
        Order storage o = orders[orderId];
        if (o.status == OrderStatus.Pending) return o.createdAt + deliveryTimeout;
        if (o.status == OrderStatus.Delivered) return _disputeCloses(o);
        if (o.status == OrderStatus.Disputed) {
            DisputeInfo storage d = disputes[orderId];
            return (d.revealedAt != 0 ? d.revealedAt : d.disputedAt) + disputeWindow;
        }
        return 0;
    }

    /// @notice Withdraw the caller's credited balance (pull payment).
    function withdraw() external nonReentrant {
        uint256 amount = balances[msg.sender];
        if (amount == 0) revert MarketNothingToWithdraw(msg.sender);
        balances[msg.sender] = 0;
        totalWithdrawn += amount;
        emit Withdrawn(msg.sender, amount);
        (bool ok,) = payable(msg.sender).call{value: amount}("");
        if (!ok) revert MarketTransferFailed(msg.sender, amount);
    }

    // ------------------------------------------------------------------ internals

    function _requireOwner(uint256 tokenId) private view {
        if (nft.ownerOf(tokenId) != msg.sender) revert MarketNotTokenOwner(tokenId, msg.sender);
    }

    function _validListing(uint256 tokenId) private view returns (ModelListing storage l) {
        l = listings[tokenId];
        if (!isListingValid(tokenId)) revert MarketInvalidListing(tokenId);
    }

    function _openLease(uint256 tokenId, address lessee, uint256 duration, address payer)
        private
        returns (uint256 orderId)
    {
        if (lessee == address(0)) revert MarketZeroAddress();
        ModelListing storage l = _validListing(tokenId);
        if (!l.forLease) revert MarketNotForLease(tokenId);
        LeaseExtra storage x = leaseTerms[tokenId];
        if (duration < x.minDuration || duration > l.leaseDuration) revert MarketBadDuration(duration, l.leaseDuration);
        uint256 cost = l.leasePrice * duration;
        if (cost < x.minPrice) revert MarketLeaseTooCheap(cost, x.minPrice);
        if (msg.value != cost) revert MarketWrongPayment(cost, msg.value);
        OrderKind kind = x.kind == LeaseKind.Hosted ? OrderKind.HostedLease : OrderKind.Lease;
        orderId = _open(kind, tokenId, l.seller, lessee, payer, l.generation, duration, l.keyCommitment);
        if (kind == OrderKind.HostedLease) {
            // nothing to deliver: the lease runs from now, escrow released after it (+ window)
            Order storage o = orders[orderId];
            o.status = OrderStatus.Delivered;
            o.deliveredAt = uint64(block.timestamp);
            nft.marketSetUser(tokenId, lessee, uint64(block.timestamp + duration));
        }
    }

    function _openData(uint256 tokenId, address buyer, address payer) private returns (uint256 orderId) {
        if (buyer == address(0)) revert MarketZeroAddress();
        DataListing storage d = dataListings[tokenId];
        (uint256 generation, uint256 transferCount,) = nft.marketState(tokenId);
        if (d.price == 0 || d.transferCount != transferCount) revert MarketInvalidListing(tokenId);
        if (msg.value != d.price) revert MarketWrongPayment(d.price, msg.value);
        orderId = _open(OrderKind.Data, tokenId, d.seller, buyer, payer, generation, 0, d.keyCommitment);
        orderDatasetRoot[orderId] = d.datasetRoot;
    }

    function _open(
        OrderKind kind,
        uint256 tokenId,
        address seller,
        address buyer,
        address payer,
        uint256 generation,
        uint256 duration,
        bytes32 commitment
    ) private returns (uint256 orderId) {
        if (kind != OrderKind.Data) {
            (,, uint256 lockedUntil) = nft.marketState(tokenId);
            if (lockedUntil > block.timestamp) revert MarketTokenLocked(tokenId, lockedUntil);
            nft.setLock(tokenId, HELD);
        }
        orderId = nextOrderId++;
        orders[orderId] = Order(
            kind,
            OrderStatus.Pending,
            tokenId,
            seller,
            buyer,
            payer,
            msg.value,
            generation,
            uint64(block.timestamp),
            0,
            uint64(duration), // <= MAX_LEASE_DURATION (list bounds the maximum)
            commitment
        );
        totalReceived += msg.value;
        totalHeld += msg.value;
        emit OrderOpened(orderId, tokenId, kind, buyer, seller, msg.value, duration, commitment);
    }

    function _order(uint256 orderId, OrderStatus expected) private view returns (Order storage o) {
        o = orders[orderId];
        if (o.status == OrderStatus.None) revert MarketUnknownOrder(orderId);
        if (o.status != expected) revert MarketBadStatus(orderId, o.status);
    }

    function _complete(uint256 orderId, Order storage o) private {
        o.status = OrderStatus.Completed;
        uint256 amount = o.amount;
        totalHeld -= amount;
        uint256 tokenId = o.tokenId;
        uint256 expires;
        if (o.kind == OrderKind.Sale) {
            nft.setLock(tokenId, 0);
            nft.marketTransfer(o.seller, o.buyer, tokenId);
            (address[] memory receivers, uint256[] memory amounts) = nft.royaltySplits(tokenId, amount);
            uint256 rest = amount;
            for (uint256 i; i < receivers.length; ++i) {
                if (receivers[i] == address(0) || amounts[i] == 0) continue;
                rest -= amounts[i];
                _credit(receivers[i], amounts[i], orderId);
            }
            _credit(o.seller, rest, orderId);
        } else if (o.kind == OrderKind.Lease) {
            expires = _min40(block.timestamp + o.leaseDuration);
            nft.marketSetUser(tokenId, o.buyer, uint64(expires));
            nft.setLock(tokenId, uint64(expires)); // a paid lease blocks transfers and updates
            _credit(o.seller, amount, orderId);
        } else if (o.kind == OrderKind.HostedLease) {
            expires = _min40(uint256(o.createdAt) + o.leaseDuration); // user set when it opened
            nft.setLock(tokenId, uint64(expires));
            _credit(o.seller, amount, orderId);
        } else {
            _credit(o.seller, amount, orderId);
        }
        emit OrderCompleted(orderId, tokenId, o.kind, o.buyer, expires);
    }

    function _refund(uint256 orderId, Order storage o) private {
        o.status = OrderStatus.Refunded;
        uint256 amount = o.amount;
        totalHeld -= amount;
        totalRefunded += amount;
        balances[o.payer] += amount;
        if (o.kind == OrderKind.HostedLease) nft.marketSetUser(o.tokenId, address(0), 0); // access ends
        if (o.kind != OrderKind.Data) nft.setLock(o.tokenId, 0);
        emit OrderRefunded(orderId, o.payer, amount);
    }

    /// @dev End of the dispute window of a delivered order (hosted: after its lease period).
    function _disputeCloses(Order storage o) private view returns (uint256) {
        uint256 start = o.deliveredAt;
        if (o.kind == OrderKind.HostedLease) start += o.leaseDuration;
        return start + disputeWindow;
    }

    /// @dev Saturate a timestamp to the NFT's uint40 lock width.
    function _min40(uint256 t) private pure returns (uint256) {
        return t > type(uint40).max ? type(uint40).max : t;
    }

    function _credit(address account, uint256 amount, uint256 orderId) private {
        if (amount == 0) return;
        balances[account] += amount;
        totalCredited += amount;
        emit Credited(account, amount, orderId);
    }
}
