// Distillation's public API: student initialisation, the triple loss, masked-LM data, the loops,
// masked-token evaluation and the teacher/student comparison.

export { countParameters, measureSpeed, weightBytes } from "./compare.js";
export {
  type ComparisonRow,
  comparisonCells,
  comparisonTable,
  encoderSpeed,
  type Speed,
} from "./comparison.js";
export { evaluateMlm, type MaskedRows, type MlmScore, maskForEvaluation } from "./eval-mlm.js";
export {
  defaultTeacherLayers,
  initStudent,
  type StudentOptions,
  type StudentWeights,
  weightSource,
} from "./init-student.js";
export {
  DEFAULT_LOSS_WEIGHTS,
  type DistillLoss,
  type DistillLossInputs,
  type DistillLossWeights,
  distillLoss,
} from "./losses.js";
export {
  corpusLines,
  type MaskedBatch,
  Masker,
  type MaskingOptions,
  type PackedRows,
  packCorpus,
  specialIdsOf,
  tokenCounts,
} from "./mlm-data.js";
export { distillMlm, type MlmDistillOptions } from "./mlm-distill.js";
export { mlmDistillStep } from "./mlm-step.js";
export { RowMaskedLM } from "./row-mlm.js";
export { distillClassifier, type TaskDistillOptions } from "./task-distill.js";
