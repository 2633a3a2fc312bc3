// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ZooTest} from "./utils/ZooTest.sol";
import {Vm} from "./utils/Vm.sol";
import {MockZkVerifier} from "./ZkEvaluator.t.sol";
import {ZkEvaluator} from "../src/ZkEvaluator.sol";
import {ModelSpecialization} from "../src/ModelSpecialization.sol";
import {IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

/// @notice ModelSpecialization.earnSpecializationZk: specializations from the last zk proof of
/// evaluation (ZkEvaluator with the mock verifier), no verifier signature.
contract ZkSpecializationTest is ZooTest {
    ZkEvaluator internal zk;
    MockZkVerifier internal mock;
    bytes32 internal constant VKA_DIGEST = keccak256("vka");
    bytes32 internal constant POLICY = bytes32(uint256(0x1234));
    uint256 internal constant N = 70; // two chunks, the second padded
    ModelSpecialization.Specialization internal constant YIELD = ModelSpecialization.Specialization.DeFi_Yield_Optimizer;
    ModelSpecialization.Specialization internal constant ARB = ModelSpecialization.Specialization.DeFi_Arbitrage_Bot;
    ModelSpecialization.Specialization internal constant NFT_VAL = ModelSpecialization.Specialization.NFT_Valuation_Expert;

    function setUp() public override {
        super.setUp();
        zk = new ZkEvaluator(address(nft));
        nft.setZkModule(address(zk));
        mock = new MockZkVerifier(VKA_DIGEST);
        zk.setVerifier(address(mock), VKA_DIGEST);
    }

    // -- helpers (evaluation sets of any size; `salt` makes distinct commitments) ------------

    function _labels(uint256 n) internal pure returns (bytes memory labels) {
        labels = new bytes(n);
        for (uint256 i; i < n; ++i) {
            labels[i] = bytes1(uint8(i % 3));
        }
    }

    /// @dev Instances whose outputs are right for the first `right` of `n` records.
    function _instances(uint256 n, uint256 salt, uint256 right) internal pure returns (uint256[][] memory insts) {
        uint256 chunks = (n + 63) / 64;
        insts = new uint256[][](chunks);
        for (uint256 c; c < chunks; ++c) {
            uint256[] memory inst = new uint256[](1281);
            inst[0] = uint256(POLICY);
            for (uint256 j; j < 1216; ++j) {
                inst[1 + j] = salt * 1e9 + c * 100_000 + j;
            }
            for (uint256 i; i < 64; ++i) {
                uint256 k = c * 64 + i;
                uint256 y = k < n ? k % 3 : 0;
                inst[1217 + i] = k < right ? y : y + 1;
            }
            insts[c] = inst;
        }
    }

    function _commitment(uint256 n, uint256 salt) internal pure returns (bytes32) {
        uint256[][] memory insts = _instances(n, salt, 0);
        bytes memory packed = abi.encodePacked(uint32(n));
        for (uint256 c; c < insts.length; ++c) {
            uint256[] memory feats = new uint256[](1216);
            for (uint256 j; j < 1216; ++j) {
                feats[j] = insts[c][1 + j];
            }
            packed = bytes.concat(packed, keccak256(abi.encodePacked(feats)));
        }
        return keccak256(bytes.concat(packed, _labels(n)));
    }

    function _tasks(string memory a) internal pure returns (bytes32[] memory ids) {
        ids = new bytes32[](1);
        ids[0] = keccak256(bytes(a));
    }

    mapping(uint256 salt => bytes32[]) internal _saltTasks;
    mapping(uint256 salt => uint256) internal _uses;

    /// @dev Declare the tasks of set family `salt` and return the commitment its first draw
    /// will have (sets are registered per evaluation, by _prove).
    function _register(uint256 n, uint256 salt, bytes32[] memory taskIds) internal returns (bytes32 commitment) {
        _saltTasks[salt] = taskIds;
        commitment = _commitment(n, salt);
    }

    /// @dev The VERIFIER draws a fresh set of family `salt` for this evaluation of `id` (the
    /// k-th draw uses salt + 1000k), then `right` of `n` are proven correct (anyone may submit).
    function _prove(uint256 id, uint256 n, uint256 salt, uint256 right) internal returns (uint256) {
        uint256 s = salt + 1000 * _uses[salt]++;
        vm.prank(verifier);
        zk.registerZkEvalSet(_commitment(n, s), uint32(n), _saltTasks[salt], "bafy-zk", id);
        bytes[] memory proofs = new bytes[]((n + 63) / 64);
        for (uint256 c; c < proofs.length; ++c) {
            proofs[c] = abi.encodePacked(bytes1(0x01), "proof");
        }
        return zk.submitZkEval(id, _commitment(n, s), _labels(n), proofs, _instances(n, s, right), new bytes32[](1));
    }

    function _committedToken() internal returns (uint256 id) {
        id = _mint(alice);
        vm.prank(alice);
        nft.setPolicyHash(id, POLICY);
    }

    function _headline(uint256 id) internal view returns (bytes32) {
        return keccak256(bytes(nft.getModelMetadata(id).earnedSpecialization));
    }

    // -- happy path -------------------------------------------------------------------------

    function test_earnZk_recordsScore_headline_andReplayRefused() public {
        bytes32 commitment = _register(N, 1, _tasks("defi"));
        uint256 id = _committedToken();
        uint256 acc = _prove(id, N, 1, 63); // 9000
        assertEq(acc, 9_000, "accuracy");
        vm.recordLogs();
        vm.prank(carol); // anyone may call: every input is on-chain
        specs.earnSpecializationZk(id, YIELD);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bytes32 zkTopic = keccak256("SpecializationEarnedZk(uint256,uint8,uint256,bytes32,uint256)");
        bool seen;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(specs) && logs[i].topics[0] == zkTopic) {
                seen = true;
                (uint256 gen, bytes32 c, uint256 n) = abi.decode(logs[i].data, (uint256, bytes32, uint256));
                assertEq(gen, 0, "event generation");
                assertEq(c, commitment, "event commitment");
                assertEq(n, N, "event n");
            }
        }
        assertTrue(seen, "SpecializationEarnedZk emitted");

        (bool exists, ModelSpecialization.SpecializationScore memory sc) = specs.getSpecialization(id, YIELD);
        assertTrue(exists, "exists");
        assertEq(sc.score, acc, "score = zkPerformance");
        assertEq(sc.successRate, acc, "successRate = zkPerformance");
        assertEq(sc.experience, N, "experience = records");
        assertEq(sc.certificateHash, keccak256(abi.encode(address(zk), id, uint256(0), commitment, acc)), "certificate");
        assertEq(_headline(id), keccak256("DeFi_Yield_Optimizer"), "headline");
        assertEq(specs.bestScore(id), acc, "best");

        // replaying the same proof does not improve it
        vm.expectRevert(abi.encodeWithSelector(ModelSpecialization.SpecializationNotImproved.selector, id, YIELD, acc, acc));
        specs.earnSpecializationZk(id, YIELD);
        // the other DeFi specialization shares the domain task
        specs.earnSpecializationZk(id, ARB);
        assertEq(specs.getSpecializations(id).length, 2, "two");
        // a better proof improves it
        _prove(id, N, 1, N);
        specs.earnSpecializationZk(id, YIELD);
        (, sc) = specs.getSpecialization(id, YIELD);
        assertEq(sc.score, 10_000, "improved");
        assertEq(specs.bestScore(id), 10_000, "best improved");
    }

    function test_earnZk_andSignedPathShareTheHigherScoreRule() public {
        _register(N, 1, _tasks("nft"));
        uint256 id = _committedToken();
        _prove(id, N, 1, 49); // 7000
        specs.earnSpecialization(id, NFT_VAL, _signed(id, NFT_VAL, 9_500));
        vm.expectRevert(
            abi.encodeWithSelector(ModelSpecialization.SpecializationNotImproved.selector, id, NFT_VAL, 9_500, 7_000)
        );
        specs.earnSpecializationZk(id, NFT_VAL);
        _prove(id, N, 1, N); // 10000 beats the signed 9500
        specs.earnSpecializationZk(id, NFT_VAL);
        assertEq(specs.getSpecializations(id).length, 1, "one entry, replaced");
        assertEq(specs.bestScore(id), 10_000, "best");
        assertEq(_headline(id), keccak256("NFT_Valuation_Expert"), "headline");
    }

    /// @dev A verifier-signed SpecializationProof (the signed path, for comparison).
    function _signed(uint256 id, ModelSpecialization.Specialization spec, uint256 score)
        internal
        view
        returns (bytes memory)
    {
        (uint256 gen,,) = nft.marketState(id);
        ModelSpecialization.SpecializationProof memory p = ModelSpecialization.SpecializationProof(
            id, gen, nft.modelHashOf(id), uint8(spec), score, 100, score, keccak256("evidence"), EVAL_SET,
            block.timestamp + 1 hours
        );
        (uint8 v, bytes32 r, bytes32 sig) = vm.sign(VERIFIER_PK, specs.proofDigest(p));
        return abi.encode(p, abi.encodePacked(r, sig, v));
    }

    // -- rejections -------------------------------------------------------------------------

    function test_earnZk_unknownToken_noModule_notProven() public {
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721NonexistentToken.selector, 99));
        specs.earnSpecializationZk(99, YIELD);
        uint256 id = _committedToken();
        vm.expectRevert(abi.encodeWithSelector(ModelSpecialization.SpecializationZkNotProven.selector, id));
        specs.earnSpecializationZk(id, YIELD);
        nft.proposeModule(4, address(0)); // disabling the zk module waits MODULE_DELAY too
        vm.warp(block.timestamp + nft.MODULE_DELAY());
        nft.executeModule(4);
        vm.expectRevert(ModelSpecialization.SpecializationNoZkModule.selector);
        specs.earnSpecializationZk(id, YIELD);
    }

    function test_earnZk_staleAfterUpdateModel() public {
        _register(N, 1, _tasks("defi"));
        uint256 id = _committedToken();
        _prove(id, N, 1, N);
        _update(id, ALICE_PK, ALICE_PK, keccak256("v2"), 5); // generation 0 -> 1, policy kept
        vm.expectRevert(abi.encodeWithSelector(ModelSpecialization.SpecializationZkStale.selector, id, 0, 1));
        specs.earnSpecializationZk(id, YIELD);
        _prove(id, N, 1, N); // re-proven for generation 1
        specs.earnSpecializationZk(id, YIELD);
        (, ModelSpecialization.SpecializationScore memory sc) = specs.getSpecialization(id, YIELD);
        assertEq(sc.certificateHash, keccak256(abi.encode(address(zk), id, uint256(1), zk.lastCommitment(id), uint256(10_000))), "gen 1");
    }

    function test_earnZk_wrongDomain_andMultiTaskSet() public {
        bytes32 defi = _register(N, 1, _tasks("defi"));
        uint256 id = _committedToken();
        _prove(id, N, 1, N);
        vm.expectRevert(
            abi.encodeWithSelector(ModelSpecialization.SpecializationZkWrongTasks.selector, id, defi, keccak256("nft"))
        );
        specs.earnSpecializationZk(id, NFT_VAL);
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelSpecialization.SpecializationZkWrongTasks.selector, id, defi, keccak256("governance")
            )
        );
        specs.earnSpecializationZk(id, ModelSpecialization.Specialization.DAO_Governance_Analyst);

        bytes32[] memory both = new bytes32[](2);
        both[0] = keccak256("defi");
        both[1] = keccak256("nft");
        bytes32 mixed = _register(N, 2, both);
        _prove(id, N, 2, N);
        vm.expectRevert(
            abi.encodeWithSelector(ModelSpecialization.SpecializationZkWrongTasks.selector, id, mixed, keccak256("defi"))
        );
        specs.earnSpecializationZk(id, YIELD);
    }

    function test_earnZk_belowThreshold_tooFewRecords_clearedByNewPolicy() public {
        _register(N, 1, _tasks("defi"));
        uint256 id = _committedToken();
        uint256 acc = _prove(id, N, 1, 41); // 5857 < 6000
        vm.expectRevert(
            abi.encodeWithSelector(ModelSpecialization.SpecializationZkScoreTooLow.selector, id, acc, 6_000)
        );
        specs.earnSpecializationZk(id, YIELD);

        _register(40, 3, _tasks("defi"));
        _prove(id, 40, 3, 40); // 100 % on 40 records
        vm.expectRevert(
            abi.encodeWithSelector(ModelSpecialization.SpecializationZkTooFewRecords.selector, id, 40, 64)
        );
        specs.earnSpecializationZk(id, YIELD);

        _prove(id, N, 1, N);
        vm.prank(alice);
        nft.setPolicyHash(id, keccak256("other weights")); // the proof no longer describes the policy
        vm.expectRevert(abi.encodeWithSelector(ModelSpecialization.SpecializationZkScoreTooLow.selector, id, 0, 6_000));
        specs.earnSpecializationZk(id, YIELD);
    }

    function testFuzz_earnZk_threshold(uint256 right) public {
        right = bound(right, 0, N);
        _register(N, 1, _tasks("gaming"));
        uint256 id = _committedToken();
        uint256 acc = _prove(id, N, 1, right);
        if (acc < specs.MIN_ZK_SCORE()) {
            vm.expectRevert(
                abi.encodeWithSelector(ModelSpecialization.SpecializationZkScoreTooLow.selector, id, acc, 6_000)
            );
        }
        specs.earnSpecializationZk(id, ModelSpecialization.Specialization.Game_Strategy_Master);
    }

    function test_domainTaskId_perSpecialization() public view {
        string[8] memory domains = ["defi", "defi", "nft", "nft", "gaming", "gaming", "social", "governance"];
        for (uint256 i; i < 8; ++i) {
            assertEq(
                specs.domainTaskId(ModelSpecialization.Specialization(i)), keccak256(bytes(domains[i])), domains[i]
            );
        }
    }

    function test_lastEvaluation_view() public {
        bytes32 commitment = _register(N, 1, _tasks("defi"));
        uint256 id = _committedToken();
        (uint256 g, bytes32 c, uint32 n, bytes32[] memory tasks) = zk.lastEvaluation(id);
        assertEq(g, 0, "none yet");
        assertEq(tasks.length, 0, "no tasks");
        _prove(id, N, 1, N);
        (g, c, n, tasks) = zk.lastEvaluation(id);
        assertEq(g, 1, "generation 0 + 1");
        assertEq(c, commitment, "commitment");
        assertEq(n, N, "n");
        assertEq(tasks.length, 1, "one task");
        assertEq(tasks[0], keccak256("defi"), "defi");
    }
}
