// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ZooTest} from "./utils/ZooTest.sol";
import {Vm} from "./utils/Vm.sol";
import {ZooModelNFT} from "../src/ZooModelNFT.sol";
import {EvaluationRegistry} from "../src/EvaluationRegistry.sol";
import {IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

contract ZooModelNFTTest is ZooTest {
    bytes32 internal constant H1 = keccak256("h1");
    bytes32 internal constant H2 = keccak256("h2");

    function test_mintModel_recordsMetadata() public {
        uint256 id = _mint(alice);
        assertEq(id, 1, "first id");
        ZooModelNFT.AIModelNFT memory m = nft.getModelMetadata(id);
        assertEq(m.owner, alice, "owner");
        assertEq(m.baseModel, BASE, "base");
        assertEq(m.modelHash, bytes32(0), "hash");
        assertEq(m.generation, 0, "gen");
        assertEq(m.lastUpdated, block.timestamp, "updated");
        assertEq(m.creator, alice, "creator");
        assertEq(keccak256(bytes(m.specialization)), keccak256("General"), "spec");
        assertEq(nft.totalMinted(), 1, "total");
        assertEq(m.trainingOps, 0, "ops (stage Newborn, derived off-chain)");
    }

    function test_mintModelWithHash_setsUriAndHash() public {
        uint256 id = nft.mintModelWithHash(bob, BASE, H1, "ipfs://bafymeta");
        assertEq(nft.getModelMetadata(id).modelHash, H1, "hash");
        assertEq(keccak256(bytes(nft.tokenURI(id))), keccak256("ipfs://bafymeta"), "uri");
    }

    function test_tokenURI_nonexistentReverts() public {
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 9));
        nft.tokenURI(9);
    }

    function test_setTokenURI_ownerOnly() public {
        uint256 id = _mint(alice);
        vm.prank(alice);
        nft.setTokenURI(id, "ipfs://x");
        assertEq(keccak256(bytes(nft.tokenURI(id))), keccak256("ipfs://x"), "uri");
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InsufficientApproval.selector, bob, id));
        nft.setTokenURI(id, "ipfs://y");
    }

    function test_supportsInterface() public view {
        assertTrue(nft.supportsInterface(0x80ac58cd), "721");
        assertTrue(nft.supportsInterface(0x2a55205a), "2981");
        assertTrue(nft.supportsInterface(0x49064906), "4906");
        assertTrue(nft.supportsInterface(0xad092b5c), "4907");
        assertTrue(nft.supportsInterface(0x7965db0b), "AccessControl");
        assertTrue(!nft.supportsInterface(0xffffffff), "none");
    }

    function test_digest_matchesIndependentEncoding() public {
        uint256 id = _mint(alice);
        ZooModelNFT.TrainingReport memory r = _report(id, H1, 10, 4);
        // a signature over the independently encoded digest is accepted as the owner's
        bytes memory proof = _proof(ALICE_PK, r);
        vm.prank(alice);
        nft.updateModel(id, H1, proof);
        assertEq(nft.getModelMetadata(id).generation, 1, "applied");
    }

    function test_updateModel_selfAttested() public {
        uint256 id = _mint(alice);
        ZooModelNFT.TrainingReport memory r = _report(id, H1, 150, 4);
        bytes memory proof = _proof(ALICE_PK, r);
        vm.prank(alice);
        nft.updateModel(id, H1, proof);
        ZooModelNFT.AIModelNFT memory m = nft.getModelMetadata(id);
        assertEq(m.modelHash, H1, "hash");
        assertEq(m.generation, 1, "gen");
        assertEq(m.trainingOps, 150, "ops");
        assertEq(m.performance, 7_500, "perf");
        assertTrue(!m.verified, "self-attested");
        assertEq(m.ledgerCount, 1, "ledger count");
        assertEq(m.ledgerHead, keccak256(abi.encode(bytes32(0), r.datasetRoot, uint256(150), H1, alice)), "head");
        assertEq(nft.getModelPerformance(id, "task\x00"), 0, "string task id is keccak of the name");
        assertEq(nft.getModelPerformance(id, "task\x02"), 0, "by name: keccak of the name");
        (uint256[] memory sc, bool[] memory ver) = nft.getTaskScores(id, r.taskIds);
        assertEq(sc[2], 5_002, "score");
        assertTrue(!ver[2], "self-attested task score");
        assertEq(rewards.modelRewards(id), 0, "no reward for self-attested");
    }

    function test_getModelPerformance_byName() public {
        uint256 id = _mint(alice);
        ZooModelNFT.TrainingReport memory r = _report(id, H1, 1, 1);
        r.taskIds[0] = keccak256("defi.swap");
        bytes memory proof = _proof(ALICE_PK, r);
        vm.prank(alice);
        nft.updateModel(id, H1, proof);
        assertEq(nft.getModelPerformance(id, "defi.swap"), 5_000, "by name");
    }

    function test_updateModel_verifiedCreditsReward() public {
        uint256 id = _mint(alice);
        _update(id, ALICE_PK, VERIFIER_PK, H1, 10);
        assertTrue(nft.getModelMetadata(id).verified, "verified");
        assertEq(rewards.modelRewards(id), 0.0015 ether, "0.001 * 150 / 100");
    }

    function test_updateModel_byApprovedOperator() public {
        uint256 id = _mint(alice);
        vm.prank(alice);
        nft.approve(bob, id);
        ZooModelNFT.TrainingReport memory r = _report(id, H1, 1, 0);
        bytes memory proof = _proof(ALICE_PK, r);
        vm.prank(bob);
        nft.updateModel(id, H1, proof);
        assertEq(nft.getModelMetadata(id).generation, 1, "gen");
    }

    function test_ledgerHead_isHashChain() public {
        uint256 id = _mint(alice);
        bytes32 head;
        for (uint256 i; i < 3; ++i) {
            bytes32 h = keccak256(abi.encode("v", i));
            ZooModelNFT.TrainingReport memory r = _report(id, h, i + 1, 2);
            uint256 pk = i == 1 ? VERIFIER_PK : ALICE_PK;
            bytes memory proof = _proof(pk, r);
            vm.prank(alice);
            nft.updateModel(id, h, proof);
            head = keccak256(abi.encode(head, r.datasetRoot, i + 1, h, vm.addr(pk)));
        }
        (bytes32 onchain, uint256 count) = nft.ledgerOf(id);
        assertEq(onchain, head, "head");
        assertEq(count, 3, "count");
    }

    // ------------------------------------------------------------ updateModel reverts

    function test_updateModel_revertsForStranger() public {
        uint256 id = _mint(alice);
        bytes memory proof = _proof(ALICE_PK, _report(id, H1, 1, 0));
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InsufficientApproval.selector, bob, id));
        nft.updateModel(id, H1, proof);
    }

    function test_updateModel_revertsOnReplay() public {
        uint256 id = _mint(alice);
        bytes memory proof = _proof(ALICE_PK, _report(id, H1, 1, 0));
        vm.startPrank(alice);
        nft.updateModel(id, H1, proof);
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelReportReplayed.selector, id, 0));
        nft.updateModel(id, H1, proof);
        vm.stopPrank();
    }

    function test_updateModel_revertsOnStaleGeneration() public {
        uint256 id = _mint(alice);
        ZooModelNFT.TrainingReport memory r = _report(id, H1, 1, 0);
        r.generation = 5;
        bytes memory proof = _proof(ALICE_PK, r);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelStaleGeneration.selector, id, 0, 5));
        nft.updateModel(id, H1, proof);
    }

    function test_updateModel_revertsWhenExpired() public {
        uint256 id = _mint(alice);
        ZooModelNFT.TrainingReport memory r = _report(id, H1, 1, 0);
        bytes memory proof = _proof(ALICE_PK, r);
        vm.warp(r.deadline + 1);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelReportExpired.selector, r.deadline, r.deadline + 1));
        nft.updateModel(id, H1, proof);
    }

    function test_updateModel_revertsOnWrongToken() public {
        uint256 id = _mint(alice);
        uint256 other = _mint(alice);
        bytes memory proof = _proof(ALICE_PK, _report(other, H1, 1, 0));
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelWrongToken.selector, id, other));
        nft.updateModel(id, H1, proof);
    }

    function test_updateModel_revertsOnParentHashMismatch() public {
        uint256 id = _mint(alice);
        ZooModelNFT.TrainingReport memory r = _report(id, H1, 1, 0);
        r.parentHash = H2;
        bytes memory proof = _proof(ALICE_PK, r);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelParentHashMismatch.selector, bytes32(0), H2));
        nft.updateModel(id, H1, proof);
    }

    function test_updateModel_revertsOnNewHashMismatch() public {
        uint256 id = _mint(alice);
        bytes memory proof = _proof(ALICE_PK, _report(id, H1, 1, 0));
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelNewHashMismatch.selector, H2, H1));
        nft.updateModel(id, H2, proof);
    }

    function test_updateModel_revertsOnZeroHash() public {
        uint256 id = _mint(alice);
        bytes memory proof = _proof(ALICE_PK, _report(id, bytes32(0), 1, 0));
        vm.prank(alice);
        vm.expectRevert(ZooModelNFT.ZooModelZeroHash.selector);
        nft.updateModel(id, bytes32(0), proof);
    }

    function test_updateModel_revertsOnUnauthorizedSigner() public {
        uint256 id = _mint(alice);
        bytes memory proof = _proof(BOB_PK, _report(id, H1, 1, 0));
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelUnauthorizedSigner.selector, bob));
        nft.updateModel(id, H1, proof);
    }

    function test_updateModel_revertsOnBadSignature() public {
        uint256 id = _mint(alice);
        bytes memory proof = abi.encode(_report(id, H1, 1, 0), new bytes(64));
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ECDSA.ECDSAInvalidSignatureLength.selector, 64));
        nft.updateModel(id, H1, proof);
    }

    function test_updateModel_revertsOnOutOfRangeValues() public {
        uint256 id = _mint(alice);
        ZooModelNFT.TrainingReport memory r = _report(id, H1, 1, 1);
        r.performance = 10_001;
        bytes memory proof = _proof(ALICE_PK, r);
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelValueOutOfRange.selector, 10_001, 10_000));
        nft.updateModel(id, H1, proof);
        r.performance = 1;
        r.quality = 201;
        proof = _proof(ALICE_PK, r);
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelValueOutOfRange.selector, 201, 200));
        nft.updateModel(id, H1, proof);
        r.quality = 1;
        r.taskScores[0] = 10_001;
        proof = _proof(ALICE_PK, r);
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelValueOutOfRange.selector, 10_001, 10_000));
        nft.updateModel(id, H1, proof);
        r.taskScores[0] = 1;
        r.opsCount = uint256(type(uint32).max) + 1;
        proof = _proof(ALICE_PK, r);
        vm.expectRevert(
            abi.encodeWithSelector(ZooModelNFT.ZooModelValueOutOfRange.selector, r.opsCount, type(uint32).max)
        );
        nft.updateModel(id, H1, proof);
        vm.stopPrank();
    }

    function test_updateModel_revertsOnBadTaskList() public {
        uint256 id = _mint(alice);
        ZooModelNFT.TrainingReport memory r = _report(id, H1, 1, 2);
        r.taskScores = new uint256[](1);
        bytes memory proof = _proof(ALICE_PK, r);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelBadTaskList.selector, 2, 1));
        nft.updateModel(id, H1, proof);
    }

    function test_updateModel_verifiedNeedsRegisteredEvalSet() public {
        uint256 id = _mint(alice);
        ZooModelNFT.TrainingReport memory r = _report(id, H1, 1, 1);
        r.evalSet = keccak256("owner-chosen");
        bytes memory proof = _proof(VERIFIER_PK, r);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(EvaluationRegistry.EvaluationSetUnknown.selector, r.evalSet));
        nft.updateModel(id, H1, proof);
        r.evalSet = EVAL_SET;
        r.taskIds[0] = keccak256("uncovered");
        proof = _proof(VERIFIER_PK, r);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(EvaluationRegistry.EvaluationTaskNotCovered.selector, EVAL_SET, r.taskIds[0])
        );
        nft.updateModel(id, H1, proof);
    }

    function test_updateModel_revertsWhileLocked() public {
        uint256 id = _mint(alice);
        vm.prank(address(market));
        nft.setLock(id, uint64(block.timestamp + 10));
        bytes memory proof = _proof(ALICE_PK, _report(id, H1, 1, 0));
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelLocked.selector, id, block.timestamp + 10));
        nft.updateModel(id, H1, proof);
    }

    // ------------------------------------------------------------ fork / merge

    function test_forkModel_copiesLineage() public {
        uint256 id = _mint(alice);
        _update(id, ALICE_PK, ALICE_PK, H1, 500);
        vm.prank(alice);
        uint256 child = nft.forkModel(id);
        ZooModelNFT.AIModelNFT memory m = nft.getModelMetadata(child);
        assertEq(m.modelHash, H1, "parent hash");
        assertEq(m.parents.length, 1, "one parent");
        assertEq(m.parents[0], id, "parent");
        assertEq(m.generation, 1, "generation carried");
        assertEq(m.trainingOps, 500, "ops carried");
        assertEq(m.ledgerHead, nft.getModelMetadata(id).ledgerHead, "ledger continues");
        assertEq(m.ledgerCount, 0, "own entries");
    }

    function test_forkModelWithHash() public {
        uint256 id = _mint(alice);
        vm.startPrank(alice);
        uint256 child = nft.forkModelWithHash(id, H2);
        assertEq(nft.getModelMetadata(child).modelHash, H2, "rekeyed");
        uint256 same = nft.forkModelWithHash(id, nft.modelHashOf(id) == bytes32(0) ? H2 : nft.modelHashOf(id));
        assertEq(nft.modelHashOf(same), H2, "modelHashOf");
        vm.expectRevert(ZooModelNFT.ZooModelZeroHash.selector);
        nft.forkModelWithHash(id, bytes32(0));
        vm.stopPrank();
    }

    function test_forkModel_ownerOnly() public {
        uint256 id = _mint(alice);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelNotOwner.selector, id, bob));
        nft.forkModel(id);
    }

    function test_mergeModels() public {
        uint256 a = _mint(alice);
        uint256 b = _mint(alice);
        _update(a, ALICE_PK, ALICE_PK, H1, 100);
        _update(b, ALICE_PK, ALICE_PK, H2, 50);
        _update(b, ALICE_PK, ALICE_PK, H1, 50);
        vm.prank(alice);
        uint256 m = nft.mergeModels(_ids(a, b));
        ZooModelNFT.AIModelNFT memory md = nft.getModelMetadata(m);
        assertEq(md.parents.length, 2, "parents");
        assertEq(md.generation, 3, "max gen + 1");
        assertEq(md.trainingOps, 200, "ops summed");
        assertEq(md.modelHash, bytes32(0), "no hash yet");
        bytes32[] memory heads = new bytes32[](2);
        heads[0] = nft.getModelMetadata(a).ledgerHead;
        heads[1] = nft.getModelMetadata(b).ledgerHead;
        assertEq(md.ledgerHead, keccak256(abi.encode(heads)), "merge head");
    }

    function test_mergeModelsWithHash() public {
        uint256 a = _mint(alice);
        uint256 b = _mint(alice);
        vm.startPrank(alice);
        uint256 m = nft.mergeModelsWithHash(_ids(a, b), H1, keccak256("other-base"));
        assertEq(nft.getModelMetadata(m).modelHash, H1, "hash");
        assertEq(nft.getModelMetadata(m).baseModel, keccak256("other-base"), "base");
        vm.expectRevert(ZooModelNFT.ZooModelZeroHash.selector);
        nft.mergeModelsWithHash(_ids(a, b), bytes32(0), BASE);
        vm.stopPrank();
    }

    function test_mergeModels_reverts() public {
        uint256 a = _mint(alice);
        uint256 b = _mint(bob);
        uint256[] memory one = new uint256[](1);
        one[0] = a;
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelParentCount.selector, 1));
        nft.mergeModels(one);
        uint256[] memory nine = new uint256[](9);
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelParentCount.selector, 9));
        nft.mergeModels(nine);
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelDuplicateParent.selector, a));
        nft.mergeModels(_ids(a, a));
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelNotOwner.selector, b, alice));
        nft.mergeModels(_ids(a, b));
        vm.stopPrank();
    }

    // ------------------------------------------------------------ royalties

    function test_royalties_goToDirectParentsCreators() public {
        uint256 a = _mint(alice);
        uint256 b = _mint(alice);
        vm.prank(alice);
        nft.transferFrom(alice, bob, b);
        vm.prank(bob);
        uint256 bFork = nft.forkModel(b); // creator bob
        vm.prank(alice);
        nft.transferFrom(alice, bob, a);
        vm.prank(bob);
        uint256 m = nft.mergeModels(_ids(a, bFork));
        (address[] memory to, uint256[] memory amounts) = nft.royaltySplits(m, 1 ether);
        assertEq(to[0], alice, "creator of a");
        assertEq(to[1], bob, "creator of the fork");
        assertEq(amounts[0] + amounts[1], 0.05 ether, "5% total");
        (address r, uint256 amt) = nft.royaltyInfo(m, 1 ether);
        assertEq(r, alice, "2981 receiver");
        assertEq(amt, 0.05 ether, "2981 amount");
        (r, amt) = nft.royaltyInfo(a, 1 ether);
        assertEq(amt, 0, "no parents, no royalty");
    }

    function test_constructor_rejectsRoyaltyAbove100Percent() public {
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelValueOutOfRange.selector, 10_001, 10_000));
        new ZooModelNFT(address(this), 10_001);
    }

    // ------------------------------------------------------------ ERC-4907

    function test_setUser_andClearedOnTransfer() public {
        uint256 id = _mint(alice);
        vm.prank(alice);
        nft.setUser(id, bob, uint64(block.timestamp + 100));
        assertEq(nft.userOf(id), bob, "user");
        assertEq(nft.userExpires(id), block.timestamp + 100, "expires");
        vm.warp(block.timestamp + 101);
        assertEq(nft.userOf(id), address(0), "expired");
        vm.prank(alice);
        nft.setUser(id, bob, uint64(block.timestamp + 100));
        vm.prank(alice);
        nft.transferFrom(alice, carol, id);
        assertEq(nft.userOf(id), address(0), "cleared on transfer");
        assertEq(nft.userExpires(id), 0, "expiry cleared");
    }

    function test_setUser_reverts() public {
        uint256 id = _mint(alice);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InsufficientApproval.selector, bob, id));
        nft.setUser(id, bob, 1);
        vm.prank(address(market));
        nft.setLock(id, type(uint40).max); // the held-order sentinel (setLock no longer truncates)
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelLocked.selector, id, uint256(type(uint40).max)));
        nft.setUser(id, bob, 1);
    }

    function test_transfer_revertsWhileLocked() public {
        uint256 id = _mint(alice);
        vm.prank(address(market));
        nft.setLock(id, uint64(block.timestamp + 5));
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelLocked.selector, id, block.timestamp + 5));
        nft.transferFrom(alice, bob, id);
        vm.warp(block.timestamp + 5);
        vm.prank(alice);
        nft.transferFrom(alice, bob, id);
        assertEq(nft.ownerOf(id), bob, "moved after expiry");
    }

    // ------------------------------------------------------------ admin and hooks

    function test_setModules_adminOnly() public {
        vm.prank(bob);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, bob, bytes32(0))
        );
        nft.setModules(address(1), address(2), address(3), address(4));
        // wired once at deployment: the admin cannot re-point instantly
        vm.expectRevert(ZooModelNFT.ZooModelModulesWired.selector);
        nft.setModules(address(1), address(2), address(3), address(4));
    }

    function test_hooks_onlyModules() public {
        uint256 id = _mint(alice);
        vm.startPrank(bob);
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelOnlyModule.selector, bob));
        nft.setLock(id, 1);
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelOnlyModule.selector, bob));
        nft.marketTransfer(alice, bob, id);
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelOnlyModule.selector, bob));
        nft.marketSetUser(id, bob, 1);
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelOnlyModule.selector, bob));
        nft.setSpecialization(id, 1);
        vm.stopPrank();
        vm.prank(address(specs));
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelBadSpecialization.selector, 9));
        nft.setSpecialization(id, 9);
    }

    function test_seedMonetization_needsMarketplace() public {
        ZooModelNFT bare = new ZooModelNFT(address(this), 0);
        uint256 id = bare.mintModel(alice, BASE);
        vm.expectRevert(ZooModelNFT.ZooModelNoMarketplace.selector);
        bare.leaseModel(id, bob, 10);
        vm.expectRevert(ZooModelNFT.ZooModelNoMarketplace.selector);
        bare.sellTrainingData(id, bob);
    }

    function test_specializationName_all() public view {
        assertEq(keccak256(bytes(nft.specializationName(1))), keccak256("DeFi_Yield_Optimizer"), "1");
        assertEq(keccak256(bytes(nft.specializationName(8))), keccak256("DAO_Governance_Analyst"), "8");
        assertEq(keccak256(bytes(nft.specializationName(4))), keccak256("NFT_Trend_Predictor"), "4");
    }

    function test_views_revertForNonexistentToken() public {
        bytes memory err = abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 42);
        vm.expectRevert(err);
        nft.getModelMetadata(42);
        vm.expectRevert(err);
        nft.getModelPerformance(42, "x");
        vm.expectRevert(err);
        nft.parentsOf(42);
        vm.expectRevert(err);
        nft.marketState(42);
    }

    // ------------------------------------------------------------ domain labels

    bytes32 internal constant DOMAIN_SET_SIG = keccak256("DomainSet(uint256,uint8)");
    bytes32 internal constant METADATA_UPDATE_SIG = keccak256("MetadataUpdate(uint256)");

    function _eq(string memory a, string memory b) internal pure returns (bool) {
        return keccak256(bytes(a)) == keccak256(bytes(b));
    }

    function test_domainName_all() public {
        string[6] memory want = ["General", "DeFi", "Gaming", "NFT", "Social", "DAO"];
        for (uint8 d; d < 6; ++d) {
            assertTrue(_eq(nft.domainName(d), want[d]), want[d]);
        }
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelBadDomain.selector, uint8(6)));
        nft.domainName(6);
    }

    function test_mint_defaultsToGeneralDomain() public {
        uint256 a = _mint(alice);
        uint256 b = nft.mintModelWithHash(alice, BASE, H1, "");
        for (uint256 id = a; id <= b; ++id) {
            ZooModelNFT.AIModelNFT memory m = nft.getModelMetadata(id);
            assertEq(m.domain, 0, "domain");
            assertTrue(_eq(m.specialization, "General"), "label");
            assertTrue(_eq(m.earnedSpecialization, "General"), "earned");
        }
    }

    function test_mintModelWithDomain() public {
        vm.recordLogs();
        uint256 id = nft.mintModelWithDomain(bob, BASE, H1, "ipfs://bafymeta", 2);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bool seen;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] == DOMAIN_SET_SIG) {
                seen = true;
                assertEq(uint256(logs[i].topics[1]), id, "indexed id");
                assertEq(abi.decode(logs[i].data, (uint256)), 2, "domain in event");
            }
        }
        assertTrue(seen, "DomainSet emitted");
        ZooModelNFT.AIModelNFT memory m = nft.getModelMetadata(id);
        assertEq(m.owner, bob, "owner");
        assertEq(m.modelHash, H1, "hash");
        assertEq(m.creator, bob, "creator");
        assertEq(m.domain, 2, "domain");
        assertTrue(_eq(m.specialization, "Gaming"), "label");
        assertTrue(_eq(m.earnedSpecialization, "General"), "nothing earned");
        assertTrue(_eq(m.metadataURI, "ipfs://bafymeta"), "uri");
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelBadDomain.selector, uint8(6)));
        nft.mintModelWithDomain(bob, BASE, H1, "", 6);
        assertEq(nft.totalMinted(), 1, "nothing minted on revert");
    }

    function test_setDomain_ownerOrApproved() public {
        uint256 id = _mint(alice);
        vm.recordLogs();
        vm.prank(alice);
        nft.setDomain(id, 1);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 2, "two events");
        assertEq(logs[0].topics[0], DOMAIN_SET_SIG, "DomainSet");
        assertEq(logs[1].topics[0], METADATA_UPDATE_SIG, "MetadataUpdate");
        assertEq(abi.decode(logs[1].data, (uint256)), id, "4906 id");
        ZooModelNFT.AIModelNFT memory m = nft.getModelMetadata(id);
        assertTrue(_eq(m.specialization, "DeFi"), "label");
        assertEq(m.domain, 1, "domain");
        // approved operator
        vm.prank(alice);
        nft.approve(bob, id);
        vm.prank(bob);
        nft.setDomain(id, 5);
        assertTrue(_eq(nft.getModelMetadata(id).specialization, "DAO"), "approved sets");
        // stranger, then out of range
        vm.prank(carol);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InsufficientApproval.selector, carol, id));
        nft.setDomain(id, 3);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelBadDomain.selector, uint8(6)));
        nft.setDomain(id, 6);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 42));
        nft.setDomain(42, 1);
    }

    function test_setDomain_allowedWhileLocked_keepsHotFields() public {
        uint256 id = _mint(alice);
        _update(id, ALICE_PK, ALICE_PK, H1, 1_234);
        vm.prank(address(market));
        nft.setLock(id, uint64(block.timestamp + 10));
        ZooModelNFT.AIModelNFT memory before = nft.getModelMetadata(id);
        vm.prank(alice);
        nft.setDomain(id, 4);
        ZooModelNFT.AIModelNFT memory m = nft.getModelMetadata(id);
        assertTrue(_eq(m.specialization, "Social"), "label");
        assertEq(m.generation, before.generation, "gen");
        assertEq(m.trainingOps, before.trainingOps, "ops");
        assertEq(m.performance, before.performance, "perf");
        assertEq(m.lastUpdated, before.lastUpdated, "updated");
        assertEq(m.ledgerCount, before.ledgerCount, "ledger");
        (,, uint256 locked) = nft.marketState(id);
        assertEq(locked, block.timestamp + 10, "lock kept");
    }

    function test_domain_separateFromEarnedSpecialization() public {
        uint256 id = nft.mintModelWithDomain(alice, BASE, H1, "", 1);
        vm.prank(address(specs));
        nft.setSpecialization(id, 2);
        ZooModelNFT.AIModelNFT memory m = nft.getModelMetadata(id);
        assertTrue(_eq(m.specialization, "DeFi"), "label");
        assertTrue(_eq(m.earnedSpecialization, "DeFi_Arbitrage_Bot"), "earned");
        vm.prank(alice);
        nft.setDomain(id, 0);
        m = nft.getModelMetadata(id);
        assertTrue(_eq(m.specialization, "General"), "label reset");
        assertTrue(_eq(m.earnedSpecialization, "DeFi_Arbitrage_Bot"), "earned kept");
    }

    function test_fork_copiesDomain_merge_takesFirstParents() public {
        uint256 a = nft.mintModelWithDomain(alice, BASE, H1, "", 3);
        uint256 b = nft.mintModelWithDomain(alice, BASE, H2, "", 5);
        vm.prank(address(specs));
        nft.setSpecialization(a, 4);
        vm.startPrank(alice);
        uint256 f = nft.forkModel(a);
        uint256 fh = nft.forkModelWithHash(b, keccak256("k"));
        uint256 m1 = nft.mergeModels(_ids(b, a));
        uint256 m2 = nft.mergeModelsWithHash(_ids(a, b), H1, BASE);
        vm.stopPrank();
        assertEq(nft.getModelMetadata(f).domain, 3, "fork");
        assertTrue(_eq(nft.getModelMetadata(f).earnedSpecialization, "NFT_Trend_Predictor"), "fork earned");
        assertEq(nft.getModelMetadata(fh).domain, 5, "fork with hash");
        assertEq(nft.getModelMetadata(m1).domain, 5, "merge: first parent");
        assertTrue(_eq(nft.getModelMetadata(m1).specialization, "DAO"), "merge label");
        assertEq(nft.getModelMetadata(m2).domain, 3, "merge with hash: first parent");
    }

    // ------------------------------------------------------------ batch reads

    function test_getListRows_pages() public {
        for (uint256 i; i < 5; ++i) {
            nft.mintModelWithDomain(i % 2 == 0 ? alice : bob, BASE, keccak256(abi.encode(i)), "", uint8(i));
        }
        (address[] memory owners,,) = nft.getListRows(2, 3);
        assertEq(owners.length, 3, "len");
        for (uint256 i; i < 3; ++i) {
            assertEq(owners[i], nft.ownerOf(2 + i), "owner");
        }
        (owners,,) = nft.getListRows(1, 100);
        assertEq(owners.length, 5, "clipped at totalMinted");
        (owners,,) = nft.getListRows(3, 0);
        assertEq(owners.length, 0, "count 0");
        (owners,,) = nft.getListRows(0, 3);
        assertEq(owners.length, 2, "[0,3) has ids 1 and 2");
        (owners,,) = nft.getListRows(type(uint256).max, type(uint256).max);
        assertEq(owners.length, 0, "huge from");
    }

    function test_getListRows_matchRecords() public {
        for (uint256 i; i < 5; ++i) {
            nft.mintModelWithDomain(i % 2 == 0 ? alice : bob, BASE, keccak256(abi.encode(i)), "ipfs://x", uint8(i));
        }
        (address[] memory owners, uint256[] memory packed, string[] memory uris) = nft.getListRows(0, 100);
        assertEq(owners.length, 5, "len");
        for (uint256 i; i < 5; ++i) {
            ZooModelNFT.AIModelNFT memory one = nft.getModelMetadata(1 + i);
            assertEq(owners[i], one.owner, "owner");
            assertEq(packed[i] & type(uint64).max, one.generation, "generation");
            assertEq((packed[i] >> 64) & type(uint64).max, one.trainingOps, "ops");
            assertEq((packed[i] >> 128) & type(uint64).max, one.performance, "performance");
            assertEq(uint8(packed[i] >> 192), one.domain, "domain");
            assertTrue(_eq(nft.specializationName(uint8(packed[i] >> 200)), one.earnedSpecialization), "earned");
            assertTrue(_eq(uris[i], one.metadataURI), "uri");
        }
        (owners,,) = nft.getListRows(4, 100);
        assertEq(owners.length, 2, "tail");
        (owners,,) = nft.getListRows(6, 10);
        assertEq(owners.length, 0, "past the end");
        (owners,,) = nft.getListRows(0, 0);
        assertEq(owners.length, 0, "id 0, count 0");
        (owners,,) = nft.getListRows(2, type(uint256).max);
        assertEq(owners.length, 4, "no overflow");
    }

    function test_getListRows_empty() public view {
        (address[] memory owners,,) = nft.getListRows(1, 200);
        assertEq(owners.length, 0, "none minted");
    }

    function test_getListRows_200_oneCall() public {
        for (uint256 i; i < 200; ++i) {
            nft.mintModelWithHash(alice, BASE, keccak256(abi.encode(i)), "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi");
        }
        uint256 g0 = gasleft();
        (address[] memory owners,,) = nft.getListRows(1, 200);
        uint256 used = g0 - gasleft();
        assertEq(owners.length, 200, "all");
        assertLe(used, 30_000_000, "fits an eth_call gas cap");
    }

    function test_getTaskScores() public {
        uint256 id = _mint(alice);
        ZooModelNFT.TrainingReport memory r = _report(id, H1, 10, 3);
        bytes memory proof = _proof(ALICE_PK, r);
        vm.prank(alice);
        nft.updateModel(id, H1, proof);
        bytes32[] memory q = new bytes32[](4);
        q[0] = r.taskIds[2];
        q[1] = keccak256("unknown");
        q[2] = r.taskIds[0];
        q[3] = r.taskIds[2];
        (uint256[] memory s, bool[] memory v) = nft.getTaskScores(id, q);
        assertEq(s.length, 4, "len");
        assertEq(v.length, 4, "len flags");
        assertEq(s[0], 5_002, "t2");
        assertEq(s[1], 0, "unknown");
        assertEq(s[2], 5_000, "t0");
        assertEq(s[3], s[0], "same task twice");
        assertTrue(!v[0] && !v[1] && !v[2], "self-attested");
        (s,) = nft.getTaskScores(id, new bytes32[](0));
        assertEq(s.length, 0, "empty");
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 42));
        nft.getTaskScores(42, q);
    }

    // ------------------------------------------------------------ fuzz

    function testFuzz_setDomain_range(uint8 d) public {
        uint256 id = _mint(alice);
        vm.prank(alice);
        if (d > 5) {
            vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelBadDomain.selector, d));
            nft.setDomain(id, d);
            assertEq(nft.getModelMetadata(id).domain, 0, "unchanged");
        } else {
            nft.setDomain(id, d);
            ZooModelNFT.AIModelNFT memory m = nft.getModelMetadata(id);
            assertEq(m.domain, d, "stored");
            assertTrue(_eq(m.specialization, nft.domainName(d)), "label");
        }
    }

    function testFuzz_getListRows_window(uint256 fromId, uint256 count) public {
        for (uint256 i; i < 7; ++i) {
            nft.mintModelWithDomain(alice, BASE, bytes32(0), "", uint8(i % 6));
        }
        fromId = bound(fromId, 0, 10);
        count = bound(count, 0, 12);
        (, uint256[] memory packed,) = nft.getListRows(fromId, count);
        uint256 want;
        for (uint256 id = fromId; id < fromId + count; ++id) {
            if (id >= 1 && id <= 7) ++want;
        }
        assertEq(packed.length, want, "length");
        for (uint256 i; i < packed.length; ++i) {
            uint256 id = (fromId == 0 ? 1 : fromId) + i;
            assertEq(uint8(packed[i] >> 192), (id - 1) % 6, "ids consecutive");
        }
    }

    function testFuzz_updateModel_accumulates(uint256 ops1, uint256 ops2, uint256 perf) public {
        ops1 = bound(ops1, 0, type(uint32).max);
        ops2 = bound(ops2, 0, type(uint32).max);
        perf = bound(perf, 0, 10_000);
        uint256 id = _mint(alice);
        _update(id, ALICE_PK, ALICE_PK, H1, ops1);
        ZooModelNFT.TrainingReport memory r = _report(id, H2, ops2, 3);
        r.performance = perf;
        bytes memory proof = _proof(ALICE_PK, r);
        vm.prank(alice);
        nft.updateModel(id, H2, proof);
        ZooModelNFT.AIModelNFT memory m = nft.getModelMetadata(id);
        assertEq(m.trainingOps, ops1 + ops2, "ops");
        assertEq(m.performance, perf, "perf");
        assertEq(m.generation, 2, "gen");
    }

    function testFuzz_royaltySplits_sumToTotal(uint256 price, uint8 n) public {
        price = bound(price, 0, 1e30);
        uint256 count = bound(n, 2, 8);
        uint256[] memory ids = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            ids[i] = _mint(alice);
        }
        vm.prank(alice);
        uint256 m = nft.mergeModels(ids);
        (, uint256[] memory amounts) = nft.royaltySplits(m, price);
        uint256 sum;
        for (uint256 i; i < amounts.length; ++i) {
            sum += amounts[i];
        }
        assertEq(sum, price * 500 / 10_000, "sum");
    }

    function testFuzz_updateModel_rejectsForeignSigner(uint256 pk) public {
        pk = bound(pk, 1, 1e70);
        vm.assume(pk != ALICE_PK && pk != VERIFIER_PK);
        uint256 id = _mint(alice);
        bytes memory proof = _proof(pk, _report(id, H1, 1, 0));
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelUnauthorizedSigner.selector, vm.addr(pk)));
        nft.updateModel(id, H1, proof);
    }
}
