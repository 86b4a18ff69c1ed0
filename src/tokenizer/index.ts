// The tokenizer's public API: Hugging Face's BERT WordPiece tokenizer, exactly.

export type { Encoding } from "./encoding.js";
export { copyTokenizerFiles, loadTokenizer, saveTokenizer } from "./files.js";
export { type DecodeOptions, type EncodeOptions, Tokenizer } from "./tokenizer.js";
export type { TruncationStrategy } from "./truncation.js";
