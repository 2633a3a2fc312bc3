/**
 * Against a live `zoo serve` (started by tests/e2e/test_serve.py, which passes the server and
 * the parties in the environment): a hosted lessee asks through the SDK and gets an answer
 * signed by the owner's account; an outsider, a replayed signature, a tampered answer and a
 * 10 MB prompt are refused cleanly.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createPublicClient, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { Hex } from "viem";

import {
  DeFiAIAssistant, GameAICompanion, readLeaseTerms, readModel, readUser, ZooApiError, ZooModelClient,
} from "../src/index.js";

const env = process.env;
const url = env.ZOO_SERVE_URL;
const live = url !== undefined;

function client(key?: string): ZooModelClient {
  if (!url) throw new Error("ZOO_SERVE_URL");
  return key ? new ZooModelClient({ baseUrl: url, account: privateKeyToAccount(key as Hex) })
             : new ZooModelClient({ baseUrl: url });
}

async function refused(p: Promise<unknown>, status: number, code?: string): Promise<ZooApiError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ZooApiError, `expected a ZooApiError, got ${String(e)}`);
    assert.equal(e.status, status, e.message);
    if (code) assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected HTTP ${status}`);
}

describe("zoo serve through the SDK", { skip: live ? false : "set ZOO_SERVE_URL (run by tests/e2e/test_serve.py)" }, () => {
  const token = Number(env.ZOO_TOKEN);
  const prompt = "pool=ETH/USDC apy=4.2 risk=low ->";

  it("lists and reads models without a signature", async () => {
    const c = client();
    const info = await c.server();
    assert.equal(info.server.toLowerCase(), String(env.ZOO_OWNER).toLowerCase());
    const models = await c.listModels();
    assert.ok(models.some((m) => m.token_id === token));
    const m = await c.getModel(token);
    assert.equal(m.served, true);
    assert.equal(m.listing?.lease_kind, "hosted");
    assert.ok(m.generation >= 1);
  });

  it("reads the token from the chain with the ABIs generated from the artifacts", {
    skip: env.ZOO_RPC_URL ? false : "set ZOO_RPC_URL",
  }, async () => {
    const chain = createPublicClient({ transport: http(env.ZOO_RPC_URL) });
    const info = await client().server();
    const m = await readModel(chain, info.nft, BigInt(token));
    assert.equal(m.owner.toLowerCase(), String(env.ZOO_OWNER).toLowerCase());
    const served = await client().getModel(token);
    assert.equal(m.generation, BigInt(served.generation));
    assert.equal(m.modelHash, served.model_hash);
    const { user, expires } = await readUser(chain, info.nft, BigInt(token));
    assert.equal(user, privateKeyToAccount(env.ZOO_LESSEE_KEY as Hex).address);
    assert.ok(expires > 0n);
    const terms = await readLeaseTerms(chain, info.marketplace, BigInt(token));
    assert.equal(terms.kind, "hosted");
    assert.equal(terms.endpoint, url);
  });

  it("answers the hosted lessee, signed by the owner's account", async () => {
    const c = client(env.ZOO_LESSEE_KEY);
    const a = await c.ask(token, prompt);
    assert.deepEqual(a.tokens, [token]);
    assert.equal(a.members[0]?.role, "user");
    assert.equal(a.attestation.signer.toLowerCase(), String(env.ZOO_OWNER).toLowerCase());
    assert.equal(typeof a.result.answer, "string");
    assert.ok(a.result.answer.length > 0);
    const strategy = await new DeFiAIAssistant(c, token).suggestYieldStrategy(
      [{ pool: "ETH/USDC", apy: 4.2, risk: "low" }, { pool: "WBTC/ETH", apy: 9.5, risk: "high" }], 1000);
    assert.equal(strategy.result.allocations.length, 2);
    assert.equal(typeof (await new GameAICompanion(c, token).decideAction({ hp: 40, enemy: "orc" })), "string");
    const both = await c.ensembleAsk([token], prompt);
    assert.equal(both.result.answer, a.result.answer);
    // the SDK's Answer/Attestation types follow the served OpenAPI document
    const doc = (await (await fetch(`${url}/openapi.json`)).json()) as {
      components: { schemas: Record<string, { properties: Record<string, unknown> }> };
    };
    const props = (name: string) => Object.keys(doc.components.schemas[name]?.properties ?? {}).sort();
    assert.deepEqual(Object.keys(a).sort(), props("Answer"));
    assert.deepEqual(Object.keys(a.attestation).sort(), props("Attestation"));
    assert.deepEqual(Object.keys(a.members[0] ?? {}).sort(), props("Member"));
  });

  it("rejects a tampered answer", async () => {
    const c = client(env.ZOO_LESSEE_KEY);
    const body = JSON.stringify({ prompt });
    const path = `/v1/models/${token}/ask`;
    const { headers, requestHash } = await c.signRequest("POST", path, body);
    const a = await c.postRaw<{ answer: string }>(path, body, headers);
    await c.verifyAnswer(a, requestHash);
    const forged = { ...a, result_text: a.result_text.replace(/"answer":"[^"]*"/, '"answer":"sell everything"') };
    await assert.rejects(c.verifyAnswer(forged, requestHash), /result hash/);
    await assert.rejects(c.verifyAnswer(a, ("0x" + "00".repeat(32)) as Hex), /another request/);
  });

  it("refuses an outsider with 403 and a replay with 401", async () => {
    await refused(client(env.ZOO_OUTSIDER_KEY).ask(token, prompt), 403, "forbidden");
    const c = client(env.ZOO_LESSEE_KEY);
    const body = JSON.stringify({ prompt });
    const path = `/v1/models/${token}/ask`;
    const { headers } = await c.signRequest("POST", path, body);
    await c.postRaw(path, body, headers);
    await refused(c.postRaw(path, body, headers), 401, "replay");
    // a replayed signature is 401 whatever else is wrong (here: the signer has no rights either)
    const o = client(env.ZOO_OUTSIDER_KEY);
    const signed = await o.signRequest("POST", path, body);
    await refused(o.postRaw(path, body, signed.headers), 403, "forbidden");
    await refused(o.postRaw(path, body, signed.headers), 401, "replay");
    await refused(client().postRaw(path, body), 401, "unsigned");
  });

  it("refuses a 10 MB prompt cleanly and keeps answering", async () => {
    const c = client(env.ZOO_LESSEE_KEY);
    await refused(c.ask(token, "a".repeat(10 * 1024 * 1024)), 413, "body_too_large");
    await refused(c.ask(token, "a".repeat(2001)), 400, "prompt_too_long");
    assert.ok((await c.ask(token, prompt)).result.answer.length > 0);
  });
});
