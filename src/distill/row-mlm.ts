// A masked-LM model (BERT or DistilBERT) that computes its vocabulary logits only at chosen rows.
// Distillation needs logits only where a loss looks (every real token, or only the masked ones),
// and in a small model the projection onto a 30k vocabulary is most of the work: the encoder runs
// as the base model, and the same masked-LM head as the full model runs on the gathered rows.

import type { ModelConfig } from "../io/config-format.js";
import { architectureKeys, createModel, type WeightSource } from "../models/create.js";
import type { Tensor } from "../models/folder-format.js";
import { MaskedLMHead } from "../models/heads.js";
import { BufferPool } from "../models/layers.js";
import { freeParameters, type TransformerModel } from "../models/model.js";
import type {
  ForwardOptions,
  ModelDtype,
  ModelInputs,
  ModelOutputs,
  Parameter,
} from "../models/types.js";
import { makeLinear, makeNorm, ParameterFactory } from "../models/weights.js";
import type { Backend } from "../tensor/backend.js";

export interface RowOutputs {
  /** [batch * seq, hidden]: a view valid until the next forward. */
  lastHiddenState: Float32Array;
  /** [rows.length, vocab], in the order of the rows given. */
  logits: Float32Array;
}

export class RowMaskedLM {
  /** The encoder's parameters (base-model keys) then the head's (checkpoint keys). */
  readonly parameters: Parameter[];
  private readonly headParameters: Parameter[];
  private readonly head: MaskedLMHead;
  private readonly pool: BufferPool;
  private last: { rows: Int32Array; hiddenRows: number } | null = null;

  private constructor(
    readonly config: ModelConfig,
    readonly encoder: TransformerModel,
    headFactory: ParameterFactory,
  ) {
    const keys = architectureKeys(config).maskedLm;
    const backend = encoder.backend;
    const h = config.hiddenSize;
    const word = encoder.parameters.find((p) => p.name === "embeddings.word_embeddings.weight");
    if (!word) throw new Error("the base model has no embeddings.word_embeddings.weight");
    this.head = new MaskedLMHead(
      backend,
      makeLinear(headFactory, keys.dense, h, h, "head"),
      makeNorm(headFactory, keys.norm, h, config.layerNormEps, "head"),
      word,
      headFactory.make(keys.bias, [config.vocabSize], "zeros", "head"),
      config.activation,
    );
    this.headParameters = headFactory.parameters;
    this.parameters = [...encoder.parameters, ...this.headParameters];
    this.pool = new BufferPool(backend);
  }

  /** From a ForMaskedLM checkpoint (or a student's weights) of `config`. */
  static create(
    config: ModelConfig,
    weights: WeightSource,
    backend: Backend,
    sourceName: string,
    dtype: ModelDtype = "float32",
  ): RowMaskedLM {
    const encoder = createModel(config, weights, backend, { head: "base", sourceName, dtype });
    const keys = architectureKeys(config).maskedLm;
    const headFactory = new ParameterFactory(backend, {
      source: weights,
      sourceName,
      aliases: (name) => (name === keys.bias ? keys.biasAliases : []),
      initializeMissingHead: false,
      initializerRange: config.initializerRange,
      int8: dtype === "int8",
      seed: 0,
    });
    return new RowMaskedLM(config, encoder, headFactory);
  }

  get backend(): Backend {
    return this.encoder.backend;
  }

  /** Runs the encoder on the batch and the head on `rows` (indices into batch * seq). */
  forward(inputs: ModelInputs, rows: Int32Array, options: ForwardOptions = {}): RowOutputs {
    const outputs = this.encoder.forward(inputs, undefined, options);
    const h = this.config.hiddenSize;
    const gathered = this.pool.get("rows.hidden", rows.length * h);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      gathered.set(outputs.lastHiddenState.subarray(r * h, (r + 1) * h), i * h);
    }
    const headOutputs: ModelOutputs = { lastHiddenState: gathered };
    this.head.forward(
      this.pool,
      gathered,
      this.run(rows.length, options.train ?? false),
      headOutputs,
    );
    this.last = { rows, hiddenRows: inputs.batch * inputs.seq };
    return { lastHiddenState: outputs.lastHiddenState, logits: headOutputs.logits as Float32Array };
  }

  /**
   * Back-propagates gradients of the row logits [rows, vocab] and of the last hidden state
   * [batch * seq, hidden] (consumed: the head's part is added into it) into every param.grad.
   */
  backward(dLogits: Float32Array, dLastHiddenState: Float32Array): void {
    if (!this.last) throw new Error("backward needs a forward with { train: true } first");
    const { rows } = this.last;
    const h = this.config.hiddenSize;
    this.enableGradients();
    const dGathered = this.pool.zeroed("grad.rows.hidden", rows.length * h);
    this.head.backward(this.pool, { dLogits }, this.run(rows.length, true), dGathered);
    for (let i = 0; i < rows.length; i++) {
      const offset = rows[i] * h;
      for (let d = 0; d < h; d++) dLastHiddenState[offset + d] += dGathered[i * h + d];
    }
    this.encoder.backward({ dLastHiddenState });
  }

  enableGradients(): void {
    this.encoder.enableGradients();
    for (const param of this.headParameters) {
      if (!param.grad) param.grad = this.backend.alloc(param.data.length);
    }
  }

  zeroGradients(): void {
    for (const param of this.parameters) param.grad?.fill(0);
  }

  /** Gives the encoder's, the head's and the buffers' memory back to the backend. */
  dispose(): void {
    this.encoder.dispose();
    freeParameters(this.backend, this.headParameters);
    this.pool.dispose();
  }

  /** The weights under the ForMaskedLM checkpoint's keys (views of the live parameters). */
  checkpointTensors(): Map<string, Tensor> {
    const prefix = architectureKeys(this.config).prefix;
    const out = new Map<string, Tensor>();
    for (const param of this.encoder.parameters) {
      if (param.name.startsWith("pooler.")) continue;
      out.set(prefix + param.name, { shape: param.shape, data: param.data });
    }
    for (const param of this.headParameters) {
      out.set(param.name, { shape: param.shape, data: param.data });
    }
    return out;
  }

  private run(rows: number, train: boolean) {
    // The gathered rows are real tokens, every one attended.
    return {
      batch: 1,
      seq: rows,
      choices: 1,
      rng: null,
      train,
      mask: new Float32Array(rows).fill(1),
    };
  }
}
