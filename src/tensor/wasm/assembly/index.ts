// The WebAssembly kernels' exports. Every kernel takes the calling thread's index (tid) last (for
// its workspace) and takes tasks from the shared counter (tasks.ts) until none are left, so the
// same call runs on the caller and on each worker.

export { attentionBackward, attentionForward } from "./attention";
export {
  activationBackward,
  activationForward,
  adamw,
  sumOfSquares,
  sumRows,
} from "./elementwise";
export {
  int8DotProbe,
  int8PanelWidth,
  int8RowGroup,
  int8StepDepths,
  matmulInt8,
  quantizeRowsInt8,
} from "./int8";
export { layerNormBackward, layerNormForward } from "./layernorm";
export { logitLosses } from "./logit-losses";
export { matmul, matmulWorkspaceBytes } from "./matmul";
