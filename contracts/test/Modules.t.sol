// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ZooTest} from "./utils/ZooTest.sol";
import {ZooModelNFT} from "../src/ZooModelNFT.sol";
import {TrainingRewards} from "../src/TrainingRewards.sol";
import {ModelSpecialization} from "../src/ModelSpecialization.sol";
import {EvaluationRegistry} from "../src/EvaluationRegistry.sol";
import {KeyRegistry} from "../src/KeyRegistry.sol";
import {IZooModelNFTCore} from "../src/interfaces/IZooModules.sol";

contract NoReceive {
    function claim(TrainingRewards r, uint256 id) external {
        r.claimRewards(id);
    }
}

contract TrainingRewardsTest is ZooTest {
    /// @dev A verified update of alice's token `id` with verified score `performance`.
    function _updateScored(uint256 id, bytes32 newHash, uint256 performance) internal {
        ZooModelNFT.TrainingReport memory r = _report(id, newHash, 1, 4);
        r.performance = performance;
        bytes memory proof = _proof(VERIFIER_PK, r);
        vm.prank(alice);
        nft.updateModel(id, newHash, proof);
    }

    function test_claimRewards_byCurrentOwner() public {
        uint256 id = _mint(alice);
        _update(id, ALICE_PK, VERIFIER_PK, keccak256("a"), 10);
        vm.prank(alice);
        nft.transferFrom(alice, bob, id);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(TrainingRewards.TrainingRewardsNotOwner.selector, id, alice));
        rewards.claimRewards(id);
        uint256 before = bob.balance;
        vm.prank(bob);
        rewards.claimRewards(id);
        assertEq(bob.balance - before, 0.0015 ether, "claimed");
        assertEq(rewards.totalOwed(), 0, "owed");
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(TrainingRewards.TrainingRewardsNothingToClaim.selector, id));
        rewards.claimRewards(id);
    }

    function test_sameDatasetNotRewardedTwiceThroughForks() public {
        uint256 id = _mint(alice);
        ZooModelNFT.TrainingReport memory r = _report(id, keccak256("a"), 1, 1);
        bytes memory proof = _proof(VERIFIER_PK, r);
        vm.prank(alice);
        nft.updateModel(id, r.newHash, proof);
        vm.prank(alice);
        uint256 fork = nft.forkModel(id);
        ZooModelNFT.TrainingReport memory r2 = _report(fork, keccak256("b"), 1, 1);
        r2.datasetRoot = r.datasetRoot;
        proof = _proof(VERIFIER_PK, r2);
        vm.prank(alice);
        nft.updateModel(fork, r2.newHash, proof);
        assertEq(rewards.modelRewards(fork), 0, "dataset already rewarded");
        assertTrue(rewards.rewardedDataset(r.datasetRoot), "marked");
    }

    function test_capPerOwnerPerPeriod_andQualityZero() public {
        uint256 id = _mint(alice);
        for (uint256 i; i < 70; ++i) {
            _updateScored(id, keccak256(abi.encode(i)), 1_000 + i); // 0.0015 each, each an improvement
        }
        assertEq(rewards.modelRewards(id), CAP, "capped at 0.1 ether");
        vm.warp(block.timestamp + DAY);
        ZooModelNFT.TrainingReport memory r = _report(id, keccak256("q0"), 1, 0);
        r.quality = 0;
        bytes memory proof = _proof(VERIFIER_PK, r);
        vm.prank(alice);
        nft.updateModel(id, r.newHash, proof);
        assertEq(rewards.modelRewards(id), CAP, "quality 0 earns nothing");
        _updateScored(id, keccak256("next-day"), 8_000); // above the 7_500 of the quality-0 report
        assertEq(rewards.modelRewards(id), CAP + 0.0015 ether, "new period");
    }

    function test_neverCreditsMoreThanPool() public {
        TrainingRewards empty = new TrainingRewards(IZooModelNFTCore(address(nft)), CAP, DAY);
        nft.proposeModule(1, address(empty));
        vm.warp(block.timestamp + nft.MODULE_DELAY());
        nft.executeModule(1);
        vm.deal(address(this), 1 ether);
        empty.fund{value: 0.001 ether}();
        uint256 id = _mint(alice);
        _update(id, ALICE_PK, VERIFIER_PK, keccak256("a"), 1);
        assertEq(empty.modelRewards(id), 0.001 ether, "limited by pool");
        _update(id, ALICE_PK, VERIFIER_PK, keccak256("b"), 1);
        assertEq(empty.modelRewards(id), 0.001 ether, "pool empty");
        assertLe(empty.totalOwed(), address(empty).balance, "solvent");
    }

    function test_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(TrainingRewards.TrainingRewardsOnlyNFT.selector, address(this)));
        rewards.creditTraining(1, 1, bytes32(0), alice, 100, 100);
        vm.expectRevert(TrainingRewards.TrainingRewardsInvalidAmount.selector);
        rewards.fund();
        vm.expectRevert(TrainingRewards.TrainingRewardsInvalidAmount.selector);
        new TrainingRewards(IZooModelNFTCore(address(nft)), CAP, 0);
        NoReceive nr = new NoReceive();
        uint256 id = _mint(alice);
        _update(id, ALICE_PK, VERIFIER_PK, keccak256("a"), 1);
        vm.prank(alice);
        nft.transferFrom(alice, address(nr), id);
        vm.expectRevert(
            abi.encodeWithSelector(TrainingRewards.TrainingRewardsTransferFailed.selector, address(nr), 0.0015 ether)
        );
        nr.claim(rewards, id);
    }

    function testFuzz_rewardFormula(uint256 quality) public {
        quality = bound(quality, 1, 200);
        uint256 id = _mint(alice);
        ZooModelNFT.TrainingReport memory r = _report(id, keccak256("a"), 1, 0);
        r.quality = quality;
        bytes memory proof = _proof(VERIFIER_PK, r);
        vm.prank(alice);
        nft.updateModel(id, r.newHash, proof);
        assertEq(rewards.modelRewards(id), 0.001 ether * quality / 100, "formula");
    }
}

contract SpecializationTest is ZooTest {
    bytes32 internal constant SPEC_TYPEHASH = keccak256(
        "SpecializationProof(uint256 modelId,uint256 generation,bytes32 modelHash,uint8 spec,uint256 score,uint256 experience,uint256 successRate,bytes32 evidenceHash,bytes32 evalSet,uint256 deadline)"
    );

    function _specProof(uint256 pk, ModelSpecialization.SpecializationProof memory p) internal view returns (bytes memory) {
        bytes32 domain = keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("ZooModelSpecialization"), keccak256("1"), block.chainid, address(specs))
        );
        bytes32 sh = keccak256(
            abi.encode(
                SPEC_TYPEHASH, p.modelId, p.generation, p.modelHash, p.spec, p.score, p.experience, p.successRate, p.evidenceHash, p.evalSet, p.deadline
            )
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, keccak256(abi.encodePacked("\x19\x01", domain, sh)));
        return abi.encode(p, abi.encodePacked(r, s, v));
    }

    function _p(uint256 id, uint8 spec, uint256 score) internal view returns (ModelSpecialization.SpecializationProof memory) {
        (uint256 gen,,) = nft.marketState(id);
        return ModelSpecialization.SpecializationProof(
            id, gen, nft.modelHashOf(id), spec, score, 120, 8_000, keccak256("evidence"), EVAL_SET, block.timestamp + 1 hours
        );
    }

    function test_earn_improve_andHeadline() public {
        uint256 id = _mint(alice);
        ModelSpecialization.Specialization s = ModelSpecialization.Specialization.NFT_Trend_Predictor;
        bytes memory proof = _specProof(VERIFIER_PK, _p(id, 3, 6_000));
        specs.earnSpecialization(id, s, proof);
        (bool exists, ModelSpecialization.SpecializationScore memory sc) = specs.getSpecialization(id, s);
        assertTrue(exists, "exists");
        assertEq(sc.score, 6_000, "score");
        assertEq(sc.certificateHash, keccak256(proof), "certificate");
        assertEq(keccak256(bytes(nft.getModelMetadata(id).earnedSpecialization)), keccak256("NFT_Trend_Predictor"), "headline");
        assertEq(keccak256(bytes(nft.getModelMetadata(id).specialization)), keccak256("General"), "domain label unchanged");
        vm.expectRevert(
            abi.encodeWithSelector(ModelSpecialization.SpecializationNotImproved.selector, id, s, 6_000, 6_000)
        );
        specs.earnSpecialization(id, s, proof);
        specs.earnSpecialization(id, s, _specProof(VERIFIER_PK, _p(id, 3, 7_000)));
        specs.earnSpecialization(
            id, ModelSpecialization.Specialization.DeFi_Yield_Optimizer, _specProof(VERIFIER_PK, _p(id, 0, 9_000))
        );
        assertEq(specs.getSpecializations(id).length, 2, "two");
        assertEq(keccak256(bytes(nft.getModelMetadata(id).earnedSpecialization)), keccak256("DeFi_Yield_Optimizer"), "best");
        assertEq(
            specs.proofDigest(_p(id, 0, 1)) != bytes32(0) ? 1 : 0, 1, "digest view"
        );
    }

    function test_earn_reverts() public {
        uint256 id = _mint(alice);
        ModelSpecialization.Specialization s = ModelSpecialization.Specialization.DeFi_Arbitrage_Bot;
        bytes memory proof = _specProof(VERIFIER_PK, _p(id, 0, 1));
        vm.expectRevert(abi.encodeWithSelector(ModelSpecialization.SpecializationProofMismatch.selector, id, 0));
        specs.earnSpecialization(id, s, proof);
        ModelSpecialization.SpecializationProof memory p = _p(id, 1, 1);
        p.deadline = block.timestamp - 1;
        proof = _specProof(VERIFIER_PK, p);
        vm.expectRevert(abi.encodeWithSelector(ModelSpecialization.SpecializationProofExpired.selector, p.deadline));
        specs.earnSpecialization(id, s, proof);
        proof = _specProof(VERIFIER_PK, _p(id, 1, 10_001));
        vm.expectRevert(abi.encodeWithSelector(ModelSpecialization.SpecializationValueOutOfRange.selector, 10_001));
        specs.earnSpecialization(id, s, proof);
        p = _p(id, 1, 1);
        p.successRate = 10_001;
        proof = _specProof(VERIFIER_PK, p);
        vm.expectRevert(abi.encodeWithSelector(ModelSpecialization.SpecializationValueOutOfRange.selector, 10_001));
        specs.earnSpecialization(id, s, proof);
        proof = _specProof(ALICE_PK, _p(id, 1, 1));
        vm.expectRevert(abi.encodeWithSelector(ModelSpecialization.SpecializationNotVerifier.selector, alice));
        specs.earnSpecialization(id, s, proof);
        p = _p(id, 1, 1);
        p.evalSet = keccak256("unregistered");
        proof = _specProof(VERIFIER_PK, p);
        vm.expectRevert(abi.encodeWithSelector(EvaluationRegistry.EvaluationSetUnknown.selector, p.evalSet));
        specs.earnSpecialization(id, s, proof);
    }

    /// Issue 13 item 6: a specialization proof is bound to (token, generation, model hash).
    function test_earn_boundToGenerationAndModelHash() public {
        uint256 id = _mint(alice);
        ModelSpecialization.Specialization s = ModelSpecialization.Specialization.DeFi_Arbitrage_Bot;
        ModelSpecialization.SpecializationProof memory old = _p(id, 1, 6_000);
        bytes memory oldProof = _specProof(VERIFIER_PK, old);
        _update(id, ALICE_PK, ALICE_PK, keccak256("v1"), 1); // a new version: the old proof is stale
        vm.expectRevert(
            abi.encodeWithSelector(ModelSpecialization.SpecializationProofStale.selector, id, 0, bytes32(0))
        );
        specs.earnSpecialization(id, s, oldProof);
        ModelSpecialization.SpecializationProof memory p = _p(id, 1, 6_000);
        p.modelHash = keccak256("another container");
        bytes memory proof = _specProof(VERIFIER_PK, p);
        vm.expectRevert(
            abi.encodeWithSelector(ModelSpecialization.SpecializationProofStale.selector, id, 1, p.modelHash)
        );
        specs.earnSpecialization(id, s, proof);
        // and not onto another token (the signed modelId)
        uint256 other = _mint(bob);
        proof = _specProof(VERIFIER_PK, _p(id, 1, 6_000));
        vm.expectRevert(abi.encodeWithSelector(ModelSpecialization.SpecializationProofMismatch.selector, id, 1));
        specs.earnSpecialization(other, s, proof);
        specs.earnSpecialization(id, s, proof);
        (bool exists,) = specs.getSpecialization(id, s);
        assertTrue(exists, "current version earns");
    }
}

contract RegistriesTest is ZooTest {
    function test_evalSet_register_and_reverts() public {
        bytes32[] memory tasks = _taskIds(2);
        vm.expectRevert(abi.encodeWithSelector(EvaluationRegistry.EvaluationNotVerifier.selector, address(this)));
        evals.registerEvalSet(keccak256("r2"), "cid", tasks);
        vm.startPrank(verifier);
        vm.expectRevert(abi.encodeWithSelector(EvaluationRegistry.EvaluationSetExists.selector, EVAL_SET));
        evals.registerEvalSet(EVAL_SET, "cid", tasks);
        vm.expectRevert(EvaluationRegistry.EvaluationSetInvalid.selector);
        evals.registerEvalSet(bytes32(0), "cid", tasks);
        vm.expectRevert(EvaluationRegistry.EvaluationSetInvalid.selector);
        evals.registerEvalSet(keccak256("r2"), "", tasks);
        vm.expectRevert(EvaluationRegistry.EvaluationSetInvalid.selector);
        evals.registerEvalSet(keccak256("r2"), "cid", new bytes32[](0));
        evals.registerEvalSet(keccak256("r2"), "cid2", tasks);
        vm.stopPrank();
        EvaluationRegistry.EvalSet memory s = evals.getEvalSet(keccak256("r2"));
        assertEq(s.registrar, verifier, "registrar");
        assertEq(s.taskIds.length, 2, "tasks");
        assertTrue(evals.covers(keccak256("r2"), tasks[1]), "covers");
        vm.expectRevert(abi.encodeWithSelector(EvaluationRegistry.EvaluationSetUnknown.selector, keccak256("nope")));
        evals.getEvalSet(keccak256("nope"));
    }

    function test_keyRegistry() public {
        bytes memory x = new bytes(32);
        bytes memory k = new bytes(1184);
        x[0] = 0x01;
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(KeyRegistry.KeyRegistryNoKeys.selector, alice));
        keys.revokeKeys();
        vm.expectRevert(abi.encodeWithSelector(KeyRegistry.KeyRegistryInvalidKeyLength.selector, 32, 31));
        keys.setKeys(new bytes(31), k);
        vm.expectRevert(abi.encodeWithSelector(KeyRegistry.KeyRegistryInvalidKeyLength.selector, 1184, 1183));
        keys.setKeys(x, new bytes(1183));
        keys.setKeys(x, k);
        assertTrue(keys.hasKeys(alice), "has");
        KeyRegistry.PublicKeys memory pk = keys.keysOf(alice);
        assertEq(keccak256(pk.x25519), keccak256(x), "x25519");
        assertEq(pk.mlkem768.length, 1184, "mlkem");
        keys.revokeKeys();
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(KeyRegistry.KeyRegistryNoKeys.selector, alice));
        keys.keysOf(alice);
    }
}
