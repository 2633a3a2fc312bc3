// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ZooTest} from "./utils/ZooTest.sol";
import {Vm} from "./utils/Vm.sol";
import {ZooModelNFT} from "../src/ZooModelNFT.sol";
import {Marketplace} from "../src/Marketplace.sol";

/// @notice Issue 13 items 3, 4, 5, 10: dispute timeouts, reveal to the arbiter, the ARBITER
/// role, lease minimums and kinds, data offers bound to the training ledger, lease bounds.
contract MarketplaceDisputesTest is ZooTest {
    bytes32 internal constant KEY = keccak256("content-key");
    uint256 internal id;

    function setUp() public override {
        super.setUp();
        id = nft.mintModelWithHash(alice, BASE, keccak256("h"), "");
    }

    function _terms(uint256 perSecond, uint256 minDur, uint256 maxDur, uint256 minPrice)
        internal
        pure
        returns (Marketplace.LeaseTerms memory)
    {
        return Marketplace.LeaseTerms(perSecond, minDur, maxDur, minPrice, Marketplace.LeaseKind.Key, "");
    }

    function _hosted(uint256 perSecond, uint256 minDur, uint256 maxDur, string memory url)
        internal
        pure
        returns (Marketplace.LeaseTerms memory)
    {
        return Marketplace.LeaseTerms(perSecond, minDur, maxDur, 0, Marketplace.LeaseKind.Hosted, url);
    }

    function _noLease() internal pure returns (Marketplace.LeaseTerms memory t) {}

    function _disputedSale() internal returns (uint256 orderId) {
        vm.prank(alice);
        market.list(id, 1 ether, _noLease(), KEY);
        vm.prank(bob);
        orderId = market.buyModel{value: 1 ether}(id);
        vm.prank(alice);
        market.deliverKey(orderId, "env");
        vm.prank(bob);
        market.dispute(orderId);
    }

    function _status(uint256 orderId) internal view returns (Marketplace.OrderStatus st) {
        (, st,,,,,,,,,,) = market.orders(orderId);
    }

    function _escrowBalanced() internal view {
        assertEq(
            market.totalHeld() + market.totalCredited() + market.totalRefunded(), market.totalReceived(), "escrow"
        );
        assertEq(address(market).balance, market.totalReceived() - market.totalWithdrawn(), "balance");
    }

    // ------------------------------------------------------------ item 3: disputes end

    /// A seller who does not reveal within the window loses: anyone refunds the payer.
    function test_dispute_unrevealed_timesOutToRefund() public {
        uint256 orderId = _disputedSale();
        uint256 t0 = block.timestamp;
        assertEq(market.deadlineOf(orderId), t0 + DAY, "deadline = dispute + window");
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketTooEarly.selector, orderId, t0 + DAY + 1));
        market.timeoutDispute(orderId);
        vm.warp(t0 + DAY + 1);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketRevealWindowClosed.selector, orderId, t0 + DAY));
        market.revealKey(orderId, arbiter, "late");
        vm.prank(carol); // an outsider may end it
        market.timeoutDispute(orderId);
        assertEq(uint256(_status(orderId)), uint256(Marketplace.OrderStatus.Refunded), "refunded");
        assertEq(market.balances(bob), 1 ether, "payer credited");
        assertEq(nft.ownerOf(id), alice, "token stays");
        (,, uint256 locked) = nft.marketState(id);
        assertEq(locked, 0, "token unlocked");
        assertEq(market.deadlineOf(orderId), 0, "terminal");
        _escrowBalanced();
    }

    /// A seller who revealed to an arbiter that never rules is paid after the window.
    function test_dispute_revealed_arbiterSilent_timesOutToComplete() public {
        uint256 orderId = _disputedSale();
        vm.warp(block.timestamp + 1 hours);
        vm.prank(alice);
        market.revealKey(orderId, arbiter, "bafy-reveal");
        (uint64 disputedAt, uint64 revealedAt, address to) = market.disputes(orderId);
        assertEq(revealedAt, block.timestamp, "revealedAt");
        assertEq(disputedAt, block.timestamp - 1 hours, "disputedAt");
        assertEq(to, arbiter, "arbiter");
        uint256 closes = block.timestamp + DAY;
        assertEq(market.deadlineOf(orderId), closes, "deadline moved to reveal + window");
        vm.warp(closes);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketTooEarly.selector, orderId, closes + 1));
        market.timeoutDispute(orderId);
        vm.warp(closes + 1);
        vm.prank(carol);
        market.timeoutDispute(orderId);
        assertEq(nft.ownerOf(id), bob, "sold");
        assertEq(market.balances(alice), 1 ether, "seller paid");
        _escrowBalanced();
    }

    /// Only the seller (or its operator) reveals, only to an ARBITER, only once, in time;
    /// the arbiter may rule before the timeout (here: refund after checking the reveal).
    function test_reveal_rules() public {
        uint256 orderId = _disputedSale();
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketNotSeller.selector, orderId, bob));
        market.revealKey(orderId, arbiter, "x");
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketNotArbiter.selector, verifier));
        market.revealKey(orderId, verifier, "x"); // the verifier is not an arbiter
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketNotArbiter.selector, carol));
        market.revealKey(orderId, carol, "x"); // nor is any outsider
        vm.prank(alice);
        market.revealKey(orderId, arbiter, "x");
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketAlreadyRevealed.selector, orderId));
        market.revealKey(orderId, arbiter, "y");
        vm.prank(carol);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketNotArbiter.selector, carol));
        market.resolveDispute(orderId, false, "");
        vm.prank(arbiter);
        market.resolveDispute(orderId, true, "");
        assertEq(market.balances(bob), 1 ether, "refunded by the arbiter");
        vm.expectRevert(
            abi.encodeWithSelector(Marketplace.MarketBadStatus.selector, orderId, Marketplace.OrderStatus.Refunded)
        );
        market.timeoutDispute(orderId);
        _escrowBalanced();
    }

    /// An arbiter that checked the revealed key completes the order and delivers that key to
    /// the buyer itself (a second KeyDelivered for the order).
    function test_arbiter_releasesAndRedeliversKey() public {
        uint256 orderId = _disputedSale();
        vm.prank(alice);
        market.revealKey(orderId, arbiter, "bafy-reveal");
        vm.recordLogs();
        vm.prank(arbiter);
        market.resolveDispute(orderId, false, "bafy-redelivered");
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bytes32 sig = keccak256("KeyDelivered(uint256,uint256,address,string)");
        bool found;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] == sig && logs[i].emitter == address(market)) {
                assertEq(logs[i].topics[1], bytes32(orderId), "order");
                assertEq(keccak256(abi.decode(logs[i].data, (bytes))), keccak256("bafy-redelivered"), "ref");
                found = true;
            }
        }
        assertTrue(found, "re-delivered");
        assertEq(nft.ownerOf(id), bob, "sold");
        _escrowBalanced();
    }

    /// The issue's attack: a 1-second lease disputed to freeze a valuable token. The owner's
    /// minimums refuse the cheap lease, and a dispute ends by its timeout either way.
    function test_cheapLeaseDispute_cannotFreezeToken() public {
        vm.prank(alice);
        market.list(id, 10 ether, _terms(1, 1 days, 30 days, 0.01 ether), KEY);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketBadDuration.selector, 1, 30 days));
        market.leaseModel{value: 1}(id, 1);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketLeaseTooCheap.selector, 1 days, 0.01 ether));
        market.leaseModel{value: 1 days}(id, 1 days);
        // a legitimate lease, disputed by a griefing lessee; the seller does not even answer
        vm.prank(alice);
        market.list(id, 10 ether, _terms(1 gwei, 1 days, 30 days, 0), KEY);
        vm.prank(bob);
        uint256 orderId = market.leaseModel{value: 1 gwei * 1 days}(id, 1 days);
        vm.prank(alice);
        market.deliverKey(orderId, "env");
        vm.prank(bob);
        market.dispute(orderId);
        vm.warp(market.deadlineOf(orderId) + 1);
        market.timeoutDispute(orderId);
        (,, uint256 locked) = nft.marketState(id);
        assertEq(locked, 0, "token free again");
        vm.prank(alice);
        nft.transferFrom(alice, carol, id);
        _escrowBalanced();
    }

    /// Pending and Delivered orders also have permissionless exits after their deadline.
    function test_everyStatus_hasPermissionlessExit() public {
        vm.prank(alice);
        market.list(id, 1 ether, _noLease(), KEY);
        vm.prank(bob);
        uint256 o1 = market.buyModel{value: 1 ether}(id);
        assertEq(market.deadlineOf(o1), block.timestamp + DAY, "pending deadline");
        vm.warp(block.timestamp + DAY + 1);
        vm.prank(carol);
        market.refund(o1);
        assertEq(market.balances(bob), 1 ether, "refund to payer");
        vm.prank(alice);
        market.list(id, 1 ether, _noLease(), KEY);
        vm.prank(bob);
        uint256 o2 = market.buyModel{value: 1 ether}(id);
        vm.prank(alice);
        market.deliverKey(o2, "env");
        assertEq(market.deadlineOf(o2), block.timestamp + DAY, "delivered deadline");
        vm.warp(block.timestamp + DAY + 1);
        vm.prank(carol);
        market.finalize(o2);
        assertEq(nft.ownerOf(id), bob, "finalized by an outsider");
        assertEq(market.deadlineOf(o2), 0, "terminal");
        assertEq(market.deadlineOf(999), 0, "unknown");
        _escrowBalanced();
    }

    // ------------------------------------------------------------ item 4: lease kinds

    function test_hostedLease_noKey_accessAtOnce_paidAfterPeriod() public {
        vm.prank(alice);
        market.list(id, 0, _hosted(1 gwei, 1 days, 30 days, "https://api.example/zoo/1"), bytes32(0));
        (uint256 minDur, uint256 minPrice, Marketplace.LeaseKind kind, string memory endpoint) = market.leaseTerms(id);
        assertEq(minDur, 1 days, "min");
        assertEq(minPrice, 0, "min price");
        assertEq(uint256(kind), uint256(Marketplace.LeaseKind.Hosted), "kind");
        assertEq(keccak256(bytes(endpoint)), keccak256("https://api.example/zoo/1"), "endpoint");
        vm.prank(bob);
        uint256 orderId = market.leaseModel{value: 1 gwei * 2 days}(id, 2 days);
        (Marketplace.OrderKind okind, Marketplace.OrderStatus st,,,,,,,,,,) = market.orders(orderId);
        assertEq(uint256(okind), uint256(Marketplace.OrderKind.HostedLease), "hosted order");
        assertEq(uint256(st), uint256(Marketplace.OrderStatus.Delivered), "nothing to deliver");
        assertEq(nft.userOf(id), bob, "API access from the start");
        assertEq(nft.userExpires(id), block.timestamp + 2 days, "until the end");
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(Marketplace.MarketBadStatus.selector, orderId, Marketplace.OrderStatus.Delivered)
        );
        market.deliverKey(orderId, "no key for hosted");
        uint256 paidAt = block.timestamp + 2 days + DAY + 1;
        assertEq(market.deadlineOf(orderId), paidAt - 1, "released after period + window");
        vm.warp(paidAt - 1);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketTooEarly.selector, orderId, paidAt));
        market.finalize(orderId);
        vm.warp(paidAt);
        market.finalize(orderId);
        assertEq(market.balances(alice), 1 gwei * 2 days, "seller paid");
        (,, uint256 locked) = nft.marketState(id);
        assertTrue(locked <= block.timestamp, "lock ended with the lease");
        _escrowBalanced();
    }

    function test_hostedLease_disputedAndRefunded_endsAccess() public {
        vm.prank(alice);
        market.list(id, 0, _hosted(1, 1, 30 days, "https://api.example/zoo/1"), bytes32(0));
        vm.prank(bob);
        uint256 orderId = market.leaseModel{value: 10 days}(id, 10 days);
        vm.warp(block.timestamp + 1 days);
        vm.prank(bob);
        market.dispute(orderId); // service not delivered
        vm.prank(arbiter);
        market.resolveDispute(orderId, true, "");
        assertEq(nft.userOf(id), address(0), "access revoked");
        assertEq(market.balances(bob), 10 days, "refunded");
        _escrowBalanced();
    }

    function test_listing_leaseTermsValidated() public {
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketBadEndpoint.selector, 0));
        market.list(id, 0, _hosted(1, 1, 10, ""), bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketBadEndpoint.selector, 3));
        market.list(id, 0, Marketplace.LeaseTerms(1, 1, 10, 0, Marketplace.LeaseKind.Key, "url"), KEY);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketBadEndpoint.selector, 257));
        market.list(id, 0, _hosted(1, 1, 10, string(new bytes(257))), bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketBadDuration.selector, 11, 10));
        market.list(id, 0, _terms(1, 11, 10, 0), KEY);
        vm.expectRevert(Marketplace.MarketEmptyOffer.selector);
        market.list(id, 0, _terms(1, 1, 10, 0), bytes32(0)); // a key lease needs a key commitment
        market.list(id, 0, _terms(1, 0, 10, 0), KEY);
        (uint256 minDur,,,) = market.leaseTerms(id);
        assertEq(minDur, 1, "minimum is at least one second");
        market.delist(id);
        (minDur,,,) = market.leaseTerms(id);
        assertEq(minDur, 0, "delist clears the terms");
        vm.stopPrank();
    }

    // ------------------------------------------------------------ item 10: bounded leases

    function test_list_rejectsDurationAboveMax() public {
        uint256 max = market.MAX_LEASE_DURATION();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketBadDuration.selector, max + 1, max));
        market.list(id, 0, _terms(1, 1, max + 1, 0), KEY);
        // the old truncation: 2^64 + 1 seconds would have become a 1-second lock
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketBadDuration.selector, (uint256(1) << 64) + 1, max));
        market.list(id, 0, _terms(1, 1, (uint256(1) << 64) + 1, 0), KEY);
    }

    function test_setLock_neverTruncates() public {
        vm.prank(address(market));
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelBadLock.selector, uint256(type(uint40).max) + 1));
        nft.setLock(id, uint64(type(uint40).max) + 1);
    }

    /// The lock and the ERC-4907 expiry of a completed lease cover the whole lease, for any
    /// allowed duration at any plausible time.
    function testFuzz_leaseLock_coversLease(uint256 duration, uint256 start) public {
        uint256 max = market.MAX_LEASE_DURATION();
        duration = bound(duration, 1, max);
        start = bound(start, block.timestamp, 1e11); // until year ~5138
        vm.warp(start);
        vm.prank(alice);
        market.list(id, 0, _terms(1, 1, max, 0), KEY);
        vm.deal(bob, duration);
        vm.prank(bob);
        uint256 orderId = market.leaseModel{value: duration}(id, duration);
        vm.prank(alice);
        market.deliverKey(orderId, "env");
        vm.prank(bob);
        market.confirmDelivery(orderId);
        (,,,,,,,,,, uint64 dur,) = market.orders(orderId);
        assertEq(dur, duration, "duration stored whole");
        (,, uint256 locked) = nft.marketState(id);
        assertEq(locked, start + duration, "lock = expiry");
        assertEq(nft.userExpires(id), start + duration, "user expiry");
    }

    // ------------------------------------------------------------ item 5: data bound to ledger

    function test_dataOffer_boundToLedgerRoot() public {
        bytes32 h2 = keccak256("h2");
        _update(id, ALICE_PK, ALICE_PK, h2, 3);
        bytes32 root = keccak256(abi.encode("data", id, h2));
        Marketplace.LedgerStep[] memory steps = new Marketplace.LedgerStep[](1);
        steps[0] = Marketplace.LedgerStep(root, 3, h2, alice);
        // a root that is not in the ledger is refused
        Marketplace.LedgerStep[] memory fake = new Marketplace.LedgerStep[](1);
        fake[0] = Marketplace.LedgerStep(keccak256("junk"), 3, h2, alice);
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketBadLedgerProof.selector, id));
        market.setDataPrice(id, 1 ether, KEY, bytes32(0), fake);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketBadLedgerProof.selector, id));
        market.setDataPrice(id, 1 ether, KEY, bytes32(0), new Marketplace.LedgerStep[](0));
        market.setDataPrice(id, 1 ether, KEY, bytes32(0), steps);
        vm.stopPrank();
        (,,,, bytes32 listed) = market.dataListings(id);
        assertEq(listed, root, "offer names its dataset");
        // a second update: the first dataset is still provable (entry + the later one)
        bytes32 h3 = keccak256("h3");
        _update(id, ALICE_PK, ALICE_PK, h3, 2);
        Marketplace.LedgerStep[] memory two = new Marketplace.LedgerStep[](2);
        two[0] = steps[0];
        two[1] = Marketplace.LedgerStep(keccak256(abi.encode("data", id, h3)), 2, h3, alice);
        vm.prank(alice);
        market.setDataPrice(id, 1 ether, KEY, bytes32(0), two);
        vm.prank(bob);
        uint256 orderId = market.buyTrainingData{value: 1 ether}(id);
        assertEq(market.orderDatasetRoot(orderId), root, "order snapshots the root");
        // re-offering another dataset later does not change what the buyer paid for
        Marketplace.LedgerStep[] memory last = new Marketplace.LedgerStep[](1);
        last[0] = two[1];
        (bytes32 headAfterFirst) = keccak256(abi.encode(bytes32(0), root, uint256(3), h2, alice));
        vm.prank(alice);
        market.setDataPrice(id, 1 ether, KEY, headAfterFirst, last);
        assertEq(market.orderDatasetRoot(orderId), root, "unchanged");
    }
}
