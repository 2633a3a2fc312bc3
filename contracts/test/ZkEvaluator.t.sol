// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ZooTest} from "./utils/ZooTest.sol";
import {ZooModelNFT} from "../src/ZooModelNFT.sol";
import {ZkEvaluator} from "../src/ZkEvaluator.sol";
import {TrainingRewards} from "../src/TrainingRewards.sol";
import {IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

/// @notice Stands in for ezkl's reusable verifier: accepts a proof whose first byte is 1 and
/// answers (true, digest) like the generated contract (the real one is tested in tests/zk
/// and tests/e2e/test_zk.py, where a key setup is available).
contract MockZkVerifier {
    bytes32 public digest;

    constructor(bytes32 digest_) {
        digest = digest_;
    }

    function verifyProof(bytes calldata proof, uint256[] calldata, bytes32[] calldata)
        external
        view
        returns (bool, bytes32)
    {
        require(proof.length > 0 && proof[0] == 0x01, "bad proof");
        return (true, digest);
    }
}

contract ZkEvaluatorTest is ZooTest {
    ZkEvaluator internal zk;
    MockZkVerifier internal mock;
    bytes32 internal constant VKA_DIGEST = keccak256("vka");
    bytes32 internal constant POLICY = bytes32(uint256(0x1234));
    uint256 internal constant N = 70; // two chunks, the second padded

    function setUp() public override {
        super.setUp();
        zk = new ZkEvaluator(address(nft));
        nft.setZkModule(address(zk));
        mock = new MockZkVerifier(VKA_DIGEST);
    }

    // -- helpers --------------------------------------------------------------------------

    function _labels() internal pure returns (bytes memory labels) {
        labels = new bytes(N);
        for (uint256 i; i < N; ++i) {
            labels[i] = bytes1(uint8(i % 3));
        }
    }

    /// @dev Instances of a proof set whose outputs are right for the first `right` records.
    function _instances(uint256 phash, uint256 right) internal pure returns (uint256[][] memory insts) {
        return _instancesSalted(phash, right, 0);
    }

    /// @dev Instances on the evaluation set number `salt` (distinct features per salt).
    function _instancesSalted(uint256 phash, uint256 right, uint256 salt)
        internal
        pure
        returns (uint256[][] memory insts)
    {
        insts = new uint256[][](2);
        for (uint256 c; c < 2; ++c) {
            uint256[] memory inst = new uint256[](1281);
            inst[0] = phash;
            for (uint256 j; j < 1216; ++j) {
                inst[1 + j] = salt * 1e9 + c * 100_000 + j;
            }
            for (uint256 i; i < 64; ++i) {
                uint256 k = c * 64 + i;
                uint256 y = k < N ? k % 3 : 0;
                inst[1217 + i] = k < right ? y : y + 1;
            }
            insts[c] = inst;
        }
    }

    function _commitment(uint256[][] memory insts, bytes memory labels) internal pure returns (bytes32) {
        bytes memory packed = abi.encodePacked(uint32(labels.length));
        for (uint256 c; c < insts.length; ++c) {
            uint256[] memory feats = new uint256[](1216);
            for (uint256 j; j < 1216; ++j) {
                feats[j] = insts[c][1 + j];
            }
            packed = bytes.concat(packed, keccak256(abi.encodePacked(feats)));
        }
        return keccak256(bytes.concat(packed, labels));
    }

    function _proofs(bytes1 first) internal pure returns (bytes[] memory proofs) {
        proofs = new bytes[](2);
        proofs[0] = abi.encodePacked(first, "proof0");
        proofs[1] = abi.encodePacked(bytes1(0x01), "proof1");
    }

    function _ready() internal returns (uint256 id, bytes32 commitment) {
        zk.setVerifier(address(mock), VKA_DIGEST);
        id = _mint(alice);
        vm.prank(alice);
        nft.setPolicyHash(id, POLICY);
        commitment = _fresh(id, 0);
    }

    /// @dev The VERIFIER registers evaluation set number `salt` for token `id` (current generation).
    function _fresh(uint256 id, uint256 salt) internal returns (bytes32 commitment) {
        commitment = _commitment(_instancesSalted(uint256(POLICY), 0, salt), _labels());
        vm.prank(verifier);
        zk.registerZkEvalSet(commitment, uint32(N), _taskIds(1), "bafy-zk", id);
    }

    /// @dev Submit a proof on set number `salt` with `right` correct answers.
    function _submitSalted(uint256 id, uint256 salt, uint256 right) internal returns (uint256) {
        return zk.submitZkEval(
            id,
            _commitment(_instancesSalted(uint256(POLICY), 0, salt), _labels()),
            _labels(),
            _proofs(0x01),
            _instancesSalted(uint256(POLICY), right, salt),
            new bytes32[](1)
        );
    }

    function _submit(uint256 id, bytes32 commitment, uint256 phash, uint256 right, bytes1 first)
        internal
        returns (uint256)
    {
        return zk.submitZkEval(id, commitment, _labels(), _proofs(first), _instances(phash, right), new bytes32[](1));
    }

    // -- roles and registration -----------------------------------------------------------

    function test_setVerifier_adminOnly() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ZkEvaluator.ZkNotAdmin.selector, alice));
        zk.setVerifier(address(mock), VKA_DIGEST);
        zk.setVerifier(address(mock), VKA_DIGEST);
        assertEq(zk.verifier(), address(mock), "verifier");
        assertEq(zk.vkaDigest(), VKA_DIGEST, "digest");
    }

    function test_setVerifier_changeIsTimelocked() public {
        zk.setVerifier(address(mock), VKA_DIGEST); // the first one: immediate
        zk.setVerifier(alice, keccak256("lenient")); // a change: only proposed
        assertEq(zk.verifier(), address(mock), "unchanged");
        vm.expectRevert(abi.encodeWithSelector(ZkEvaluator.ZkVerifierTimelock.selector, block.timestamp + 2 days));
        zk.executeVerifier();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ZkEvaluator.ZkNotAdmin.selector, alice));
        zk.executeVerifier();
        vm.warp(block.timestamp + zk.VERIFIER_DELAY());
        zk.executeVerifier();
        assertEq(zk.verifier(), alice, "changed after the delay");
        vm.expectRevert(abi.encodeWithSelector(ZkEvaluator.ZkVerifierTimelock.selector, 0));
        zk.executeVerifier();
    }

    function test_registerZkEvalSet_verifierOnly_once_valid() public {
        uint256 id = _mint(alice);
        vm.prank(verifier);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 99));
        zk.registerZkEvalSet(keccak256("c"), 70, _taskIds(1), "cid", 99);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ZkEvaluator.ZkNotVerifier.selector, alice));
        zk.registerZkEvalSet(keccak256("c"), 70, _taskIds(1), "cid", id);
        vm.startPrank(verifier);
        vm.expectRevert(ZkEvaluator.ZkEvalSetInvalid.selector);
        zk.registerZkEvalSet(bytes32(0), 70, _taskIds(1), "cid", id);
        vm.expectRevert(ZkEvaluator.ZkEvalSetInvalid.selector);
        zk.registerZkEvalSet(keccak256("c"), 0, _taskIds(1), "cid", id);
        vm.expectRevert(ZkEvaluator.ZkEvalSetInvalid.selector);
        zk.registerZkEvalSet(keccak256("c"), 70, new bytes32[](0), "cid", id);
        vm.expectRevert(ZkEvaluator.ZkEvalSetInvalid.selector);
        zk.registerZkEvalSet(keccak256("c"), 70, _taskIds(1), "", id);
        zk.registerZkEvalSet(keccak256("c"), 70, _taskIds(2), "cid", id);
        vm.expectRevert(abi.encodeWithSelector(ZkEvaluator.ZkEvalSetExists.selector, keccak256("c")));
        zk.registerZkEvalSet(keccak256("c"), 70, _taskIds(1), "cid", id);
        vm.stopPrank();
        ZkEvaluator.ZkEvalSet memory s = zk.getZkEvalSet(keccak256("c"));
        assertEq(s.registrar, verifier, "registrar");
        assertEq(s.n, 70, "n");
        assertEq(s.taskIds.length, 2, "tasks");
        assertEq(s.tokenId, id, "bound to the token");
        assertEq(s.generation, 0, "and its generation");
        assertEq(s.seq, 1, "first set");
    }

    // -- NFT hooks ------------------------------------------------------------------------

    function test_policyHash_ownerOrApproved_clearsZkPerformance() public {
        (uint256 id, bytes32 commitment) = _ready();
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InsufficientApproval.selector, bob, id));
        nft.setPolicyHash(id, POLICY);
        _submit(id, commitment, uint256(POLICY), N, 0x01);
        assertEq(nft.zkPerformance(id), 10_000, "recorded");
        vm.prank(alice);
        nft.setPolicyHash(id, POLICY); // same commitment: kept
        assertEq(nft.zkPerformance(id), 10_000, "kept");
        vm.prank(alice);
        nft.approve(bob, id);
        vm.prank(bob);
        nft.setPolicyHash(id, keccak256("other weights"));
        assertEq(nft.zkPerformance(id), 0, "cleared");
        _update(id, ALICE_PK, ALICE_PK, keccak256("v2"), 5);
        assertEq(nft.policyHash(id), keccak256("other weights"), "kept across updateModel");
    }

    function test_setZkPerformance_moduleOnly() public {
        uint256 id = _mint(alice);
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelOnlyModule.selector, address(this)));
        nft.setZkPerformance(id, 1);
        vm.prank(alice);
        vm.expectRevert(); // AccessControlUnauthorizedAccount
        nft.setZkModule(alice);
        vm.expectRevert(ZooModelNFT.ZooModelModulesWired.selector); // wired once, at deployment
        nft.setZkModule(alice);
        vm.prank(address(zk));
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelValueOutOfRange.selector, 10_001, 10_000));
        nft.setZkPerformance(id, 10_001);
    }

    function test_rewards_onlyNftOrZkModule() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(TrainingRewards.TrainingRewardsOnlyNFT.selector, alice));
        rewards.creditTraining(1, 0, bytes32(0), alice, 100, 100);
    }

    // -- submission -----------------------------------------------------------------------

    function test_submit_recordsAccuracy_andCreditsOnce() public {
        (uint256 id, bytes32 commitment) = _ready();
        uint256 acc = _submit(id, commitment, uint256(POLICY), 63, 0x01);
        assertEq(acc, 63 * 10_000 / N, "accuracy");
        assertEq(nft.zkPerformance(id), acc, "zkPerformance");
        assertEq(zk.lastGeneration(id), 1, "generation 0 (+1)");
        assertEq(zk.lastCommitment(id), commitment, "commitment");
        uint256 reward = 0.001 ether * (acc * 200 / 10_000) / 100;
        assertEq(rewards.modelRewards(id), reward, "credited as verified");
        // the same set again: consumed
        vm.expectRevert(abi.encodeWithSelector(ZkEvaluator.ZkEvalSetUsed.selector, commitment, 1, 1));
        _submit(id, commitment, uint256(POLICY), N, 0x01);
        // a fresh set drawn by the verifier for this evaluation: recorded, but not rewarded again
        _fresh(id, 1);
        _submitSalted(id, 1, N);
        assertEq(nft.zkPerformance(id), 10_000, "re-proven");
        assertEq(rewards.modelRewards(id), reward, "once per generation");
        // a fork cannot commit the same policy hash (no copied commitments)
        vm.prank(alice);
        uint256 fork = nft.forkModel(id);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ZooModelNFT.ZooModelPolicyHashTaken.selector, POLICY, id));
        nft.setPolicyHash(fork, POLICY);
    }

    function test_submit_rejections() public {
        uint256 id0 = _mint(alice);
        vm.expectRevert(ZkEvaluator.ZkNoVerifier.selector);
        _submit(id0, keccak256("x"), uint256(POLICY), 0, 0x01);
        (uint256 id, bytes32 commitment) = _ready();
        vm.expectRevert(abi.encodeWithSelector(ZkEvaluator.ZkEvalSetUnknown.selector, keccak256("x")));
        _submit(id, keccak256("x"), uint256(POLICY), 0, 0x01);
        bytes32 c0 = _fresh(id0, 7);
        vm.expectRevert(abi.encodeWithSelector(ZkEvaluator.ZkNoPolicy.selector, id0));
        _submit(id0, c0, uint256(POLICY), 0, 0x01);
        // a set drawn for another token
        vm.expectRevert(abi.encodeWithSelector(ZkEvaluator.ZkEvalSetWrongToken.selector, c0, id0));
        _submit(id, c0, uint256(POLICY), 0, 0x01);
        // other weights
        vm.expectRevert(abi.encodeWithSelector(ZkEvaluator.ZkEvalParamHash.selector, 0, 7));
        _submit(id, commitment, 7, 0, 0x01);
        // the verifier rejects the proof
        vm.expectRevert(abi.encodeWithSelector(ZkEvaluator.ZkEvalProofRejected.selector, 0));
        _submit(id, commitment, uint256(POLICY), 0, 0x02);
        // another vka (digest mismatch; a verifier change waits VERIFIER_DELAY)
        zk.setVerifier(address(mock), keccak256("other vka"));
        vm.warp(block.timestamp + zk.VERIFIER_DELAY());
        zk.executeVerifier();
        vm.expectRevert(abi.encodeWithSelector(ZkEvaluator.ZkEvalProofRejected.selector, 0));
        _submit(id, commitment, uint256(POLICY), 0, 0x01);
        zk.setVerifier(address(mock), VKA_DIGEST);
        vm.warp(block.timestamp + zk.VERIFIER_DELAY());
        zk.executeVerifier();
        // other features than the registered set
        uint256[][] memory insts = _instances(uint256(POLICY), 0);
        insts[1][5] += 1;
        bytes32 other = _commitment(insts, _labels());
        vm.expectRevert(abi.encodeWithSelector(ZkEvaluator.ZkEvalCommitment.selector, other));
        zk.submitZkEval(id, commitment, _labels(), _proofs(0x01), insts, new bytes32[](1));
        // wrong chunk count / shape
        uint256[][] memory one = new uint256[][](1);
        one[0] = insts[0];
        vm.expectRevert(abi.encodeWithSelector(ZkEvaluator.ZkEvalChunkCount.selector, 2, 1));
        zk.submitZkEval(id, commitment, _labels(), _proofs(0x01), one, new bytes32[](1));
        insts = _instances(uint256(POLICY), 0);
        insts[1] = new uint256[](5);
        vm.expectRevert(abi.encodeWithSelector(ZkEvaluator.ZkEvalBadInstances.selector, 1, 5));
        zk.submitZkEval(id, commitment, _labels(), _proofs(0x01), insts, new bytes32[](1));
        assertEq(nft.zkPerformance(id), 0, "nothing recorded");
    }
}
