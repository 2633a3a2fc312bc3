/**
 * Typed reads of the zoo contracts with a viem PublicClient; the ABIs are generated from the
 * project's artifacts (src/abis.ts), so argument and result types follow the contracts.
 */
import type { Address, PublicClient } from "viem";

import { marketplaceAbi, zooModelNftAbi } from "./abis.js";

export { keyRegistryAbi, marketplaceAbi, zooModelNftAbi } from "./abis.js";

/** `ZooModelNFT.getModelMetadata(tokenId)`: owner, hashes, lineage, generation, performance, … */
export function readModel(client: PublicClient, nft: Address, tokenId: bigint) {
  return client.readContract({ address: nft, abi: zooModelNftAbi, functionName: "getModelMetadata", args: [tokenId] });
}

/** The ERC-4907 user and its expiry (unix seconds); the user reads as zero after expiry. */
export async function readUser(client: PublicClient, nft: Address, tokenId: bigint): Promise<{ user: Address; expires: bigint }> {
  const [user, expires] = await Promise.all([
    client.readContract({ address: nft, abi: zooModelNftAbi, functionName: "userOf", args: [tokenId] }),
    client.readContract({ address: nft, abi: zooModelNftAbi, functionName: "userExpires", args: [tokenId] }),
  ]);
  return { user, expires };
}

/** A lease listing's terms: minimum duration and price, kind (0 key, 1 hosted) and endpoint. */
export async function readLeaseTerms(client: PublicClient, market: Address, tokenId: bigint) {
  const [minDuration, minPrice, kind, endpoint] = await client.readContract({
    address: market, abi: marketplaceAbi, functionName: "leaseTerms", args: [tokenId],
  });
  return { minDuration, minPrice, kind: kind === 1 ? ("hosted" as const) : ("key" as const), endpoint };
}
