import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { evaluateMlm, type MaskedRows, maskForEvaluation } from "../src/distill/eval-mlm.js";
import { packCorpus } from "../src/distill/mlm-data.js";
import { RowMaskedLM } from "../src/distill/row-mlm.js";
import { loadConfig } from "../src/io/config.js";
import { Checkpoint, SafetensorsFile } from "../src/io/safetensors.js";
import { ReferenceBackend } from "../src/tensor/reference.js";
import { loadTokenizer } from "../src/tokenizer/index.js";

const FIXTURE = "test/fixtures/models/distill-student-init";
const TEACHER = "test/fixtures/models/bert-mlm";
const io = SafetensorsFile.open(`${FIXTURE}/io.safetensors`);
const [count, seqLen] = io.info("input_ids").shape;
const data: MaskedRows = {
  inputIds: io.int32("input_ids"),
  attentionMask: Float32Array.from(io.int32("attention_mask")),
  labels: io.int32("mlm_labels"),
  count,
  seqLen,
};

/** Accuracy and loss from Hugging Face's logits [rows, vocab]. */
function scoreOf(logits: Float32Array, vocab: number) {
  let correct = 0;
  let loss = 0;
  let tokens = 0;
  data.labels.forEach((label, r) => {
    if (label === -100) return;
    const row = logits.subarray(r * vocab, (r + 1) * vocab);
    const max = Math.max(...row);
    loss += max + Math.log(row.reduce((sum, x) => sum + Math.exp(x - max), 0)) - row[label];
    if (row.indexOf(max) === label) correct += 1;
    tokens += 1;
  });
  return { accuracy: correct / tokens, loss: loss / tokens, tokens };
}

for (const [name, dir, logitsName] of [
  ["DistilBertForMaskedLM", FIXTURE, "student_logits"],
  ["BertForMaskedLM", TEACHER, "teacher_logits"],
]) {
  test(`masked-token accuracy and loss of a ${name} equal those of Hugging Face's logits`, () => {
    const model = RowMaskedLM.create(
      loadConfig(dir),
      Checkpoint.open(dir),
      new ReferenceBackend(),
      dir,
    );
    const score = evaluateMlm(model, data, 2);
    const want = scoreOf(io.float32(logitsName), 1000);
    assert.equal(score.tokens, want.tokens);
    assert.equal(score.accuracy, want.accuracy);
    assert.ok(Math.abs(score.loss - want.loss) < 1e-4 * want.loss, `${score.loss} vs ${want.loss}`);
    if (name === "DistilBertForMaskedLM") {
      const meta = JSON.parse(readFileSync(`${FIXTURE}/meta.json`, "utf8"));
      assert.ok(Math.abs(score.loss - meta.loss_mlm) < 1e-4 * meta.loss_mlm);
    }
  });
}

test("evaluation masks are fixed by the seed: 15% of the real tokens", () => {
  const tokenizer = loadTokenizer("models/bert-mini-sotu");
  const rows = packCorpus(
    ["The president shall from time to time give to the Congress information of the union."],
    tokenizer,
    8,
  );
  const a = maskForEvaluation(rows, tokenizer);
  assert.deepEqual(a, maskForEvaluation(rows, tokenizer));
  const real = [...rows.ids].filter((id) => id > 103).length;
  const masked = [...a.labels].filter((label) => label !== -100).length;
  assert.equal(masked, Math.ceil(0.15 * real));
});
