// The public API of distilbert-ts.

export * from "./distill/index.js";
export { UserError } from "./errors.js";
export * from "./io/config.js";
export { type ResolveModelOptions, resolveModel } from "./io/hub.js";
export * from "./io/safetensors.js";
export * from "./models/index.js";
export * from "./pipelines/index.js";
export type { ModelSpec } from "./server/model-worker.js";
export {
  DEFAULT_LIMITS,
  InferenceServer,
  type ServerLimits,
  type ServerOptions,
} from "./server/server.js";
export { type Backend, type BackendChoice, createBackend } from "./tensor/index.js";
export {
  type DecodeOptions,
  type EncodeOptions,
  type Encoding,
  loadTokenizer,
  saveTokenizer,
  Tokenizer,
} from "./tokenizer/index.js";
export * from "./train/index.js";
