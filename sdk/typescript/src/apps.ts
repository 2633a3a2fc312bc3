/**
 * The ZIP-6 integration sketches as thin helpers over the client: an app calls a user-owned
 * model it owns or leases (hosted lease: API access, no key), and gets an owner-signed answer.
 */
import type { Answer, SuggestResult, ZooModelClient } from "./index.js";

export interface Pool { pool: string; apy: number; risk: "low" | "medium" | "high" | string }
export interface Allocation { pool: string; apy: number; risk: string; action: string; token: string | null; amount: number }
export interface YieldStrategy extends SuggestResult { task: "defi"; capital: number; allocations: Allocation[] }
export interface GameState { game?: string; hp?: number; enemy?: string; loot?: boolean }
export interface GameAction extends SuggestResult { task: "gaming"; action: string; answer: string }
export interface TraitSet { rarity: string; eyes: string; background: string; [k: string]: unknown }
export interface TraitSets extends SuggestResult { task: "nft"; theme: string; trait_sets: TraitSet[] }

/** ZIP-6 `DeFiAIAssistant.suggestYieldStrategy`. */
export class DeFiAIAssistant {
  constructor(private readonly client: ZooModelClient, readonly tokenId: number) {}
  async suggestYieldStrategy(pools: Pool[], capital: number): Promise<Answer<YieldStrategy>> {
    return this.client.suggest<YieldStrategy>(this.tokenId, "defi", { pools, capital });
  }
}

/** ZIP-6 `GameAICompanion.decideAction`. */
export class GameAICompanion {
  constructor(private readonly client: ZooModelClient, readonly tokenId: number) {}
  async decideAction(state: GameState): Promise<string> {
    return (await this.client.suggest<GameAction>(this.tokenId, "gaming", { ...state })).result.action;
  }
}

/** ZIP-6 `NFTAICreator`: the trait sets the model likes best for a theme. */
export class NFTAICreator {
  constructor(private readonly client: ZooModelClient, readonly tokenId: number) {}
  async generateTraits(theme: string, n = 5): Promise<TraitSet[]> {
    return (await this.client.suggest<TraitSets>(this.tokenId, "nft", { theme, n })).result.trait_sets;
  }
}
