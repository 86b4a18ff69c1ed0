// Turning data rows into model features for each task: token ids, token types and the labels the
// head takes, as Hugging Face's example scripts prepare them (run_glue, run_ner, run_qa, run_swag).

import { UserError } from "../errors.js";
import { IGNORE_INDEX } from "../models/losses.js";
import type { Encoding, Tokenizer } from "../tokenizer/index.js";
import { type DataFile, type Row, rowError } from "./data-format.js";
import { type LabelSet, labelSetFor } from "./labels.js";
import type { Fields, TaskKind } from "./tasks.js";

export interface Sequence {
  ids: number[];
  typeIds: number[];
}

export interface Feature {
  /** Index of the row it came from (a long QA context gives several features). */
  example: number;
  /** One sequence, or one per choice for multiple choice. */
  sequences: Sequence[];
  /** The longest sequence's length, for length-grouped batching and padding. */
  length: number;
  label?: number;
  floatLabel?: number;
  /** Per token; IGNORE_INDEX (-100) for special tokens and non-first sub-tokens. */
  tokenLabels?: number[];
  startPosition?: number;
  endPosition?: number;
  /** QA: each token's character span in the context, null outside the context. */
  contextOffsets?: ([number, number] | null)[];
}

/** What evaluation needs of a QA example beyond its features. */
export interface QuestionAnsweringExample {
  context: string;
  answers: string[];
}

export interface Dataset {
  path: string;
  features: Feature[];
  /** QA only, by example index. */
  qaExamples?: QuestionAnsweringExample[];
}

export interface EncodeSettings {
  task: TaskKind;
  fields: Fields;
  maxLength: number;
  /** Classification and token classification. */
  labels: LabelSet | null;
}

function field(file: DataFile, row: Row, name: string): unknown {
  if (!(name in row.fields)) {
    const present = Object.keys(row.fields).join(", ");
    throw rowError(
      file,
      row,
      `no field '${name}' (fields here: ${present}); name it with the option`,
    );
  }
  return row.fields[name];
}

export function textField(file: DataFile, row: Row, name: string): string {
  const value = field(file, row, name);
  if (typeof value !== "string") {
    throw rowError(file, row, `field '${name}' must be a string, got ${JSON.stringify(value)}`);
  }
  return value;
}

function arrayField(file: DataFile, row: Row, name: string): unknown[] {
  let value = field(file, row, name);
  if (typeof value === "string") {
    // CSV cells hold lists as JSON text.
    try {
      value = JSON.parse(value);
    } catch {
      // reported below
    }
  }
  if (!Array.isArray(value)) {
    throw rowError(file, row, `field '${name}' must be a list, got ${JSON.stringify(value)}`);
  }
  return value;
}

function labelId(file: DataFile, row: Row, labels: LabelSet, value: unknown, name: string) {
  const id = labels.id(value);
  if (id === undefined) {
    throw rowError(
      file,
      row,
      `label ${JSON.stringify(value)} in '${name}' is not in the label set (${labels.describe()})`,
    );
  }
  return id;
}

function sequence(encoding: Encoding): Sequence {
  return { ids: encoding.ids, typeIds: encoding.tokenTypeIds };
}

/**
 * A label from the data: a name (a non-empty string) or a number. Anything else (null, "", a list)
 * is refused with its file and line rather than becoming a class.
 */
function labelValue(file: DataFile, row: Row, value: unknown, name: string): string | number {
  if ((typeof value === "string" && value.trim() !== "") || Number.isFinite(value)) {
    return value as string | number;
  }
  const what =
    value === "" ? "is empty" : `must be a label name or id, got ${JSON.stringify(value)}`;
  throw rowError(file, row, `the label in '${name}' ${what}: give every row its label`);
}

/** The label set the training file implies (see labelSetFor), or null for tasks without one. */
export function trainingLabelSet(
  file: DataFile,
  task: TaskKind,
  fields: Fields,
  modelNames: string[],
  givenNames: string[] | null,
): LabelSet | null {
  const name = fields.label;
  if (task === "text-classification") {
    return labelSetFor(
      file.rows.map((row) => labelValue(file, row, field(file, row, name), name)),
      modelNames,
      givenNames,
    );
  }
  if (task === "token-classification") {
    const values = file.rows.flatMap((row) =>
      arrayField(file, row, name).map((value) => labelValue(file, row, value, name)),
    );
    return labelSetFor(values, modelNames, givenNames);
  }
  return null;
}

/**
 * Refuses a classification training file whose rows all have one label: a model cannot learn to
 * tell classes apart from it (most often the label field is the wrong one, or the file is sorted
 * and was cut).
 */
export function requireSeveralLabels(file: DataFile, task: TaskKind, fields: Fields): void {
  if (task !== "text-classification") return;
  const first = file.rows[0];
  const label = String(field(file, first, fields.label));
  if (file.rows.every((row) => String(field(file, row, fields.label)) === label)) {
    throw new UserError(
      `${file.path}: every row has the label ${JSON.stringify(label)} in '${fields.label}'; classification needs examples of at least two labels (is --label-field the right field?)`,
    );
  }
}

/**
 * The features of every row. Rows cut at `maxLength` (question answering excepted: its windows
 * cover the whole context) are counted and, as transformers' tokenizer warns, reported on stderr.
 */
export function encodeDataset(file: DataFile, tokenizer: Tokenizer, settings: EncodeSettings) {
  const dataset: Dataset = { path: file.path, features: [] };
  const { task, fields, maxLength, labels } = settings;
  let truncatedRows = 0;
  const add = (feature: Omit<Feature, "length">) => {
    const length = Math.max(...feature.sequences.map((s) => s.ids.length));
    dataset.features.push({ ...feature, length });
  };
  /** Counts the row if `encoding` was cut. */
  const cut = (encoding: Encoding) => {
    if (encoding.truncated) truncatedRows++;
    return encoding;
  };
  file.rows.forEach((row, example) => {
    switch (task) {
      case "text-classification":
      case "regression": {
        const text = textField(file, row, fields.text);
        const pair = fields.pair === null ? null : textField(file, row, fields.pair);
        const encoding = cut(tokenizer.encode(text, pair, { maxLength, truncation: true }));
        const value = field(file, row, fields.label);
        if (task === "regression") {
          const number = typeof value === "string" ? Number(value) : value;
          if (typeof number !== "number" || !Number.isFinite(number) || value === "") {
            throw rowError(
              file,
              row,
              `'${fields.label}' must be a number, got ${JSON.stringify(value)}`,
            );
          }
          add({ example, sequences: [sequence(encoding)], floatLabel: number });
        } else {
          const id = labelId(file, row, labels as LabelSet, value, fields.label);
          add({ example, sequences: [sequence(encoding)], label: id });
        }
        break;
      }
      case "token-classification":
        add(encodeWords(file, row, example, tokenizer, settings, cut));
        break;
      case "multiple-choice": {
        const question = textField(file, row, fields.text);
        const choices = arrayField(file, row, fields.pair ?? "choices");
        if (choices.length < 2 || choices.some((c) => typeof c !== "string")) {
          throw rowError(file, row, `'${fields.pair}' must be a list of at least two strings`);
        }
        const label = field(file, row, fields.label);
        if (
          !Number.isInteger(Number(label)) ||
          Number(label) < 0 ||
          Number(label) >= choices.length
        ) {
          throw rowError(
            file,
            row,
            `'${fields.label}' must be the index of the right choice (0..${choices.length - 1}), got ${JSON.stringify(label)}`,
          );
        }
        const encodings = (choices as string[]).map((choice) =>
          tokenizer.encode(question, choice, { maxLength, truncation: true }),
        );
        if (encodings.some((encoding) => encoding.truncated)) truncatedRows++;
        const sequences = encodings.map(sequence);
        add({ example, sequences, label: Number(label) });
        break;
      }
      case "question-answering":
        for (const feature of encodeQuestion(file, row, example, tokenizer, settings, dataset)) {
          add(feature);
        }
        break;
    }
  });
  if (truncatedRows > 0) {
    console.warn(
      `distilbert-ts: ${truncatedRows} of ${file.rows.length} rows of ${file.path} are longer than --max-length ${maxLength} tokens and were truncated; raise --max-length to keep them whole`,
    );
  }
  return dataset;
}

/** Words joined by spaces; the first sub-token of each word takes the word's label (run_ner). */
function encodeWords(
  file: DataFile,
  row: Row,
  example: number,
  tokenizer: Tokenizer,
  settings: EncodeSettings,
  cut: (encoding: Encoding) => Encoding,
): Omit<Feature, "length"> {
  const { fields, maxLength } = settings;
  const words = arrayField(file, row, fields.text);
  const tags = arrayField(file, row, fields.label);
  if (words.some((word) => typeof word !== "string")) {
    throw rowError(file, row, `'${fields.text}' must be a list of strings`);
  }
  if (tags.length !== words.length) {
    throw rowError(
      file,
      row,
      `'${fields.label}' has ${tags.length} labels for ${words.length} words in '${fields.text}'`,
    );
  }
  const wordAt: number[] = [];
  (words as string[]).forEach((word, i) => {
    for (let c = 0; c <= word.length; c++) wordAt.push(i);
  });
  const encoding = cut(
    tokenizer.encode((words as string[]).join(" "), null, { maxLength, truncation: true }),
  );
  const tokenLabels = new Array<number>(encoding.ids.length).fill(IGNORE_INDEX);
  let previousWord = -1;
  encoding.sequenceIds.forEach((sequenceId, t) => {
    if (sequenceId !== 0) return;
    const word = wordAt[encoding.offsets[t][0]];
    if (word !== previousWord) {
      tokenLabels[t] = labelId(file, row, settings.labels as LabelSet, tags[word], fields.label);
    }
    previousWord = word;
  });
  return { example, sequences: [sequence(encoding)], tokenLabels };
}

/** SQuAD's answer_start counts code points; JavaScript strings index UTF-16 units. */
function utf16Index(text: string, codePoints: number): number {
  let index = 0;
  for (let i = 0; i < codePoints && index < text.length; i++) {
    index += (text.codePointAt(index) ?? 0) > 0xffff ? 2 : 1;
  }
  return index;
}

/**
 * One feature per window of the context (run_qa): the answer's first and last token when the
 * window holds the whole answer, else both positions at [CLS] (index 0).
 */
function encodeQuestion(
  file: DataFile,
  row: Row,
  example: number,
  tokenizer: Tokenizer,
  settings: EncodeSettings,
  dataset: Dataset,
): Omit<Feature, "length">[] {
  const { fields, maxLength } = settings;
  const question = textField(file, row, fields.text).trimStart();
  const context = textField(file, row, fields.pair ?? "context");
  const answers = field(file, row, fields.label) as { text?: unknown; answer_start?: unknown };
  const texts = answers?.text;
  const starts = answers?.answer_start;
  if (
    !Array.isArray(texts) ||
    !Array.isArray(starts) ||
    texts.length !== starts.length ||
    texts.some((t) => typeof t !== "string") ||
    starts.some((s) => !Number.isInteger(s))
  ) {
    throw rowError(
      file,
      row,
      `'${fields.label}' must be {"text": [...], "answer_start": [...]} with one start per text`,
    );
  }
  dataset.qaExamples ??= [];
  dataset.qaExamples[example] = { context, answers: texts as string[] };
  let answerStart = -1;
  let answerEnd = -1;
  if (texts.length > 0) {
    answerStart = utf16Index(context, starts[0] as number);
    answerEnd = answerStart + (texts[0] as string).length;
    if (context.slice(answerStart, answerEnd) !== texts[0]) {
      throw rowError(
        file,
        row,
        `answer ${JSON.stringify(texts[0])} is not at answer_start ${starts[0]} of the context`,
      );
    }
  }
  const first = tokenizer.encode(question, context, {
    maxLength,
    truncation: "only_second",
    stride: Math.floor(maxLength / 4),
    returnOverflowing: true,
    // Windows over the whole context, not only its first maxLength tokens.
    tokenizeWholeInput: true,
  });
  return [first, ...first.overflowing].map((window) => {
    const contextOffsets = window.sequenceIds.map((id, t) => (id === 1 ? window.offsets[t] : null));
    let startPosition = 0;
    let endPosition = 0;
    const inContext = contextOffsets.flatMap((offset, t) => (offset ? [t] : []));
    if (answerStart >= 0 && inContext.length > 0) {
      const firstToken = inContext[0];
      const lastToken = inContext[inContext.length - 1];
      const windowStart = (contextOffsets[firstToken] as [number, number])[0];
      const windowEnd = (contextOffsets[lastToken] as [number, number])[1];
      if (windowStart <= answerStart && answerEnd <= windowEnd) {
        startPosition = firstToken;
        while (
          startPosition <= lastToken &&
          (contextOffsets[startPosition]?.[0] ?? 0) <= answerStart
        ) {
          startPosition++;
        }
        startPosition--;
        endPosition = lastToken;
        while (endPosition >= firstToken && (contextOffsets[endPosition]?.[1] ?? 0) >= answerEnd) {
          endPosition--;
        }
        endPosition++;
      }
    }
    return { example, sequences: [sequence(window)], startPosition, endPosition, contextOffsets };
  });
}
