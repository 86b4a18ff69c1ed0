// `distilbert eval-mlm`: masked-token accuracy and loss of a masked-LM model.

import { parseArgs } from "node:util";
import { corpusForEvaluation, evaluateMlm, type MaskedRows } from "../../distill/eval-mlm.js";
import { RowMaskedLM } from "../../distill/row-mlm.js";
import { UserError } from "../../errors.js";
import { loadConfig } from "../../io/config.js";
import { Checkpoint, SafetensorsFile } from "../../io/safetensors.js";
import { loadTokenizer } from "../../tokenizer/index.js";
import { readCorpusLines } from "../../train/data.js";
import type { Command } from "../commands.js";
import {
  backendFrom,
  dtypeChoice,
  dtypeHelp,
  positiveInt,
  required,
  tokensOption,
} from "../options.js";

const help = `distilbert eval-mlm --model DIR (--corpus FILE | --inputs FILE) [options]

Scores a masked-language model (BertForMaskedLM or DistilBertForMaskedLM): the share of masked
tokens whose original token is the top prediction (accuracy) and the mean cross-entropy there.

With --corpus, the text (one text a line) is tokenized and packed into rows of --seq-len tokens
([CLS] ... [SEP]), and 15% of the real tokens are masked uniformly (80% [MASK], 10% a random
token, 10% kept) from a fixed seed, so every model sees the same masks. With --inputs, a
safetensors file gives the batch as it is: input_ids and labels (-100 where nothing is
predicted; 'mlm_labels' is read too), [rows, seq], and optionally attention_mask and
token_type_ids.

Options:
  --model DIR        the model folder
  --corpus FILE      text to mask and score
  --inputs FILE      or: masked rows to score as given
  --seq-len N        tokens per row with --corpus (default 128)
  --seed N           the masking seed with --corpus (default 0)
  --batch-size N     rows per forward (default 32)
  --json             print {"accuracy", "loss", "tokens"} as JSON
  --backend NAME     auto, native, wasm, reference (default auto)
  --threads N        worker threads
  ${dtypeHelp(19)}

Example:
  distilbert eval-mlm --model models/bert-mini-sotu --corpus data/corpus.eval.txt`;

function readMaskedRows(path: string): MaskedRows {
  const file = SafetensorsFile.open(path);
  const labelName = ["labels", "mlm_labels"].find((name) => file.has(name));
  if (!file.has("input_ids") || !labelName) {
    throw new UserError(
      `${path} needs 'input_ids' and 'labels' tensors (it has ${file.names().join(", ")})`,
    );
  }
  const shape = file.info("input_ids").shape;
  if (shape.length !== 2) {
    throw new UserError(`${path}: input_ids must be [rows, seq], got [${shape.join(", ")}]`);
  }
  for (const name of [labelName, "attention_mask", "token_type_ids"]) {
    if (file.has(name) && file.info(name).shape.join() !== shape.join()) {
      throw new UserError(`${path}: ${name} must have input_ids' shape [${shape.join(", ")}]`);
    }
  }
  const [count, seqLen] = shape;
  return {
    inputIds: file.int32("input_ids"),
    labels: file.int32(labelName),
    attentionMask: file.has("attention_mask")
      ? file.float32("attention_mask")
      : new Float32Array(count * seqLen).fill(1),
    tokenTypeIds: file.has("token_type_ids") ? file.int32("token_type_ids") : undefined,
    count,
    seqLen,
  };
}

export const evalMlm: Command = {
  summary: "masked-token accuracy and loss of a masked-LM model",
  help,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        model: { type: "string" },
        corpus: { type: "string" },
        inputs: { type: "string" },
        "seq-len": { type: "string" },
        seed: { type: "string" },
        "batch-size": { type: "string" },
        json: { type: "boolean", default: false },
        backend: { type: "string" },
        threads: { type: "string" },
        dtype: { type: "string" },
      },
    });
    const modelDir = required("eval-mlm", "model", values.model);
    if ((values.corpus === undefined) === (values.inputs === undefined)) {
      throw new UserError("eval-mlm needs one of --corpus FILE or --inputs FILE");
    }
    const backend = await backendFrom(values);
    const model = RowMaskedLM.create(
      loadConfig(modelDir),
      Checkpoint.open(modelDir),
      backend,
      modelDir,
      dtypeChoice(values.dtype),
    );
    let data: MaskedRows;
    if (values.corpus) {
      const tokenizer = loadTokenizer(modelDir);
      const positions = model.config.maxPositionEmbeddings;
      const seqLen =
        tokensOption("seq-len", values["seq-len"], positions) ?? Math.min(128, positions);
      data = corpusForEvaluation(
        readCorpusLines(values.corpus),
        tokenizer,
        seqLen,
        Number(values.seed ?? 0),
      );
    } else {
      data = readMaskedRows(values.inputs as string);
      const vocab = model.config.vocabSize;
      const bad = data.labels.findIndex((l) => l !== -100 && !(l >= 0 && l < vocab));
      if (bad >= 0) {
        throw new UserError(
          `${values.inputs}: labels[${bad}] = ${data.labels[bad]} is neither -100 nor a token id below the vocabulary size ${vocab}`,
        );
      }
    }
    const score = evaluateMlm(model, data, positiveInt("batch-size", values["batch-size"]) ?? 32);
    if (values.json) {
      process.stdout.write(`${JSON.stringify(score)}\n`);
    } else {
      process.stdout.write(
        `${modelDir}: masked-token accuracy ${(score.accuracy * 100).toFixed(2)}%, loss ${score.loss.toFixed(4)} over ${score.tokens} masked tokens\n`,
      );
    }
    return 0;
  },
};
