// The WebAssembly kernels' exports. Every kernel takes (..., tid, threads) last and does thread
// tid's share, so the same call runs on the caller and on each worker.

export { attentionBackward, attentionForward } from "./attention";
export {
  activationBackward,
  activationForward,
  adamw,
  sumOfSquares,
  sumRows,
} from "./elementwise";
export { layerNormBackward, layerNormForward } from "./layernorm";
export { matmul, matmulWorkspaceBytes } from "./matmul";
