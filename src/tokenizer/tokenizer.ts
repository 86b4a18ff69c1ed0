// The BERT WordPiece tokenizer: added tokens, BertNormalizer + BertPreTokenizer, WordPiece, then
// truncation, the post-processor template and padding, with transformers' option semantics.

import { UserError } from "../errors.js";
import { type AddedToken, AddedTokenMatcher } from "./added-tokens.js";
import { cleanUpTokenizationSpaces, type DecoderOptions, decodeTokens } from "./decode.js";
import type { Encoding, EncodingResult } from "./encoding.js";
import { specFromJSON, specFromVocab } from "./spec.js";
import { applyTemplate, specialTokenCount, type Template } from "./template.js";
import { keptLengths, type TruncationStrategy, windows } from "./truncation.js";
import { type TokenRun, WordPiece, type WordPieceOptions } from "./wordpiece.js";
import { type NormalizerOptions, WordBuffer, WordSplitter } from "./words.js";

export interface EncodeOptions {
  addSpecialTokens?: boolean;
  maxLength?: number;
  /** true means longest_first. Left out: longest_first when maxLength is given without padding (as transformers), else none. */
  truncation?: boolean | TruncationStrategy;
  padding?: false | "longest" | "max_length";
  stride?: number;
  returnOverflowing?: boolean;
  /**
   * Tokenize all of each text before truncating, so overflowing windows cover the whole text.
   * Off by default, like Hugging Face tokenizers 0.23, which stops tokenizing a text once it has
   * maxLength tokens: the kept tokens are the same, but the windows after them end there.
   */
  tokenizeWholeInput?: boolean;
}

export interface DecodeOptions {
  skipSpecialTokens?: boolean;
  /** transformers' clean-up over the whole text; default from tokenizer_config.json, else false. */
  cleanUpTokenizationSpaces?: boolean;
}

/** Special token names, as tokenizer_config.json gives them. */
export interface SpecialTokenNames {
  cls: string;
  sep: string;
  pad: string;
  mask: string;
  unk: string;
}

/** Everything a tokenizer is made of; `fromJSON` and `fromVocab` read it, `saveTokenizer` writes it. */
export interface TokenizerSpec {
  vocab: Map<string, number>;
  addedTokens: AddedToken[];
  normalizer: NormalizerOptions | null;
  wordPiece: Omit<WordPieceOptions, "unkTokenId"> & { unkToken: string };
  template: Template;
  /** The form tokenizer.json gave: BertProcessing, TemplateProcessing, or none. */
  postProcessorType: "TemplateProcessing" | "BertProcessing" | null;
  decoder: DecoderOptions | null;
  specialTokens: SpecialTokenNames;
  modelMaxLength: number;
  cleanUpTokenizationSpaces: boolean;
  /** tokenizer.json's own truncation/padding blocks, used as defaults. */
  defaultTruncation: { maxLength: number; strategy: TruncationStrategy; stride: number } | null;
  defaultPadding: { maxLength: number | null } | null;
}

interface ResolvedOptions {
  addSpecialTokens: boolean;
  truncation: TruncationStrategy | null;
  maxLength: number | null;
  stride: number;
  padding: "longest" | "max_length" | null;
  returnOverflowing: boolean;
  /** Stop tokenizing a text after this many tokens (Infinity: no limit). */
  tokenLimit: number;
}

const TRUNCATION_STRATEGIES = ["longest_first", "only_first", "only_second"];

function parseTruncation(value: unknown): TruncationStrategy | null | undefined {
  if (value === undefined) return undefined;
  if (value === false) return null;
  if (value === true) return "longest_first";
  if (typeof value === "string" && TRUNCATION_STRATEGIES.includes(value))
    return value as TruncationStrategy;
  throw new UserError(
    `unknown truncation ${JSON.stringify(value)}: use true, false, "longest_first", "only_first" or "only_second"`,
  );
}

function checkCount(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= 0)) {
    throw new UserError(`${name} must be a whole number >= 0, got ${value}`);
  }
}

export class Tokenizer {
  readonly vocabSize: number;
  readonly clsTokenId: number;
  readonly sepTokenId: number;
  readonly padTokenId: number;
  readonly maskTokenId: number;
  readonly unkTokenId: number;
  readonly maskToken: string;
  /** The model's maximum input length from tokenizer_config.json; Infinity when it sets none. */
  readonly modelMaxLength: number;

  private readonly idToTokenTable: string[] = [];
  private readonly tokenToIdMap: Map<string, number>;
  private readonly specialIds = new Set<number>();
  private readonly matcher: AddedTokenMatcher;
  private readonly splitter: WordSplitter;
  private readonly model: WordPiece;
  private readonly words = new WordBuffer();
  readonly idToToken: (id: number) => string | undefined;

  constructor(readonly spec: TokenizerSpec) {
    this.tokenToIdMap = new Map(spec.vocab);
    for (const token of spec.addedTokens) this.tokenToIdMap.set(token.content, token.id);
    for (const [token, id] of spec.vocab) this.idToTokenTable[id] = token;
    for (const token of spec.addedTokens) {
      this.idToTokenTable[token.id] = token.content;
      if (token.special) this.specialIds.add(token.id);
    }
    this.vocabSize = this.tokenToIdMap.size;
    const table = this.idToTokenTable;
    this.idToToken = (id: number) => table[id];
    const idOf = (name: string, role: string): number => {
      const id = this.tokenToIdMap.get(name);
      if (id === undefined) {
        throw new UserError(
          `the ${role} token '${name}' is not in the vocabulary: fix the tokenizer files`,
        );
      }
      return id;
    };
    const names = spec.specialTokens;
    this.unkTokenId = idOf(spec.wordPiece.unkToken, "unknown");
    this.clsTokenId = idOf(names.cls, "CLS");
    this.sepTokenId = idOf(names.sep, "SEP");
    this.padTokenId = idOf(names.pad, "padding");
    this.maskTokenId = idOf(names.mask, "mask");
    this.maskToken = names.mask;
    this.modelMaxLength = spec.modelMaxLength;
    this.matcher = new AddedTokenMatcher(spec.addedTokens);
    this.splitter = new WordSplitter(
      spec.normalizer ?? {
        cleanText: false,
        handleChineseChars: false,
        stripAccents: false,
        lowercase: false,
      },
    );
    this.model = new WordPiece(spec.vocab, { ...spec.wordPiece, unkTokenId: this.unkTokenId });
  }

  static fromJSON(tokenizerJson: unknown, tokenizerConfig?: unknown): Tokenizer {
    return new Tokenizer(specFromJSON(tokenizerJson, tokenizerConfig));
  }

  static fromVocab(vocabText: string, tokenizerConfig?: unknown): Tokenizer {
    return new Tokenizer(specFromVocab(vocabText, tokenizerConfig));
  }

  tokenToId(token: string): number | undefined {
    return this.tokenToIdMap.get(token);
  }

  /** The model's pieces for one text, before special tokens. */
  private run(text: string, limit = Number.POSITIVE_INFINITY): TokenRun {
    if (typeof text !== "string")
      throw new UserError(`can only encode strings, got ${typeof text}`);
    const words = this.words;
    words.reset();
    this.matcher.split(
      text,
      (from, to) => this.splitter.split(text, from, to, words),
      (token, start, end) => words.addAddedToken(token.id, start, end),
    );
    const out: TokenRun = { ids: [], starts: [], ends: [] };
    this.model.tokenize(words, out, limit);
    return out;
  }

  /** transformers' rules for combining maxLength, truncation and padding. */
  private resolve(options: EncodeOptions): ResolvedOptions {
    checkCount("maxLength", options.maxLength);
    checkCount("stride", options.stride);
    const spec = this.spec;
    let padding: "longest" | "max_length" | null;
    if (options.padding === undefined) {
      padding = spec.defaultPadding
        ? spec.defaultPadding.maxLength === null
          ? "longest"
          : "max_length"
        : null;
    } else if (
      options.padding === false ||
      options.padding === "longest" ||
      options.padding === "max_length"
    ) {
      padding = options.padding || null;
    } else {
      throw new UserError(
        `unknown padding ${JSON.stringify(options.padding)}: use false, "longest" or "max_length"`,
      );
    }
    let truncation = parseTruncation(options.truncation);
    let maxLength = options.maxLength ?? null;
    let stride = options.stride;
    if (truncation === undefined) {
      if (maxLength !== null) {
        // transformers: a max_length without padding means "truncate, longest_first".
        truncation = padding === null ? "longest_first" : null;
      } else if (spec.defaultTruncation) {
        truncation = spec.defaultTruncation.strategy;
        maxLength = spec.defaultTruncation.maxLength;
        stride ??= spec.defaultTruncation.stride;
      } else {
        truncation = null;
      }
    }
    if (maxLength === null) {
      if (padding === "max_length" && spec.defaultPadding?.maxLength)
        maxLength = spec.defaultPadding.maxLength;
      else if (Number.isFinite(this.modelMaxLength)) maxLength = this.modelMaxLength;
    }
    // With no length anywhere, transformers neither truncates nor pads to a length.
    if (maxLength === null) {
      truncation = null;
      if (padding === "max_length") padding = null;
    }
    const addSpecialTokens = options.addSpecialTokens ?? true;
    stride ??= 0;
    if (truncation !== null && maxLength !== null) {
      const room = maxLength - (addSpecialTokens ? specialTokenCount(spec.template, false) : 0);
      if (stride > 0 && stride >= room) {
        throw new UserError(
          `stride ${stride} is greater than or equal to the effective max length ${room} (max length ${maxLength} minus the special tokens): use a smaller stride or a larger max length`,
        );
      }
    }
    return {
      addSpecialTokens,
      truncation,
      maxLength,
      stride,
      padding,
      returnOverflowing: options.returnOverflowing ?? false,
      tokenLimit:
        truncation !== null && maxLength !== null && !options.tokenizeWholeInput
          ? maxLength
          : Number.POSITIVE_INFINITY,
    };
  }

  private encodeResolved(
    text: string,
    pair: string | null,
    options: ResolvedOptions,
  ): EncodingResult {
    const a = this.run(text, options.tokenLimit);
    const b = pair === null ? null : this.run(pair, options.tokenLimit);
    const template = this.spec.template;
    let windowsA = [a];
    let windowsB = b === null ? null : [b];
    if (options.truncation !== null && options.maxLength !== null) {
      const added = options.addSpecialTokens ? specialTokenCount(template, b !== null) : 0;
      const room = Math.max(0, options.maxLength - added);
      const [keepA, keepB] = keptLengths(
        a.ids.length,
        b === null ? null : b.ids.length,
        room,
        options.truncation,
      );
      windowsA = windows(a, keepA, options.stride);
      if (b !== null) windowsB = windows(b, keepB as number, options.stride);
    }
    const build = (x: TokenRun, y: TokenRun | null) =>
      applyTemplate(template, x, y, options.addSpecialTokens, this.idToToken);
    const encoding = build(windowsA[0], windowsB === null ? null : windowsB[0]);
    encoding.truncated = windowsA.length > 1 || (windowsB !== null && windowsB.length > 1);
    if (options.returnOverflowing) {
      // Hugging Face's order: each overflowing first window with every second window, then the
      // kept first window with each overflowing second window.
      for (const windowA of windowsA.slice(1)) {
        if (windowsB === null) encoding.overflowing.push(build(windowA, null));
        else for (const windowB of windowsB) encoding.overflowing.push(build(windowA, windowB));
      }
      if (windowsB !== null) {
        for (const windowB of windowsB.slice(1))
          encoding.overflowing.push(build(windowsA[0], windowB));
      }
    }
    if (options.padding === "max_length" && options.maxLength !== null) {
      encoding.padTo(options.maxLength, this.padTokenId, 0);
    }
    return encoding;
  }

  encode(text: string, pair?: string | null, options: EncodeOptions = {}): Encoding {
    return this.encodeResolved(text, pair ?? null, this.resolve(options));
  }

  encodeBatch(inputs: (string | [string, string])[], options: EncodeOptions = {}): Encoding[] {
    const resolved = this.resolve(options);
    const encodings = inputs.map((input) =>
      typeof input === "string"
        ? this.encodeResolved(input, null, resolved)
        : this.encodeResolved(input[0], input[1], resolved),
    );
    if (resolved.padding === "longest") this.padToLongest(encodings);
    return encodings;
  }

  /** Pads encodings made by this tokenizer (and their windows) to the longest of them, as Hugging Face's batch padding. */
  padToLongest(encodings: Encoding[]): void {
    let longest = 0;
    for (const encoding of encodings) longest = Math.max(longest, encoding.ids.length);
    for (const encoding of encodings)
      (encoding as EncodingResult).padTo(longest, this.padTokenId, 0);
  }

  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const skip = options.skipSpecialTokens ?? false;
    const tokens: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const token = this.idToTokenTable[id];
      if (token === undefined || (skip && this.specialIds.has(id))) continue;
      tokens.push(token);
    }
    const decoder = this.spec.decoder;
    const text = decoder ? decodeTokens(tokens, decoder) : tokens.join(" ");
    const cleanUp = options.cleanUpTokenizationSpaces ?? this.spec.cleanUpTokenizationSpaces;
    return cleanUp ? cleanUpTokenizationSpaces(text) : text;
  }
}
