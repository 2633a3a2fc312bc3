/**
 * Runnable example (after `npm run build`):
 *   ZOO_SERVE_URL=http://127.0.0.1:8780 ZOO_PRIVATE_KEY=0x… ZOO_TOKEN=1 node dist/examples/quickstart.js
 * The key's account must own the token or be its active user (e.g. a hosted lease).
 */
import { privateKeyToAccount } from "viem/accounts";
import type { Hex } from "viem";

import { DeFiAIAssistant, GameAICompanion, NFTAICreator, ZooModelClient } from "../src/index.js";

const client = new ZooModelClient({
  baseUrl: process.env.ZOO_SERVE_URL ?? "http://127.0.0.1:8780",
  account: privateKeyToAccount(process.env.ZOO_PRIVATE_KEY as Hex),
});
const token = Number(process.env.ZOO_TOKEN ?? 1);

console.log(await client.getModel(token));
const answer = await client.ask(token, "pool=ETH/USDC apy=4.2 risk=low ->");
console.log(answer.result.answer, "signed by", answer.attestation.signer);
const plan = await new DeFiAIAssistant(client, token).suggestYieldStrategy(
  [{ pool: "ETH/USDC", apy: 4.2, risk: "low" }, { pool: "WBTC/ETH", apy: 9.5, risk: "high" }], 1000);
console.log(plan.result.allocations);
console.log("npc:", await new GameAICompanion(client, token).decideAction({ game: "dungeon", hp: 40, enemy: "orc" }));
console.log("traits:", await new NFTAICreator(client, token).generateTraits("ZooApes", 3));
