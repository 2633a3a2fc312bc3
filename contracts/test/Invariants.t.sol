// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Assertions, ZooTest, reportDigest} from "./utils/ZooTest.sol";
import {ZooModelNFT} from "../src/ZooModelNFT.sol";
import {Marketplace} from "../src/Marketplace.sol";
import {TrainingRewards} from "../src/TrainingRewards.sol";

/// @notice Drives the suite with several actors: mints, self-attested and verified updates,
/// transfers, sales, leases, deliveries, confirmations, refunds, disputes, claims and time.
contract Handler is Assertions {
    ZooModelNFT internal nft;
    Marketplace internal market;
    TrainingRewards internal rewards;
    uint256[3] internal pks = [uint256(0xA11CE), 0xB0B, 0xCA201];
    uint256 internal verifierPk;
    bytes32 internal evalSet;
    bytes32[] internal tasks;

    uint256[] public tokens;
    mapping(uint256 => bytes32) public ghostHead;
    uint256[] public openOrders;
    bool public lesseeTransferred;
    uint256 internal nonce;

    constructor(ZooModelNFT nft_, Marketplace market_, TrainingRewards rewards_, uint256 verifierPk_, bytes32 evalSet_) {
        nft = nft_;
        market = market_;
        rewards = rewards_;
        verifierPk = verifierPk_;
        evalSet = evalSet_;
        tasks.push(keccak256(abi.encodePacked("task", uint256(0))));
        for (uint256 i; i < 3; ++i) {
            vm.deal(vm.addr(pks[i]), 1_000 ether);
        }
    }

    function actor(uint256 i) public view returns (address) {
        return vm.addr(pks[i % 3]);
    }

    function tokenCount() external view returns (uint256) {
        return tokens.length;
    }

    function mint(uint256 who) external {
        if (tokens.length >= 12) return;
        tokens.push(nft.mintModel(actor(who), keccak256("base")));
    }

    function update(uint256 tokenSeed, bool verified, uint256 ops) external {
        if (tokens.length == 0) return;
        uint256 id = tokens[tokenSeed % tokens.length];
        address owner = nft.ownerOf(id);
        (,, uint256 locked) = nft.marketState(id);
        if (locked > block.timestamp) return;
        uint256 ownerPk;
        for (uint256 i; i < 3; ++i) {
            if (vm.addr(pks[i]) == owner) ownerPk = pks[i];
        }
        ZooModelNFT.AIModelNFT memory m = nft.getModelMetadata(id);
        ZooModelNFT.TrainingReport memory r;
        r.tokenId = id;
        r.generation = m.generation;
        r.parentHash = m.modelHash;
        r.newHash = keccak256(abi.encode(id, ++nonce));
        r.datasetRoot = keccak256(abi.encode("data", nonce % 7)); // repeats: anti-gaming path
        r.evalSet = evalSet;
        r.opsCount = bound(ops, 0, 5_000);
        r.performance = ops % 10_001;
        r.quality = ops % 201;
        r.taskIds = tasks;
        r.taskScores = new uint256[](1);
        r.deadline = block.timestamp + 1;
        uint256 signerPk = verified ? verifierPk : ownerPk;
        (uint8 v, bytes32 rr, bytes32 s) = vm.sign(signerPk, reportDigest(address(nft), r));
        vm.prank(owner);
        nft.updateModel(id, r.newHash, abi.encode(r, abi.encodePacked(rr, s, v)));
        ghostHead[id] = keccak256(abi.encode(ghostHead[id], r.datasetRoot, r.opsCount, r.newHash, vm.addr(signerPk)));
    }

    function transfer(uint256 tokenSeed, uint256 to) external {
        if (tokens.length == 0) return;
        uint256 id = tokens[tokenSeed % tokens.length];
        address owner = nft.ownerOf(id);
        (,, uint256 locked) = nft.marketState(id);
        if (locked > block.timestamp) return;
        vm.prank(owner);
        nft.transferFrom(owner, actor(to), id);
    }

    function lesseeTriesTransfer(uint256 tokenSeed) external {
        if (tokens.length == 0) return;
        uint256 id = tokens[tokenSeed % tokens.length];
        address user = nft.userOf(id);
        if (user == address(0) || user == nft.ownerOf(id)) return;
        address owner = nft.ownerOf(id);
        vm.prank(user);
        try nft.transferFrom(owner, user, id) {
            lesseeTransferred = true;
        } catch {}
    }

    function listAndBuy(uint256 tokenSeed, uint256 buyer, uint256 price, bool lease) external {
        if (tokens.length == 0) return;
        uint256 id = tokens[tokenSeed % tokens.length];
        address owner = nft.ownerOf(id);
        address b = actor(buyer);
        (,, uint256 locked) = nft.marketState(id);
        if (b == owner || locked > block.timestamp) return;
        price = bound(price, 1, 10 ether);
        vm.prank(owner);
        market.list(id, price, 1, 30 days, keccak256("key"));
        vm.prank(b);
        uint256 orderId = lease ? market.leaseModel{value: 1 days}(id, 1 days) : market.buyModel{value: price}(id);
        openOrders.push(orderId);
    }

    function progress(uint256 orderSeed, uint8 action) external {
        if (openOrders.length == 0) return;
        uint256 idx = orderSeed % openOrders.length;
        uint256 orderId = openOrders[idx];
        (, Marketplace.OrderStatus st,, address seller, address buyer,,,,,,,) = market.orders(orderId);
        action = action % 4;
        if (st == Marketplace.OrderStatus.Pending && action == 0) {
            vm.prank(seller);
            try market.deliverKey(orderId, "env") {} catch {}
        } else if (st == Marketplace.OrderStatus.Pending) {
            vm.prank(buyer);
            try market.refund(orderId) {} catch {}
        } else if (st == Marketplace.OrderStatus.Delivered && action == 1) {
            vm.prank(buyer);
            market.confirmDelivery(orderId);
        } else if (st == Marketplace.OrderStatus.Delivered && action == 2) {
            vm.prank(buyer);
            try market.dispute(orderId) {} catch {}
        } else if (st == Marketplace.OrderStatus.Delivered) {
            try market.finalize(orderId) {} catch {}
        } else if (st == Marketplace.OrderStatus.Disputed) {
            vm.prank(vm.addr(verifierPk));
            market.resolveDispute(orderId, action % 2 == 0);
        } else {
            openOrders[idx] = openOrders[openOrders.length - 1];
            openOrders.pop();
        }
    }

    function withdraw(uint256 who) external {
        address a = actor(who);
        if (market.balances(a) == 0) return;
        vm.prank(a);
        market.withdraw();
    }

    function claim(uint256 tokenSeed) external {
        if (tokens.length == 0) return;
        uint256 id = tokens[tokenSeed % tokens.length];
        if (rewards.modelRewards(id) == 0) return;
        (,, uint256 locked) = nft.marketState(id);
        if (locked > block.timestamp) return; // no claims while a sale/lease holds the token
        address owner = nft.ownerOf(id);
        vm.prank(owner);
        rewards.claimRewards(id);
    }

    function warp(uint256 secs) external {
        vm.warp(block.timestamp + bound(secs, 1, 3 days));
    }
}

contract InvariantsTest is ZooTest {
    Handler internal handler;

    function setUp() public override {
        super.setUp();
        // A small pool so that solvency limits are actually reached.
        rewards = new TrainingRewards(nft_(), 0.01 ether, DAY);
        nft.proposeModule(1, address(rewards)); // no instant re-pointing, even before any token
        vm.warp(block.timestamp + nft.MODULE_DELAY());
        nft.executeModule(1);
        rewards.fund{value: 0.02 ether}();
        handler = new Handler(nft, market, rewards, VERIFIER_PK, EVAL_SET);
    }

    function nft_() internal view returns (ZooModelNFT_) {
        return ZooModelNFT_(address(nft));
    }

    function targetContracts() public view returns (address[] memory t) {
        t = new address[](1);
        t[0] = address(handler);
    }

    function invariant_rewardPoolSolvent() public view {
        assertLe(rewards.totalOwed(), address(rewards).balance, "credited <= balance");
    }

    function invariant_escrowConserved() public view {
        assertEq(
            market.totalHeld() + market.totalCredited() + market.totalRefunded(), market.totalReceived(), "escrow"
        );
        assertEq(address(market).balance, market.totalReceived() - market.totalWithdrawn(), "balance");
    }

    function invariant_lesseeNeverTransfers() public view {
        assertTrue(!handler.lesseeTransferred(), "lessee transferred");
    }

    function invariant_ledgerHeadIsHashChain() public view {
        for (uint256 i; i < handler.tokenCount(); ++i) {
            uint256 id = handler.tokens(i);
            (bytes32 head,) = nft.ledgerOf(id);
            assertEq(head, handler.ghostHead(id), "ledger head");
        }
    }

    function invariant_ownershipUnique() public view {
        uint256 n = nft.totalMinted();
        uint256 balances;
        for (uint256 a; a < 3; ++a) {
            balances += nft.balanceOf(handler.actor(a));
        }
        assertEq(balances, n, "every token has exactly one owner among the actors");
        for (uint256 id = 1; id <= n; ++id) {
            address o = nft.ownerOf(id);
            assertTrue(o == handler.actor(0) || o == handler.actor(1) || o == handler.actor(2), "owner is an actor");
        }
    }
}

import {IZooModelNFTCore as ZooModelNFT_} from "../src/interfaces/IZooModules.sol";
