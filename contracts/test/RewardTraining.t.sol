// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ZooTest} from "./utils/ZooTest.sol";
import {ZooModelNFT} from "../src/ZooModelNFT.sol";
import {TrainingRewards} from "../src/TrainingRewards.sol";

/// @notice The seed's entry point TrainingRewards.rewardTraining(modelId, trainingData, qualityProof).
contract RewardTrainingTest is ZooTest {
    bytes32 internal constant ROOT = keccak256("dataset");

    /// @dev A self-attested update (no reward) to `newHash`; returns the token's new generation.
    function _selfUpdate(uint256 id, bytes32 newHash) internal returns (uint256) {
        _update(id, ALICE_PK, ALICE_PK, newHash, 10);
        return nft.getModelMetadata(id).generation;
    }

    uint256 internal scoreSeq;

    /// @dev A proof whose score beats every earlier one (rewards need a verified improvement).
    function _qp(uint256 id, bytes32 root, uint256 quality) internal returns (TrainingRewards.QualityProof memory p) {
        ZooModelNFT.AIModelNFT memory m = nft.getModelMetadata(id);
        p = TrainingRewards.QualityProof(id, m.generation, m.modelHash, root, 10, quality, ++scoreSeq, block.timestamp + 1 hours);
    }

    function _signQp(uint256 pk, TrainingRewards.QualityProof memory p) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, rewards.qualityProofDigest(p));
        return abi.encode(p, abi.encodePacked(r, s, v));
    }

    function _data(bytes32 root) internal pure returns (bytes memory) {
        return abi.encode(root, uint256(10));
    }

    function test_rewardTraining_creditsAVerifiedQualityProof() public {
        uint256 id = _mint(alice);
        _selfUpdate(id, keccak256("h1"));
        assertEq(rewards.modelRewards(id), 0, "self-attested earns nothing");
        TrainingRewards.QualityProof memory p = _qp(id, ROOT, 150);
        vm.prank(bob); // anyone may submit: the reward accrues to the model
        uint256 credited = rewards.rewardTraining(id, _data(ROOT), _signQp(VERIFIER_PK, p));
        assertEq(credited, 0.0015 ether, "credited");
        assertEq(rewards.modelRewards(id), 0.0015 ether, "model");
        assertEq(rewards.userRewards(alice), 0.0015 ether, "owner");
        assertTrue(rewards.rewardedGeneration(id, p.generation), "generation marked");
        assertTrue(rewards.rewardedDataset(ROOT), "dataset marked");
    }

    function test_rewardTraining_oncePerGeneration_andSharedWithUpdateModel() public {
        uint256 id = _mint(alice);
        _selfUpdate(id, keccak256("h1"));
        TrainingRewards.QualityProof memory p = _qp(id, ROOT, 150);
        rewards.rewardTraining(id, _data(ROOT), _signQp(VERIFIER_PK, p));
        TrainingRewards.QualityProof memory again = _qp(id, keccak256("other data"), 150);
        bytes memory signed = _signQp(VERIFIER_PK, again);
        vm.expectRevert(
            abi.encodeWithSelector(TrainingRewards.TrainingRewardsNotRewarded.selector, id, p.generation, uint8(1))
        );
        rewards.rewardTraining(id, _data(again.datasetRoot), signed);
        // a verified update already credited its generation through updateModel
        _update(id, ALICE_PK, VERIFIER_PK, keccak256("h2"), 10);
        TrainingRewards.QualityProof memory viaUpdate = _qp(id, keccak256("fresh"), 150);
        signed = _signQp(VERIFIER_PK, viaUpdate);
        vm.expectRevert(
            abi.encodeWithSelector(
                TrainingRewards.TrainingRewardsNotRewarded.selector, id, viaUpdate.generation, uint8(1)
            )
        );
        rewards.rewardTraining(id, _data(viaUpdate.datasetRoot), signed);
    }

    function test_rewardTraining_oncePerDataset_acrossTokens() public {
        uint256 a = _mint(alice);
        uint256 b = _mint(alice);
        _selfUpdate(a, keccak256("ha"));
        _selfUpdate(b, keccak256("hb"));
        rewards.rewardTraining(a, _data(ROOT), _signQp(VERIFIER_PK, _qp(a, ROOT, 100)));
        TrainingRewards.QualityProof memory p = _qp(b, ROOT, 100);
        bytes memory signed = _signQp(VERIFIER_PK, p);
        vm.expectRevert(
            abi.encodeWithSelector(TrainingRewards.TrainingRewardsNotRewarded.selector, b, p.generation, uint8(2))
        );
        rewards.rewardTraining(b, _data(ROOT), signed);
    }

    function test_rewardTraining_refusesNonVerifierMismatchAndExpiry() public {
        uint256 id = _mint(alice);
        _selfUpdate(id, keccak256("h1"));
        TrainingRewards.QualityProof memory p = _qp(id, ROOT, 150);
        bytes memory byOwner = _signQp(ALICE_PK, p);
        bytes memory byVerifier = _signQp(VERIFIER_PK, p);
        vm.expectRevert(abi.encodeWithSelector(TrainingRewards.TrainingRewardsNotVerifier.selector, alice));
        rewards.rewardTraining(id, _data(ROOT), byOwner);
        // other training data than the proof names
        vm.expectRevert(
            abi.encodeWithSelector(TrainingRewards.TrainingRewardsProofMismatch.selector, id, p.generation, p.modelHash)
        );
        rewards.rewardTraining(id, _data(keccak256("x")), byVerifier);
        // a proof for an older version: the token moved on
        _selfUpdate(id, keccak256("h2"));
        vm.expectRevert(
            abi.encodeWithSelector(TrainingRewards.TrainingRewardsProofMismatch.selector, id, p.generation, p.modelHash)
        );
        rewards.rewardTraining(id, _data(ROOT), byVerifier);
        TrainingRewards.QualityProof memory fresh = _qp(id, ROOT, 150);
        bytes memory signed = _signQp(VERIFIER_PK, fresh);
        vm.warp(fresh.deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(TrainingRewards.TrainingRewardsProofExpired.selector, fresh.deadline));
        rewards.rewardTraining(id, _data(ROOT), signed);
        assertEq(rewards.modelRewards(id), 0, "nothing credited");
    }

    function test_rewardTraining_needsAnImprovement() public {
        uint256 id = _mint(alice);
        _selfUpdate(id, keccak256("h1"));
        TrainingRewards.QualityProof memory p = _qp(id, ROOT, 150);
        p.score = 5_000;
        rewards.rewardTraining(id, _data(ROOT), _signQp(VERIFIER_PK, p));
        // the same adapter re-sealed as a new generation, re-evaluated at the same score
        _selfUpdate(id, keccak256("h1 again"));
        TrainingRewards.QualityProof memory same = _qp(id, keccak256("other data"), 150);
        same.score = 5_000;
        bytes memory signed = _signQp(VERIFIER_PK, same);
        vm.expectRevert(
            abi.encodeWithSelector(TrainingRewards.TrainingRewardsNotRewarded.selector, id, same.generation, uint8(6))
        );
        rewards.rewardTraining(id, _data(same.datasetRoot), signed);
    }

    /// forge-config: default.fuzz.runs = 32
    function testFuzz_rewardTraining_respectsCapAndQualityClamp(uint256 quality, uint256 n) public {
        quality = bound(quality, 1, 10_000);
        n = bound(n, 1, 60);
        uint256 id = _mint(alice);
        uint256 total;
        for (uint256 i; i < n; ++i) {
            _selfUpdate(id, keccak256(abi.encode("h", i)));
            bytes32 root = keccak256(abi.encode("d", i));
            try rewards.rewardTraining(id, _data(root), _signQp(VERIFIER_PK, _qp(id, root, quality))) returns (
                uint256 c
            ) {
                assertLe(c, 0.002 ether, "at most 2x");
                total += c;
            } catch {}
        }
        assertLe(total, CAP, "cap per owner per period");
        assertEq(rewards.modelRewards(id), total, "credited = sum");
        assertLe(rewards.totalOwed(), address(rewards).balance, "solvent");
    }
}
