// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ZooTest} from "./utils/ZooTest.sol";
import {ZooModelNFT} from "../src/ZooModelNFT.sol";
import {KeyRegistry} from "../src/KeyRegistry.sol";

/// Every module of a suite is reachable from the NFT address alone (`zoo network add`).
contract DiscoveryTest is ZooTest {
    function test_keyRegistry_createdWithNftAndWorking() public {
        KeyRegistry reg = KeyRegistry(nft.keyRegistry());
        assertTrue(address(reg).code.length > 0, "registry deployed");
        bytes memory x = new bytes(32);
        bytes memory m = new bytes(1184);
        x[0] = 0x01;
        vm.prank(alice);
        reg.setKeys(x, m);
        assertTrue(reg.hasKeys(alice), "keys published");
        assertEq(keccak256(reg.keysOf(alice).x25519), keccak256(x), "x25519 stored");
    }

    function test_keyRegistry_distinctPerSuite() public {
        ZooModelNFT other = new ZooModelNFT(address(this), 500);
        assertTrue(other.keyRegistry() != nft.keyRegistry(), "one registry per suite");
    }
}
