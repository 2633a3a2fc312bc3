// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "./Vm.sol";
import {ZooModelNFT} from "../../src/ZooModelNFT.sol";
import {EvaluationRegistry} from "../../src/EvaluationRegistry.sol";
import {TrainingRewards} from "../../src/TrainingRewards.sol";
import {Marketplace} from "../../src/Marketplace.sol";
import {ModelSpecialization} from "../../src/ModelSpecialization.sol";
import {KeyRegistry} from "../../src/KeyRegistry.sol";
import {IZooModelNFTCore, IEvaluationRegistry} from "../../src/interfaces/IZooModules.sol";

/// @notice Minimal assertions (revert on failure, which forge reports as a failed test).
abstract contract Assertions {
    bool public IS_TEST = true;
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    error AssertionFailed(string what, uint256 left, uint256 right);
    error AssertionFailedBytes32(string what, bytes32 left, bytes32 right);
    error AssertionFailedAddress(string what, address left, address right);

    function assertEq(uint256 a, uint256 b, string memory what) internal pure {
        if (a != b) revert AssertionFailed(what, a, b);
    }

    function assertEq(bytes32 a, bytes32 b, string memory what) internal pure {
        if (a != b) revert AssertionFailedBytes32(what, a, b);
    }

    function assertEq(address a, address b, string memory what) internal pure {
        if (a != b) revert AssertionFailedAddress(what, a, b);
    }

    function assertTrue(bool c, string memory what) internal pure {
        if (!c) revert AssertionFailed(what, 0, 1);
    }

    function assertLe(uint256 a, uint256 b, string memory what) internal pure {
        if (a > b) revert AssertionFailed(what, a, b);
    }

    function bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        if (hi <= lo) return lo;
        return lo + x % (hi - lo + 1);
    }
}

/// @notice Deploys and wires the whole suite the way chain/suite.py describes it.
abstract contract ZooTest is Assertions {
    ZooModelNFT internal nft;
    EvaluationRegistry internal evals;
    TrainingRewards internal rewards;
    Marketplace internal market;
    ModelSpecialization internal specs;
    KeyRegistry internal keys;

    uint256 internal constant ALICE_PK = 0xA11CE;
    uint256 internal constant BOB_PK = 0xB0B;
    uint256 internal constant CAROL_PK = 0xCA201;
    uint256 internal constant VERIFIER_PK = 0x7E21F1E2;
    address internal alice;
    address internal bob;
    address internal carol;
    address internal verifier;
    address internal arbiter;

    bytes32 internal constant BASE = keccak256("zoo-tiny");
    bytes32 internal constant EVAL_SET = keccak256("eval-set-root");
    uint256 internal constant DAY = 1 days;
    uint256 internal constant CAP = 0.1 ether;

    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    // Written out again (not read from the contract) so a drift in either side fails.
    bytes32 internal constant REPORT_TYPEHASH = keccak256(
        "TrainingReport(uint256 tokenId,uint256 generation,bytes32 parentHash,bytes32 newHash,bytes32 datasetRoot,bytes32 evalSet,uint256 opsCount,uint256 performance,uint256 quality,bytes32[] taskIds,uint256[] taskScores,uint256 deadline)"
    );

    function setUp() public virtual {
        vm.warp(1_700_000_000);
        alice = vm.addr(ALICE_PK);
        bob = vm.addr(BOB_PK);
        carol = vm.addr(CAROL_PK);
        verifier = vm.addr(VERIFIER_PK);
        nft = new ZooModelNFT(address(this), 500);
        evals = new EvaluationRegistry(IZooModelNFTCore(address(nft)));
        rewards = new TrainingRewards(IZooModelNFTCore(address(nft)), CAP, DAY);
        market = _newMarketplace();
        specs = new ModelSpecialization(IZooModelNFTCore(address(nft)), IEvaluationRegistry(address(evals)));
        keys = new KeyRegistry();
        nft.setModules(address(market), address(rewards), address(evals), address(specs));
        nft.grantRole(nft.VERIFIER_ROLE(), verifier);
        arbiter = vm.addr(0xA4B17E4);
        nft.grantRole(market.ARBITER_ROLE(), arbiter);
        vm.deal(alice, 100 ether);
        vm.deal(bob, 100 ether);
        vm.deal(carol, 100 ether);
        rewards.fund{value: 10 ether}();
        vm.prank(verifier);
        evals.registerEvalSet(EVAL_SET, "bafy-eval", _taskIds(4));
    }

    function _taskIds(uint256 n) internal pure returns (bytes32[] memory ids) {
        ids = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            ids[i] = keccak256(abi.encodePacked("task", i));
        }
    }

    function _report(uint256 tokenId, bytes32 newHash, uint256 ops, uint256 nTasks)
        internal
        view
        returns (ZooModelNFT.TrainingReport memory r)
    {
        ZooModelNFT.AIModelNFT memory m = nft.getModelMetadata(tokenId);
        r.tokenId = tokenId;
        r.generation = m.generation;
        r.parentHash = m.modelHash;
        r.newHash = newHash;
        r.datasetRoot = keccak256(abi.encode("data", tokenId, newHash));
        r.evalSet = EVAL_SET;
        r.opsCount = ops;
        r.performance = 7_500;
        r.quality = 150;
        r.taskIds = _taskIds(nTasks);
        r.taskScores = new uint256[](nTasks);
        for (uint256 i; i < nTasks; ++i) {
            r.taskScores[i] = 5_000 + i;
        }
        r.deadline = block.timestamp + 1 hours;
    }

    function _digest(ZooModelNFT.TrainingReport memory r) internal view returns (bytes32) {
        return reportDigest(address(nft), r);
    }

    /// @dev A marketplace for the suite (the one place that knows its constructor).
    function _newMarketplace() internal returns (Marketplace) {
        return new Marketplace(IZooModelNFTCore(address(nft)), DAY, DAY);
    }

    function _proof(uint256 pk, ZooModelNFT.TrainingReport memory r) internal view returns (bytes memory) {
        (uint8 v, bytes32 rr, bytes32 s) = vm.sign(pk, _digest(r));
        return abi.encode(r, abi.encodePacked(rr, s, v));
    }

    function _mint(address to) internal returns (uint256) {
        return nft.mintModel(to, BASE);
    }

    /// @dev Apply an update to `tokenId` owned by the holder of `ownerPk`, signed by `signerPk`.
    function _update(uint256 tokenId, uint256 ownerPk, uint256 signerPk, bytes32 newHash, uint256 ops) internal {
        ZooModelNFT.TrainingReport memory r = _report(tokenId, newHash, ops, 4);
        bytes memory proof = _proof(signerPk, r);
        vm.prank(vm.addr(ownerPk));
        nft.updateModel(tokenId, newHash, proof);
    }

    function _ids(uint256 a, uint256 b) internal pure returns (uint256[] memory ids) {
        ids = new uint256[](2);
        ids[0] = a;
        ids[1] = b;
    }
}

/// @dev EIP-712 digest of a training report for `nft`, encoded independently of the contract
/// (the type string is written out again so a drift on either side fails).
function reportDigest(address nft, ZooModelNFT.TrainingReport memory r) view returns (bytes32) {
    bytes32 domain = keccak256(
        abi.encode(
            keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
            keccak256("ZooModelNFT"),
            keccak256("1"),
            block.chainid,
            nft
        )
    );
    bytes32 structHash = keccak256(
        abi.encode(
            keccak256(
                "TrainingReport(uint256 tokenId,uint256 generation,bytes32 parentHash,bytes32 newHash,bytes32 datasetRoot,bytes32 evalSet,uint256 opsCount,uint256 performance,uint256 quality,bytes32[] taskIds,uint256[] taskScores,uint256 deadline)"
            ),
            r.tokenId,
            r.generation,
            r.parentHash,
            r.newHash,
            r.datasetRoot,
            r.evalSet,
            r.opsCount,
            r.performance,
            r.quality,
            keccak256(abi.encodePacked(r.taskIds)),
            keccak256(abi.encodePacked(r.taskScores)),
            r.deadline
        )
    );
    return keccak256(abi.encodePacked("\x19\x01", domain, structHash));
}
