// The heads on top of the encoder, each forward beside its backward and with Hugging Face's loss.
// A head reads the encoder's last hidden state [rows, hidden] and writes its outputs; its backward
// adds into dHidden.

import { UserError } from "../errors.js";
import type { ModelConfig, ProblemType } from "../io/config.js";
import type { Activation, Backend } from "../tensor/backend.js";
import {
  activationBackward,
  activationForward,
  type BufferPool,
  dropoutApply,
  dropoutMask,
  firstTokenBackward,
  firstTokenForward,
  gradOf,
  type LinearParams,
  layerNormBackward,
  layerNormForward,
  linearBackward,
  linearForward,
  type NormParams,
  tanhBackward,
  tanhForward,
} from "./layers.js";
import {
  bceWithLogitsLoss,
  crossEntropyLoss,
  type LossResult,
  mseLoss,
  questionAnsweringLoss,
} from "./losses.js";
import { type Pooling, poolBackward, pool as poolSequence } from "./pooling.js";
import type { Rng } from "./rng.js";
import type { ModelLabels, ModelOutputs, OutputGradients, Parameter } from "./types.js";
import { makeLinear, type ParameterFactory } from "./weights.js";

export interface HeadRun {
  /** Sequences through the encoder (batch x choices for multiple choice). */
  batch: number;
  seq: number;
  /** Multiple choice: choices per example; otherwise 1. */
  choices: number;
  /** Dropout generator; null when dropout is off. */
  rng: Rng | null;
  /** A training forward; otherwise the backend may keep the head's weights packed. */
  train: boolean;
  /** [batch, seq]: 1 for an attended token, 0 for padding. */
  mask: Float32Array;
}

export interface Head {
  // hidden [rows, hidden] -> the head's outputs
  forward(pool: BufferPool, hidden: Float32Array, run: HeadRun, outputs: ModelOutputs): void;
  /** The loss of the last forward's outputs, and its gradients; null when no label applies. */
  loss(
    labels: ModelLabels,
    run: HeadRun,
    outputs: ModelOutputs,
  ): {
    loss: number;
    gradients: OutputGradients;
  } | null;
  // gradients of the outputs -> dHidden [rows, hidden] (accumulated)
  backward(pool: BufferPool, gradients: OutputGradients, run: HeadRun, dHidden: Float32Array): void;
}

/** The bare encoder: no head (DistilBertModel). */
export class NoHead implements Head {
  forward(): void {}
  loss(): null {
    return null;
  }
  backward(): void {}
}

function applyDropout(
  pool: BufferPool,
  name: string,
  rng: Rng | null,
  p: number,
  x: Float32Array,
): { out: Float32Array; mask: Float32Array | null } {
  if (!rng || p === 0) return { out: x, mask: null };
  const mask = pool.get(`${name}.mask`, x.length);
  dropoutMask(rng, mask, x.length, p);
  const out = pool.get(`${name}.out`, x.length);
  dropoutApply(x, mask, out, x.length);
  return { out, mask };
}

/**
 * Masked-LM prediction: dense -> activation -> LayerNorm -> decoder tied to the word embeddings
 * (+ its own bias). DistilBERT's vocab_transform/vocab_layer_norm/vocab_projector and BERT's
 * cls.predictions.* are this same computation.
 */
export class MaskedLMHead implements Head {
  private saved: {
    hidden: Float32Array;
    transformed: Float32Array;
    activated: Float32Array;
    normed: Float32Array;
    mean: Float32Array;
    rstd: Float32Array;
  } | null = null;

  constructor(
    private readonly backend: Backend,
    private readonly dense: LinearParams,
    private readonly norm: NormParams,
    private readonly word: Parameter,
    private readonly decoderBias: Parameter,
    private readonly activation: Activation,
  ) {}

  // hidden [rows, hidden] -> logits [rows, vocab]
  forward(pool: BufferPool, hidden: Float32Array, run: HeadRun, outputs: ModelOutputs): void {
    const b = this.backend;
    const rows = run.batch * run.seq;
    const h = this.dense.outDim;
    const vocab = this.word.shape[0];
    const transformed = pool.get("mlm.transformed", rows * h);
    const activated = pool.get("mlm.activated", rows * h);
    const normed = pool.get("mlm.normed", rows * h);
    const mean = pool.get("mlm.mean", rows);
    const rstd = pool.get("mlm.rstd", rows);
    linearForward(b, this.dense, hidden, transformed, rows, { inference: !run.train });
    activationForward(b, this.activation, transformed, activated, rows * h);
    layerNormForward(b, this.norm, activated, normed, mean, rstd, rows);
    const logits = pool.get("mlm.logits", rows * vocab);
    if (this.word.int8) {
      b.matmulInt8(normed, this.word.int8, logits, rows, { bias: this.decoderBias.data });
    } else {
      b.matmul(normed, this.word.data, logits, rows, vocab, h, {
        transB: true,
        bias: this.decoderBias.data,
        constantB: !run.train,
      });
    }
    outputs.logits = logits;
    this.saved = { hidden, transformed, activated, normed, mean, rstd };
  }

  loss(labels: ModelLabels, run: HeadRun, outputs: ModelOutputs) {
    if (!labels.labels || !outputs.logits) return null;
    const rows = run.batch * run.seq;
    checkLength(labels.labels, rows, "labels", "[batch, seq] token ids (-100 ignored)");
    const { loss, grad } = crossEntropyLoss(
      outputs.logits,
      labels.labels,
      rows,
      this.word.shape[0],
    );
    return { loss, gradients: { dLogits: grad } };
  }

  // dLogits [rows, vocab] -> dHidden [rows, hidden] (accumulated)
  backward(
    pool: BufferPool,
    gradients: OutputGradients,
    run: HeadRun,
    dHidden: Float32Array,
  ): void {
    const { dLogits } = gradients;
    if (!dLogits || !this.saved) return;
    const b = this.backend;
    const s = this.saved;
    const rows = run.batch * run.seq;
    const h = this.dense.outDim;
    const vocab = this.word.shape[0];
    const dNormed = pool.get("grad.mlm.normed", rows * h);
    b.matmul(dLogits, this.word.data, dNormed, rows, h, vocab);
    b.matmul(dLogits, s.normed, gradOf(this.word), vocab, h, rows, {
      transA: true,
      accumulate: true,
    });
    b.sumRows(dLogits, gradOf(this.decoderBias), rows, vocab, true);
    const dActivated = pool.get("grad.mlm.activated", rows * h);
    layerNormBackward(b, this.norm, s.activated, s.mean, s.rstd, dNormed, dActivated, rows);
    activationBackward(b, this.activation, s.transformed, dActivated, dActivated, rows * h);
    linearBackward(b, this.dense, s.hidden, dActivated, dHidden, rows, true);
  }
}

export type FirstTokenMode = "sequence-classification" | "multiple-choice" | "pooler";

/**
 * Heads on the first ([CLS]) token: pre-layer -> ReLU (DistilBERT's pre_classifier) or tanh (BERT's
 * pooler) -> dropout -> classifier. "pooler" mode stops after the pooler (BertModel's
 * pooler_output); "multiple-choice" has one logit per sequence, read as [batch, choices].
 */
export class FirstTokenHead implements Head {
  private saved: {
    hidden: Float32Array;
    pooled: Float32Array;
    pre: Float32Array;
    activated: Float32Array;
    dropped: Float32Array;
    mask: Float32Array | null;
  } | null = null;

  constructor(
    private readonly backend: Backend,
    private readonly mode: FirstTokenMode,
    private readonly pre: LinearParams,
    private readonly preActivation: "relu" | "tanh",
    private readonly classifier: LinearParams | null,
    private readonly dropout: number,
    private readonly problemType: ProblemType | null,
  ) {}

  // hidden [batch, seq, hidden] -> logits [batch, labels] or [batch / choices, choices], or pooler [batch, hidden]
  forward(pool: BufferPool, hidden: Float32Array, run: HeadRun, outputs: ModelOutputs): void {
    const b = this.backend;
    const h = this.pre.inDim;
    const pooled = pool.get("cls.pooled", run.batch * h);
    firstTokenForward(hidden, pooled, run.batch, run.seq, h);
    const pre = pool.get("cls.pre", run.batch * h);
    linearForward(b, this.pre, pooled, pre, run.batch, { inference: !run.train });
    const activated = pool.get("cls.activated", run.batch * h);
    if (this.preActivation === "relu") {
      activationForward(b, "relu", pre, activated, run.batch * h);
    } else {
      tanhForward(pre, activated, run.batch * h);
    }
    if (!this.classifier) {
      outputs.poolerOutput = activated;
      this.saved = { hidden, pooled, pre, activated, dropped: activated, mask: null };
      return;
    }
    const { out: dropped, mask } = applyDropout(pool, "cls.drop", run.rng, this.dropout, activated);
    const logits = pool.get("cls.logits", run.batch * this.classifier.outDim);
    linearForward(b, this.classifier, dropped, logits, run.batch, { inference: !run.train });
    outputs.logits = logits;
    this.saved = { hidden, pooled, pre, activated, dropped, mask };
  }

  loss(labels: ModelLabels, run: HeadRun, outputs: ModelOutputs) {
    if (!this.classifier || !outputs.logits) return null;
    if (!labels.labels && !labels.floatLabels) return null;
    if (this.mode === "multiple-choice") {
      const examples = run.batch / run.choices;
      const ids = integerLabels(labels, examples, "[batch] choice ids");
      const { loss, grad } = crossEntropyLoss(outputs.logits, ids, examples, run.choices);
      return { loss, gradients: { dLogits: grad } };
    }
    const result = sequenceClassificationLoss(
      this.problemType,
      this.classifier.outDim,
      outputs.logits,
      labels,
      run.batch,
    );
    return { loss: result.loss, gradients: { dLogits: result.grad } };
  }

  // dLogits -> dHidden [batch, seq, hidden] at each first token (accumulated)
  backward(
    pool: BufferPool,
    gradients: OutputGradients,
    run: HeadRun,
    dHidden: Float32Array,
  ): void {
    const { dLogits } = gradients;
    if (!dLogits || !this.classifier || !this.saved) return;
    const b = this.backend;
    const s = this.saved;
    const h = this.pre.inDim;
    const n = run.batch * h;
    const dActivated = pool.get("grad.cls.activated", n);
    linearBackward(b, this.classifier, s.dropped, dLogits, dActivated, run.batch);
    if (s.mask) dropoutApply(dActivated, s.mask, dActivated, n);
    if (this.preActivation === "relu") {
      activationBackward(b, "relu", s.pre, dActivated, dActivated, n);
    } else {
      tanhBackward(s.activated, dActivated, dActivated, n);
    }
    const dPooled = pool.get("grad.cls.pooled", n);
    linearBackward(b, this.pre, s.pooled, dActivated, dPooled, run.batch);
    firstTokenBackward(dPooled, dHidden, run.batch, run.seq, h);
  }
}

/**
 * The sequence classifier of a SetFit model (config.json's `classifier_pooling`): the mean over
 * the attended tokens (or the [CLS] state) of the last hidden state, L2-normalised as
 * sentence-transformers' Normalize does, then the classifier, which holds the logistic regression
 * SetFit fits on those embeddings. No pooler, pre_classifier or dropout.
 */
export class NormalizedEmbeddingHead implements Head {
  private saved: { unit: Float32Array; scales: number[] } | null = null;

  constructor(
    private readonly backend: Backend,
    private readonly pooling: Pooling,
    private readonly classifier: LinearParams,
    private readonly problemType: ProblemType | null,
  ) {}

  // hidden [batch, seq, hidden] -> logits [batch, labels]
  forward(pool: BufferPool, hidden: Float32Array, run: HeadRun, outputs: ModelOutputs): void {
    const h = this.classifier.inDim;
    const unit = pool.get("emb.unit", run.batch * h);
    const scales: number[] = [];
    for (let b = 0; b < run.batch; b++) {
      const mask = run.mask.subarray(b * run.seq, (b + 1) * run.seq);
      const pooled = poolSequence(this.pooling, hidden, b * run.seq * h, mask, h);
      // Unit length as pipelines/math.ts normalizeL2 gives the embeddings the regression was
      // fitted on (setfit/recipe.ts): the same float64 sum, clamp and float32 products, so the
      // classifier reads the very vectors it was fitted to.
      let sum = 0;
      for (let i = 0; i < h; i++) sum += pooled[i] * pooled[i];
      const scale = 1 / Math.max(Math.sqrt(sum), 1e-12);
      scales.push(scale);
      for (let i = 0; i < h; i++) pooled[i] *= scale;
      unit.set(pooled, b * h);
    }
    const logits = pool.get("emb.logits", run.batch * this.classifier.outDim);
    linearForward(this.backend, this.classifier, unit, logits, run.batch, {
      inference: !run.train,
    });
    outputs.logits = logits;
    this.saved = { unit, scales };
  }

  loss(labels: ModelLabels, run: HeadRun, outputs: ModelOutputs) {
    if (!outputs.logits || (!labels.labels && !labels.floatLabels)) return null;
    const result = sequenceClassificationLoss(
      this.problemType,
      this.classifier.outDim,
      outputs.logits,
      labels,
      run.batch,
    );
    return { loss: result.loss, gradients: { dLogits: result.grad } };
  }

  // dLogits [batch, labels] -> dHidden [batch, seq, hidden] through normalisation and pooling
  backward(
    pool: BufferPool,
    gradients: OutputGradients,
    run: HeadRun,
    dHidden: Float32Array,
  ): void {
    const { dLogits } = gradients;
    if (!dLogits || !this.saved) return;
    const { unit, scales } = this.saved;
    const h = this.classifier.inDim;
    const dUnit = pool.get("grad.emb.unit", run.batch * h);
    linearBackward(this.backend, this.classifier, unit, dLogits, dUnit, run.batch);
    const dPooled = new Float32Array(h);
    for (let b = 0; b < run.batch; b++) {
      // u = x / |x|: dx = (du - (du . u) u) / |x|.
      let along = 0;
      for (let i = 0; i < h; i++) along += dUnit[b * h + i] * unit[b * h + i];
      for (let i = 0; i < h; i++) {
        dPooled[i] = (dUnit[b * h + i] - along * unit[b * h + i]) * scales[b];
      }
      const mask = run.mask.subarray(b * run.seq, (b + 1) * run.seq);
      poolBackward(this.pooling, dPooled, dHidden, b * run.seq * h, mask, h);
    }
  }
}

/**
 * The head a config with `classifier_pooling` asks for, for BERT and DistilBERT alike: its
 * classifier [numLabels, hidden] under the key `classifier`, with no pooler.
 */
export function normalizedEmbeddingHead(
  config: ModelConfig,
  pooling: Pooling,
  factory: ParameterFactory,
  backend: Backend,
): NormalizedEmbeddingHead {
  const classifier = makeLinear(factory, "classifier", config.hiddenSize, config.numLabels, "head");
  return new NormalizedEmbeddingHead(backend, pooling, classifier, config.problemType);
}

/** Token classification: dropout -> classifier on every token. */
export class TokenClassificationHead implements Head {
  private saved: { dropped: Float32Array; mask: Float32Array | null } | null = null;

  constructor(
    private readonly backend: Backend,
    private readonly classifier: LinearParams,
    private readonly dropout: number,
  ) {}

  // hidden [rows, hidden] -> logits [rows, labels]
  forward(pool: BufferPool, hidden: Float32Array, run: HeadRun, outputs: ModelOutputs): void {
    const rows = run.batch * run.seq;
    const { out: dropped, mask } = applyDropout(pool, "tok.drop", run.rng, this.dropout, hidden);
    const logits = pool.get("tok.logits", rows * this.classifier.outDim);
    linearForward(this.backend, this.classifier, dropped, logits, rows, {
      inference: !run.train,
    });
    outputs.logits = logits;
    this.saved = { dropped, mask };
  }

  loss(labels: ModelLabels, run: HeadRun, outputs: ModelOutputs) {
    if (!outputs.logits || (!labels.labels && !labels.floatLabels)) return null;
    const rows = run.batch * run.seq;
    const ids = integerLabels(labels, rows, "[batch, seq] label ids (-100 ignored)");
    const { loss, grad } = crossEntropyLoss(outputs.logits, ids, rows, this.classifier.outDim);
    return { loss, gradients: { dLogits: grad } };
  }

  // dLogits [rows, labels] -> dHidden [rows, hidden] (accumulated)
  backward(
    pool: BufferPool,
    gradients: OutputGradients,
    run: HeadRun,
    dHidden: Float32Array,
  ): void {
    if (!gradients.dLogits || !this.saved) return;
    const rows = run.batch * run.seq;
    const size = rows * this.classifier.inDim;
    const dDropped = pool.get("grad.tok.dropped", size);
    linearBackward(
      this.backend,
      this.classifier,
      this.saved.dropped,
      gradients.dLogits,
      dDropped,
      rows,
    );
    if (this.saved.mask) dropoutApply(dDropped, this.saved.mask, dDropped, size);
    for (let i = 0; i < size; i++) dHidden[i] += dDropped[i];
  }
}

/** Extractive question answering: dropout -> qa_outputs [rows, 2] split into start and end logits. */
export class QuestionAnsweringHead implements Head {
  private saved: { dropped: Float32Array; mask: Float32Array | null } | null = null;

  constructor(
    private readonly backend: Backend,
    private readonly qaOutputs: LinearParams,
    private readonly dropout: number,
  ) {}

  // hidden [rows, hidden] -> start, end logits [batch, seq]
  forward(pool: BufferPool, hidden: Float32Array, run: HeadRun, outputs: ModelOutputs): void {
    const rows = run.batch * run.seq;
    const { out: dropped, mask } = applyDropout(pool, "qa.drop", run.rng, this.dropout, hidden);
    const both = pool.get("qa.logits", rows * 2);
    linearForward(this.backend, this.qaOutputs, dropped, both, rows, { inference: !run.train });
    const start = pool.get("qa.start", rows);
    const end = pool.get("qa.end", rows);
    for (let r = 0; r < rows; r++) {
      start[r] = both[2 * r];
      end[r] = both[2 * r + 1];
    }
    outputs.startLogits = start;
    outputs.endLogits = end;
    this.saved = { dropped, mask };
  }

  loss(labels: ModelLabels, run: HeadRun, outputs: ModelOutputs) {
    const { startPositions, endPositions } = labels;
    if (!startPositions || !endPositions || !outputs.startLogits || !outputs.endLogits) return null;
    checkLength(startPositions, run.batch, "start_positions", "[batch] token positions");
    checkLength(endPositions, run.batch, "end_positions", "[batch] token positions");
    const { loss, dStart, dEnd } = questionAnsweringLoss(
      outputs.startLogits,
      outputs.endLogits,
      startPositions,
      endPositions,
      run.batch,
      run.seq,
    );
    return { loss, gradients: { dStartLogits: dStart, dEndLogits: dEnd } };
  }

  // dStart, dEnd [batch, seq] -> dHidden [rows, hidden] (accumulated)
  backward(
    pool: BufferPool,
    gradients: OutputGradients,
    run: HeadRun,
    dHidden: Float32Array,
  ): void {
    if (!this.saved || (!gradients.dStartLogits && !gradients.dEndLogits)) return;
    const rows = run.batch * run.seq;
    const dBoth = pool.zeroed("grad.qa.logits", rows * 2);
    for (let r = 0; r < rows; r++) {
      if (gradients.dStartLogits) dBoth[2 * r] = gradients.dStartLogits[r];
      if (gradients.dEndLogits) dBoth[2 * r + 1] = gradients.dEndLogits[r];
    }
    const size = rows * this.qaOutputs.inDim;
    const dDropped = pool.get("grad.qa.dropped", size);
    linearBackward(this.backend, this.qaOutputs, this.saved.dropped, dBoth, dDropped, rows);
    if (this.saved.mask) dropoutApply(dDropped, this.saved.mask, dDropped, size);
    for (let i = 0; i < size; i++) dHidden[i] += dDropped[i];
  }
}

/**
 * Hugging Face's choice of sequence-classification loss: `problem_type` when set, else one label
 * means regression, integer labels single-label classification, float labels multi-label.
 * logits [batch, numLabels].
 */
export function sequenceClassificationLoss(
  problemType: ProblemType | null,
  numLabels: number,
  logits: Float32Array,
  labels: ModelLabels,
  batch: number,
): LossResult {
  const kind =
    problemType ??
    (numLabels === 1
      ? "regression"
      : labels.labels
        ? "single_label_classification"
        : "multi_label_classification");
  if (kind === "single_label_classification") {
    const ids = integerLabels(labels, batch, "[batch] class ids");
    return crossEntropyLoss(logits, ids, batch, numLabels);
  }
  const targets = labels.floatLabels ?? Float32Array.from(labels.labels ?? []);
  checkLength(
    targets,
    batch * numLabels,
    "labels",
    kind === "regression"
      ? "[batch] or [batch, numLabels] targets"
      : "[batch, numLabels] 0/1 targets",
  );
  return kind === "regression"
    ? mseLoss(logits, targets, batch * numLabels)
    : bceWithLogitsLoss(logits, targets, batch * numLabels);
}

function integerLabels(labels: ModelLabels, count: number, expected: string): Int32Array {
  if (!labels.labels) {
    throw new UserError(`this head needs integer labels (${expected}), not float labels`);
  }
  checkLength(labels.labels, count, "labels", expected);
  return labels.labels;
}

function checkLength(
  values: { length: number },
  count: number,
  name: string,
  expected: string,
): void {
  if (values.length !== count) {
    throw new UserError(
      `${name} has ${values.length} values; this batch needs ${count} (${expected})`,
    );
  }
}
