// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ERC-4907: Rental NFT, an extension of ERC-721 (interface id 0xad092b5c)
interface IERC4907 {
    /// @notice Emitted when the user of an NFT or its expiry changes (user 0 = cleared).
    event UpdateUser(uint256 indexed tokenId, address indexed user, uint64 expires);

    /// @notice Set the user and expiry of an NFT.
    function setUser(uint256 tokenId, address user, uint64 expires) external;

    /// @notice The current user of an NFT (zero if none or expired).
    function userOf(uint256 tokenId) external view returns (address);

    /// @notice The user's expiry timestamp.
    function userExpires(uint256 tokenId) external view returns (uint256);
}
