// The transformer encoder DistilBERT and BERT share: embeddings (word + position (+ token type),
// LayerNorm, dropout) then post-LayerNorm layers (self-attention, residual, LayerNorm, FFN,
// residual, LayerNorm). The architectures differ only in key names, token types, and BERT's
// dropout after the attention output projection.

import type { ModelConfig } from "../io/config.js";
import type { Activation, Backend } from "../tensor/backend.js";
import {
  activationBackward,
  activationForward,
  addInto,
  type BufferPool,
  dropoutApply,
  dropoutMask,
  embeddingBackward,
  gradOf,
  type LinearParams,
  layerNormBackward,
  layerNormForward,
  linearBackward,
  linearForward,
  type NormParams,
} from "./layers.js";
import type { Rng } from "./rng.js";
import type { Parameter } from "./types.js";
import { makeLinear, makeNorm, type ParameterFactory } from "./weights.js";

/** The checkpoint key prefixes of one architecture's encoder (`.weight`/`.bias` appended). */
export interface EncoderNames {
  wordEmbeddings: string;
  positionEmbeddings: string;
  /** null: the architecture has no token types. */
  tokenTypeEmbeddings: string | null;
  embeddingNorm: string;
  layer(index: number): {
    query: string;
    key: string;
    value: string;
    attentionOutput: string;
    attentionNorm: string;
    ffnIn: string;
    ffnOut: string;
    outputNorm: string;
  };
}

/**
 * One architecture's Hugging Face checkpoint keys, in one place: the models are built from them,
 * and distillation maps a teacher's keys onto a student's with them.
 */
export interface ArchitectureKeys {
  /** A head model's encoder prefix (`bert.`, `distilbert.`); the base model's keys have none. */
  prefix: string;
  encoder(prefix: string): EncoderNames;
  /** The masked-LM head: the transform's dense and LayerNorm, the projection's bias (and the older names of the bias). */
  maskedLm: { dense: string; norm: string; bias: string; biasAliases: string[] };
  /** The dense layer over [CLS] under a sequence classifier: BERT's pooler, DistilBERT's pre_classifier. */
  firstTokenDense(prefix: string): string;
}

export interface EncoderLayerParams {
  query: LinearParams;
  key: LinearParams;
  value: LinearParams;
  attentionOutput: LinearParams;
  attentionNorm: NormParams;
  ffnIn: LinearParams;
  ffnOut: LinearParams;
  outputNorm: NormParams;
}

/** What one forward keeps for the backward. */
interface EmbeddingTape {
  sum: Float32Array;
  norm: Float32Array;
  mean: Float32Array;
  rstd: Float32Array;
  dropMask: Float32Array | null;
  out: Float32Array;
}

interface LayerTape {
  x: Float32Array;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  probs: Float32Array;
  attentionDropMask: Float32Array | null;
  context: Float32Array;
  attentionSum: Float32Array;
  projectionDropMask: Float32Array | null;
  mean1: Float32Array;
  rstd1: Float32Array;
  norm1: Float32Array;
  ffnPre: Float32Array;
  ffnAct: Float32Array;
  ffnDropMask: Float32Array | null;
  ffnSum: Float32Array;
  mean2: Float32Array;
  rstd2: Float32Array;
  out: Float32Array;
}

export interface EncoderRun {
  batch: number;
  seq: number;
  inputIds: Int32Array;
  tokenTypeIds: Int32Array | null;
  /** [batch, seq]: 1 attend, 0 masked. */
  keyMask: Float32Array;
  train: boolean;
  /** Dropout generator; null when dropout is off. */
  rng: Rng | null;
  keepAttentions: boolean;
}

export interface EncoderTape {
  run: EncoderRun;
  positionIds: Int32Array;
  embeddings: EmbeddingTape;
  layers: LayerTape[];
  /** Embeddings output then each layer's output, [rows, hidden] each. */
  hiddenStates: Float32Array[];
}

export class Encoder {
  readonly word: Parameter;
  readonly position: Parameter;
  readonly tokenType: Parameter | null;
  readonly embeddingNorm: NormParams;
  readonly layers: EncoderLayerParams[] = [];
  private readonly hidden: number;
  private readonly heads: number;
  private readonly intermediate: number;
  private readonly activation: Activation;
  private readonly dropout: number;
  private readonly attentionDropout: number;
  private readonly padTokenId: number;

  constructor(
    private readonly backend: Backend,
    config: ModelConfig,
    factory: ParameterFactory,
    names: EncoderNames,
    /** BERT drops out the attention output projection; DistilBERT does not. */
    private readonly dropoutAfterAttentionOutput: boolean,
  ) {
    const { hiddenSize: h, intermediateSize: inter, layerNormEps: eps } = config;
    this.hidden = h;
    this.heads = config.numHeads;
    this.intermediate = inter;
    this.activation = config.activation;
    this.dropout = config.dropout;
    this.attentionDropout = config.attentionDropout;
    this.padTokenId = config.padTokenId;
    this.word = factory.make(
      `${names.wordEmbeddings}.weight`,
      [config.vocabSize, h],
      { embeddingPaddingIdx: config.padTokenId },
      "encoder",
      true,
    );
    this.position = factory.make(
      `${names.positionEmbeddings}.weight`,
      [config.maxPositionEmbeddings, h],
      config.sinusoidalPosEmbds ? "sinusoidal" : "normal",
      "encoder",
    );
    if (config.sinusoidalPosEmbds) this.position.frozen = true;
    this.tokenType = names.tokenTypeEmbeddings
      ? factory.make(
          `${names.tokenTypeEmbeddings}.weight`,
          [config.typeVocabSize, h],
          "normal",
          "encoder",
        )
      : null;
    this.embeddingNorm = makeNorm(factory, names.embeddingNorm, h, eps, "encoder");
    for (let i = 0; i < config.numLayers; i++) {
      const n = names.layer(i);
      this.layers.push({
        query: makeLinear(factory, n.query, h, h, "encoder"),
        key: makeLinear(factory, n.key, h, h, "encoder"),
        value: makeLinear(factory, n.value, h, h, "encoder"),
        attentionOutput: makeLinear(factory, n.attentionOutput, h, h, "encoder"),
        attentionNorm: makeNorm(factory, n.attentionNorm, h, eps, "encoder"),
        ffnIn: makeLinear(factory, n.ffnIn, h, inter, "encoder"),
        ffnOut: makeLinear(factory, n.ffnOut, inter, h, "encoder"),
        outputNorm: makeNorm(factory, n.outputNorm, h, eps, "encoder"),
      });
    }
  }

  // inputIds [batch, seq] -> hiddenStates[0..layers], each [batch, seq, hidden]
  forward(pool: BufferPool, run: EncoderRun): EncoderTape {
    const rows = run.batch * run.seq;
    const positionIds = Int32Array.from({ length: rows }, (_, r) => r % run.seq);
    const embeddings = this.embeddingsForward(pool, run, positionIds);
    const hiddenStates = [embeddings.out];
    const layers: LayerTape[] = [];
    let x = embeddings.out;
    for (let l = 0; l < this.layers.length; l++) {
      const tape = this.layerTape(pool, run, l, x);
      this.layerForward(this.layers[l], run, tape);
      layers.push(tape);
      hiddenStates.push(tape.out);
      x = tape.out;
    }
    return { run, positionIds, embeddings, layers, hiddenStates };
  }

  // dLast [batch, seq, hidden] -> every encoder parameter's gradient (accumulated)
  backward(pool: BufferPool, tape: EncoderTape, dLast: Float32Array): void {
    const rows = tape.run.batch * tape.run.seq;
    const size = rows * this.hidden;
    let dOut = pool.get("grad.ping", size);
    let dx = pool.get("grad.pong", size);
    dOut.set(dLast.subarray(0, size));
    for (let l = this.layers.length - 1; l >= 0; l--) {
      this.layerBackward(pool, this.layers[l], tape.run, tape.layers[l], dOut, dx);
      [dOut, dx] = [dx, dOut];
    }
    this.embeddingsBackward(pool, tape, dOut);
  }

  private embeddingsForward(
    pool: BufferPool,
    run: EncoderRun,
    positionIds: Int32Array,
  ): EmbeddingTape {
    const h = this.hidden;
    const rows = run.batch * run.seq;
    const size = rows * h;
    const prefix = run.train ? "train.emb" : "eval.emb";
    const sum = pool.get(`${prefix}.sum`, size);
    // One backend pass over sum: the three lookups as JavaScript loops were 4% of an int8 forward.
    const lookup = {
      word: this.word.int8 ?? this.word.data,
      ids: run.inputIds,
      position: this.position.data,
      positionIds,
      tokenType: this.tokenType && {
        table: this.tokenType.data,
        ids: run.tokenTypeIds ?? new Int32Array(rows),
      },
    };
    this.backend.embeddingsSum(lookup, sum, rows, h);
    const norm = pool.get(`${prefix}.norm`, size);
    const mean = pool.get(`${prefix}.mean`, rows);
    const rstd = pool.get(`${prefix}.rstd`, rows);
    layerNormForward(this.backend, this.embeddingNorm, sum, norm, mean, rstd, rows);
    let dropMask: Float32Array | null = null;
    let out = norm;
    if (run.rng && this.dropout > 0) {
      dropMask = pool.get(`${prefix}.drop`, size);
      dropoutMask(run.rng, dropMask, size, this.dropout);
      out = pool.get(`${prefix}.out`, size);
      dropoutApply(norm, dropMask, out, size);
    }
    return { sum, norm, mean, rstd, dropMask, out };
  }

  private embeddingsBackward(pool: BufferPool, tape: EncoderTape, dOut: Float32Array): void {
    const { run, embeddings: e } = tape;
    const h = this.hidden;
    const rows = run.batch * run.seq;
    const size = rows * h;
    if (e.dropMask) dropoutApply(dOut, e.dropMask, dOut, size);
    const dSum = pool.get("grad.embSum", size);
    layerNormBackward(this.backend, this.embeddingNorm, e.sum, e.mean, e.rstd, dOut, dSum, rows);
    embeddingBackward(dSum, run.inputIds, gradOf(this.word), rows, h, this.padTokenId);
    if (!this.position.frozen) {
      embeddingBackward(dSum, tape.positionIds, gradOf(this.position), rows, h, null);
    }
    if (this.tokenType) {
      const types = run.tokenTypeIds ?? new Int32Array(rows);
      embeddingBackward(dSum, types, gradOf(this.tokenType), rows, h, null);
    }
  }

  /**
   * The arrays one layer writes. Training keeps every layer's; inference shares one set across
   * layers, except each layer's output (a hidden state) and, when asked for, its probabilities.
   */
  private layerTape(pool: BufferPool, run: EncoderRun, l: number, x: Float32Array): LayerTape {
    const rows = run.batch * run.seq;
    const size = rows * this.hidden;
    const inter = rows * this.intermediate;
    const rowsOnly = rows;
    const probsSize = run.batch * this.heads * run.seq * run.seq;
    const name = run.train ? `train.layer${l}` : "eval.layer";
    const own = run.train ? name : `eval.layer${l}`;
    const dropping = run.rng !== null;
    const ffnPre = pool.get(`${name}.ffnPre`, inter);
    return {
      x,
      q: pool.get(`${name}.q`, size),
      k: pool.get(`${name}.k`, size),
      v: pool.get(`${name}.v`, size),
      probs: pool.get(run.keepAttentions ? `${own}.probs` : `${name}.probs`, probsSize),
      attentionDropMask:
        dropping && this.attentionDropout > 0 ? pool.get(`${name}.attnDrop`, probsSize) : null,
      context: pool.get(`${name}.context`, size),
      attentionSum: pool.get(`${name}.attnSum`, size),
      projectionDropMask:
        dropping && this.dropout > 0 && this.dropoutAfterAttentionOutput
          ? pool.get(`${name}.projDrop`, size)
          : null,
      mean1: pool.get(`${name}.mean1`, rowsOnly),
      rstd1: pool.get(`${name}.rstd1`, rowsOnly),
      norm1: pool.get(`${name}.norm1`, size),
      ffnPre,
      // Inference applies the activation in place; training keeps its input for the backward.
      ffnAct: run.train ? pool.get(`${name}.ffnAct`, inter) : ffnPre,
      ffnDropMask: dropping && this.dropout > 0 ? pool.get(`${name}.ffnDrop`, size) : null,
      ffnSum: pool.get(`${name}.ffnSum`, size),
      mean2: pool.get(`${name}.mean2`, rowsOnly),
      rstd2: pool.get(`${name}.rstd2`, rowsOnly),
      out: pool.get(`${own}.out`, size),
    };
  }

  // t.x [rows, hidden] -> t.out [rows, hidden]
  private layerForward(p: EncoderLayerParams, run: EncoderRun, t: LayerTape): void {
    const b = this.backend;
    const rows = run.batch * run.seq;
    const headDim = this.hidden / this.heads;
    const inference = { inference: !run.train };
    linearForward(b, p.query, t.x, t.q, rows, inference);
    linearForward(b, p.key, t.x, t.k, rows, inference);
    linearForward(b, p.value, t.x, t.v, rows, inference);
    if (t.attentionDropMask && run.rng) {
      dropoutMask(run.rng, t.attentionDropMask, t.attentionDropMask.length, this.attentionDropout);
    }
    b.attentionForward(
      t.q,
      t.k,
      t.v,
      run.keyMask,
      t.probs,
      t.context,
      run.batch,
      run.seq,
      this.heads,
      headDim,
      t.attentionDropMask ?? undefined,
    );
    this.residualLinear(
      p.attentionOutput,
      t.context,
      t.x,
      t.projectionDropMask,
      t.attentionSum,
      run,
    );
    layerNormForward(b, p.attentionNorm, t.attentionSum, t.norm1, t.mean1, t.rstd1, rows);
    linearForward(b, p.ffnIn, t.norm1, t.ffnPre, rows, inference);
    activationForward(b, this.activation, t.ffnPre, t.ffnAct, rows * this.intermediate);
    this.residualLinear(p.ffnOut, t.ffnAct, t.norm1, t.ffnDropMask, t.ffnSum, run);
    layerNormForward(b, p.outputNorm, t.ffnSum, t.out, t.mean2, t.rstd2, rows);
  }

  // x [rows, in] -> out [rows, out] = dropout(linear(x)) + residual. Without dropout the matmul
  // adds the residual itself: one pass over out instead of three.
  private residualLinear(
    p: LinearParams,
    x: Float32Array,
    residual: Float32Array,
    dropMask: Float32Array | null,
    out: Float32Array,
    run: EncoderRun,
  ): void {
    const rows = run.batch * run.seq;
    const size = rows * p.outDim;
    if (dropMask && run.rng) {
      linearForward(this.backend, p, x, out, rows, { inference: !run.train });
      dropoutMask(run.rng, dropMask, size, this.dropout);
      dropoutApply(out, dropMask, out, size);
      addInto(out, residual, size);
    } else {
      linearForward(this.backend, p, x, out, rows, { inference: !run.train, residual });
    }
  }

  // dOut [rows, hidden] -> dx [rows, hidden] (overwritten); dOut is used as scratch
  private layerBackward(
    pool: BufferPool,
    p: EncoderLayerParams,
    run: EncoderRun,
    t: LayerTape,
    dOut: Float32Array,
    dx: Float32Array,
  ): void {
    const b = this.backend;
    const rows = run.batch * run.seq;
    const size = rows * this.hidden;
    const headDim = this.hidden / this.heads;
    const dFfnSum = pool.get("grad.ffnSum", size);
    layerNormBackward(b, p.outputNorm, t.ffnSum, t.mean2, t.rstd2, dOut, dFfnSum, rows);
    // The residual carries dFfnSum to norm1; the FFN branch adds to it.
    const dNorm1 = pool.get("grad.norm1", size);
    dNorm1.set(dFfnSum);
    if (t.ffnDropMask) dropoutApply(dFfnSum, t.ffnDropMask, dFfnSum, size);
    const dInter = pool.get("grad.inter", rows * this.intermediate);
    linearBackward(b, p.ffnOut, t.ffnAct, dFfnSum, dInter, rows);
    activationBackward(b, this.activation, t.ffnPre, dInter, dInter, rows * this.intermediate);
    linearBackward(b, p.ffnIn, t.norm1, dInter, dNorm1, rows, true);
    // dx starts as the residual's share of dAttentionSum.
    layerNormBackward(b, p.attentionNorm, t.attentionSum, t.mean1, t.rstd1, dNorm1, dx, rows);
    const dProjection = dOut;
    if (t.projectionDropMask) {
      dropoutApply(dx, t.projectionDropMask, dProjection, size);
    } else {
      dProjection.set(dx);
    }
    const dContext = pool.get("grad.context", size);
    linearBackward(b, p.attentionOutput, t.context, dProjection, dContext, rows);
    const dq = pool.get("grad.q", size);
    const dk = pool.get("grad.k", size);
    const dv = pool.get("grad.v", size);
    b.attentionBackward(
      dContext,
      t.q,
      t.k,
      t.v,
      t.probs,
      dq,
      dk,
      dv,
      run.batch,
      run.seq,
      this.heads,
      headDim,
      t.attentionDropMask ?? undefined,
    );
    linearBackward(b, p.query, t.x, dq, dx, rows, true);
    linearBackward(b, p.key, t.x, dk, dx, rows, true);
    linearBackward(b, p.value, t.x, dv, dx, rows, true);
  }
}
