// `distilbert predict TASK`: one pipeline call from the command line, its output printed as JSON.

import { parseArgs } from "node:util";
import { UserError } from "../../errors.js";
import { DEFAULT_MODELS, PIPELINE_TASKS } from "../../pipelines/index.js";
import { BACKEND_CHOICES, type BackendChoice } from "../../tensor/index.js";
import type { Command } from "../commands.js";
import { countProgress } from "../count-progress.js";
import { dtypeChoice, dtypeHelp } from "../options.js";
import { parseOptions, predictFunction } from "../predict-function.js";
import { answerLines } from "../stdin-lines.js";

const help = `distilbert predict TASK [--model DIR_OR_ID] [--options JSON] [INPUT]

Runs a pipeline and prints its output as JSON, in Hugging Face's format.

TASK is one of: ${PIPELINE_TASKS.slice(0, 5).join(", ")},
${PIPELINE_TASKS.slice(5, 9).join(", ")},
${PIPELINE_TASKS.slice(9).join(", ")}, semantic-search.

INPUT is what the pipeline takes, as JSON: a string, a list of strings, {"text", "text_pair"}
(text-classification), {"question", "context"} (question-answering), {"question", "choices"}
(multiple-choice), {"query": "...", "texts": ["...", ...]} (text-ranking: the texts ranked as
answers to the query, best first, each {"index", "score"}). Text that is not JSON is taken as
one plain string. Without INPUT, inputs are read from stdin, one a line (JSON or plain text), and
outputs written one JSON line each: exactly one per input line, in order; a line that fails
(blank, not UTF-8, refused by the pipeline) gets {"error": "...", "line": N} and the rest go on;
the exit status is 1 if any line failed.

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
                     multi_label; text-ranking: top_k, raw_scores (no sigmoid),
                     return_text, truncation (default true), max_length;
                     sparse-embedding (SPLADE, on a masked-LM model): truncation,
                     max_length; all: batch_size
                     semantic-search: index (required: the LanceDB index, a folder or a
                     LanceDB URI; an old single-file index is converted in place), corpus (a
                     text file, one document a line: embeds it into a new index first; a
                     progress bar on stderr), top_k (default 5), mode ("dense" cosine,
                     "bm25" full-text, or "hybrid" fused by reciprocal rank; default
                     "dense"), reranker (a text-ranking model reordering the best rerank_top
                     candidates, default 20), pooling (when building; default "mean")
  --revision REV     Hub models: branch, tag or commit (default main)
  --backend NAME     ${BACKEND_CHOICES.join(", ")} (default auto)
  ${dtypeHelp(19)}

Examples:
  distilbert predict fill-mask "The [MASK] of the United States shall be vested in a President."
  distilbert predict ner --model ./my-ner --options '{"aggregation_strategy": "simple"}' \\
    "Hugo Chavez met Angela Merkel in Berlin."
  distilbert predict question-answering --model ./my-squad \\
    '{"question": "Who sailed?", "context": "Ishmael sailed on the Pequod."}'
  cat sentences.txt | distilbert predict sentiment-analysis --model ./my-sst2
  distilbert predict text-ranking --model ./my-cross-encoder \\
    '{"query": "Who sailed?", "texts": ["Ishmael sailed.", "It rained."]}'
  distilbert predict semantic-search --options '{"corpus": "docs.txt", "index": "docs.lance"}' \\
    "balancing the budget"
  distilbert predict semantic-search --options '{"index": "docs.lance", "mode": "hybrid"}' \\
    "balancing the budget"`;

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
    if (task === undefined) {
      throw new UserError(`predict needs a TASK: ${PIPELINE_TASKS.join(", ")}`);
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
    const predict = await predictFunction(
      task,
      values.model,
      parseOptions(values.options),
      {
        backend: values.backend as BackendChoice,
        revision: values.revision,
        dtype: dtypeChoice(values.dtype),
      },
      countProgress("texts embedded"),
    );
    if (input !== undefined) {
      process.stdout.write(`${JSON.stringify(await predict(input), null, 2)}\n`);
      return 0;
    }
    return answerLines(predict);
  },
};
