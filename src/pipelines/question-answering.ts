// question-answering: the span of the context that answers the question, with transformers 4's
// behaviour (transformers 5 removed the pipeline): long contexts split into overlapping windows,
// spans of at most max_answer_len tokens, widened to whole words, optional "no answer".

import { UserError } from "../errors.js";
import type { Encoding } from "../tokenizer/index.js";
import { type Answer, mergeWindowAnswers, selectSpans, spanToCharacters } from "./answer-spans.js";
import { DEFAULT_BATCH_SIZE, outputOf, Pipeline } from "./base.js";
import { OptionReader } from "./options.js";

export interface QuestionAnsweringInput {
  question: string;
  context: string;
}

export interface QuestionAnsweringOptions {
  /** How many answers; default 1 (then one object, not a list). */
  top_k?: number;
  /** Tokens shared by consecutive windows; default min(max_seq_len / 2, 128). */
  doc_stride?: number;
  /** Longest answer in tokens; default 15. */
  max_answer_len?: number;
  /** Window length in tokens, question included; default 384 (at most what the model reads). */
  max_seq_len?: number;
  /** The question is cut to this many tokens; default 64. */
  max_question_len?: number;
  /** Also offer the empty answer, scored by [CLS]; default false. */
  handle_impossible_answer?: boolean;
  batch_size?: number;
}

export type QuestionAnsweringOutput = Answer | Answer[];

const OPTIONS = [
  "top_k",
  "doc_stride",
  "max_answer_len",
  "max_seq_len",
  "max_question_len",
  "handle_impossible_answer",
  "batch_size",
];

interface Window {
  example: number;
  encoding: Encoding;
}

export class QuestionAnsweringPipeline extends Pipeline {
  async run(
    input: QuestionAnsweringInput,
    options?: QuestionAnsweringOptions,
  ): Promise<QuestionAnsweringOutput>;
  async run(
    inputs: QuestionAnsweringInput[],
    options?: QuestionAnsweringOptions,
  ): Promise<QuestionAnsweringOutput[]>;
  async run(
    inputs: QuestionAnsweringInput | QuestionAnsweringInput[],
    options: QuestionAnsweringOptions = {},
  ): Promise<QuestionAnsweringOutput | QuestionAnsweringOutput[]> {
    const reader = new OptionReader(this.task, options as Record<string, unknown>, OPTIONS);
    const topK = reader.int("top_k", 1);
    const maxSeqLen = reader.int(
      "max_seq_len",
      Math.min(384, this.tokenizer.modelMaxLength, this.config.maxPositionEmbeddings),
    );
    const docStride = reader.int("doc_stride", Math.min(Math.floor(maxSeqLen / 2), 128), 0);
    if (docStride > maxSeqLen) {
      throw new UserError(
        `doc_stride (${docStride}) must not be larger than max_seq_len (${maxSeqLen})`,
      );
    }
    const maxAnswerLen = reader.int("max_answer_len", 15);
    const maxQuestionLen = reader.int("max_question_len", 64);
    const handleImpossible = reader.bool("handle_impossible_answer", false);
    const batchSize = reader.int("batch_size", DEFAULT_BATCH_SIZE);

    const examples = Array.isArray(inputs) ? inputs : [inputs];
    const windows: Window[] = [];
    examples.forEach((example, index) => {
      this.check(example);
      const question = this.cutQuestion(example.question, maxQuestionLen);
      const encoding = this.encodeWindows(question, example.context, maxSeqLen, docStride);
      for (const window of [encoding, ...encoding.overflowing]) {
        this.checkLength(window);
        windows.push({ example: index, encoding: window });
      }
    });

    const perExample = examples.map(() => [] as { answers: Answer[]; nullScore: number }[]);
    this.forwardBatches(
      windows.map((window) => window.encoding),
      batchSize,
      (outputs, first, count, seq) => {
        const startLogits = outputOf(outputs, "startLogits");
        const endLogits = outputOf(outputs, "endLogits");
        for (let b = 0; b < count; b++) {
          const { example, encoding } = windows[first + b];
          const length = encoding.ids.length;
          const allowed = encoding.ids.map(
            (id, t) =>
              (encoding.sequenceIds[t] === 1 && encoding.attentionMask[t] === 1) ||
              id === this.tokenizer.clsTokenId,
          );
          const { spans, nullScore } = selectSpans(
            startLogits.subarray(b * seq, b * seq + length),
            endLogits.subarray(b * seq, b * seq + length),
            allowed,
            topK,
            maxAnswerLen,
          );
          const context = examples[example].context;
          const answers = spans.map((span) => {
            const [start, end] = spanToCharacters(encoding, span.startToken, span.endToken);
            return { score: span.score, start, end, answer: context.slice(start, end) };
          });
          perExample[example].push({ answers, nullScore });
        }
      },
    );
    const results = perExample.map((perWindow) => {
      const answers = mergeWindowAnswers(perWindow, topK, handleImpossible);
      return answers.length === 1 ? answers[0] : answers;
    });
    return Array.isArray(inputs) ? results : results[0];
  }

  private check(example: QuestionAnsweringInput): void {
    if (
      example === null ||
      typeof example !== "object" ||
      typeof example.question !== "string" ||
      typeof example.context !== "string"
    ) {
      throw new UserError(
        `question-answering takes {"question": "...", "context": "..."} (or a list of those), got ${JSON.stringify(example)}`,
      );
    }
    if (example.question.trim() === "" || example.context.trim() === "") {
      throw new UserError("question-answering needs a non-empty question and a non-empty context");
    }
  }

  /** The question up to its `maxTokens`-th token (the rest is cut off). */
  private cutQuestion(question: string, maxTokens: number): string {
    const encoding = this.tokenizer.encode(question, null, { addSpecialTokens: false });
    if (encoding.ids.length <= maxTokens) return question;
    return question.slice(0, encoding.offsets[maxTokens - 1][1]);
  }

  /** Question + context windows: the context is cut into pieces overlapping by `stride` tokens. */
  private encodeWindows(
    question: string,
    context: string,
    maxSeqLen: number,
    stride: number,
  ): Encoding {
    try {
      return this.tokenizer.encode(question, context, {
        truncation: "only_second",
        maxLength: maxSeqLen,
        stride,
        returnOverflowing: true,
        // Windows over the whole context, as transformers 4 with the tokenizers of its time.
        tokenizeWholeInput: true,
      });
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      throw new UserError(
        `cannot split the context into windows of max_seq_len ${maxSeqLen} with doc_stride ${stride}: ${error.message}; lower doc_stride or max_question_len, or raise max_seq_len`,
      );
    }
  }
}
