// Token-classification post-processing as Hugging Face's TokenClassificationPipeline does it: per
// token scores, words rebuilt from WordPiece pieces (first / average / max), adjacent tokens or
// words of one entity type grouped by their B-/I- tags, and ignored labels dropped.

import { UserError } from "../errors.js";
import { argmax } from "./math.js";

export type AggregationStrategy = "none" | "simple" | "first" | "average" | "max";

export const AGGREGATION_STRATEGIES: readonly AggregationStrategy[] = [
  "none",
  "simple",
  "first",
  "average",
  "max",
];

/** One token before aggregation. */
export interface PreEntity {
  /** The vocabulary token ("##kel"), or the text itself for an unknown token. */
  word: string;
  /** Probabilities over the labels. */
  scores: number[];
  start: number;
  end: number;
  /** Position in the encoded sequence ([CLS] is 0). */
  index: number;
  /** A continuation of the previous token's word. */
  isSubword: boolean;
}

/** A token with its label (strategy "none"). */
export interface TokenEntity {
  entity: string;
  score: number;
  index: number;
  word: string;
  start: number;
  end: number;
}

/** Adjacent tokens or words of one entity type. */
export interface EntityGroup {
  entity_group: string;
  score: number;
  word: string;
  start: number;
  end: number;
}

/** What aggregation works on: a token or a whole word with its label. */
interface LabelledSpan {
  entity: string;
  score: number;
  word: string;
  start: number;
  end: number;
}

export interface AggregationContext {
  id2label: Record<number, string>;
  /** The tokenizer's decoder over token strings (transformers' convert_tokens_to_string). */
  tokensToString: (tokens: string[]) => string;
}

export function parseAggregationStrategy(value: unknown): AggregationStrategy {
  if (AGGREGATION_STRATEGIES.includes(value as AggregationStrategy)) {
    return value as AggregationStrategy;
  }
  throw new UserError(
    `aggregation_strategy must be one of ${AGGREGATION_STRATEGIES.map((s) => `"${s}"`).join(", ")}, got ${JSON.stringify(value)}`,
  );
}

function codePointLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

export interface TokenRow {
  id: number;
  token: string;
  start: number;
  end: number;
  special: boolean;
  scores: number[];
}

/**
 * Tokens to pre-entities, special tokens left out. A piece is a subword when its vocabulary form
 * is longer or shorter than the text it covers (the "##"), counted in code points as Python does.
 */
export function gatherPreEntities(text: string, rows: TokenRow[], unkTokenId: number): PreEntity[] {
  const pre: PreEntity[] = [];
  rows.forEach((row, index) => {
    if (row.special) return;
    const reference = text.slice(row.start, row.end);
    const unknown = row.id === unkTokenId;
    pre.push({
      word: unknown ? reference : row.token,
      scores: row.scores,
      start: row.start,
      end: row.end,
      index,
      isSubword: !unknown && codePointLength(row.token) !== codePointLength(reference),
    });
  });
  return pre;
}

function labelName(context: AggregationContext, id: number): string {
  return context.id2label[id] ?? `LABEL_${id}`;
}

function aggregateWord(
  pieces: PreEntity[],
  strategy: "first" | "average" | "max",
  context: AggregationContext,
): LabelledSpan {
  let scores: number[];
  if (strategy === "first") {
    scores = pieces[0].scores;
  } else if (strategy === "max") {
    let best = pieces[0];
    for (const piece of pieces) {
      if (Math.max(...piece.scores) > Math.max(...best.scores)) best = piece;
    }
    scores = best.scores;
  } else {
    scores = pieces[0].scores.map(
      (_, label) => pieces.reduce((sum, piece) => sum + piece.scores[label], 0) / pieces.length,
    );
  }
  const label = argmax(scores);
  return {
    entity: labelName(context, label),
    score: scores[label],
    word: context.tokensToString(pieces.map((piece) => piece.word)),
    start: pieces[0].start,
    end: pieces[pieces.length - 1].end,
  };
}

function aggregateWords(
  pre: PreEntity[],
  strategy: "first" | "average" | "max",
  context: AggregationContext,
): LabelledSpan[] {
  const words: LabelledSpan[] = [];
  let pieces: PreEntity[] = [];
  for (const entity of pre) {
    if (pieces.length > 0 && !entity.isSubword) {
      words.push(aggregateWord(pieces, strategy, context));
      pieces = [];
    }
    pieces.push(entity);
  }
  if (pieces.length > 0) words.push(aggregateWord(pieces, strategy, context));
  return words;
}

/** "B-PER" -> ["B", "PER"]; a label without a B-/I- prefix counts as a continuation. */
function splitTag(label: string): [string, string] {
  if (label.startsWith("B-")) return ["B", label.slice(2)];
  if (label.startsWith("I-")) return ["I", label.slice(2)];
  return ["I", label];
}

function groupOf(members: LabelledSpan[], context: AggregationContext): EntityGroup {
  const first = members[0].entity;
  const dash = first.indexOf("-");
  return {
    entity_group: dash < 0 ? first : first.slice(dash + 1),
    score: members.reduce((sum, member) => sum + member.score, 0) / members.length,
    word: context.tokensToString(members.map((member) => member.word)),
    start: members[0].start,
    end: members[members.length - 1].end,
  };
}

/** Joins each span to the previous one when it has the same type and does not begin a new entity (B-). */
function groupEntities(spans: LabelledSpan[], context: AggregationContext): EntityGroup[] {
  const groups: EntityGroup[] = [];
  let members: LabelledSpan[] = [];
  for (const span of spans) {
    if (members.length > 0) {
      const [bi, tag] = splitTag(span.entity);
      const [, lastTag] = splitTag(members[members.length - 1].entity);
      if (tag !== lastTag || bi === "B") {
        groups.push(groupOf(members, context));
        members = [];
      }
    }
    members.push(span);
  }
  if (members.length > 0) groups.push(groupOf(members, context));
  return groups;
}

export function aggregateEntities(
  pre: PreEntity[],
  strategy: AggregationStrategy,
  ignoreLabels: readonly string[],
  context: AggregationContext,
): TokenEntity[] | EntityGroup[] {
  if (strategy === "none" || strategy === "simple") {
    const tokens: TokenEntity[] = pre.map((entity) => {
      const label = argmax(entity.scores);
      return {
        entity: labelName(context, label),
        score: entity.scores[label],
        index: entity.index,
        word: entity.word,
        start: entity.start,
        end: entity.end,
      };
    });
    if (strategy === "none") return tokens.filter((token) => !ignoreLabels.includes(token.entity));
    return groupEntities(tokens, context).filter(
      (group) => !ignoreLabels.includes(group.entity_group),
    );
  }
  const words = aggregateWords(pre, strategy, context);
  return groupEntities(words, context).filter(
    (group) => !ignoreLabels.includes(group.entity_group),
  );
}
