/**
 * Typed client for `zoo serve`, the owner-run model API (docs/serve.md).
 *
 * Public reads (`listModels`, `getModel`) need no account. `ask`/`suggest` (one token or an
 * ensemble) are EIP-712 signed with a viem account — `ServiceRequest(string method, string path,
 * bytes32 bodyHash, uint256 nonce, uint256 expiry)` in the domain `{name: "ZooService",
 * version: "1", chainId, verifyingContract: <the serving account>}` — and every answer's
 * `ModelAnswer` signature is checked against the serving account before it is returned.
 */
import {
  type Account,
  type Address,
  type Hex,
  hashTypedData,
  keccak256,
  recoverTypedDataAddress,
  toBytes,
} from "viem";

export const SERVICE_REQUEST_TYPES = {
  ServiceRequest: [
    { name: "method", type: "string" },
    { name: "path", type: "string" },
    { name: "bodyHash", type: "bytes32" },
    { name: "nonce", type: "uint256" },
    { name: "expiry", type: "uint256" },
  ],
} as const;

export const MODEL_ANSWER_TYPES = {
  ModelAnswer: [
    { name: "requestHash", type: "bytes32" },
    { name: "tokenIds", type: "uint256[]" },
    { name: "generations", type: "uint256[]" },
    { name: "modelHashes", type: "bytes32[]" },
    { name: "resultHash", type: "bytes32" },
    { name: "issuedAt", type: "uint256" },
  ],
} as const;

/** `GET /v1/server`: who serves (signs answers; signed requests name it), chain and contracts. */
export interface ServerInfo {
  server: Address;
  chain_id: number;
  nft: Address;
  marketplace: Address;
}

export interface Listing {
  seller: Address;
  for_sale: boolean;
  for_lease: boolean;
  price_wei: string;
  lease_price_per_day_wei: string;
  max_lease_s: number;
  min_lease_s: number;
  lease_kind: "key" | "hosted" | null;
  endpoint: string | null;
  generation: number;
  [field: string]: unknown;
}

/** A row of `GET /v1/models`. */
export interface ModelSummary {
  token_id: number;
  name: string;
  owner: Address;
  generation: number;
  stage: string;
  performance: number;
  specialization: string;
  listing: Listing | null;
}

/** `GET /v1/models/{token}`: public metadata, lineage, scores, stage, listing. */
export interface ModelDetails {
  token_id: number;
  name: string;
  owner: Address;
  base_model: Hex;
  model_hash: Hex;
  cid: string | null;
  generation: number;
  stage: string;
  training_ops: number;
  performance: number;
  task_scores: Record<string, number>;
  verified: boolean;
  specialization: string;
  specializations: string[];
  parents: number[];
  user: Address | null;
  user_expires: number | null;
  listing: Listing | null;
  served: boolean;
  [field: string]: unknown;
}

export interface Member {
  token_id: number;
  generation: number;
  model_hash: Hex;
  performance: number;
  role: "owner" | "user";
}

export interface Attestation {
  signer: Address;
  chain_id: number;
  request_hash: Hex;
  result_hash: Hex;
  issued_at: number;
  signature: Hex;
}

export interface AskResult {
  answer: string;
  agreement: number;
  votes: { token_id: number; answer: string; weight: number }[];
  prompt: string;
}

export interface SuggestResult {
  task: string;
  [field: string]: unknown;
}

/** A signed answer; `result` is `JSON.parse(result_text)`, the text whose hash was signed. */
export interface Answer<R> {
  tokens: number[];
  members: Member[];
  result: R;
  result_text: string;
  attestation: Attestation;
}

/** Every error the API returns: `{error: {code, message, hint}}` with the HTTP status. */
export class ZooApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint: string = "",
    readonly retryAfter: number | null = null,
  ) {
    super(`${status} ${code}: ${message}`);
    this.name = "ZooApiError";
  }
}

/** The four X-Zoo-* signing headers of one request. */
export interface SignedHeaders {
  "X-Zoo-Address": Address;
  "X-Zoo-Nonce": string;
  "X-Zoo-Expiry": string;
  "X-Zoo-Signature": Hex;
}

export interface ClientOptions {
  /** e.g. `http://127.0.0.1:8780` (the hosted lease's endpoint). */
  baseUrl: string;
  /** A viem account able to sign typed data (`privateKeyToAccount`, a wallet's local account). */
  account?: Account;
  /** Seconds a signature stays valid (the server accepts at most 3600). Default 300. */
  ttlSeconds?: number;
  fetch?: typeof fetch;
}

function randomNonce(): bigint {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return BigInt("0x" + Buffer.from(b).toString("hex"));
}

export class ZooModelClient {
  readonly baseUrl: string;
  readonly account: Account | undefined;
  readonly ttlSeconds: number;
  private readonly fetchFn: typeof fetch;
  private info: ServerInfo | undefined;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.account = options.account;
    this.ttlSeconds = options.ttlSeconds ?? 300;
    this.fetchFn = options.fetch ?? fetch;
  }

  private async json<T>(res: Response): Promise<T> {
    const text = await res.text();
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw new ZooApiError(res.status, "bad_response", `not JSON: ${text.slice(0, 200)}`);
    }
    if (!res.ok) {
      const e = (doc as { error?: { code?: string; message?: string; hint?: string } }).error ?? {};
      const retry = res.headers.get("retry-after");
      throw new ZooApiError(res.status, e.code ?? "http_error", e.message ?? res.statusText, e.hint ?? "",
        retry === null ? null : Number(retry));
    }
    return doc as T;
  }

  private get<T>(path: string): Promise<T> {
    return this.fetchFn(this.baseUrl + path).then((r) => this.json<T>(r));
  }

  /** Who serves (cached). */
  async server(): Promise<ServerInfo> {
    this.info ??= await this.get<ServerInfo>("/v1/server");
    return this.info;
  }

  async listModels(): Promise<ModelSummary[]> {
    return (await this.get<{ models: ModelSummary[] }>("/v1/models")).models;
  }

  getModel(tokenId: number | bigint): Promise<ModelDetails> {
    return this.get<ModelDetails>(`/v1/models/${tokenId}`);
  }

  /** Sign one request (exported for callers that send it themselves). */
  async signRequest(method: string, path: string, body: string,
                    opts: { nonce?: bigint; expiry?: bigint } = {}): Promise<{ headers: SignedHeaders; requestHash: Hex }> {
    const account = this.account;
    if (!account?.signTypedData) throw new Error("a signing account is needed (ClientOptions.account)");
    const info = await this.server();
    const domain = { name: "ZooService", version: "1", chainId: info.chain_id, verifyingContract: info.server } as const;
    const message = {
      method: method.toUpperCase(),
      path,
      bodyHash: keccak256(toBytes(body)),
      nonce: opts.nonce ?? randomNonce(),
      expiry: opts.expiry ?? BigInt(Math.floor(Date.now() / 1000) + this.ttlSeconds),
    };
    const typed = { domain, types: SERVICE_REQUEST_TYPES, primaryType: "ServiceRequest", message } as const;
    const signature = await account.signTypedData(typed);
    return {
      headers: {
        "X-Zoo-Address": account.address,
        "X-Zoo-Nonce": message.nonce.toString(),
        "X-Zoo-Expiry": message.expiry.toString(),
        "X-Zoo-Signature": signature,
      },
      requestHash: hashTypedData(typed),
    };
  }

  /** POST exact body bytes with the given headers; the parsed answer (not yet verified). */
  async postRaw<R>(path: string, body: string, headers: Partial<SignedHeaders> = {}): Promise<Answer<R>> {
    const res = await this.fetchFn(this.baseUrl + path, {
      method: "POST",
      body,
      headers: { "Content-Type": "application/json", ...headers },
    });
    return this.json<Answer<R>>(res);
  }

  /** Check an answer: the result text hashes to the signed resultHash, the request hash is
   *  ours, and the ModelAnswer signature recovers to the serving account. Throws otherwise. */
  async verifyAnswer<R>(answer: Answer<R>, requestHash: Hex): Promise<Answer<R>> {
    const info = await this.server();
    const a = answer.attestation;
    const resultHash = keccak256(toBytes(answer.result_text));
    if (resultHash !== a.result_hash) throw new Error("answer: result_text does not match the signed result hash");
    if (a.request_hash.toLowerCase() !== requestHash.toLowerCase()) throw new Error("answer: for another request");
    const signer = await recoverTypedDataAddress({
      domain: { name: "ZooService", version: "1", chainId: info.chain_id, verifyingContract: info.server },
      types: MODEL_ANSWER_TYPES,
      primaryType: "ModelAnswer",
      message: {
        requestHash,
        tokenIds: answer.members.map((m) => BigInt(m.token_id)),
        generations: answer.members.map((m) => BigInt(m.generation)),
        modelHashes: answer.members.map((m) => m.model_hash),
        resultHash,
        issuedAt: BigInt(a.issued_at),
      },
      signature: a.signature,
    });
    if (signer.toLowerCase() !== info.server.toLowerCase()) {
      throw new Error(`answer signed by ${signer}, not by the serving account ${info.server}`);
    }
    return { ...answer, result: JSON.parse(answer.result_text) as R };
  }

  private async signedPost<R>(path: string, payload: unknown): Promise<Answer<R>> {
    const body = JSON.stringify(payload);
    const { headers, requestHash } = await this.signRequest("POST", path, body);
    return this.verifyAnswer(await this.postRaw<R>(path, body, headers), requestHash);
  }

  /** Ask one model (the caller owns it or is its active user / hosted lessee). */
  ask(tokenId: number, prompt: string): Promise<Answer<AskResult>> {
    return this.signedPost(`/v1/models/${tokenId}/ask`, { prompt });
  }

  /** A structured suggestion: task `defi` (yield strategy: `pools`, `capital`), `gaming`
   *  (next action: `game`, `hp`, `enemy`, `loot`), `nft` (trait sets: `theme`, `n`), `social`, `governance`. */
  suggest<R extends SuggestResult = SuggestResult>(tokenId: number, task: string,
                                                   fields: Record<string, unknown> = {}): Promise<Answer<R>> {
    return this.signedPost(`/v1/models/${tokenId}/suggest`, { task, fields });
  }

  /** Several tokens of one base; votes weighted by on-chain performance. */
  ensembleAsk(tokens: number[], prompt: string): Promise<Answer<AskResult>> {
    return this.signedPost("/v1/ensemble/ask", { tokens, prompt });
  }

  ensembleSuggest<R extends SuggestResult = SuggestResult>(tokens: number[], task: string,
                                                           fields: Record<string, unknown> = {}): Promise<Answer<R>> {
    return this.signedPost("/v1/ensemble/suggest", { tokens, task, fields });
  }
}

export { DeFiAIAssistant, GameAICompanion, NFTAICreator } from "./apps.js";
export { keyRegistryAbi, marketplaceAbi, readLeaseTerms, readModel, readUser, zooModelNftAbi } from "./contracts.js";
