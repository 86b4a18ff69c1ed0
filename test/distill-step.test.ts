import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { initStudent, weightSource } from "../src/distill/init-student.js";
import { DEFAULT_LOSS_WEIGHTS } from "../src/distill/losses.js";
import { mlmDistillStep } from "../src/distill/mlm-step.js";
import { RowMaskedLM } from "../src/distill/row-mlm.js";
import { loadConfig } from "../src/io/config.js";
import { Checkpoint, SafetensorsFile } from "../src/io/safetensors.js";
import { ReferenceBackend } from "../src/tensor/reference.js";

const TEACHER = "test/fixtures/models/bert-mlm";
const FIXTURE = "test/fixtures/models/distill-student-init";

test("a distillation step on Hugging Face's student: losses and every gradient", () => {
  const backend = new ReferenceBackend();
  const teacher = RowMaskedLM.create(
    loadConfig(TEACHER),
    Checkpoint.open(TEACHER),
    backend,
    TEACHER,
  );
  const init = initStudent(loadConfig(TEACHER), Checkpoint.open(TEACHER), { layers: 2 });
  const student = RowMaskedLM.create(init.config, weightSource(init.weights), backend, "student");
  const io = SafetensorsFile.open(`${FIXTURE}/io.safetensors`);
  const [batch, seq] = io.info("input_ids").shape;
  const masked = {
    inputIds: io.int32("input_ids"),
    attentionMask: Float32Array.from(io.int32("attention_mask")),
    labels: io.int32("mlm_labels"),
  };
  const loss = mlmDistillStep(teacher, student, masked, { batch, seq }, DEFAULT_LOSS_WEIGHTS);
  const meta = JSON.parse(readFileSync(`${FIXTURE}/meta.json`, "utf8"));
  for (const [got, want] of [
    [loss.ce, meta.loss_ce],
    [loss.mlm, meta.loss_mlm],
    [loss.cos, meta.loss_cos],
    [loss.total, meta.loss_total],
  ]) {
    assert.ok(Math.abs(got - want) <= 1e-4 * Math.abs(want), `${got} vs ${want}`);
  }
  const grads = SafetensorsFile.open(`${FIXTURE}/grads.safetensors`);
  const tensors = student.checkpointTensors();
  const byData = new Map(student.parameters.map((p) => [p.data, p]));
  assert.equal(tensors.size, grads.names().length);
  for (const name of grads.names()) {
    const param = byData.get(tensors.get(name)?.data as Float32Array);
    assert.ok(param?.grad, name);
    const want = grads.float32(name);
    let scale = 0;
    for (const v of want) scale = Math.max(scale, Math.abs(v));
    let worst = 0;
    for (let i = 0; i < want.length; i++)
      worst = Math.max(worst, Math.abs(param.grad[i] - want[i]));
    // The key bias's true gradient is zero (softmax ignores a constant per query): both sides
    // hold rounding noise there, hence the absolute floor.
    assert.ok(worst <= 1e-3 * scale + 1e-8, `${name}: max diff ${worst}, max |grad| ${scale}`);
  }
});
