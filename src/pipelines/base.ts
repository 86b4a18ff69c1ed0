// What every pipeline shares: the loaded model and tokenizer, the length check, and running
// encodings through the model in batches padded to their longest member. A pipeline object is
// also a function (`await classifier("text")`), as in transformers.js.

import { UserError } from "../errors.js";
import type { ModelConfig } from "../io/config.js";
import type { Model, ModelOutputs } from "../models/types.js";
import type { Encoding, Tokenizer } from "../tokenizer/index.js";
import type { Truncation } from "./options.js";
import type { SentenceEmbeddingConfig } from "./sentence-embedding-config.js";

export const DEFAULT_BATCH_SIZE = 8;

/** What a pipeline runs, loaded from a folder on disk (Node) or from a URL or memory (browser). */
export interface LoadedModel {
  /** Where the files came from: a local folder, or a URL in the browser. */
  dir: string;
  config: ModelConfig;
  tokenizer: Tokenizer;
  model: Model;
  /** A sentence-transformers folder's pooling, normalisation and length; null otherwise. */
  sentenceEmbedding?: SentenceEmbeddingConfig | null;
}

/** Token arrays of several encodings, padded to the longest: [count, seq]. */
export interface PackedInputs {
  inputIds: Int32Array;
  attentionMask: Float32Array;
  tokenTypeIds: Int32Array;
  seq: number;
}

export function packEncodings(encodings: Encoding[], padTokenId: number): PackedInputs {
  let seq = 0;
  for (const encoding of encodings) seq = Math.max(seq, encoding.ids.length);
  const inputIds = new Int32Array(encodings.length * seq).fill(padTokenId);
  const attentionMask = new Float32Array(encodings.length * seq);
  const tokenTypeIds = new Int32Array(encodings.length * seq);
  encodings.forEach((encoding, row) => {
    const at = row * seq;
    inputIds.set(encoding.ids, at);
    tokenTypeIds.set(encoding.tokenTypeIds, at);
    for (let t = 0; t < encoding.ids.length; t++) attentionMask[at + t] = encoding.attentionMask[t];
  });
  return { inputIds, attentionMask, tokenTypeIds, seq };
}

/**
 * A pipeline as `fromPretrained` and `pipeline()` return it: the object, callable like its `run`
 * (`await classifier("text")` is `await classifier.run("text")`).
 */
export type Callable<P extends Pipeline> = P & P["run"];

export abstract class Pipeline {
  declare readonly task: string;
  /** Where the model was loaded from: a local folder, or a URL in the browser. */
  declare readonly modelDir: string;
  declare readonly config: ModelConfig;
  declare readonly tokenizer: Tokenizer;
  declare readonly model: Model;
  declare readonly sentenceEmbedding: SentenceEmbeddingConfig | null;

  constructor(task: string, loaded: LoadedModel) {
    // The instance is a function that forwards to `run`, so pipelines are called directly.
    const callable = (...args: unknown[]) =>
      (callable as unknown as { run(...a: unknown[]): unknown }).run(...args);
    Object.setPrototypeOf(callable, new.target.prototype);
    Object.assign(callable, {
      task,
      modelDir: loaded.dir,
      config: loaded.config,
      tokenizer: loaded.tokenizer,
      model: loaded.model,
      sentenceEmbedding: loaded.sentenceEmbedding ?? null,
    });
    // biome-ignore lint/correctness/noConstructorReturn: the callable is the instance.
    return callable as unknown as Pipeline;
  }

  /** Encodes one text or pair, truncated as asked, and checks that the model can read it. */
  protected encode(text: string, pair: string | null, truncation: Truncation): Encoding {
    const encoding = this.tokenizer.encode(text, pair, {
      truncation: truncation.truncation,
      maxLength: truncation.maxLength,
    });
    this.checkLength(encoding);
    return encoding;
  }

  protected checkLength(encoding: Encoding): void {
    const limit = this.config.maxPositionEmbeddings;
    if (encoding.ids.length > limit) {
      throw new UserError(
        `an input is ${encoding.ids.length} tokens long but this model reads at most ${limit} (max_position_embeddings): shorten it, or pass the options {"truncation": true, "max_length": ${limit}}`,
      );
    }
  }

  /** Runs `encodings` through the model `batchSize` at a time; `consume` reads each batch's outputs. */
  protected forwardBatches(
    encodings: Encoding[],
    batchSize: number,
    consume: (outputs: ModelOutputs, first: number, count: number, seq: number) => void,
  ): void {
    for (let first = 0; first < encodings.length; first += batchSize) {
      const group = encodings.slice(first, first + batchSize);
      const packed = packEncodings(group, this.tokenizer.padTokenId);
      const outputs = this.model.forward({
        inputIds: packed.inputIds,
        attentionMask: packed.attentionMask,
        tokenTypeIds: this.config.typeVocabSize > 0 ? packed.tokenTypeIds : undefined,
        batch: group.length,
        seq: packed.seq,
      });
      consume(outputs, first, group.length, packed.seq);
    }
  }

  abstract run(inputs: unknown, options?: object): Promise<unknown>;

  /**
   * What the server runs on inputs gathered from many requests: one output per input, in order.
   * `run(inputs, options)`, except where `run` does not take a list of inputs.
   */
  runBatch(inputs: unknown[], options: object): Promise<unknown[]> {
    return this.run(inputs, options) as Promise<unknown[]>;
  }

  /**
   * What `run(input, options)` answers for one input, given `output`, its entry in what
   * `run([input, ...], options)` answers: the same, except where Hugging Face shapes a single
   * input's answer differently (the server batches inputs of many requests into one list).
   */
  single(_input: unknown, output: unknown, _options: object = {}): unknown {
    return output;
  }
}

/** Required output of the model for this pipeline's head; a missing one is a bug, not input. */
export function outputOf(
  outputs: ModelOutputs,
  key: "logits" | "startLogits" | "endLogits",
): Float32Array {
  const value = outputs[key];
  if (!value) throw new Error(`the model returned no ${key}`);
  return value;
}
