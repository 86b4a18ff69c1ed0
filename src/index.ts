// The public API of distilbert-ts.

export { UserError } from "./errors.js";
export { type Backend, type BackendChoice, createBackend } from "./tensor/index.js";
