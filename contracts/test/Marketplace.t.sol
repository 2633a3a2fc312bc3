// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ZooTest} from "./utils/ZooTest.sol";
import {ZooModelNFT} from "../src/ZooModelNFT.sol";
import {Marketplace} from "../src/Marketplace.sol";

contract RejectsEther {
    function buy(Marketplace m, uint256 id) external payable {
        m.buyTrainingData{value: msg.value}(id);
    }

    function refund(Marketplace m, uint256 orderId) external {
        m.refund(orderId);
    }

    function withdraw(Marketplace m) external {
        m.withdraw();
    }
}

contract MarketplaceTest is ZooTest {
    bytes32 internal constant KEY = keccak256("content-key");
    uint256 internal id;

    function setUp() public override {
        super.setUp();
        id = nft.mintModelWithHash(alice, BASE, keccak256("h"), "");
    }

    function _list(uint256 price, uint256 perSecond, uint256 maxDur) internal {
        vm.prank(alice);
        market.list(id, price, _terms(perSecond, maxDur), KEY);
    }

    function _terms(uint256 perSecond, uint256 maxDur) internal pure returns (Marketplace.LeaseTerms memory) {
        return Marketplace.LeaseTerms(perSecond, 1, maxDur, 0, Marketplace.LeaseKind.Key, "");
    }

    function _noLease() internal pure returns (Marketplace.LeaseTerms memory t) {}

    /// @dev A self-attested update of `id` by alice; returns the ledger proof of its dataset.
    function _trained() internal returns (bytes32 root, Marketplace.LedgerStep[] memory steps) {
        bytes32 h2 = keccak256("h-data");
        (bytes32 prevHead,) = nft.ledgerOf(id);
        _update(id, ALICE_PK, ALICE_PK, h2, 3);
        root = keccak256(abi.encode("data", id, h2));
        steps = new Marketplace.LedgerStep[](1);
        steps[0] = Marketplace.LedgerStep(root, 3, h2, alice);
        assertEq(prevHead, bytes32(0), "minted token starts at head 0");
    }

    function _offerData(uint256 price, bytes32 commitment) internal {
        (, Marketplace.LedgerStep[] memory steps) = _trained();
        vm.prank(alice);
        market.setDataPrice(id, price, commitment, bytes32(0), steps);
    }

    function _buy() internal returns (uint256 orderId) {
        _list(1 ether, 0, 0);
        vm.prank(bob);
        orderId = market.buyModel{value: 1 ether}(id);
    }

    function _escrowBalanced() internal view {
        assertEq(
            market.totalHeld() + market.totalCredited() + market.totalRefunded(), market.totalReceived(), "escrow"
        );
        assertEq(address(market).balance, market.totalReceived() - market.totalWithdrawn(), "balance");
    }

    function test_sale_deliver_confirm_withdraw() public {
        uint256 orderId = _buy();
        (,,, uint256 locked) = _state();
        assertEq(locked, type(uint40).max, "locked while pending");
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelLocked.selector, id, uint256(type(uint40).max)));
        nft.transferFrom(alice, carol, id);
        vm.prank(alice);
        market.deliverKey(orderId, "bafy-envelope");
        vm.prank(bob);
        market.confirmDelivery(orderId);
        assertEq(nft.ownerOf(id), bob, "moved");
        assertEq(market.balances(alice), 1 ether, "seller credited (no parents, no royalty)");
        uint256 before = alice.balance;
        vm.prank(alice);
        market.withdraw();
        assertEq(alice.balance - before, 1 ether, "withdrawn");
        assertTrue(!market.isListingValid(id), "listing invalid after move");
        _escrowBalanced();
    }

    function _state() internal view returns (uint256, uint256, uint256, uint256) {
        (uint256 g, uint256 t, uint256 l) = nft.marketState(id);
        return (0, g, t, l);
    }

    function test_sale_paysRoyaltiesToParents() public {
        vm.prank(alice);
        uint256 child = nft.forkModel(id);
        vm.prank(alice);
        nft.transferFrom(alice, carol, child);
        vm.prank(carol);
        market.list(child, 1 ether, _noLease(), KEY);
        vm.prank(bob);
        uint256 orderId = market.buyModel{value: 1 ether}(child);
        vm.prank(carol);
        market.deliverKey(orderId, "env");
        vm.warp(block.timestamp + DAY + 1);
        market.finalize(orderId);
        assertEq(market.balances(alice), 0.05 ether, "royalty to parent creator");
        assertEq(market.balances(carol), 0.95 ether, "seller rest");
        _escrowBalanced();
    }

    function test_operatorMayDeliver() public {
        uint256 orderId = _buy();
        vm.prank(alice);
        nft.setApprovalForAll(carol, true);
        vm.prank(carol);
        market.deliverKey(orderId, "env");
        (, Marketplace.OrderStatus status,,,,,,,,,,) = market.orders(orderId);
        assertEq(uint256(status), uint256(Marketplace.OrderStatus.Delivered), "delivered");
    }

    function test_dispute_resolvedBothWays() public {
        uint256 orderId = _buy();
        vm.prank(alice);
        market.deliverKey(orderId, "env");
        vm.prank(bob);
        market.dispute(orderId);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketNotArbiter.selector, bob));
        market.resolveDispute(orderId, true, "");
        vm.prank(verifier); // the VERIFIER role does not arbitrate
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketNotArbiter.selector, verifier));
        market.resolveDispute(orderId, true, "");
        vm.prank(arbiter);
        market.resolveDispute(orderId, true, "");
        assertEq(market.balances(bob), 1 ether, "refunded");
        assertEq(nft.ownerOf(id), alice, "stays");
        (,,, uint256 locked) = _state();
        assertEq(locked, 0, "unlocked");
        // second order, dispute settled for the seller
        vm.prank(bob);
        uint256 o2 = market.buyModel{value: 1 ether}(id);
        vm.prank(alice);
        market.deliverKey(o2, "env");
        vm.prank(bob);
        market.dispute(o2);
        vm.prank(arbiter);
        market.resolveDispute(o2, false, "");
        assertEq(nft.ownerOf(id), bob, "sold");
        _escrowBalanced();
    }

    function test_refund_afterDeliveryTimeout() public {
        uint256 orderId = _buy();
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketTooEarly.selector, orderId, block.timestamp + DAY + 1));
        market.refund(orderId);
        vm.warp(block.timestamp + DAY + 1);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(Marketplace.MarketDeliveryTimedOut.selector, orderId, block.timestamp - 1)
        );
        market.deliverKey(orderId, "late");
        vm.prank(carol); // anyone may trigger it; the payer is credited
        market.refund(orderId);
        assertEq(market.balances(bob), 1 ether, "refund credited");
        assertEq(market.balances(carol), 0, "not to the caller");
        _escrowBalanced();
    }

    function test_lease_flow_blocksTransfersAndUpdates() public {
        _list(0, 1 gwei, 30 days);
        vm.prank(bob);
        uint256 orderId = market.leaseModel{value: 1 gwei * 10 days}(id, 10 days);
        vm.prank(alice);
        market.deliverKey(orderId, "env");
        vm.prank(bob);
        market.confirmDelivery(orderId);
        uint256 expires = block.timestamp + 10 days;
        assertEq(nft.userOf(id), bob, "lessee is user");
        assertEq(nft.userExpires(id), expires, "expiry");
        // the lessee can never transfer, the owner cannot during the lease
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelLocked.selector, id, expires));
        nft.transferFrom(alice, bob, id);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelLocked.selector, id, expires));
        nft.transferFrom(alice, carol, id);
        ZooModelNFT.TrainingReport memory r = _report(id, keccak256("h2"), 1, 0);
        bytes memory proof = _proof(ALICE_PK, r);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelLocked.selector, id, expires));
        nft.updateModel(id, keccak256("h2"), proof);
        // a sale cannot cancel a paid lease
        vm.prank(carol);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketTokenLocked.selector, id, expires));
        market.leaseModel{value: 1 gwei}(id, 1);
        vm.warp(expires + 1);
        assertEq(nft.userOf(id), address(0), "lease over");
        vm.prank(alice);
        nft.transferFrom(alice, carol, id);
        _escrowBalanced();
    }

    function test_leaseModel_viaNFTSeedEntry() public {
        _list(0, 2, 100);
        vm.prank(carol);
        nft.leaseModel{value: 200}(id, bob, 100);
        (Marketplace.OrderKind kind,,, address seller, address buyer, address payer, uint256 amount,,,,,) =
            market.orders(1);
        assertEq(uint256(kind), uint256(Marketplace.OrderKind.Lease), "kind");
        assertEq(seller, alice, "seller");
        assertEq(buyer, bob, "lessee");
        assertEq(payer, carol, "payer");
        assertEq(amount, 200, "amount");
    }

    function test_trainingData_viaNFTSeedEntry() public {
        _offerData(0.2 ether, keccak256("data-key"));
        vm.prank(bob);
        nft.sellTrainingData{value: 0.2 ether}(id, bob);
        vm.prank(carol);
        uint256 o2 = market.buyTrainingData{value: 0.2 ether}(id);
        vm.prank(alice);
        market.deliverKey(1, "env-bob");
        vm.prank(bob);
        market.confirmDelivery(1);
        assertEq(market.balances(alice), 0.2 ether, "paid");
        (,,, uint256 locked) = _state();
        assertEq(locked, 0, "data orders do not lock the token");
        assertEq(o2, 2, "second buyer");
        _escrowBalanced();
    }

    function test_listing_reverts() public {
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketNotTokenOwner.selector, id, bob));
        market.list(id, 1, _noLease(), KEY);
        vm.startPrank(alice);
        vm.expectRevert(Marketplace.MarketEmptyOffer.selector);
        market.list(id, 0, _noLease(), KEY);
        vm.expectRevert(Marketplace.MarketEmptyOffer.selector);
        market.list(id, 1, _noLease(), bytes32(0));
        vm.expectRevert(Marketplace.MarketEmptyOffer.selector);
        market.setDataPrice(id, 1, bytes32(0), bytes32(0), new Marketplace.LedgerStep[](0));
        vm.stopPrank();
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketNotTokenOwner.selector, id, bob));
        market.delist(id);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketNotTokenOwner.selector, id, bob));
        market.setDataPrice(id, 1, KEY, bytes32(0), new Marketplace.LedgerStep[](0));
        _buy();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketTokenLocked.selector, id, uint256(type(uint40).max)));
        market.list(id, 1, _noLease(), KEY);
    }

    function test_buy_reverts() public {
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketInvalidListing.selector, id));
        market.buyModel{value: 1}(id);
        _list(0, 1, 10);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketInvalidListing.selector, id));
        market.buyModel{value: 1}(id);
        _list(1 ether, 0, 0);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketWrongPayment.selector, 1 ether, 1));
        market.buyModel{value: 1}(id);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketNotForLease.selector, id));
        market.leaseModel{value: 1}(id, 1);
        vm.prank(alice);
        market.delist(id);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketInvalidListing.selector, id));
        market.buyModel{value: 1 ether}(id);
    }

    function test_listing_invalidatedByUpdateAndTransfer() public {
        _list(1 ether, 0, 0);
        _update(id, ALICE_PK, ALICE_PK, keccak256("h2"), 1);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketInvalidListing.selector, id));
        market.buyModel{value: 1 ether}(id);
        _list(1 ether, 0, 0);
        vm.startPrank(alice);
        nft.transferFrom(alice, carol, id);
        vm.stopPrank();
        vm.prank(carol);
        nft.transferFrom(carol, alice, id);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketInvalidListing.selector, id));
        market.buyModel{value: 1 ether}(id);
    }

    function test_lease_reverts() public {
        _list(0, 1, 10);
        vm.startPrank(bob);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketBadDuration.selector, 0, 10));
        market.leaseModel(id, 0);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketBadDuration.selector, 11, 10));
        market.leaseModel{value: 11}(id, 11);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketWrongPayment.selector, 5, 4));
        market.leaseModel{value: 4}(id, 5);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketOnlyNFT.selector, bob));
        market.leaseFor{value: 5}(id, bob, 5, bob);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketOnlyNFT.selector, bob));
        market.buyDataFor(id, bob, bob);
        vm.stopPrank();
        vm.prank(address(nft));
        vm.expectRevert(Marketplace.MarketZeroAddress.selector);
        market.leaseFor(id, address(0), 5, bob);
        vm.prank(address(nft));
        vm.expectRevert(Marketplace.MarketZeroAddress.selector);
        market.buyDataFor(id, address(0), bob);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketInvalidListing.selector, id));
        market.buyTrainingData(id);
    }

    function test_order_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketUnknownOrder.selector, 7));
        market.confirmDelivery(7);
        uint256 orderId = _buy();
        vm.prank(bob);
        vm.expectRevert(
            abi.encodeWithSelector(Marketplace.MarketBadStatus.selector, orderId, Marketplace.OrderStatus.Pending)
        );
        market.confirmDelivery(orderId);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketNotSeller.selector, orderId, bob));
        market.deliverKey(orderId, "x");
        vm.prank(alice);
        market.deliverKey(orderId, "x");
        vm.prank(carol);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketNotBuyer.selector, orderId, carol));
        market.confirmDelivery(orderId);
        vm.prank(carol);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketNotBuyer.selector, orderId, carol));
        market.dispute(orderId);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketTooEarly.selector, orderId, block.timestamp + DAY + 1));
        market.finalize(orderId);
        vm.prank(arbiter);
        vm.expectRevert(
            abi.encodeWithSelector(Marketplace.MarketBadStatus.selector, orderId, Marketplace.OrderStatus.Delivered)
        );
        market.resolveDispute(orderId, true, "");
        vm.warp(block.timestamp + DAY + 1);
        vm.prank(bob);
        vm.expectRevert(
            abi.encodeWithSelector(Marketplace.MarketDisputeWindowClosed.selector, orderId, block.timestamp - 1)
        );
        market.dispute(orderId);
        vm.prank(bob);
        vm.expectRevert(
            abi.encodeWithSelector(Marketplace.MarketBadStatus.selector, orderId, Marketplace.OrderStatus.Delivered)
        );
        market.refund(orderId);
    }

    function test_withdraw_reverts() public {
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketNothingToWithdraw.selector, bob));
        market.withdraw();
        RejectsEther r = new RejectsEther();
        _offerData(5, KEY);
        r.buy{value: 5}(market, id);
        vm.warp(block.timestamp + DAY + 1);
        r.refund(market, 1);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.MarketTransferFailed.selector, address(r), 5));
        r.withdraw(market);
    }

    function testFuzz_lease_escrowConserved(uint256 perSecond, uint256 duration, bool deliver) public {
        perSecond = bound(perSecond, 1, 1e12);
        duration = bound(duration, 1, 365 days);
        _list(0, perSecond, 365 days);
        vm.deal(bob, perSecond * duration);
        vm.prank(bob);
        uint256 orderId = market.leaseModel{value: perSecond * duration}(id, duration);
        if (deliver) {
            vm.prank(alice);
            market.deliverKey(orderId, "env");
            vm.prank(bob);
            market.confirmDelivery(orderId);
            assertEq(market.balances(alice), perSecond * duration, "paid");
            assertEq(nft.userExpires(id), block.timestamp + duration, "expiry");
        } else {
            vm.warp(block.timestamp + DAY + 1);
            vm.prank(bob);
            market.refund(orderId);
            assertEq(market.balances(bob), perSecond * duration, "refunded");
        }
        _escrowBalanced();
    }
}
