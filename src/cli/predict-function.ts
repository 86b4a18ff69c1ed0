// What `distilbert predict` computes for one input, shared with the queue workers (`distilbert
// queue`), whose results must equal predict's: the input parsed from its text, the task's
// pipeline (or semantic search) with the options given.

import { UserError } from "../errors.js";
import { DEFAULT_BATCH_SIZE } from "../pipelines/base.js";
import {
  PIPELINE_TASKS,
  type PipelineLoadOptions,
  type Pooling,
  pipeline,
  SemanticSearch,
  type Task,
} from "../pipelines/index.js";
import { OptionReader } from "../pipelines/options.js";
import { readCorpusLines } from "../train/data.js";

const SEARCH_OPTIONS = ["index", "corpus", "top_k", "pooling", "batch_size"];

/** JSON when it parses to text, a list or an object; otherwise the plain text itself. */
export function parseInput(text: string): unknown {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === "string" || (typeof value === "object" && value !== null)) return value;
  } catch {
    // Not JSON: a plain string.
  }
  return text;
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
  return value as Record<string, unknown>;
}

/** An input's text (JSON or plain, as parseInput reads it) -> the task's output. */
export type PredictFunction = (text: string) => Promise<unknown>;

/** The task's pipeline on `model` (or the task's shipped one) with `options`, as predict runs it. */
export async function predictFunction(
  task: string,
  model: string | undefined,
  options: Record<string, unknown>,
  load: PipelineLoadOptions,
): Promise<PredictFunction> {
  if (!(PIPELINE_TASKS as readonly string[]).includes(task) && task !== "semantic-search") {
    throw new UserError(`unknown task '${task}'; tasks: ${PIPELINE_TASKS.join(", ")}`);
  }
  const pipe =
    task === "semantic-search"
      ? await searchFunction(model, options, load)
      : ((await pipeline(task as Task, model, load)) as unknown as (
          inputs: unknown,
          options: unknown,
        ) => Promise<unknown>);
  return (text) => pipe(parseInput(text), options);
}

/** semantic-search as a pipeline-like function: builds or loads the index, then answers queries. */
async function searchFunction(
  model: string | undefined,
  options: Record<string, unknown>,
  load: PipelineLoadOptions,
): Promise<(query: unknown) => Promise<unknown>> {
  const reader = new OptionReader("semantic-search", options, SEARCH_OPTIONS);
  const indexPath = reader.string("index", "");
  if (indexPath === "") {
    throw new UserError(
      `semantic-search needs the index file: --options '{"index": "docs.index"}'`,
    );
  }
  const topK = reader.int("top_k", 5);
  let index: SemanticSearch;
  if (reader.has("corpus")) {
    const corpusPath = reader.string("corpus", "");
    const pooling = reader.string("pooling", "mean") as Pooling;
    index = await SemanticSearch.create(model, { ...load, pooling });
    index.add(readCorpusLines(corpusPath), reader.int("batch_size", DEFAULT_BATCH_SIZE));
    index.save(indexPath);
  } else {
    index = await SemanticSearch.load(indexPath, { ...load, model });
  }
  return async (query) => {
    if (Array.isArray(query)) return query.map((q) => index.search(q, topK));
    return index.search(query as string, topK);
  };
}
