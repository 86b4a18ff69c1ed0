import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  DEFAULT_LOSS_WEIGHTS,
  type DistillLossInputs,
  distillLoss,
} from "../src/distill/losses.js";
import { SafetensorsFile } from "../src/io/safetensors.js";
import { ReferenceBackend } from "../src/tensor/reference.js";
import { allBackends } from "./backends.js";

const FIXTURE = "test/fixtures/models/distill-student-init";
const reference = new ReferenceBackend();

function fixtureInputs(): DistillLossInputs {
  const io = SafetensorsFile.open(`${FIXTURE}/io.safetensors`);
  const [batch, seq] = io.info("input_ids").shape;
  const rows = batch * seq;
  return {
    studentLogits: io.float32("student_logits"),
    teacherLogits: io.float32("teacher_logits"),
    studentHidden: io.float32("student_last_hidden"),
    teacherHidden: io.float32("teacher_last_hidden"),
    attentionMask: Float32Array.from(io.int32("attention_mask")),
    labels: io.int32("mlm_labels"),
    rows,
    vocab: io.info("student_logits").shape[2],
    dim: io.info("student_last_hidden").shape[2],
  };
}

function close(got: number, want: number, rel: number, what: string): void {
  assert.ok(Math.abs(got - want) <= rel * Math.abs(want), `${what}: ${got} vs ${want}`);
}

test("the three losses and the total equal Hugging Face's within 1e-4 relative", async () => {
  const meta = JSON.parse(readFileSync(`${FIXTURE}/meta.json`, "utf8"));
  for (const { label, backend } of await allBackends()) {
    const loss = distillLoss(backend, fixtureInputs(), DEFAULT_LOSS_WEIGHTS);
    close(loss.ce, meta.loss_ce, 1e-4, `${label} ce`);
    close(loss.mlm, meta.loss_mlm, 1e-4, `${label} mlm`);
    close(loss.cos, meta.loss_cos, 1e-4, `${label} cos`);
    close(loss.total, meta.loss_total, 1e-4, `${label} total`);
  }
});

test("the gradients match finite differences of the loss", () => {
  const inputs = fixtureInputs();
  const weights = { ...DEFAULT_LOSS_WEIGHTS, alphaMse: 0.5 };
  for (const ceMaskedOnly of [false, true]) {
    const options = { ...weights, ceMaskedOnly };
    const loss = distillLoss(reference, inputs, options);
    const studentLogits = Float64Array.from(inputs.studentLogits);
    const studentHidden = Float64Array.from(inputs.studentHidden as Float32Array);
    const probe = (array: "studentLogits" | "studentHidden", index: number, grad: number) => {
      const source = array === "studentLogits" ? studentLogits : studentHidden;
      const h = 1e-2;
      const plus = Float32Array.from(source);
      plus[index] += h;
      const minus = Float32Array.from(source);
      minus[index] -= h;
      const up = distillLoss(reference, { ...inputs, [array]: plus }, options).total;
      const down = distillLoss(reference, { ...inputs, [array]: minus }, options).total;
      const numeric = (up - down) / (2 * h);
      assert.ok(
        Math.abs(numeric - grad) < 2e-3 * Math.max(1, Math.abs(grad)),
        `${array}[${index}] masked-only=${ceMaskedOnly}: ${grad} vs ${numeric}`,
      );
    };
    for (const index of [5, 1000 + 17, 13 * 1000 + 3, 20 * 1000 + 999]) {
      probe("studentLogits", index, loss.dStudentLogits[index]);
    }
    for (const index of [0, 64 + 9, 30 * 64 + 63]) {
      probe("studentHidden", index, loss.dStudentHidden[index]);
    }
  }
});

test("masked-only soft targets look at labelled positions only", () => {
  const inputs = fixtureInputs();
  const loss = distillLoss(reference, inputs, { ...DEFAULT_LOSS_WEIGHTS, ceMaskedOnly: true });
  for (let r = 0; r < inputs.rows; r++) {
    if (inputs.labels[r] !== -100) continue;
    for (let v = 0; v < inputs.vocab; v++)
      assert.equal(loss.dStudentLogits[r * inputs.vocab + v], 0);
  }
});

test("logits given at chosen rows only give the same losses and gradients", () => {
  const inputs = fixtureInputs();
  for (const ceMaskedOnly of [false, true]) {
    const weights = { ...DEFAULT_LOSS_WEIGHTS, alphaMse: 0.5, ceMaskedOnly };
    const full = distillLoss(reference, inputs, weights);
    const rows: number[] = [];
    for (let r = 0; r < inputs.rows; r++) {
      const real = inputs.attentionMask[r] > 0;
      if (inputs.labels[r] !== -100 || (real && !ceMaskedOnly)) rows.push(r);
    }
    const pick = (logits: Float32Array) => {
      const out = new Float32Array(rows.length * inputs.vocab);
      rows.forEach((r, i) => {
        out.set(logits.subarray(r * inputs.vocab, (r + 1) * inputs.vocab), i * inputs.vocab);
      });
      return out;
    };
    const partial = distillLoss(
      reference,
      {
        ...inputs,
        studentLogits: pick(inputs.studentLogits),
        teacherLogits: pick(inputs.teacherLogits),
        logitRows: Int32Array.from(rows),
      },
      weights,
    );
    assert.equal(partial.total, full.total);
    assert.deepEqual(partial.dStudentLogits, pick(full.dStudentLogits));
    assert.deepEqual(partial.dStudentHidden, full.dStudentHidden);
    assert.throws(() =>
      distillLoss(reference, { ...inputs, logitRows: Int32Array.from(rows.slice(1)) }, weights),
    );
  }
});
