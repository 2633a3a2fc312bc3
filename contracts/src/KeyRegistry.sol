// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title KeyRegistry — public encryption keys for key wrapping
/// @notice Each account publishes its X25519 (32 bytes) and ML-KEM-768 (1184 bytes) public
/// keys; sellers wrap content keys for buyers and lessees with both (hybrid KEM).
contract KeyRegistry {
    uint256 public constant X25519_LENGTH = 32;
    uint256 public constant MLKEM768_LENGTH = 1184;

    struct PublicKeys {
        bytes x25519;
        bytes mlkem768;
        uint64 updatedAt;
    }

    mapping(address account => PublicKeys) private _keys;

    /// @notice `account` published (or replaced) its keys.
    event KeysPublished(address indexed account, bytes x25519, bytes mlkem768);
    /// @notice `account` removed its keys.
    event KeysRevoked(address indexed account);

    /// @notice A key has the wrong length.
    error KeyRegistryInvalidKeyLength(uint256 expected, uint256 got);
    /// @notice The account has no keys published.
    error KeyRegistryNoKeys(address account);

    /// @notice Publish the caller's public keys.
    function setKeys(bytes calldata x25519, bytes calldata mlkem768) external {
        if (x25519.length != X25519_LENGTH) revert KeyRegistryInvalidKeyLength(X25519_LENGTH, x25519.length);
        if (mlkem768.length != MLKEM768_LENGTH) revert KeyRegistryInvalidKeyLength(MLKEM768_LENGTH, mlkem768.length);
        _keys[msg.sender] = PublicKeys(x25519, mlkem768, uint64(block.timestamp));
        emit KeysPublished(msg.sender, x25519, mlkem768);
    }

    /// @notice Remove the caller's keys.
    function revokeKeys() external {
        if (_keys[msg.sender].updatedAt == 0) revert KeyRegistryNoKeys(msg.sender);
        delete _keys[msg.sender];
        emit KeysRevoked(msg.sender);
    }

    /// @notice Keys of `account` (reverts if none).
    function keysOf(address account) external view returns (PublicKeys memory) {
        PublicKeys memory k = _keys[account];
        if (k.updatedAt == 0) revert KeyRegistryNoKeys(account);
        return k;
    }

    /// @notice Whether `account` has published keys.
    function hasKeys(address account) external view returns (bool) {
        return _keys[account].updatedAt != 0;
    }
}
