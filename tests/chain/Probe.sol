// SPDX-License-Identifier: CC0-1.0
pragma solidity ^0.8.24;

/// A tiny contract for the chain-layer tests: custom errors, an event, block time.
contract Probe {
    error ProbeNotOwner(uint256 tokenId, address caller);
    error ProbeNonexistentToken(uint256 tokenId);
    error ProbeTooBig(uint256 value);

    event Stored(address indexed who, uint256 value);

    address public owner;
    uint256 public value;

    constructor(uint256 initial) {
        owner = msg.sender;
        value = initial;
    }

    function store(uint256 v) external {
        if (msg.sender != owner) revert ProbeNotOwner(v, msg.sender);
        if (v > 1000) revert ProbeTooBig(v);
        value = v;
        emit Stored(msg.sender, v);
    }

    function get(uint256 id) external view returns (uint256) {
        if (id != 0) revert ProbeNonexistentToken(id);
        return value;
    }

    function nowTs() external view returns (uint256) {
        return block.timestamp;
    }

    function fail() external pure {
        require(false, "plain reason");
    }

    function deposit() external payable {}
}
