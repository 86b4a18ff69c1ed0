// The post-processor: wraps one sequence or a pair in special tokens and sets the token type ids,
// as Hugging Face's TemplateProcessing (or BertProcessing, its older BERT-only form).

import { UserError } from "../errors.js";
import { EncodingResult } from "./encoding.js";
import type { TokenRun } from "./wordpiece.js";

export type TemplatePiece =
  | { special: string; typeId: number }
  | { sequence: 0 | 1; typeId: number };

export interface SpecialTokenEntry {
  ids: number[];
  tokens: string[];
}

export interface Template {
  single: TemplatePiece[];
  pair: TemplatePiece[];
  specialTokens: Map<string, SpecialTokenEntry>;
  /** BertProcessing leaves the type ids at 0 when special tokens are not added; the template sets them anyway. */
  typeIdsWithoutSpecialTokens: boolean;
}

/** [CLS] A [SEP] and [CLS] A [SEP] B [SEP] with B's type id 1: BERT's template. */
export function bertTemplate(cls: [string, number], sep: [string, number]): Template {
  return {
    single: [
      { special: cls[0], typeId: 0 },
      { sequence: 0, typeId: 0 },
      { special: sep[0], typeId: 0 },
    ],
    pair: [
      { special: cls[0], typeId: 0 },
      { sequence: 0, typeId: 0 },
      { special: sep[0], typeId: 0 },
      { sequence: 1, typeId: 1 },
      { special: sep[0], typeId: 1 },
    ],
    specialTokens: new Map([
      [cls[0], { ids: [cls[1]], tokens: [cls[0]] }],
      [sep[0], { ids: [sep[1]], tokens: [sep[0]] }],
    ]),
    typeIdsWithoutSpecialTokens: true,
  };
}

/** No post-processor: the sequences as they are, type ids 0. */
export const emptyTemplate: Template = {
  single: [{ sequence: 0, typeId: 0 }],
  pair: [
    { sequence: 0, typeId: 0 },
    { sequence: 1, typeId: 0 },
  ],
  specialTokens: new Map(),
  typeIdsWithoutSpecialTokens: true,
};

export function specialTokenCount(template: Template, pair: boolean): number {
  let count = 0;
  for (const piece of pair ? template.pair : template.single) {
    if ("special" in piece) count += template.specialTokens.get(piece.special)?.ids.length ?? 0;
  }
  return count;
}

export function checkTemplate(template: Template): void {
  for (const piece of [...template.single, ...template.pair]) {
    if ("special" in piece && !template.specialTokens.has(piece.special)) {
      throw new UserError(
        `the post-processor template uses the special token '${piece.special}' but does not define it in special_tokens: fix tokenizer.json`,
      );
    }
  }
}

export function applyTemplate(
  template: Template,
  a: TokenRun,
  b: TokenRun | null,
  addSpecialTokens: boolean,
  idToToken: (id: number) => string | undefined,
): EncodingResult {
  const pieces = b === null ? template.single : template.pair;
  let length = 0;
  for (const piece of pieces) {
    if (!("special" in piece)) length += (piece.sequence === 0 ? a : (b as TokenRun)).ids.length;
    else if (addSpecialTokens)
      length += (template.specialTokens.get(piece.special) as SpecialTokenEntry).ids.length;
  }
  // Sized once and filled by index: encoding is hot, and growing six arrays by push is not free.
  const ids = new Array<number>(length);
  const typeIds = new Array<number>(length);
  const sequenceIds = new Array<number | null>(length);
  const specialMask = new Array<number>(length);
  const starts = new Array<number>(length);
  const ends = new Array<number>(length);
  const setTypes = addSpecialTokens || template.typeIdsWithoutSpecialTokens;
  let at = 0;
  for (const piece of pieces) {
    if ("special" in piece) {
      if (!addSpecialTokens) continue;
      const entry = template.specialTokens.get(piece.special) as SpecialTokenEntry;
      for (const id of entry.ids) {
        ids[at] = id;
        typeIds[at] = piece.typeId;
        sequenceIds[at] = null;
        specialMask[at] = 1;
        starts[at] = 0;
        ends[at] = 0;
        at++;
      }
      continue;
    }
    const run = piece.sequence === 0 ? a : (b as TokenRun);
    const typeId = setTypes ? piece.typeId : 0;
    const n = run.ids.length;
    for (let i = 0; i < n; i++) {
      ids[at] = run.ids[i];
      typeIds[at] = typeId;
      sequenceIds[at] = piece.sequence;
      specialMask[at] = 0;
      starts[at] = run.starts[i];
      ends[at] = run.ends[i];
      at++;
    }
  }
  const attentionMask = new Array<number>(length).fill(1);
  return new EncodingResult(
    ids,
    typeIds,
    attentionMask,
    sequenceIds,
    specialMask,
    starts,
    ends,
    idToToken,
  );
}
