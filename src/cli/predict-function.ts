// What `distilbert predict` computes for one input, shared with the queue workers (`distilbert
// queue`), whose results must equal predict's: the input parsed from its text, the task's
// pipeline (or semantic search) with the options given.

import { UserError } from "../errors.js";
import { exceedsJsonDepth, MAX_JSON_DEPTH } from "../io/json-depth.js";
import {
  PIPELINE_TASKS,
  type PipelineLoadOptions,
  type Pooling,
  pipeline,
  type SearchMode,
  SemanticSearch,
  type Task,
} from "../pipelines/index.js";
import { OptionReader } from "../pipelines/options.js";
import { readCorpusLines } from "../train/data.js";

const SEARCH_OPTIONS = [
  "index",
  "corpus",
  "top_k",
  "pooling",
  "batch_size",
  "mode",
  "reranker",
  "rerank_top",
];

/** JSON when it parses to text, a list or an object; otherwise the plain text itself. */
export function parseInput(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return text; // Not JSON: a plain string.
  }
  if (typeof value === "string") return value;
  if (typeof value !== "object" || value === null) return text;
  refuseDeepJson(value, "the input");
  return value;
}

/** The pipelines walk inputs and options (and quote them in errors) recursively. */
function refuseDeepJson(value: unknown, what: string): void {
  if (exceedsJsonDepth(value)) {
    throw new UserError(
      `${what} nests arrays and objects more than ${MAX_JSON_DEPTH} deep: give a text, a list of texts or an object of them`,
    );
  }
}

export function parseOptions(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UserError(
      `--options must be a JSON object, e.g. '{"top_k": 3}': ${(error as Error).message}`,
    );
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new UserError(`--options must be a JSON object, e.g. '{"top_k": 3}', got ${text}`);
  }
  refuseDeepJson(value, "--options");
  return value as Record<string, unknown>;
}

/** An input's text (JSON or plain, as parseInput reads it) -> the task's output. */
export type PredictFunction = (text: string) => Promise<unknown>;

/**
 * The task's pipeline on `model` (or the task's shipped one) with `options`, as predict runs it.
 * `onEmbedded` hears semantic-search's progress while it embeds a corpus.
 */
export async function predictFunction(
  task: string,
  model: string | undefined,
  options: Record<string, unknown>,
  load: PipelineLoadOptions,
  onEmbedded?: (embedded: number, total: number) => void,
): Promise<PredictFunction> {
  if (!(PIPELINE_TASKS as readonly string[]).includes(task) && task !== "semantic-search") {
    throw new UserError(`unknown task '${task}'; tasks: ${PIPELINE_TASKS.join(", ")}`);
  }
  if (task === "text-ranking") {
    const ranker = await pipeline("text-ranking", model, load);
    return async (text) => {
      const { query, texts } = rankingInput(parseInput(text));
      return ranker.run(query, texts, options);
    };
  }
  const pipe =
    task === "semantic-search"
      ? await searchFunction(model, options, load, onEmbedded)
      : ((await pipeline(task as Task, model, load)) as unknown as (
          inputs: unknown,
          options: unknown,
        ) => Promise<unknown>);
  return (text) => pipe(parseInput(text), options);
}

/** text-ranking's input: {"query": "...", "texts": ["...", ...]} (the pipeline checks the types). */
function rankingInput(input: unknown): { query: string; texts: string[] } {
  if (input === null || typeof input !== "object" || !("query" in input) || !("texts" in input)) {
    throw new UserError(
      `text-ranking takes {"query": "...", "texts": ["...", ...]}, got ${JSON.stringify(input)}`,
    );
  }
  return input as { query: string; texts: string[] };
}

/** semantic-search as a pipeline-like function: builds or opens the index, then answers queries. */
async function searchFunction(
  model: string | undefined,
  options: Record<string, unknown>,
  load: PipelineLoadOptions,
  onEmbedded?: (embedded: number, total: number) => void,
): Promise<(query: unknown) => Promise<unknown>> {
  const reader = new OptionReader("semantic-search", options, SEARCH_OPTIONS);
  const uri = reader.string("index", "");
  if (uri === "") {
    throw new UserError(
      `semantic-search needs the index (a folder or LanceDB URI): --options '{"index": "docs.lance"}'`,
    );
  }
  // Options not given are left to SemanticSearch's defaults.
  const text = (key: string) => (reader.has(key) ? reader.string(key, "") : undefined);
  const int = (key: string) => (reader.has(key) ? reader.int(key, 1) : undefined);
  const search = {
    topK: int("top_k"),
    mode: text("mode") as SearchMode | undefined,
    rerankTop: int("rerank_top"),
  };
  const reranker = text("reranker");
  const index = reader.has("corpus")
    ? await SemanticSearch.build(uri, readCorpusLines(reader.string("corpus", "")), {
        ...load,
        model,
        reranker,
        pooling: text("pooling") as Pooling | undefined,
        batchSize: int("batch_size"),
        onProgress: onEmbedded,
      })
    : await SemanticSearch.open(uri, { ...load, model, reranker });
  return async (query) => {
    if (Array.isArray(query)) return Promise.all(query.map((q) => index.search(q, search)));
    return index.search(query as string, search);
  };
}
