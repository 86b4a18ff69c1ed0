// Reading a tokenizer from Hugging Face's files (tokenizer.json, or the legacy vocab.txt with
// tokenizer_config.json) and writing it back in the same formats.

import { UserError } from "../errors.js";
import type { AddedToken } from "./added-tokens.js";
import {
  bertTemplate,
  checkTemplate,
  emptyTemplate,
  type Template,
  type TemplatePiece,
} from "./template.js";
import type { SpecialTokenNames, TokenizerSpec } from "./tokenizer.js";
import type { TruncationStrategy } from "./truncation.js";
import type { NormalizerOptions } from "./words.js";

type Json = Record<string, unknown>;

/** transformers writes int(1e30) for "no limit"; anything this large means none. */
const NO_LIMIT_SENTINEL = 1e29;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function fail(what: string): never {
  throw new UserError(`tokenizer.json: ${what}`);
}

function bool(value: unknown, fallback: boolean): boolean {
  return typeof value === "boolean" ? value : fallback;
}

function tokenName(value: unknown, fallback: string): string {
  if (typeof value === "string") return value;
  if (isObject(value) && typeof value.content === "string") return value.content;
  return fallback;
}

function configObject(config: unknown): Json {
  if (config === undefined || config === null) return {};
  if (!isObject(config)) throw new UserError("tokenizer_config.json must hold a JSON object");
  return config;
}

function specialNames(config: Json): SpecialTokenNames {
  return {
    cls: tokenName(config.cls_token, "[CLS]"),
    sep: tokenName(config.sep_token, "[SEP]"),
    pad: tokenName(config.pad_token, "[PAD]"),
    mask: tokenName(config.mask_token, "[MASK]"),
    unk: tokenName(config.unk_token, "[UNK]"),
  };
}

function modelMaxLength(config: Json): number {
  const value = config.model_max_length;
  return typeof value === "number" && value > 0 && value < NO_LIMIT_SENTINEL
    ? value
    : Number.POSITIVE_INFINITY;
}

function parseAddedToken(value: unknown): AddedToken {
  if (!isObject(value) || typeof value.id !== "number" || typeof value.content !== "string") {
    fail("every added_tokens entry needs a numeric id and a string content");
  }
  if (value.lstrip === true || value.rstrip === true || value.single_word === true) {
    fail(
      `added token '${value.content}' uses lstrip, rstrip or single_word, which this BERT tokenizer does not support`,
    );
  }
  return { id: value.id, content: value.content, special: value.special === true };
}

function parseNormalizer(value: unknown): NormalizerOptions | null {
  if (value === null || value === undefined) return null;
  if (!isObject(value) || value.type !== "BertNormalizer") {
    fail(
      `normalizer ${JSON.stringify(isObject(value) ? value.type : value)} is not supported: only BertNormalizer (or none)`,
    );
  }
  return {
    cleanText: bool(value.clean_text, true),
    handleChineseChars: bool(value.handle_chinese_chars, true),
    stripAccents: typeof value.strip_accents === "boolean" ? value.strip_accents : null,
    lowercase: bool(value.lowercase, true),
  };
}

function parsePiece(value: unknown): TemplatePiece {
  if (
    isObject(value) &&
    isObject(value.SpecialToken) &&
    typeof value.SpecialToken.id === "string"
  ) {
    return { special: value.SpecialToken.id, typeId: Number(value.SpecialToken.type_id ?? 0) };
  }
  if (isObject(value) && isObject(value.Sequence)) {
    return {
      sequence: value.Sequence.id === "B" ? 1 : 0,
      typeId: Number(value.Sequence.type_id ?? 0),
    };
  }
  fail(
    `post_processor template piece ${JSON.stringify(value)} is neither SpecialToken nor Sequence`,
  );
}

function parsePostProcessor(value: unknown): {
  template: Template;
  type: TokenizerSpec["postProcessorType"];
} {
  if (value === null || value === undefined) return { template: emptyTemplate, type: null };
  if (isObject(value) && value.type === "TemplateProcessing") {
    if (
      !Array.isArray(value.single) ||
      !Array.isArray(value.pair) ||
      !isObject(value.special_tokens)
    ) {
      fail("TemplateProcessing needs single, pair and special_tokens");
    }
    const specialTokens = new Map<string, { ids: number[]; tokens: string[] }>();
    for (const [name, entry] of Object.entries(value.special_tokens)) {
      if (!isObject(entry) || !Array.isArray(entry.ids) || !Array.isArray(entry.tokens)) {
        fail(`special token '${name}' of the template needs ids and tokens`);
      }
      specialTokens.set(name, { ids: entry.ids.map(Number), tokens: entry.tokens.map(String) });
    }
    const template: Template = {
      single: value.single.map(parsePiece),
      pair: value.pair.map(parsePiece),
      specialTokens,
      typeIdsWithoutSpecialTokens: true,
    };
    checkTemplate(template);
    return { template, type: "TemplateProcessing" };
  }
  if (isObject(value) && value.type === "BertProcessing") {
    const cls = value.cls as [string, number];
    const sep = value.sep as [string, number];
    if (!Array.isArray(cls) || !Array.isArray(sep)) fail("BertProcessing needs cls and sep");
    return {
      template: { ...bertTemplate(cls, sep), typeIdsWithoutSpecialTokens: false },
      type: "BertProcessing",
    };
  }
  fail(
    `post_processor ${JSON.stringify(isObject(value) ? value.type : value)} is not supported: use TemplateProcessing or BertProcessing`,
  );
}

const STRATEGY_NAMES: Record<string, TruncationStrategy> = {
  LongestFirst: "longest_first",
  OnlyFirst: "only_first",
  OnlySecond: "only_second",
};

function parseTruncationBlock(value: unknown): TokenizerSpec["defaultTruncation"] {
  if (value === null || value === undefined) return null;
  if (!isObject(value) || typeof value.max_length !== "number")
    fail("truncation needs a max_length");
  if (value.direction === "Left") fail("left truncation is not supported");
  const strategy = STRATEGY_NAMES[String(value.strategy ?? "LongestFirst")];
  if (!strategy) fail(`unknown truncation strategy ${JSON.stringify(value.strategy)}`);
  return { maxLength: value.max_length, strategy, stride: Number(value.stride ?? 0) };
}

function parsePaddingBlock(value: unknown): TokenizerSpec["defaultPadding"] {
  if (value === null || value === undefined) return null;
  if (!isObject(value)) fail("padding must be an object");
  if (value.direction === "Left") fail("left padding is not supported");
  const strategy = value.strategy;
  if (isObject(strategy) && typeof strategy.Fixed === "number")
    return { maxLength: strategy.Fixed };
  return { maxLength: null };
}

export function specFromJSON(tokenizerJson: unknown, tokenizerConfig?: unknown): TokenizerSpec {
  if (!isObject(tokenizerJson)) fail("must hold a JSON object");
  const model = tokenizerJson.model;
  if (
    !isObject(model) ||
    (model.type !== undefined && model.type !== "WordPiece") ||
    !isObject(model.vocab)
  ) {
    fail(
      "the model must be WordPiece with a vocab (this package tokenizes BERT-style models only)",
    );
  }
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(model.vocab)) {
    if (typeof id !== "number") fail(`vocab entry '${token}' has no numeric id`);
    vocab.set(token, id);
  }
  const config = configObject(tokenizerConfig);
  const addedTokens = Array.isArray(tokenizerJson.added_tokens)
    ? tokenizerJson.added_tokens.map(parseAddedToken)
    : [];
  const { template, type } = parsePostProcessor(tokenizerJson.post_processor);
  const pre = tokenizerJson.pre_tokenizer;
  if (!isObject(pre) || pre.type !== "BertPreTokenizer") {
    fail("the pre_tokenizer must be BertPreTokenizer");
  }
  const decoder = tokenizerJson.decoder;
  if (
    decoder !== null &&
    decoder !== undefined &&
    (!isObject(decoder) || decoder.type !== "WordPiece")
  ) {
    fail("the decoder must be WordPiece (or none)");
  }
  return {
    vocab,
    addedTokens,
    normalizer: parseNormalizer(tokenizerJson.normalizer),
    wordPiece: {
      unkToken: typeof model.unk_token === "string" ? model.unk_token : "[UNK]",
      continuingSubwordPrefix:
        typeof model.continuing_subword_prefix === "string"
          ? model.continuing_subword_prefix
          : "##",
      maxInputCharsPerWord:
        typeof model.max_input_chars_per_word === "number" ? model.max_input_chars_per_word : 100,
    },
    template,
    postProcessorType: type,
    decoder: isObject(decoder)
      ? {
          prefix: typeof decoder.prefix === "string" ? decoder.prefix : "##",
          cleanup: bool(decoder.cleanup, true),
        }
      : null,
    specialTokens: specialNames(config),
    modelMaxLength: modelMaxLength(config),
    cleanUpTokenizationSpaces: bool(config.clean_up_tokenization_spaces, false),
    defaultTruncation: parseTruncationBlock(tokenizerJson.truncation),
    defaultPadding: parsePaddingBlock(tokenizerJson.padding),
  };
}

/** The legacy form: one token a line (the line number is the id) plus tokenizer_config.json. */
export function specFromVocab(vocabText: string, tokenizerConfig?: unknown): TokenizerSpec {
  const lines = vocabText.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const vocab = new Map<string, number>();
  for (const [id, line] of lines.entries())
    vocab.set(line.endsWith("\r") ? line.slice(0, -1) : line, id);
  if (vocab.size === 0) throw new UserError("vocab.txt is empty: it needs one token a line");
  const config = configObject(tokenizerConfig);
  const names = specialNames(config);
  const addedTokens: AddedToken[] = [];
  const seen = new Set<string>();
  const addToken = (token: AddedToken) => {
    if (seen.has(token.content)) return;
    seen.add(token.content);
    addedTokens.push(token);
  };
  if (isObject(config.added_tokens_decoder)) {
    for (const [id, entry] of Object.entries(config.added_tokens_decoder)) {
      addToken(parseAddedToken({ ...(isObject(entry) ? entry : {}), id: Number(id) }));
    }
  }
  for (const name of [names.pad, names.unk, names.cls, names.sep, names.mask]) {
    const id = vocab.get(name);
    if (id !== undefined) addToken({ id, content: name, special: true });
  }
  addedTokens.sort((a, b) => a.id - b.id);
  const lowercase = bool(config.do_lower_case, true);
  const cls = vocab.get(names.cls);
  const sep = vocab.get(names.sep);
  if (cls === undefined || sep === undefined) {
    throw new UserError(
      `vocab.txt lacks '${names.cls}' or '${names.sep}': it is not a BERT vocabulary`,
    );
  }
  return {
    vocab,
    addedTokens,
    normalizer: {
      cleanText: true,
      handleChineseChars: bool(config.tokenize_chinese_chars, true),
      stripAccents: typeof config.strip_accents === "boolean" ? config.strip_accents : null,
      lowercase,
    },
    wordPiece: { unkToken: names.unk, continuingSubwordPrefix: "##", maxInputCharsPerWord: 100 },
    template: bertTemplate([names.cls, cls], [names.sep, sep]),
    postProcessorType: "TemplateProcessing",
    decoder: { prefix: "##", cleanup: true },
    specialTokens: names,
    modelMaxLength: modelMaxLength(config),
    cleanUpTokenizationSpaces: bool(config.clean_up_tokenization_spaces, false),
    defaultTruncation: null,
    defaultPadding: null,
  };
}

function pieceJSON(piece: TemplatePiece): Json {
  return "special" in piece
    ? { SpecialToken: { id: piece.special, type_id: piece.typeId } }
    : { Sequence: { id: piece.sequence === 0 ? "A" : "B", type_id: piece.typeId } };
}

function postProcessorJSON(spec: TokenizerSpec): Json | null {
  const { template } = spec;
  if (spec.postProcessorType === null) return null;
  if (spec.postProcessorType === "BertProcessing") {
    const [cls, sep] = [template.single[0], template.single[2]] as { special: string }[];
    return {
      type: "BertProcessing",
      sep: [sep.special, template.specialTokens.get(sep.special)?.ids[0]],
      cls: [cls.special, template.specialTokens.get(cls.special)?.ids[0]],
    };
  }
  const specialTokens: Json = {};
  for (const [name, entry] of template.specialTokens)
    specialTokens[name] = { id: name, ids: entry.ids, tokens: entry.tokens };
  return {
    type: "TemplateProcessing",
    single: template.single.map(pieceJSON),
    pair: template.pair.map(pieceJSON),
    special_tokens: specialTokens,
  };
}

const STRATEGY_JSON: Record<TruncationStrategy, string> = {
  longest_first: "LongestFirst",
  only_first: "OnlyFirst",
  only_second: "OnlySecond",
};

export function specToJSON(spec: TokenizerSpec, padId: number): Json {
  const vocab: Json = {};
  for (const [token, id] of [...spec.vocab].sort((a, b) => a[1] - b[1])) vocab[token] = id;
  const { normalizer, defaultTruncation, defaultPadding } = spec;
  return {
    version: "1.0",
    truncation: defaultTruncation && {
      direction: "Right",
      max_length: defaultTruncation.maxLength,
      strategy: STRATEGY_JSON[defaultTruncation.strategy],
      stride: defaultTruncation.stride,
    },
    padding: defaultPadding && {
      strategy:
        defaultPadding.maxLength === null ? "BatchLongest" : { Fixed: defaultPadding.maxLength },
      direction: "Right",
      pad_to_multiple_of: null,
      pad_id: padId,
      pad_type_id: 0,
      pad_token: spec.specialTokens.pad,
    },
    added_tokens: spec.addedTokens.map((token) => ({
      id: token.id,
      content: token.content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: token.special,
    })),
    normalizer: normalizer && {
      type: "BertNormalizer",
      clean_text: normalizer.cleanText,
      handle_chinese_chars: normalizer.handleChineseChars,
      strip_accents: normalizer.stripAccents,
      lowercase: normalizer.lowercase,
    },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: postProcessorJSON(spec),
    decoder: spec.decoder && {
      type: "WordPiece",
      prefix: spec.decoder.prefix,
      cleanup: spec.decoder.cleanup,
    },
    model: {
      type: "WordPiece",
      unk_token: spec.wordPiece.unkToken,
      continuing_subword_prefix: spec.wordPiece.continuingSubwordPrefix,
      max_input_chars_per_word: spec.wordPiece.maxInputCharsPerWord,
      vocab,
    },
  };
}

/** tokenizer_config.json as transformers writes it for a BERT tokenizer. */
export function specToConfigText(spec: TokenizerSpec): string {
  const names = spec.specialTokens;
  const noLimit = !Number.isFinite(spec.modelMaxLength);
  const config = {
    tokenizer_class: "BertTokenizer",
    do_lower_case: spec.normalizer?.lowercase ?? false,
    strip_accents: spec.normalizer?.stripAccents ?? null,
    tokenize_chinese_chars: spec.normalizer?.handleChineseChars ?? false,
    clean_up_tokenization_spaces: spec.cleanUpTokenizationSpaces,
    cls_token: names.cls,
    sep_token: names.sep,
    pad_token: names.pad,
    mask_token: names.mask,
    unk_token: names.unk,
    model_max_length: noLimit ? 0 : spec.modelMaxLength,
  };
  const text = JSON.stringify(config, null, 2);
  // transformers' own "no limit" value, int(1e30), which JSON.stringify cannot spell.
  return noLimit
    ? text.replace('"model_max_length": 0', '"model_max_length": 1000000000000000019884624838656')
    : text;
}

/** vocab.txt: the tokens in id order, one a line. */
export function specToVocabText(spec: TokenizerSpec): string {
  const tokens: string[] = [];
  for (const [token, id] of spec.vocab) tokens[id] = token;
  return `${Array.from(tokens, (token) => token ?? "").join("\n")}\n`;
}
