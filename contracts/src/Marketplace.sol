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
/// `disputeWindow`; after the window anyone can finalize. A VERIFIER settles disputes.
/// Without delivery within `deliveryTimeout` the payer can refund. Completion moves the
/// NFT (sale) or sets the ERC-4907 user and locks the token until the lease ends (lease).
/// Sales pay ERC-2981 royalties to the creators of the direct parents. All payouts are
/// credited and pulled with withdraw(). Listings are tied to the token's generation and
/// owner period (transfer count), so an update or a transfer invalidates them.
contract Marketplace is IZooMarketplaceEntry, ReentrancyGuardTransient {
    enum OrderKind {
        Sale,
        Lease,
        Data
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

    bytes32 private constant VERIFIER_ROLE = keccak256("VERIFIER_ROLE");

    IZooModelNFTCore public immutable nft;
    /// @notice Seconds the seller has to deliver the key after an order opens.
    uint256 public immutable deliveryTimeout;
    /// @notice Seconds the buyer has to dispute after delivery.
    uint256 public immutable disputeWindow;

    mapping(uint256 tokenId => ModelListing) public listings;
    mapping(uint256 tokenId => DataListing) public dataListings;
    mapping(uint256 orderId => Order) public orders;
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
    event Delisted(uint256 indexed tokenId);
    event DataPriceSet(uint256 indexed tokenId, address indexed seller, uint256 price, bytes32 keyCommitment);
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
    event DisputeResolved(uint256 indexed orderId, address indexed verifier, bool refunded);
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
    error MarketNotVerifier(address caller);
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

    /// @notice List `tokenId` for sale (`price` > 0) and/or lease (`leasePricePerSecond` > 0,
    /// up to `maxLeaseDuration`), committing to the current content key. Owner only.
    function list(
        uint256 tokenId,
        uint256 price,
        uint256 leasePricePerSecond,
        uint256 maxLeaseDuration,
        bytes32 keyCommitment
    ) external {
        _requireOwner(tokenId);
        if (price == 0 && (leasePricePerSecond == 0 || maxLeaseDuration == 0)) revert MarketEmptyOffer();
        if (keyCommitment == bytes32(0)) revert MarketEmptyOffer();
        (uint256 generation, uint256 transferCount, uint256 lockedUntil) = nft.marketState(tokenId);
        if (lockedUntil > block.timestamp) revert MarketTokenLocked(tokenId, lockedUntil);
        bool forLease = leasePricePerSecond != 0 && maxLeaseDuration != 0;
        listings[tokenId] = ModelListing(
            tokenId, msg.sender, price, forLease, maxLeaseDuration, leasePricePerSecond, keyCommitment, generation, transferCount
        );
        emit Listed(tokenId, msg.sender, price, leasePricePerSecond, maxLeaseDuration, keyCommitment, generation);
    }

    /// @notice Remove the listing of `tokenId` (owner only).
    function delist(uint256 tokenId) external {
        _requireOwner(tokenId);
        delete listings[tokenId];
        emit Delisted(tokenId);
    }

    /// @notice Set the training-data price and data-key commitment of `tokenId` (owner only;
    /// price 0 withdraws the offer).
    function setDataPrice(uint256 tokenId, uint256 price, bytes32 keyCommitment) external {
        _requireOwner(tokenId);
        if (price != 0 && keyCommitment == bytes32(0)) revert MarketEmptyOffer();
        (, uint256 transferCount,) = nft.marketState(tokenId);
        dataListings[tokenId] = DataListing(msg.sender, price, keyCommitment, transferCount);
        emit DataPriceSet(tokenId, msg.sender, price, keyCommitment);
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

    /// @notice Buyer: dispute a delivery within the window (a VERIFIER settles it).
    function dispute(uint256 orderId) external nonReentrant {
        Order storage o = _order(orderId, OrderStatus.Delivered);
        if (msg.sender != o.buyer) revert MarketNotBuyer(orderId, msg.sender);
        uint256 closes = o.deliveredAt + disputeWindow;
        if (block.timestamp > closes) revert MarketDisputeWindowClosed(orderId, closes);
        o.status = OrderStatus.Disputed;
        emit OrderDisputed(orderId, msg.sender);
    }

    /// @notice Anyone: complete a delivered order once the dispute window has passed.
    function finalize(uint256 orderId) external nonReentrant {
        Order storage o = _order(orderId, OrderStatus.Delivered);
        uint256 closes = o.deliveredAt + disputeWindow;
        if (block.timestamp <= closes) revert MarketTooEarly(orderId, closes + 1);
        _complete(orderId, o);
    }

    /// @notice VERIFIER: settle a dispute, refunding the payer or completing the order.
    function resolveDispute(uint256 orderId, bool refundBuyer) external nonReentrant {
        if (!nft.hasRole(VERIFIER_ROLE, msg.sender)) revert MarketNotVerifier(msg.sender);
        Order storage o = _order(orderId, OrderStatus.Disputed);
        emit DisputeResolved(orderId, msg.sender, refundBuyer);
        if (refundBuyer) _refund(orderId, o);
        else _complete(orderId, o);
    }

    /// @notice Buyer or payer: refund an order whose key was not delivered in time.
    function refund(uint256 orderId) external nonReentrant {
        Order storage o = _order(orderId, OrderStatus.Pending);
        if (msg.sender != o.buyer && msg.sender != o.payer) revert MarketNotBuyer(orderId, msg.sender);
        uint256 deadline = o.createdAt + deliveryTimeout;
        if (block.timestamp <= deadline) revert MarketTooEarly(orderId, deadline + 1);
        _refund(orderId, o);
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
        if (duration == 0 || duration > l.leaseDuration) revert MarketBadDuration(duration, l.leaseDuration);
        uint256 cost = l.leasePrice * duration;
        if (msg.value != cost) revert MarketWrongPayment(cost, msg.value);
        orderId = _open(OrderKind.Lease, tokenId, l.seller, lessee, payer, l.generation, duration, l.keyCommitment);
    }

    function _openData(uint256 tokenId, address buyer, address payer) private returns (uint256 orderId) {
        if (buyer == address(0)) revert MarketZeroAddress();
        DataListing storage d = dataListings[tokenId];
        (uint256 generation, uint256 transferCount,) = nft.marketState(tokenId);
        if (d.price == 0 || d.transferCount != transferCount) revert MarketInvalidListing(tokenId);
        if (msg.value != d.price) revert MarketWrongPayment(d.price, msg.value);
        orderId = _open(OrderKind.Data, tokenId, d.seller, buyer, payer, generation, 0, d.keyCommitment);
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
            nft.setLock(tokenId, type(uint64).max);
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
            uint64(duration),
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
            expires = block.timestamp + o.leaseDuration;
            nft.marketSetUser(tokenId, o.buyer, uint64(expires));
            nft.setLock(tokenId, uint64(expires)); // a paid lease blocks transfers and updates
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
        if (o.kind != OrderKind.Data) nft.setLock(o.tokenId, 0);
        emit OrderRefunded(orderId, o.payer, amount);
    }

    function _credit(address account, uint256 amount, uint256 orderId) private {
        if (amount == 0) return;
        balances[account] += amount;
        totalCredited += amount;
        emit Credited(account, amount, orderId);
    }
}
