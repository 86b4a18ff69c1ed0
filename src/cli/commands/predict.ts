// `distilbert predict TASK`: one pipeline call from the command line, its output printed as JSON.

import { parseArgs } from "node:util";
import { UserError } from "../../errors.js";
import { DEFAULT_BATCH_SIZE } from "../../pipelines/base.js";
import {
  DEFAULT_MODELS,
  PIPELINE_TASKS,
  type PipelineLoadOptions,
  type Pooling,
  pipeline,
  SemanticSearch,
  type Task,
} from "../../pipelines/index.js";
import { OptionReader } from "../../pipelines/options.js";
import { BACKEND_CHOICES, type BackendChoice } from "../../tensor/index.js";
import { readCorpusLines } from "../../train/data.js";
import type { Command } from "../commands.js";
import { DTYPE_HELP, dtypeChoice } from "../options.js";
import { answerLines } from "../stdin-lines.js";

const help = `distilbert predict TASK [--model DIR_OR_ID] [--options JSON] [INPUT]

Runs a pipeline and prints its output as JSON, in Hugging Face's format.

TASK is one of: ${PIPELINE_TASKS.slice(0, 5).join(", ")},
${PIPELINE_TASKS.slice(5).join(", ")}, semantic-search.

INPUT is what the pipeline takes, as JSON: a string, a list of strings, {"text", "text_pair"}
(text-classification), {"question", "context"} (question-answering), {"question", "choices"}
(multiple-choice). Text that is not JSON is taken as one plain string. Without INPUT, inputs are
read from stdin, one a line (JSON or plain text), and outputs written one JSON line each: exactly
one per input line, in order; a line that fails (blank, not UTF-8, refused by the pipeline) gets
{"error": "...", "line": N} and the rest go on; the exit status is 1 if any line failed.

Options:
  --model DIR_OR_ID  a model folder, or a Hugging Face Hub id (downloaded into the Hub cache);
                     default: the model shipped for ${Object.keys(DEFAULT_MODELS).join(", ")}
  --options JSON     the pipeline's options under Hugging Face's names, e.g.
                     fill-mask: top_k, targets; text-classification: top_k, function_to_apply,
                     truncation, max_length; token-classification: aggregation_strategy,
                     ignore_labels; question-answering: top_k, doc_stride, max_answer_len,
                     max_seq_len, max_question_len, handle_impossible_answer;
                     feature-extraction: pooling ("mean" or "cls"), normalize;
                     zero-shot-classification: candidate_labels, hypothesis_template,
                     multi_label; all: batch_size
                     semantic-search: index (the index file, required), corpus (a text file,
                     one document a line: embeds it and saves the index first), top_k
                     (default 5), pooling (when building; default "mean")
  --revision REV     Hub models: branch, tag or commit (default main)
  --backend NAME     ${BACKEND_CHOICES.join(", ")} (default auto)
  ${DTYPE_HELP}

Examples:
  distilbert predict fill-mask "The [MASK] of the United States shall be vested in a President."
  distilbert predict ner --model ./my-ner --options '{"aggregation_strategy": "simple"}' \\
    "Hugo Chavez met Angela Merkel in Berlin."
  distilbert predict question-answering --model ./my-squad \\
    '{"question": "Who sailed?", "context": "Ishmael sailed on the Pequod."}'
  cat sentences.txt | distilbert predict sentiment-analysis --model ./my-sst2
  distilbert predict semantic-search --options '{"corpus": "docs.txt", "index": "docs.index"}' \\
    "balancing the budget"`;

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

function parseOptions(text: string | undefined): Record<string, unknown> {
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

export const predict: Command = {
  summary: "run a pipeline (fill-mask, ner, question-answering, ...) and print JSON",
  help,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        model: { type: "string" },
        options: { type: "string" },
        revision: { type: "string" },
        backend: { type: "string", default: "auto" },
        dtype: { type: "string" },
      },
    });
    const [task, input, ...extra] = positionals;
    if (task === undefined)
      throw new UserError(`predict needs a TASK: ${PIPELINE_TASKS.join(", ")}`);
    if (!(PIPELINE_TASKS as readonly string[]).includes(task) && task !== "semantic-search") {
      throw new UserError(`unknown task '${task}'; tasks: ${PIPELINE_TASKS.join(", ")}`);
    }
    if (extra.length > 0) {
      throw new UserError(
        `predict takes one INPUT (quote it, or give a JSON list); got also: ${extra.join(" ")}`,
      );
    }
    if (!BACKEND_CHOICES.includes(values.backend as BackendChoice)) {
      throw new UserError(
        `--backend must be one of ${BACKEND_CHOICES.join(", ")}, got ${values.backend}`,
      );
    }
    const options = parseOptions(values.options);
    const load = {
      backend: values.backend as BackendChoice,
      revision: values.revision,
      dtype: dtypeChoice(values.dtype),
    };
    const pipe =
      task === "semantic-search"
        ? await searchFunction(values.model, options, load)
        : ((await pipeline(task as Task, values.model, load)) as unknown as (
            inputs: unknown,
            options: unknown,
          ) => Promise<unknown>);
    if (input !== undefined) {
      process.stdout.write(`${JSON.stringify(await pipe(parseInput(input), options), null, 2)}\n`);
      return 0;
    }
    return answerLines((text) => pipe(parseInput(text), options));
  },
};

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
