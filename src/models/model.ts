// A model = the shared encoder + one head. Validates the batch, runs forward (keeping what the
// backward needs in training), computes the head's loss, and back-propagates.

import { UserError } from "../errors.js";
import type { ModelConfig } from "../io/config.js";
import type { Backend } from "../tensor/backend.js";
import type { Encoder, EncoderTape } from "./encoder.js";
import type { Head, HeadRun } from "./heads.js";
import { addInto, BufferPool } from "./layers.js";
import { Rng } from "./rng.js";
import type {
  ForwardOptions,
  HeadKind,
  Model,
  ModelDtype,
  ModelInputs,
  ModelLabels,
  ModelOutputs,
  OutputGradients,
  Parameter,
} from "./types.js";

interface Tape {
  encoder: EncoderTape;
  run: HeadRun;
  lossGradients: OutputGradients | null;
}

export class TransformerModel implements Model {
  private readonly pool: BufferPool;
  private readonly rng = new Rng(0);
  private tape: Tape | null = null;
  private disposed = false;

  constructor(
    readonly architecture: string,
    readonly head: HeadKind,
    readonly config: ModelConfig,
    readonly backend: Backend,
    readonly parameters: Parameter[],
    /** Keys the checkpoint lacked and were initialised (a new head). */
    readonly initializedKeys: string[],
    private readonly encoder: Encoder,
    private readonly headImpl: Head,
  ) {
    this.pool = new BufferPool(backend);
  }

  forward(inputs: ModelInputs, labels?: ModelLabels, options: ForwardOptions = {}): ModelOutputs {
    if (this.disposed) throw new Error(`this ${this.architecture} was disposed`);
    const train = options.train ?? false;
    const choices = this.checkInputs(inputs);
    const batch = inputs.batch * choices;
    const { seq } = inputs;
    const rows = batch * seq;
    const keyMask = this.pool.get("keyMask", rows);
    if (inputs.attentionMask) keyMask.set(inputs.attentionMask);
    else keyMask.fill(1);
    const dropout = options.dropout ?? train;
    const rng = dropout
      ? options.dropoutSeed === undefined
        ? this.rng
        : new Rng(options.dropoutSeed)
      : null;
    const keepAttentions = options.outputAttentions ?? false;
    const encoderTape = this.encoder.forward(this.pool, {
      batch,
      seq,
      inputIds: inputs.inputIds,
      tokenTypeIds: this.config.typeVocabSize > 0 ? (inputs.tokenTypeIds ?? null) : null,
      keyMask,
      train,
      rng,
      keepAttentions,
    });
    const hiddenStates = encoderTape.hiddenStates;
    const outputs: ModelOutputs = { lastHiddenState: hiddenStates[hiddenStates.length - 1] };
    if (options.outputHiddenStates) outputs.hiddenStates = hiddenStates;
    if (keepAttentions) outputs.attentions = encoderTape.layers.map((layer) => layer.probs);
    const run: HeadRun = { batch, seq, choices, rng, train, mask: keyMask };
    this.headImpl.forward(this.pool, outputs.lastHiddenState, run, outputs);
    let lossGradients: OutputGradients | null = null;
    if (labels) {
      const result = this.headImpl.loss(labels, run, outputs);
      if (result) {
        outputs.loss = result.loss;
        lossGradients = result.gradients;
      }
    }
    this.tape = train ? { encoder: encoderTape, run, lossGradients } : null;
    return outputs;
  }

  /** "int8" when the Linear weights and word embeddings are held as int8. */
  get dtype(): ModelDtype {
    return this.parameters.some((param) => param.int8) ? "int8" : "float32";
  }

  enableGradients(): void {
    if (this.dtype === "int8") {
      throw new UserError(
        "an int8 model runs inference only: train the float model, then quantize it (`distilbert quantize`)",
      );
    }
    if (this.parameters.some((param) => param.inferenceOnly)) {
      throw new UserError(
        "this model was loaded for inference only (its weights packed for the backend): load it without `inference` to train it",
      );
    }
    for (const param of this.parameters) {
      if (!param.grad) param.grad = this.backend.alloc(param.data.length);
    }
  }

  zeroGradients(): void {
    for (const param of this.parameters) param.grad?.fill(0);
  }

  releaseBuffers(): void {
    this.tape = null;
    this.pool.dispose();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.tape = null;
    this.pool.dispose();
    freeParameters(this.backend, this.parameters);
  }

  backward(gradients?: OutputGradients): void {
    const tape = this.tape;
    if (!tape) throw new Error("backward needs the last forward to have had { train: true }");
    const start = gradients ?? tape.lossGradients;
    if (!start) {
      throw new UserError(
        "backward has nothing to start from: give labels to forward, or output gradients to backward",
      );
    }
    this.enableGradients();
    const size = tape.run.batch * tape.run.seq * this.config.hiddenSize;
    const dHidden = this.pool.zeroed("grad.hidden", size);
    this.headImpl.backward(this.pool, start, tape.run, dHidden);
    if (start.dLastHiddenState) addInto(dHidden, start.dLastHiddenState, size);
    this.encoder.backward(this.pool, tape.encoder, dHidden);
  }

  /** Checks the batch against the config; returns the choices per example (1 unless multiple choice). */
  private checkInputs(inputs: ModelInputs): number {
    const { batch, seq } = inputs;
    if (!Number.isInteger(batch) || batch < 1 || !Number.isInteger(seq) || seq < 1) {
      throw new UserError(`batch (${batch}) and seq (${seq}) must be positive integers`);
    }
    let choices = 1;
    if (this.head === "multiple-choice") {
      if (!inputs.choices || !Number.isInteger(inputs.choices) || inputs.choices < 1) {
        throw new UserError("multiple-choice inputs are [batch, choices, seq]: give choices");
      }
      choices = inputs.choices;
    } else if (inputs.choices !== undefined && inputs.choices !== 1) {
      throw new UserError(`a ${this.architecture} takes [batch, seq] inputs, not choices`);
    }
    const shape = choices === 1 ? `[${batch}, ${seq}]` : `[${batch}, ${choices}, ${seq}]`;
    const rows = batch * choices * seq;
    if (seq > this.config.maxPositionEmbeddings) {
      throw new UserError(
        `sequences of ${seq} tokens are longer than this model's max_position_embeddings (${this.config.maxPositionEmbeddings}): truncate them`,
      );
    }
    const arrays: [string, { length: number } | undefined][] = [
      ["input_ids", inputs.inputIds],
      ["attention_mask", inputs.attentionMask],
      ["token_type_ids", inputs.tokenTypeIds],
    ];
    for (const [name, array] of arrays) {
      if (array && array.length !== rows) {
        throw new UserError(
          `${name} has ${array.length} values; the batch shape ${shape} needs ${rows}`,
        );
      }
    }
    checkIds(inputs.inputIds, this.config.vocabSize, "input_ids", "vocab_size");
    if (inputs.tokenTypeIds && this.config.typeVocabSize > 0) {
      checkIds(inputs.tokenTypeIds, this.config.typeVocabSize, "token_type_ids", "type_vocab_size");
    }
    return choices;
  }
}

function checkIds(ids: Int32Array, limit: number, name: string, field: string): void {
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] < 0 || ids[i] >= limit) {
      throw new UserError(
        `${name} holds ${ids[i]} at index ${i}, outside 0..${limit - 1} (the config's ${field}): was it made with this model's tokenizer?`,
      );
    }
  }
}

/** Gives the parameters' weights, gradients and packed int8 copies back to the backend. */
export function freeParameters(backend: Backend, parameters: Parameter[]): void {
  for (const param of parameters) {
    backend.free(param.data);
    if (param.grad) backend.free(param.grad);
    if (param.int8) backend.free(param.int8);
    param.grad = null;
  }
}
