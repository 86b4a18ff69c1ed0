// `distilbert demo` (what `npm start` runs): fill-mask with the embedded teacher on a few
// sentences, the five likeliest words at each [MASK] with their probabilities.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { UserError } from "../../errors.js";
import { EMBEDDED_MODEL_DIR, pipeline } from "../../pipelines/index.js";
import { BACKEND_CHOICES, type BackendChoice } from "../../tensor/index.js";
import type { Command } from "../commands.js";

const help = `distilbert demo [--backend NAME]

Fills the [MASK] in four sentences with the embedded teacher (models/bert-mini-sotu, a BERT-mini
pretrained on State of the Union addresses and Moby-Dick) and prints the five likeliest words with
their probabilities, as the fill-mask pipeline returns them.

Options:
  --backend NAME   ${BACKEND_CHOICES.join(", ")} (default auto)

Example:
  distilbert demo
  (the same as: distilbert predict fill-mask "Call me [MASK]. Some years ago ...")`;

export const demo: Command = {
  summary: "fill-mask with the embedded teacher on a few sentences",
  help,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: { backend: { type: "string", default: "auto" } },
    });
    if (!BACKEND_CHOICES.includes(values.backend as BackendChoice)) {
      throw new UserError(
        `--backend must be one of ${BACKEND_CHOICES.join(", ")}, got ${values.backend}`,
      );
    }
    const meta = JSON.parse(readFileSync(join(EMBEDDED_MODEL_DIR, "meta.json"), "utf8")) as {
      sentences: string[];
    };
    const fillMask = await pipeline("fill-mask", EMBEDDED_MODEL_DIR, {
      backend: values.backend as BackendChoice,
    });
    const started = performance.now();
    const results = await fillMask(meta.sentences, { top_k: 5 });
    const elapsed = performance.now() - started;
    process.stdout.write(`fill-mask with the embedded teacher (${EMBEDDED_MODEL_DIR})\n`);
    meta.sentences.forEach((sentence, i) => {
      process.stdout.write(`\n${sentence}\n`);
      for (const prediction of results[i].flat()) {
        process.stdout.write(
          `  ${prediction.token_str.padEnd(14)} ${prediction.score.toFixed(4)}\n`,
        );
      }
    });
    process.stdout.write(`\n${meta.sentences.length} sentences in ${elapsed.toFixed(0)} ms\n`);
    return 0;
  },
};
