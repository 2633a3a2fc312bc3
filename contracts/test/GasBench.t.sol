// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ZooTest} from "./utils/ZooTest.sol";
import {ZooModelNFT} from "../src/ZooModelNFT.sol";
import {Marketplace} from "../src/Marketplace.sol";
import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

/// @notice Reference point: a bare OpenZeppelin ERC721 `_mint`.
contract BareERC721 is ERC721("Bare", "B") {
    function mint(address to, uint256 id) external {
        _mint(to, id);
    }
}

/// @notice Gas of each user action, printed as `gas <scenario>: <total>` (benches/gas.py parses it).
/// total = 21,000 + calldata (16/4 gas per non-zero/zero byte) + execution measured with gasleft();
/// each measured call runs in a fresh transaction context (cold storage), as on chain.
contract GasBench is ZooTest {
    event log_named_uint(string key, uint256 val);

    bytes32 internal constant KEY = keccak256("content-key");

    function _calldataGas(bytes memory data) internal pure returns (uint256 g) {
        for (uint256 i; i < data.length; ++i) {
            g += data[i] == 0 ? 4 : 16;
        }
    }

    function _call(address from, address target, uint256 value, bytes memory data) internal returns (uint256 total) {
        // Everything in a forge test is one transaction: make the suite's accounts and
        // storage cold again so each figure is what a separate transaction pays.
        vm.cool(address(nft));
        vm.cool(address(market));
        vm.cool(address(rewards));
        vm.cool(address(evals));
        vm.cool(target);
        vm.prank(from);
        uint256 g0 = gasleft();
        (bool ok, bytes memory ret) = target.call{value: value}(data);
        uint256 used = g0 - gasleft();
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        total = 21_000 + _calldataGas(data) + used;
    }

    function _log(string memory what, uint256 gas) internal {
        emit log_named_uint(string.concat("gas ", what), gas);
    }

    function _updateData(uint256 id, uint256 pk, bytes32 h) internal view returns (bytes memory) {
        ZooModelNFT.TrainingReport memory r = _report(id, h, 100, 4);
        return abi.encodeCall(ZooModelNFT.updateModel, (id, h, _proof(pk, r)));
    }

    function test_gas_mint_vs_bare() public {
        BareERC721 bare = new BareERC721();
        uint256 b = _call(alice, address(bare), 0, abi.encodeCall(BareERC721.mint, (carol, 1)));
        uint256 m = _call(alice, address(nft), 0, abi.encodeCall(ZooModelNFT.mintModel, (bob, BASE)));
        _log("bare OpenZeppelin ERC721 _mint (new owner)", b);
        _log("mintModel (new owner)", m);
        _log("mintModel / bare mint ratio x100", m * 100 / b);
    }

    function test_gas_updateModel() public {
        uint256 id = _mint(alice);
        _call(alice, address(nft), 0, _updateData(id, ALICE_PK, keccak256("v1")));
        uint256 self = _call(alice, address(nft), 0, _updateData(id, ALICE_PK, keccak256("v2")));
        _log("updateModel self-attested, repeat, 4 task scores", self);
        uint256 ver = _call(alice, address(nft), 0, _updateData(id, VERIFIER_PK, keccak256("v3")));
        _log("updateModel verified + reward credit, repeat, 4 task scores", ver);
        uint256 c = _call(alice, address(rewards), 0, abi.encodeWithSignature("claimRewards(uint256)", id));
        _log("claimRewards", c);
    }

    function test_gas_fork_merge() public {
        uint256[] memory ids = new uint256[](4);
        for (uint256 i; i < 4; ++i) {
            ids[i] = _mint(alice);
            _update(ids[i], ALICE_PK, ALICE_PK, keccak256(abi.encode(i)), 10);
        }
        _log("forkModel", _call(alice, address(nft), 0, abi.encodeCall(ZooModelNFT.forkModel, (ids[0]))));
        _log(
            "forkModelWithHash",
            _call(alice, address(nft), 0, abi.encodeCall(ZooModelNFT.forkModelWithHash, (ids[0], keccak256("k"))))
        );
        _log("mergeModels 2 parents", _call(alice, address(nft), 0, abi.encodeCall(ZooModelNFT.mergeModels, (_ids(ids[0], ids[1])))));
        _log("mergeModels 4 parents", _call(alice, address(nft), 0, abi.encodeCall(ZooModelNFT.mergeModels, (ids))));
    }

    function test_gas_domain_and_batch() public {
        _log(
            "mintModelWithDomain (new owner, hash, domain)",
            _call(alice, address(nft), 0, abi.encodeCall(ZooModelNFT.mintModelWithDomain, (bob, BASE, keccak256("h"), "", 1)))
        );
        _log("setDomain", _call(bob, address(nft), 0, abi.encodeCall(ZooModelNFT.setDomain, (1, 2))));
        for (uint256 i = 1; i < 200; ++i) {
            nft.mintModelWithDomain(
                alice, BASE, keccak256(abi.encode(i)), "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi", uint8(i % 6)
            );
        }
        _log(
            "getListRows 200 models (eth_call)",
            _call(alice, address(nft), 0, abi.encodeCall(ZooModelNFT.getListRows, (1, 200)))
        );
    }

    function test_gas_market() public {
        uint256 id = nft.mintModelWithHash(alice, BASE, keccak256("h"), "");
        _log(
            "setUser",
            _call(alice, address(nft), 0, abi.encodeCall(ZooModelNFT.setUser, (id, carol, uint64(block.timestamp + 100))))
        );
        uint256 list = _call(
            alice, address(market), 0, abi.encodeCall(
                Marketplace.list,
                (id, 1 ether, Marketplace.LeaseTerms(1 gwei, 1, 30 days, 0, Marketplace.LeaseKind.Key, ""), KEY)
            )
        );
        _log("list (sale + lease)", list);
        uint256 buy = _call(bob, address(market), 1 ether, abi.encodeWithSignature("buyModel(uint256)", id));
        uint256 deliver = _call(alice, address(market), 0, abi.encodeWithSignature("deliverKey(uint256,string)", 1, "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"));
        uint256 confirm = _call(bob, address(market), 0, abi.encodeWithSignature("confirmDelivery(uint256)", 1));
        _log("buyModel + deliverKey", buy + deliver);
        _log("confirmDelivery (sale: NFT moves)", confirm);
        uint256 id2 = nft.mintModelWithHash(alice, BASE, keccak256("h2"), "");
        vm.prank(alice);
        market.list(id2, 0, Marketplace.LeaseTerms(1 gwei, 1, 30 days, 0, Marketplace.LeaseKind.Key, ""), KEY);
        uint256 lease = _call(bob, address(market), 1 gwei * 1 days, abi.encodeWithSignature("leaseModel(uint256,uint256)", id2, 1 days));
        uint256 d2 = _call(alice, address(market), 0, abi.encodeWithSignature("deliverKey(uint256,string)", 2, "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"));
        uint256 c2 = _call(bob, address(market), 0, abi.encodeWithSignature("confirmDelivery(uint256)", 2));
        _log("leaseModel + deliverKey", lease + d2);
        _log("confirmDelivery (lease: setUser + lock)", c2);
        _log("withdraw", _call(alice, address(market), 0, abi.encodeWithSignature("withdraw()")));
    }

    function test_gas_market_disputes() public {
        string memory cid = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
        uint256 id = nft.mintModelWithHash(alice, BASE, keccak256("h"), "");
        vm.prank(alice);
        market.list(id, 1 ether, Marketplace.LeaseTerms(0, 0, 0, 0, Marketplace.LeaseKind.Key, ""), KEY);
        vm.prank(bob);
        uint256 o1 = market.buyModel{value: 1 ether}(id);
        vm.prank(alice);
        market.deliverKey(o1, cid);
        _log("dispute", _call(bob, address(market), 0, abi.encodeCall(Marketplace.dispute, (o1))));
        _log("revealKey", _call(alice, address(market), 0, abi.encodeCall(Marketplace.revealKey, (o1, arbiter, cid))));
        _log(
            "resolveDispute (release + re-delivery, NFT moves)",
            _call(arbiter, address(market), 0, abi.encodeCall(Marketplace.resolveDispute, (o1, false, cid)))
        );
        uint256 id2 = nft.mintModelWithHash(alice, BASE, keccak256("h2"), "");
        vm.prank(alice);
        market.list(id2, 1 ether, Marketplace.LeaseTerms(0, 0, 0, 0, Marketplace.LeaseKind.Key, ""), KEY);
        vm.prank(bob);
        uint256 o2 = market.buyModel{value: 1 ether}(id2);
        vm.prank(alice);
        market.deliverKey(o2, cid);
        vm.prank(bob);
        market.dispute(o2);
        vm.warp(block.timestamp + 1 days + 1);
        _log("timeoutDispute (no reveal: refund)", _call(carol, address(market), 0, abi.encodeCall(Marketplace.timeoutDispute, (o2))));
        uint256 id3 = nft.mintModelWithHash(alice, BASE, keccak256("h3"), "");
        vm.prank(alice);
        market.list(
            id3, 0, Marketplace.LeaseTerms(1 gwei, 1 days, 30 days, 0, Marketplace.LeaseKind.Hosted, "https://models.example.org/zoo/3"), bytes32(0)
        );
        _log(
            "leaseModel hosted (user set at once)",
            _call(bob, address(market), 1 gwei * 1 days, abi.encodeCall(Marketplace.leaseModel, (id3, 1 days)))
        );
        bytes32 h4 = keccak256("h4");
        _update(id2, ALICE_PK, ALICE_PK, h4, 3);
        Marketplace.LedgerStep[] memory steps = new Marketplace.LedgerStep[](1);
        steps[0] = Marketplace.LedgerStep(keccak256(abi.encode("data", id2, h4)), 3, h4, alice);
        _log(
            "setDataPrice (1 ledger step)",
            _call(alice, address(market), 0, abi.encodeCall(Marketplace.setDataPrice, (id2, 1 ether, KEY, bytes32(0), steps)))
        );
    }
}
