// The server's routes and their formats:
// - Hugging Face's Inference API: POST /TASK (or / with one task) {"inputs", "parameters"}, the
//   answer in the shape `distilbert predict` prints; for feature extraction also the top-level
//   "normalize" and "truncate" that text-embeddings-inference takes and @huggingface/inference
//   sends;
// - text-embeddings-inference (TEI): POST /embed, /embed_sparse, /similarity, /predict, /rerank,
//   /tokenize, /decode, GET /info;
// - OpenAI's POST /v1/embeddings;
// - GET /health and Prometheus' GET /metrics.
// Inputs are checked here, before any work: their number (422), their length in tokens (422
// unless truncation is asked for). Lists are answered as streamed JSON, one output at a time.

import { basename, resolve } from "node:path";
import { Readable } from "node:stream";
import type { FastifyReply } from "fastify";
import { exceedsJsonDepth, MAX_JSON_DEPTH } from "../io/json-depth.js";
import { normalizeL2 } from "../pipelines/math.js";
import { rankTexts } from "../pipelines/text-ranking.js";
import type { Tokenizer } from "../tokenizer/index.js";
import type { BatchInput } from "./batcher.js";
import { HttpError, type InferenceServer, type ServedTask } from "./server.js";

const BODY_EXAMPLE = `{"inputs": "...", "parameters": {...}}`;

/** Tasks whose pipelines read inputs of any length (QA in windows; token classification cuts). */
const ANY_LENGTH_TASKS = new Set(["question-answering", "token-classification", "ner"]);

/** The Inference API body's fields; feature extraction also takes TEI's. */
const BODY_KEYS = ["inputs", "parameters", "options"];
const EMBED_KEYS = ["normalize", "truncate", "truncation_direction", "prompt_name"];

const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"] as const;

type Body = Record<string, unknown>;

export function registerRoutes(server: InferenceServer): void {
  const app = server.app;
  // Every body is JSON whatever its Content-Type says (curl -d sends a form type), and no deeper
  // than MAX_JSON_DEPTH: every route's checks and token counts walk it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "string" }, (_request, text, done) => {
    let body: unknown;
    try {
      body = text === "" ? undefined : JSON.parse(text as string);
    } catch (error) {
      const message = `the body must be JSON, ${BODY_EXAMPLE}: ${(error as Error).message}`;
      done(new HttpError(400, message, "Validation"), undefined);
      return;
    }
    if (exceedsJsonDepth(body)) {
      const message = `the body nests arrays and objects more than ${MAX_JSON_DEPTH} deep: send ${BODY_EXAMPLE} with texts, or lists of texts`;
      done(new HttpError(422, message, "Validation"), undefined);
      return;
    }
    done(null, body);
  });

  const route = (
    allowed: "GET" | "POST",
    url: string,
    handler: (body: unknown, reply: FastifyReply) => Promise<unknown>,
  ) => {
    const methods = allowed === "GET" ? ["GET", "HEAD"] : ["POST"];
    app.route({
      method: methods as ("GET" | "HEAD" | "POST")[],
      url,
      handler: (request, reply) => handler(request.body, reply),
    });
    app.route({
      method: METHODS.filter((m) => !methods.includes(m)),
      url,
      handler: async () => {
        const how = allowed === "POST" ? " with a JSON body" : "";
        throw new HttpError(405, `use ${allowed} ${url}${how}`, "MethodNotAllowed", {
          Allow: methods.join(", "),
        });
      },
    });
  };

  const health = {
    status: "ok",
    tasks: [...server.tasks.keys()],
    model: modelsOf(server),
  };
  route("GET", "/health", async () => health);
  route("GET", "/info", async () => info(server));
  route("GET", "/metrics", async (_body, reply) => {
    reply.type(server.metrics.registry.contentType);
    return server.metrics.registry.metrics();
  });

  for (const served of server.tasks.values()) {
    // A cross-encoder takes a query and its texts, not "inputs": its own route is /rerank's.
    const run = (body: unknown, reply: FastifyReply) =>
      served.task === "text-ranking"
        ? rerank(server, body, reply)
        : inferenceApi(server, served, body, reply);
    route("POST", `/${served.task}`, run);
    if (server.tasks.size === 1) route("POST", "/", run);
  }
  route("POST", "/embed", (body, reply) => embed(server, body, reply));
  route("POST", "/embed_sparse", (body, reply) => embedSparse(server, body, reply));
  route("POST", "/similarity", (body, reply) => similarity(server, body, reply));
  route("POST", "/rerank", (body, reply) => rerank(server, body, reply));
  route("POST", "/v1/embeddings", (body, reply) => openAiEmbeddings(server, body, reply));
  route("POST", "/predict", (body, reply) => predict(server, body, reply));
  route("POST", "/tokenize", async (body) => tokenize(server, body));
  route("POST", "/decode", async (body) => decode(server, body));
}

async function inferenceApi(
  server: InferenceServer,
  served: ServedTask,
  raw: unknown,
  reply: FastifyReply,
): Promise<unknown> {
  const embedding = served.task === "feature-extraction";
  const body = objectBody(raw, BODY_EXAMPLE, 400);
  allowOnly(body, embedding ? [...BODY_KEYS, ...EMBED_KEYS] : BODY_KEYS, BODY_EXAMPLE, 400);
  if (body.inputs === undefined) {
    throw new HttpError(400, `the body has no "inputs": send ${BODY_EXAMPLE}`, "Validation");
  }
  const parameters = body.parameters ?? {};
  if (parameters === null || typeof parameters !== "object" || Array.isArray(parameters)) {
    const got = JSON.stringify(parameters);
    const message = `"parameters" must be an object such as {"top_k": 3}, got ${got}`;
    throw new HttpError(400, message, "Validation");
  }
  const options = {
    ...(parameters as Body),
    ...(embedding ? embedOptions(body, false, served) : {}),
  };
  const list = Array.isArray(body.inputs);
  const values = list ? (body.inputs as unknown[]) : [body.inputs];
  const inputs = checkedInputs(server, served, values, !list, options);
  const outputs = await server.infer(reply, served, inputs, options);
  return list ? streamList(reply, outputs) : outputs[0];
}

/** TEI's POST /embed: {"inputs": text or texts, "normalize", "truncate"} -> a list of vectors. */
function embed(server: InferenceServer, raw: unknown, reply: FastifyReply): Promise<unknown> {
  const served = servedFor(server, ["feature-extraction"], "/embed");
  const example = `{"inputs": "..." or ["...", ...], "normalize": true, "truncate": false}`;
  return runTexts(server, served, raw, reply, example, EMBED_KEYS, (body) => ({
    pooling: served.pooling,
    ...embedOptions(body, true, served),
  }));
}

/**
 * TEI's POST /embed_sparse: {"inputs": text or texts, "truncate"} -> per text, its SPLADE
 * weights that are not zero, [{"index", "value"}] by index.
 */
function embedSparse(server: InferenceServer, raw: unknown, reply: FastifyReply): Promise<unknown> {
  const served = servedFor(server, ["sparse-embedding"], "/embed_sparse");
  const example = `{"inputs": "..." or ["...", ...], "truncate": false}`;
  const keys = ["truncate", "truncation_direction", "prompt_name"];
  return runTexts(server, served, raw, reply, example, keys, (body) => {
    noPrompts(body);
    return truncation(body, served);
  });
}

/**
 * A TEI route whose body is {"inputs": text or texts, and `keys`}: the texts run on `served` with
 * the options `optionsOf` reads from the body, answered with a list of one output per text.
 */
async function runTexts(
  server: InferenceServer,
  served: ServedTask,
  raw: unknown,
  reply: FastifyReply,
  example: string,
  keys: string[],
  optionsOf: (body: Body) => Body,
): Promise<unknown> {
  const body = objectBody(raw, example, 422);
  allowOnly(body, ["inputs", ...keys], example, 422);
  const texts = stringList(body.inputs, "inputs", example);
  const options = optionsOf(body);
  const inputs = checkedInputs(server, served, texts, false, options);
  return streamList(reply, await server.infer(reply, served, inputs, options));
}

/**
 * TEI's POST /similarity: {"inputs": {"source_sentence", "sentences"}, "parameters": {"truncate"}}
 * -> the cosine similarity of each sentence's embedding with the source sentence's.
 */
async function similarity(
  server: InferenceServer,
  raw: unknown,
  reply: FastifyReply,
): Promise<unknown> {
  const served = servedFor(server, ["feature-extraction"], "/similarity");
  const example = `{"inputs": {"source_sentence": "...", "sentences": ["...", ...]}}`;
  const body = objectBody(raw, example, 422);
  allowOnly(body, ["inputs", "parameters"], example, 422);
  const inputs = fieldObject(body.inputs, "inputs", example);
  allowOnly(inputs, ["source_sentence", "sentences"], example, 422);
  if (typeof inputs.source_sentence !== "string" || !Array.isArray(inputs.sentences)) {
    const message = `"inputs" needs "source_sentence" (a text) and "sentences" (texts): send ${example}`;
    throw new HttpError(422, message, "Validation");
  }
  const sentences = stringList(inputs.sentences, "sentences", example);
  const parameters = fieldObject(body.parameters ?? {}, "parameters", example);
  allowOnly(parameters, ["truncate", "truncation_direction", "prompt_name"], example, 422);
  noPrompts(parameters);
  const options = { pooling: served.pooling, normalize: true, ...truncation(parameters, served) };
  const texts = [inputs.source_sentence, ...sentences];
  const checked = checkedInputs(server, served, texts, false, options);
  const [source, ...vectors] = (await server.infer(reply, served, checked, options)) as number[][];
  // Unit vectors: their dot product is their cosine.
  return vectors.map((vector) => vector.reduce((sum, value, i) => sum + value * source[i], 0));
}

/**
 * TEI's POST /rerank: {"query", "texts", "raw_scores", "return_text", "truncate"} -> [{"index",
 * "score", "text"?}], best first; the score is the cross-encoder's sigmoid unless raw_scores.
 * Each (query, text) pair is one input of the queue, so the pairs of concurrent requests share
 * forward passes; each request ranks its own.
 */
async function rerank(server: InferenceServer, raw: unknown, reply: FastifyReply) {
  const served = servedFor(server, ["text-ranking"], "/rerank");
  const example = `{"query": "...", "texts": ["...", ...], "raw_scores": false, "return_text": false}`;
  const body = objectBody(raw, example, 422);
  const keys = ["query", "texts", "raw_scores", "return_text", "truncate", "truncation_direction"];
  allowOnly(body, keys, example, 422);
  const query = body.query;
  if (typeof query !== "string") {
    throw new HttpError(422, `"query" must be a text: send ${example}`, "Validation");
  }
  if (!Array.isArray(body.texts)) {
    throw new HttpError(422, `"texts" must be a list of texts: send ${example}`, "Validation");
  }
  const texts = stringList(body.texts, "texts", example);
  if (texts.length === 0) {
    throw new HttpError(400, `"texts" is empty: send at least one text to rank`, "Empty");
  }
  const choices = {
    rawScores: flag(body.raw_scores, "raw_scores", false),
    returnText: flag(body.return_text, "return_text", false),
    topK: null,
  };
  const options = truncation(body, served);
  const pairs = texts.map((text) => ({ text: query, text_pair: text }));
  const inputs = checkedInputs(server, served, pairs, false, options);
  const logits = (await server.infer(reply, served, inputs, options)) as number[];
  return rankTexts(logits, texts, choices);
}

/**
 * OpenAI's POST /v1/embeddings: {"input": text or texts, "model", "encoding_format"} ->
 * {"object": "list", "data": [{"object": "embedding", "index", "embedding"}], "model", "usage"}.
 * The model's own pooling, normalized, as TEI answers it; any `model` names the one served.
 */
async function openAiEmbeddings(
  server: InferenceServer,
  raw: unknown,
  reply: FastifyReply,
): Promise<unknown> {
  const served = servedFor(server, ["feature-extraction"], "/v1/embeddings");
  const example = `{"input": "..." or ["...", ...], "model": "..."}`;
  const body = objectBody(raw, example, 422);
  allowOnly(body, ["input", "model", "encoding_format", "dimensions", "user"], example, 422);
  const texts = stringList(body.input, "input", example);
  const format = body.encoding_format ?? "float";
  if (format !== "float" && format !== "base64") {
    const message = `"encoding_format" is "float" or "base64", got ${JSON.stringify(format)}`;
    throw new HttpError(422, message, "Validation");
  }
  const size = served.config.hiddenSize;
  const dimensions = body.dimensions ?? size;
  if (
    !Number.isInteger(dimensions) ||
    (dimensions as number) < 1 ||
    (dimensions as number) > size
  ) {
    const message = `"dimensions" must be a whole number from 1 to ${size}, this model's embedding size; got ${JSON.stringify(dimensions)}`;
    throw new HttpError(422, message, "Validation");
  }
  const options = { pooling: served.pooling, normalize: true };
  const inputs = checkedInputs(server, served, texts, false, options);
  const outputs = (await server.infer(reply, served, inputs, options)) as number[][];
  const tokens = inputs.reduce((sum, input) => sum + input.tokens, 0);
  return {
    object: "list",
    data: outputs.map((vector, index) => {
      const embedding = shortened(vector, dimensions as number);
      return {
        object: "embedding",
        index,
        embedding: format === "base64" ? base64Floats(embedding) : embedding,
      };
    }),
    model: typeof body.model === "string" ? body.model : basename(served.modelDir),
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}

/**
 * A unit vector's first `dimensions` components, scaled back to unit length: a Matryoshka
 * embedding's shorter version (the vector itself when it keeps them all).
 */
function shortened(vector: number[], dimensions: number): number[] {
  if (dimensions === vector.length) return vector;
  const kept = Float32Array.from(vector.slice(0, dimensions));
  normalizeL2(kept);
  return Array.from(kept);
}

/** A vector as OpenAI's base64 embeddings carry it: float32 values, little-endian. */
function base64Floats(vector: number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  for (const [i, value] of vector.entries()) bytes.writeFloatLE(value, i * 4);
  return bytes.toString("base64");
}

/**
 * TEI's POST /predict: {"inputs": text, [text, pair], or a list of those, "raw_scores",
 * "truncate"} -> every label with its score, best first (a list of those for a list).
 */
async function predict(server: InferenceServer, raw: unknown, reply: FastifyReply) {
  const served = servedFor(server, ["text-classification", "sentiment-analysis"], "/predict");
  const example = `{"inputs": "..." or ["text", "pair"] or [["text"], ["text", "pair"], ...]}`;
  const body = objectBody(raw, example, 422);
  allowOnly(body, ["inputs", "raw_scores", "truncate", "truncation_direction"], example, 422);
  const one = (input: unknown): unknown => {
    if (typeof input === "string") return input;
    if (
      Array.isArray(input) &&
      (input.length === 1 || input.length === 2) &&
      input.every((part) => typeof part === "string")
    ) {
      return input.length === 1 ? input[0] : { text: input[0], text_pair: input[1] };
    }
    throw new HttpError(422, `each input is a text or [text, pair]; send ${example}`, "Validation");
  };
  const batch = Array.isArray(body.inputs) && body.inputs.some((input) => Array.isArray(input));
  const values = batch ? (body.inputs as unknown[]).map(one) : [one(body.inputs)];
  const options: Body = {
    top_k: null,
    ...(flag(body.raw_scores, "raw_scores", false) ? { function_to_apply: "none" } : {}),
    ...truncation(body, served),
  };
  const inputs = checkedInputs(server, served, values, false, options);
  const outputs = await server.infer(reply, served, inputs, options);
  return batch ? streamList(reply, outputs) : outputs[0];
}

/** TEI's POST /tokenize: {"inputs", "add_special_tokens"} -> per text, its tokens. */
function tokenize(server: InferenceServer, raw: unknown): unknown {
  const example = `{"inputs": "..." or ["...", ...], "add_special_tokens": true}`;
  const body = objectBody(raw, example, 422);
  allowOnly(body, ["inputs", "add_special_tokens", "prompt_name"], example, 422);
  noPrompts(body);
  const texts = stringList(body.inputs, "inputs", example);
  checkCount(server, texts.length);
  const tokenizer = firstTokenizer(server);
  const addSpecialTokens = flag(body.add_special_tokens, "add_special_tokens", true);
  return texts.map((text) => {
    const encoding = tokenizer.encode(text, null, { addSpecialTokens });
    return encoding.ids.map((id, i) => {
      const special = encoding.specialTokensMask[i] === 1;
      const [start, stop] = encoding.offsets[i];
      return {
        id,
        text: special ? encoding.tokens[i] : text.slice(start, stop),
        special,
        start: special ? null : start,
        stop: special ? null : stop,
      };
    });
  });
}

/** TEI's POST /decode: {"ids": ids or a list of them, "skip_special_tokens"} -> texts. */
function decode(server: InferenceServer, raw: unknown): unknown {
  const example = `{"ids": [101, 7592, 102] or [[...], ...], "skip_special_tokens": true}`;
  const body = objectBody(raw, example, 422);
  allowOnly(body, ["ids", "skip_special_tokens"], example, 422);
  const isIds = (value: unknown): value is number[] =>
    Array.isArray(value) && value.every((id) => Number.isInteger(id) && id >= 0);
  const lists = isIds(body.ids)
    ? [body.ids]
    : Array.isArray(body.ids) && body.ids.every(isIds)
      ? (body.ids as number[][])
      : null;
  if (lists === null)
    throw new HttpError(422, `"ids" must be token ids: send ${example}`, "Validation");
  checkCount(server, lists.length);
  const tokenizer = firstTokenizer(server);
  const skipSpecialTokens = flag(body.skip_special_tokens, "skip_special_tokens", true);
  return lists.map((ids) => tokenizer.decode(ids, { skipSpecialTokens }));
}

/** TEI's GET /info: the model and this server's limits. */
function info(server: InferenceServer): unknown {
  const first = [...server.tasks.values()][0];
  const classifier = [...server.tasks.values()].find((served) =>
    ["text-classification", "sentiment-analysis"].includes(served.task),
  );
  const reranker = server.tasks.get("text-ranking");
  // TEI names SPLADE models' pooling "splade".
  const pooling =
    server.tasks.has("sparse-embedding") && !server.tasks.has("feature-extraction")
      ? "splade"
      : first.pooling;
  const limits = server.limits;
  return {
    model_id: modelName(first.modelDir),
    model_dtype: first.dtype,
    model_type: classifier
      ? { classifier: { id2label: classifier.config.id2label } }
      : reranker
        ? { reranker: { id2label: reranker.config.id2label } }
        : { embedding: { pooling } },
    tasks: [...server.tasks.keys()],
    max_concurrent_requests: limits.maxConcurrentRequests,
    max_input_length: first.config.maxPositionEmbeddings,
    max_batch_tokens: limits.maxBatchTokens,
    max_batch_requests: limits.maxBatchRequests,
    max_client_batch_size: limits.maxClientBatchSize,
    payload_limit: limits.maxBodyBytes,
  };
}

/** The model folder served, or one per task when they differ. */
function modelsOf(server: InferenceServer): string | Record<string, string> {
  const dirs = Object.fromEntries(
    [...server.tasks].map(([task, s]) => [task, modelName(s.modelDir)]),
  );
  const distinct = new Set(Object.values(dirs));
  return distinct.size === 1 ? [...distinct][0] : dirs;
}

/**
 * How the open routes name a model: its Hub id for a snapshot in the Hub cache, else its folder's
 * name. The full path would tell any client where the server's files are.
 */
function modelName(dir: string): string {
  const hub = /[\\/]models--([^\\/]+)[\\/]snapshots[\\/]/.exec(dir);
  return hub ? hub[1].replace("--", "/") : basename(resolve(dir));
}

/**
 * The inputs of one request as the queue takes them, checked: at most max-client-batch-size of
 * them, and none longer than the model reads unless truncation is asked for (422, before any
 * work). Counting stops one token past the limit, so a huge text costs no more than a long one.
 */
function checkedInputs(
  server: InferenceServer,
  served: ServedTask,
  values: unknown[],
  single: boolean,
  options: Body,
): BatchInput[] {
  checkCount(server, values.length);
  const max = served.config.maxPositionEmbeddings;
  const checked = options.truncation !== true && !ANY_LENGTH_TASKS.has(served.task);
  return values.map((value, i) => {
    const tokens = tokenCount(served.tokenizer, value, max + 1);
    if (checked && tokens > max) {
      const which = values.length > 1 ? `input ${i}` : "the input";
      const message = `${which} is longer than the ${max} tokens this model reads: send "truncate": true (or "parameters": {"truncation": true}), or shorten it`;
      throw new HttpError(422, message, "Validation");
    }
    return { value, tokens, single };
  });
}

function checkCount(server: InferenceServer, count: number): void {
  const max = server.limits.maxClientBatchSize;
  if (count > max) {
    const message = `${count} inputs in one request; this server takes at most ${max} (--max-client-batch-size): send them in several requests`;
    throw new HttpError(422, message, "Validation");
  }
}

/** The tokens of an input (a text, or the texts in a pair, question or list), up to `cap`. */
function tokenCount(tokenizer: Tokenizer, value: unknown, cap: number): number {
  const count = (text: string, pair: string | null = null) =>
    tokenizer.encode(text, pair, { truncation: true, maxLength: cap }).ids.length;
  if (typeof value === "string") return count(value);
  if (Array.isArray(value)) return value.reduce((sum, v) => sum + tokenCount(tokenizer, v, cap), 0);
  if (value !== null && typeof value === "object") {
    const fields = value as Body;
    if (typeof fields.text === "string") {
      return count(fields.text, typeof fields.text_pair === "string" ? fields.text_pair : null);
    }
    return Object.values(fields).reduce<number>((sum, v) => sum + tokenCount(tokenizer, v, cap), 0);
  }
  return 1;
}

/** Feature-extraction options from TEI's top-level fields. */
function embedOptions(body: Body, normalizeByDefault: boolean, served: ServedTask): Body {
  noPrompts(body);
  const normalize = flag(body.normalize, "normalize", normalizeByDefault);
  return {
    ...(body.normalize !== undefined || normalizeByDefault ? { normalize } : {}),
    ...truncation(body, served),
  };
}

/** TEI's "truncate": cut each input to what the model reads. */
function truncation(body: Body, served: ServedTask): Body {
  const direction = body.truncation_direction;
  if (direction !== undefined && direction !== "right" && direction !== "Right") {
    const message = `"truncation_direction" ${JSON.stringify(direction)} is not supported: this server cuts the end of a text ("right")`;
    throw new HttpError(422, message, "Validation");
  }
  const max = served.config.maxPositionEmbeddings;
  return flag(body.truncate, "truncate", false) ? { truncation: true, max_length: max } : {};
}

function noPrompts(body: Body): void {
  if (body.prompt_name !== undefined && body.prompt_name !== null) {
    const message = `"prompt_name" needs prompts in the model folder's sentence-transformers config, which this server does not read`;
    throw new HttpError(422, message, "Validation");
  }
}

function flag(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "boolean") {
    throw new HttpError(
      422,
      `"${name}" must be true or false, got ${JSON.stringify(value)}`,
      "Validation",
    );
  }
  return value;
}

/** A field that must be a JSON object, such as /similarity's "inputs". */
function fieldObject(value: unknown, name: string, example: string): Body {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new HttpError(422, `"${name}" must be a JSON object: send ${example}`, "Validation");
  }
  return value as Body;
}

function objectBody(raw: unknown, example: string, status: number): Body {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new HttpError(status, `the body must be a JSON object, ${example}`, "Validation");
  }
  return raw as Body;
}

function allowOnly(body: Body, keys: string[], example: string, status: number): void {
  const unknown = Object.keys(body).filter((key) => !keys.includes(key));
  if (unknown.length > 0) {
    const message = `unknown field ${unknown.join(", ")} in the body; it takes ${example}`;
    throw new HttpError(status, message, "Validation");
  }
}

function stringList(value: unknown, name: string, example: string): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value;
  throw new HttpError(
    422,
    `"${name}" must be a text or a list of texts: send ${example}`,
    "Validation",
  );
}

function servedFor(server: InferenceServer, tasks: string[], route: string): ServedTask {
  for (const task of tasks) {
    const served = server.tasks.get(task);
    if (served) return served;
  }
  const message = `${route} needs the server started with --task ${tasks[0]}; ${server.routeList()}`;
  throw new HttpError(404, message, "NotFound");
}

function firstTokenizer(server: InferenceServer): Tokenizer {
  return [...server.tasks.values()][0].tokenizer;
}

/** Answers past this many characters are streamed rather than sent as one string. */
const STREAM_AFTER_CHARS = 1 << 20;

/**
 * Sends a list as JSON: in one write when it is small, else streamed one element at a time, so
 * no string of a large answer is ever built.
 */
function streamList(reply: FastifyReply, outputs: unknown[]): FastifyReply {
  reply.type("application/json; charset=utf-8");
  const first: string[] = [];
  let chars = 0;
  for (let i = 0; i < outputs.length && chars <= STREAM_AFTER_CHARS; i++) {
    first.push(JSON.stringify(outputs[i]));
    chars += first[i].length;
  }
  if (first.length === outputs.length) return reply.send(`[${first.join(",")}]`);
  function* pieces(): Generator<string> {
    yield `[${first.join(",")}`;
    for (let i = first.length; i < outputs.length; i++) yield `,${JSON.stringify(outputs[i])}`;
    yield "]";
  }
  return reply.send(Readable.from(pieces()));
}
