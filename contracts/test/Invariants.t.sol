// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Assertions, ZooTest, reportDigest} from "./utils/ZooTest.sol";
import {ZooModelNFT} from "../src/ZooModelNFT.sol";
import {Marketplace} from "../src/Marketplace.sol";
import {TrainingRewards} from "../src/TrainingRewards.sol";

/// @notice Drives the suite with several actors: mints, self-attested and verified updates,
/// forks and merges, transfers, sales, leases, deliveries, confirmations, refunds, disputes,
/// claims, time, and an admin (this handler) that re-points the marketplace through the
/// timelock — to spare marketplaces or to itself — and then tries to move tokens.
contract Handler is Assertions {
    ZooModelNFT internal nft;
    Marketplace internal market; // the marketplace new orders go to (the current one)
    Marketplace[] internal markets; // the deployment's and the spare ones
    TrainingRewards internal rewards;
    uint256[3] internal pks = [uint256(0xA11CE), 0xB0B, 0xCA201];
    uint256 internal verifierPk;
    bytes32 internal evalSet;
    bytes32[] internal tasks;

    uint256[] public tokens;
    mapping(uint256 => bytes32) public ghostHead;
    uint256[] public openOrders;
    mapping(uint256 orderId => Marketplace) internal orderMarket;
    uint256 internal nextKey = 1; // handler-wide order key (order ids repeat across marketplaces)
    mapping(uint256 key => uint256) internal orderIdOf;
    bool public lesseeTransferred;
    bool public inheritedTrust; // a fork with a new hash came out verified / with a score
    bool public earlyExecution; // a module change took effect before its delay
    bool public stolen; // the admin moved or locked a token through a re-pointed marketplace
    bool public unwindFailed; // an old marketplace could not refund its own stale order
    uint256 public repoints;
    uint256 internal proposedEta;
    address internal proposed;
    uint256 internal nonce;

    constructor(
        ZooModelNFT nft_,
        Marketplace[] memory markets_,
        TrainingRewards rewards_,
        uint256 verifierPk_,
        bytes32 evalSet_
    ) {
        nft = nft_;
        market = markets_[0];
        for (uint256 i; i < markets_.length; ++i) {
            markets.push(markets_[i]);
        }
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

    function fork(uint256 tokenSeed, bool newHash) external {
        if (tokens.length == 0 || tokens.length >= 16) return;
        uint256 id = tokens[tokenSeed % tokens.length];
        address owner = nft.ownerOf(id);
        vm.prank(owner);
        uint256 child = newHash ? nft.forkModelWithHash(id, keccak256(abi.encode("fork", ++nonce))) : nft.forkModel(id);
        tokens.push(child);
        ghostHead[child] = ghostHead[id];
        ZooModelNFT.AIModelNFT memory m = nft.getModelMetadata(child);
        if (newHash && (m.verified || m.performance != 0)) inheritedTrust = true;
    }

    function merge(uint256 a, uint256 b) external {
        if (tokens.length < 2 || tokens.length >= 16) return;
        uint256 x = tokens[a % tokens.length];
        uint256 y = tokens[b % tokens.length];
        address owner = nft.ownerOf(x);
        if (x == y || nft.ownerOf(y) != owner) return;
        uint256[] memory ids = new uint256[](2);
        ids[0] = x;
        ids[1] = y;
        vm.prank(owner);
        uint256 merged = nft.mergeModels(ids);
        tokens.push(merged);
        bytes32[] memory heads = new bytes32[](2);
        heads[0] = ghostHead[x];
        heads[1] = ghostHead[y];
        ghostHead[merged] = keccak256(abi.encode(heads));
        if (nft.getModelMetadata(merged).verified) inheritedTrust = true;
    }

    /// The admin (this handler) proposes a marketplace: a spare one, or itself.
    function proposeMarket(uint256 which) external {
        address m = which % 3 == 0 ? address(this) : address(markets[which % markets.length]);
        nft.proposeModule(0, m);
        proposed = m;
        proposedEta = block.timestamp + nft.MODULE_DELAY();
    }

    function executeMarket() external {
        if (proposedEta == 0) return;
        bool early = block.timestamp < proposedEta;
        try nft.executeModule(0) {
            if (early) earlyExecution = true;
            ++repoints;
            if (proposed != address(this)) market = Marketplace(proposed);
            proposedEta = 0;
        } catch {}
    }

    function accept(uint256 who) external {
        vm.prank(actor(who));
        nft.acceptMarketplace();
    }

    /// The admin, once it made itself the marketplace, tries to take or freeze a token.
    function adminSteal(uint256 tokenSeed) external {
        if (tokens.length == 0 || nft.marketplace() != address(this)) return;
        uint256 id = tokens[tokenSeed % tokens.length];
        address owner = nft.ownerOf(id);
        // an owner who accepted this marketplace (acceptMarketplace for its epoch) trusts it;
        // every other owner's token must stay out of the admin's reach
        if (nft.marketAccepted(owner) == nft.marketEpoch()) return;
        try nft.marketTransfer(owner, address(this), id) {
            stolen = true;
        } catch {}
        (,, uint256 before) = nft.marketState(id);
        try nft.setLock(id, type(uint40).max) {
            if (before <= block.timestamp) stolen = true;
            nft.setLock(id, 0);
        } catch {}
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
        if (nft.marketplace() != address(market)) return; // the admin itself is the marketplace
        vm.prank(owner);
        market.list(id, price, Marketplace.LeaseTerms(1, 1, 30 days, 0, Marketplace.LeaseKind.Key, ""), keccak256("key"));
        // a re-pointed marketplace cannot lock tokens of owners who did not accept it
        try this.open(b, id, lease, price) returns (uint256 orderId) {
            uint256 key = nextKey++;
            orderIdOf[key] = orderId;
            orderMarket[key] = market;
            openOrders.push(key);
        } catch {
            assertTrue(nft.marketEpoch() != 0 && nft.marketAccepted(owner) != nft.marketEpoch(), "open refused");
        }
    }

    function open(address b, uint256 id, bool lease, uint256 price) external returns (uint256) {
        if (msg.sender != address(this)) revert();
        vm.prank(b);
        return lease ? market.leaseModel{value: 1 days}(id, 1 days) : market.buyModel{value: price}(id);
    }

    function progress(uint256 orderSeed, uint8 action) external {
        if (openOrders.length == 0) return;
        uint256 idx = orderSeed % openOrders.length;
        uint256 key = openOrders[idx];
        uint256 orderId = orderIdOf[key];
        Marketplace m = orderMarket[key];
        bool current = address(m) == nft.marketplace();
        (, Marketplace.OrderStatus st,, address seller, address buyer,,,, uint64 createdAt,,,) = m.orders(orderId);
        action = action % 4;
        if (st == Marketplace.OrderStatus.Pending && !current && block.timestamp > createdAt + m.deliveryTimeout()) {
            // an old marketplace must always be able to unwind its own stale order
            vm.prank(buyer);
            try m.refund(orderId) {} catch {
                unwindFailed = true;
            }
        } else if (st == Marketplace.OrderStatus.Pending && action == 0) {
            vm.prank(seller);
            try m.deliverKey(orderId, "env") {} catch {}
        } else if (st == Marketplace.OrderStatus.Pending) {
            vm.prank(buyer);
            try m.refund(orderId) {} catch {}
        } else if (st == Marketplace.OrderStatus.Delivered && action == 1) {
            vm.prank(buyer);
            try m.confirmDelivery(orderId) {} catch {
                assertTrue(!current, "the current marketplace completes");
            }
        } else if (st == Marketplace.OrderStatus.Delivered && action == 2) {
            vm.prank(buyer);
            try m.dispute(orderId) {} catch {}
        } else if (st == Marketplace.OrderStatus.Delivered) {
            try m.finalize(orderId) {} catch {}
        } else if (st == Marketplace.OrderStatus.Disputed) {
            vm.prank(vm.addr(0xA4B17E4)); // ZooTest's arbiter
            try m.resolveDispute(orderId, action % 2 == 0, "") {} catch {
                assertTrue(!current, "the current marketplace resolves");
            }
        } else {
            openOrders[idx] = openOrders[openOrders.length - 1];
            openOrders.pop();
        }
    }

    function withdraw(uint256 who, uint256 which) external {
        address a = actor(who);
        Marketplace m = markets[which % markets.length];
        if (m.balances(a) == 0) return;
        vm.prank(a);
        m.withdraw();
    }

    function marketCount() external view returns (uint256) {
        return markets.length;
    }

    function marketAt(uint256 i) external view returns (Marketplace) {
        return markets[i];
    }

    function claim(uint256 tokenSeed) external {
        if (tokens.length == 0) return;
        uint256 id = tokens[tokenSeed % tokens.length];
        if (rewards.modelRewards(id) == 0) return;
        (,, uint256 locked) = nft.marketState(id);
        if (locked >= type(uint40).max) return; // no claims while an order is pending
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
        Marketplace[] memory ms = new Marketplace[](3);
        ms[0] = market;
        ms[1] = _newMarketplace();
        ms[2] = _newMarketplace();
        handler = new Handler(nft, ms, rewards, VERIFIER_PK, EVAL_SET);
        nft.grantRole(bytes32(0), address(handler)); // the admin of the campaign
    }

    function nft_() internal view returns (ZooModelNFT_) {
        return ZooModelNFT_(address(nft));
    }

    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    function targetContracts() public view returns (address[] memory t) {
        t = new address[](1);
        t[0] = address(handler);
    }

    /// The handler's actions (not its helpers and views).
    function targetSelectors() public view returns (FuzzSelector[] memory t) {
        bytes4[] memory sel = new bytes4[](17);
        sel[0] = Handler.mint.selector;
        sel[1] = Handler.update.selector;
        sel[2] = Handler.transfer.selector;
        sel[3] = Handler.lesseeTriesTransfer.selector;
        sel[4] = Handler.listAndBuy.selector;
        sel[5] = Handler.progress.selector;
        sel[6] = Handler.withdraw.selector;
        sel[7] = Handler.claim.selector;
        sel[8] = Handler.warp.selector;
        sel[9] = Handler.fork.selector;
        sel[10] = Handler.merge.selector;
        sel[11] = Handler.proposeMarket.selector;
        sel[12] = Handler.executeMarket.selector;
        sel[13] = Handler.accept.selector;
        sel[14] = Handler.adminSteal.selector;
        sel[15] = Handler.warp.selector; // time passes often: windows and delays expire
        sel[16] = Handler.progress.selector;
        t = new FuzzSelector[](1);
        t[0] = FuzzSelector(address(handler), sel);
    }

    function invariant_rewardPoolSolvent() public view {
        assertLe(rewards.totalOwed(), address(rewards).balance, "credited <= balance");
    }

    function invariant_escrowConserved() public view {
        for (uint256 i; i < handler.marketCount(); ++i) {
            Marketplace m = handler.marketAt(i);
            assertEq(m.totalHeld() + m.totalCredited() + m.totalRefunded(), m.totalReceived(), "escrow");
            assertEq(address(m).balance, m.totalReceived() - m.totalWithdrawn(), "balance");
        }
    }

    function invariant_forksWithNewHashStartUnverified() public view {
        assertTrue(!handler.inheritedTrust(), "inherited trust");
    }

    function invariant_moduleChangesWaitTheDelay() public view {
        assertTrue(!handler.earlyExecution(), "module changed before its delay");
    }

    function invariant_adminCannotTakeTokens() public view {
        assertTrue(!handler.stolen(), "admin moved or locked a token");
    }

    function invariant_oldMarketplaceUnwinds() public view {
        assertTrue(!handler.unwindFailed(), "old marketplace could not refund");
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
