// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Assertions, ZooTest} from "./utils/ZooTest.sol";
import {ZooModelNFT} from "../src/ZooModelNFT.sol";
import {Marketplace} from "../src/Marketplace.sol";

/// @notice Snapshot cheatcodes (not in the shared Vm interface).
interface VmSnapshots {
    function snapshotState() external returns (uint256);
    function revertToState(uint256 id) external returns (bool);
    function warp(uint256 t) external;
    function prank(address a) external;
}

/// @notice Drives the marketplace with three traders, an arbiter and an outsider: listings
/// (sale, key lease, hosted lease, data), orders, deliveries, confirmations, disputes,
/// reveals, rulings, timeouts, refunds, finalizations, withdrawals and time warps past every
/// window (delivery, dispute, reveal, arbitration, hosted lease period).
contract MarketHandler is Assertions {
    ZooModelNFT internal nft;
    Marketplace internal market;
    address public arbiter;
    address public outsider = address(0xBEEF);
    address internal test;
    uint256[3] internal pks = [uint256(0xA11CE), 0xB0B, 0xCA201];

    uint256[] public tokens;
    uint256[] public orderIds;
    mapping(uint256 tokenId => Marketplace.LedgerStep) internal dataStep;
    uint256 public exitsTaken;
    uint256 public disputed;
    uint256 public revealed;
    uint256 public timeouts;

    constructor(ZooModelNFT nft_, Marketplace market_, address arbiter_, uint256[] memory ids, Marketplace.LedgerStep[] memory steps)
    {
        nft = nft_;
        market = market_;
        arbiter = arbiter_;
        test = msg.sender;
        for (uint256 i; i < ids.length; ++i) {
            tokens.push(ids[i]);
            dataStep[ids[i]] = steps[i];
        }
        for (uint256 i; i < 3; ++i) {
            vm.deal(vm.addr(pks[i]), 1_000 ether);
        }
    }

    function actor(uint256 i) public view returns (address) {
        return vm.addr(pks[i % 3]);
    }

    function orderCount() external view returns (uint256) {
        return orderIds.length;
    }

    function _token(uint256 seed) internal view returns (uint256) {
        return tokens[seed % tokens.length];
    }

    function _order(uint256 seed) internal view returns (uint256 oid, bool any) {
        if (orderIds.length == 0) return (0, false);
        return (orderIds[seed % orderIds.length], true);
    }

    function list(uint256 tokenSeed, uint256 price, uint8 mode, uint256 minDur) external {
        uint256 id = _token(tokenSeed);
        address owner = nft.ownerOf(id);
        (,, uint256 locked) = nft.marketState(id);
        if (locked > block.timestamp) return;
        price = bound(price, 1, 5 ether);
        minDur = bound(minDur, 1, 2 days);
        mode = mode % 3; // 0 sale only, 1 sale + key lease, 2 hosted lease only
        Marketplace.LeaseTerms memory t;
        if (mode == 1) t = Marketplace.LeaseTerms(1 gwei, minDur, 30 days, 0, Marketplace.LeaseKind.Key, "");
        if (mode == 2) t = Marketplace.LeaseTerms(1 gwei, minDur, 30 days, 0, Marketplace.LeaseKind.Hosted, "https://x");
        vm.prank(owner);
        market.list(id, mode == 2 ? 0 : price, t, keccak256(abi.encode("key", id)));
    }

    function offerData(uint256 tokenSeed, uint256 price) external {
        uint256 id = _token(tokenSeed);
        Marketplace.LedgerStep[] memory steps = new Marketplace.LedgerStep[](1);
        steps[0] = dataStep[id];
        address owner = nft.ownerOf(id);
        vm.prank(owner);
        market.setDataPrice(id, bound(price, 1, 1 ether), keccak256(abi.encode("data", id)), bytes32(0), steps);
    }

    function buy(uint256 tokenSeed, uint256 who) external {
        uint256 id = _token(tokenSeed);
        address b = actor(who);
        (, address seller, uint256 price,,,,,,) = market.listings(id);
        if (price == 0 || b == seller || !market.isListingValid(id)) return;
        (,, uint256 locked) = nft.marketState(id);
        if (locked > block.timestamp) return;
        vm.prank(b);
        orderIds.push(market.buyModel{value: price}(id));
    }

    function lease(uint256 tokenSeed, uint256 who, uint256 duration) external {
        uint256 id = _token(tokenSeed);
        address b = actor(who);
        (, address seller,, bool forLease, uint256 maxDur, uint256 pps,,,) = market.listings(id);
        if (!forLease || b == seller || !market.isListingValid(id)) return;
        (,, uint256 locked) = nft.marketState(id);
        if (locked > block.timestamp) return;
        (uint256 minDur,,,) = market.leaseTerms(id);
        duration = bound(duration, minDur, maxDur);
        vm.prank(b);
        orderIds.push(market.leaseModel{value: pps * duration}(id, duration));
    }

    function buyData(uint256 tokenSeed, uint256 who) external {
        uint256 id = _token(tokenSeed);
        (address seller, uint256 price,, uint256 tc,) = market.dataListings(id);
        (, uint256 transferCount,) = nft.marketState(id);
        address b = actor(who);
        if (price == 0 || tc != transferCount || b == seller) return;
        vm.prank(b);
        orderIds.push(market.buyTrainingData{value: price}(id));
    }

    function deliver(uint256 seed) external {
        (uint256 oid, bool any) = _order(seed);
        if (!any) return;
        (, Marketplace.OrderStatus st,, address seller,,,,, uint64 created,,,) = market.orders(oid);
        if (st != Marketplace.OrderStatus.Pending || block.timestamp > created + market.deliveryTimeout()) return;
        vm.prank(seller);
        market.deliverKey(oid, "env");
    }

    function confirm(uint256 seed) external {
        (uint256 oid, bool any) = _order(seed);
        if (!any) return;
        (, Marketplace.OrderStatus st,,, address buyer,,,,,,,) = market.orders(oid);
        if (st != Marketplace.OrderStatus.Delivered) return;
        vm.prank(buyer);
        market.confirmDelivery(oid);
    }

    function dispute(uint256 seed) external {
        (uint256 oid, bool any) = _order(seed);
        if (!any) return;
        (, Marketplace.OrderStatus st,,, address buyer,,,,,,,) = market.orders(oid);
        if (st != Marketplace.OrderStatus.Delivered || block.timestamp > market.deadlineOf(oid)) return;
        vm.prank(buyer);
        market.dispute(oid);
        disputed++;
    }

    function reveal(uint256 seed) external {
        (uint256 oid, bool any) = _order(seed);
        if (!any) return;
        (, Marketplace.OrderStatus st,, address seller,,,,,,,,) = market.orders(oid);
        (, uint64 revealedAt,) = market.disputes(oid);
        if (st != Marketplace.OrderStatus.Disputed || revealedAt != 0 || block.timestamp > market.deadlineOf(oid)) {
            return;
        }
        vm.prank(seller);
        market.revealKey(oid, arbiter, "reveal");
        revealed++;
    }

    function arbitrate(uint256 seed, bool refundBuyer) external {
        (uint256 oid, bool any) = _order(seed);
        if (!any) return;
        (, Marketplace.OrderStatus st,,,,,,,,,,) = market.orders(oid);
        if (st != Marketplace.OrderStatus.Disputed) return;
        vm.prank(arbiter);
        market.resolveDispute(oid, refundBuyer, refundBuyer ? "" : "redelivered");
    }

    /// A whole dispute opening in one step (so short runs reach the dispute windows): list,
    /// buy (or hosted-lease), deliver, dispute, and maybe reveal.
    function openDispute(uint256 tokenSeed, uint256 who, bool hosted, bool revealIt) external {
        uint256 id = _token(tokenSeed);
        address owner = nft.ownerOf(id);
        address b = actor(who);
        (,, uint256 locked) = nft.marketState(id);
        if (b == owner || locked > block.timestamp) return;
        Marketplace.LeaseTerms memory t;
        if (hosted) t = Marketplace.LeaseTerms(1, 1 hours, 30 days, 0, Marketplace.LeaseKind.Hosted, "https://x");
        vm.prank(owner);
        market.list(id, hosted ? 0 : 1 ether, t, keccak256(abi.encode("key", id)));
        uint256 oid;
        vm.prank(b);
        if (hosted) {
            oid = market.leaseModel{value: 2 days}(id, 2 days);
        } else {
            oid = market.buyModel{value: 1 ether}(id);
            vm.prank(owner);
            market.deliverKey(oid, "env");
        }
        orderIds.push(oid);
        vm.prank(b);
        market.dispute(oid);
        disputed++;
        if (revealIt) {
            vm.prank(owner);
            market.revealKey(oid, arbiter, "reveal");
            revealed++;
        }
    }

    /// Anyone ends an order whose deadline passed, by the matching exit.
    function exit(uint256 seed) external {
        (uint256 oid, bool any) = _order(seed);
        if (!any) return;
        uint256 deadline = market.deadlineOf(oid);
        if (deadline == 0 || block.timestamp <= deadline) return;
        (, Marketplace.OrderStatus st,,,,,,,,,,) = market.orders(oid);
        if (st == Marketplace.OrderStatus.Disputed) timeouts++;
        _exit(oid);
        exitsTaken++;
    }

    function _exit(uint256 oid) internal {
        (, Marketplace.OrderStatus st,,,,,,,,,,) = market.orders(oid);
        vm.prank(outsider);
        if (st == Marketplace.OrderStatus.Pending) market.refund(oid);
        else if (st == Marketplace.OrderStatus.Delivered) market.finalize(oid);
        else market.timeoutDispute(oid);
    }

    function withdraw(uint256 who) external {
        address a = actor(who);
        if (market.balances(a) == 0) return;
        vm.prank(a);
        market.withdraw();
    }

    /// Time warps up to past every window (each window is one day; leases up to 30 days).
    function warp(uint256 secs, uint8 big) external {
        vm.warp(block.timestamp + (big % 4 == 0 ? bound(secs, 1, 40 days) : bound(secs, 1, 2 days)));
    }

    /// Test hook (called from the invariant, state reverted around it).
    function exitNow(uint256 oid) external {
        if (msg.sender != test) return; // not a fuzzed action
        _exit(oid);
    }
}

contract InvariantsMarketTest is ZooTest {
    MarketHandler internal handler;
    VmSnapshots internal constant snap = VmSnapshots(address(uint160(uint256(keccak256("hevm cheat code")))));

    function setUp() public override {
        super.setUp();
        uint256[] memory ids = new uint256[](3);
        Marketplace.LedgerStep[] memory steps = new Marketplace.LedgerStep[](3);
        for (uint256 i; i < 3; ++i) {
            address owner = vm.addr([uint256(0xA11CE), 0xB0B, 0xCA201][i]);
            ids[i] = nft.mintModelWithHash(owner, BASE, keccak256(abi.encode("h", i)), "");
            bytes32 h2 = keccak256(abi.encode("h2", i));
            _update(ids[i], [uint256(0xA11CE), 0xB0B, 0xCA201][i], [uint256(0xA11CE), 0xB0B, 0xCA201][i], h2, 1);
            steps[i] = Marketplace.LedgerStep(keccak256(abi.encode("data", ids[i], h2)), 1, h2, owner);
        }
        handler = new MarketHandler(nft, market, arbiter, ids, steps);
    }

    function targetContracts() public view returns (address[] memory t) {
        t = new address[](1);
        t[0] = address(handler);
    }

    function invariant_escrowConserved() public view {
        assertEq(
            market.totalHeld() + market.totalCredited() + market.totalRefunded(), market.totalReceived(), "escrow"
        );
        assertEq(address(market).balance, market.totalReceived() - market.totalWithdrawn(), "balance");
        uint256 held;
        for (uint256 i; i < handler.orderCount(); ++i) {
            (, Marketplace.OrderStatus st,,,,, uint256 amount,,,,,) = market.orders(handler.orderIds(i));
            if (st != Marketplace.OrderStatus.Completed && st != Marketplace.OrderStatus.Refunded) held += amount;
        }
        assertEq(market.totalHeld(), held, "held = open orders");
        uint256 owed;
        for (uint256 a; a < 3; ++a) {
            owed += market.balances(handler.actor(a));
        }
        assertEq(owed, market.totalCredited() + market.totalRefunded() - market.totalWithdrawn(), "balances");
    }

    /// Every open order has a deadline within a fixed bound of its creation, and after that
    /// deadline an outsider's exit call ends it (checked on a snapshot, then reverted).
    function invariant_everyOrderEndsByDeadline() public {
        uint256 w = market.disputeWindow();
        for (uint256 i; i < handler.orderCount(); ++i) {
            uint256 oid = handler.orderIds(i);
            (Marketplace.OrderKind kind, Marketplace.OrderStatus st,,,,,,, uint64 created,, uint64 dur,) =
                market.orders(oid);
            if (st == Marketplace.OrderStatus.Completed || st == Marketplace.OrderStatus.Refunded) {
                assertEq(market.deadlineOf(oid), 0, "terminal has no deadline");
                continue;
            }
            uint256 deadline = market.deadlineOf(oid);
            uint256 bound_ = created + market.deliveryTimeout() + 3 * w
                + (kind == Marketplace.OrderKind.HostedLease ? dur : 0);
            assertTrue(deadline != 0 && deadline <= bound_, "deadline bounded");
            uint256 s = snap.snapshotState();
            if (block.timestamp <= deadline) snap.warp(deadline + 1);
            handler.exitNow(oid);
            (, Marketplace.OrderStatus after_,,,,,,,,,,) = market.orders(oid);
            assertTrue(
                after_ == Marketplace.OrderStatus.Completed || after_ == Marketplace.OrderStatus.Refunded, "exit ends it"
            );
            snap.revertToState(s);
        }
    }

    /// A token is locked exactly while one of its sale/lease orders is open (or a lease runs).
    function invariant_noLockWithoutOrderOrLease() public view {
        for (uint256 t; t < 3; ++t) {
            uint256 id = handler.tokens(t);
            (,, uint256 locked) = nft.marketState(id);
            if (locked != type(uint40).max) continue;
            bool open;
            for (uint256 i; i < handler.orderCount(); ++i) {
                (Marketplace.OrderKind kind, Marketplace.OrderStatus st, uint256 tid,,,,,,,,,) =
                    market.orders(handler.orderIds(i));
                if (
                    tid == id && kind != Marketplace.OrderKind.Data
                        && (st == Marketplace.OrderStatus.Pending || st == Marketplace.OrderStatus.Delivered
                            || st == Marketplace.OrderStatus.Disputed)
                ) open = true;
            }
            assertTrue(open, "held lock has an open order");
        }
    }
}
