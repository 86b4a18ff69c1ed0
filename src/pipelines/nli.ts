// Zero-shot classification through a natural-language-inference head, as Hugging Face does it:
// each candidate label becomes a hypothesis; the entailment logit ranks them.

import { softmax } from "./math.js";

/** The id of the first label starting with "entail" (any case), or -1 when there is none. */
export function findEntailmentId(label2id: Record<string, number>): number {
  for (const [label, id] of Object.entries(label2id)) {
    if (label.toLowerCase().startsWith("entail")) return id;
  }
  return -1;
}

/**
 * One score per candidate from `logits` [candidates, numLabels]. Single-label: softmax of the
 * entailment logits across candidates. Multi-label (or one candidate): for each candidate alone,
 * softmax over (contradiction, entailment), where contradiction is label 0, or the last label
 * when entailment is 0; -1 counts from the end, as Python indexing does.
 */
export function zeroShotScores(
  logits: ArrayLike<number>,
  candidates: number,
  numLabels: number,
  entailmentId: number,
  multiLabel: boolean,
): number[] {
  const index = (id: number) => (id < 0 ? numLabels + id : id);
  const entail = index(entailmentId);
  if (multiLabel || candidates === 1) {
    const contradiction = index(entailmentId === 0 ? -1 : 0);
    const scores: number[] = [];
    for (let c = 0; c < candidates; c++) {
      const pair = [logits[c * numLabels + contradiction], logits[c * numLabels + entail]];
      scores.push(softmax(pair)[1]);
    }
    return scores;
  }
  const entailLogits: number[] = [];
  for (let c = 0; c < candidates; c++) entailLogits.push(logits[c * numLabels + entail]);
  return softmax(entailLogits);
}

/** Fills the template's "{}" with the label, as Python's str.format does with one argument. */
export function hypothesisFor(template: string, label: string): string {
  return template.replace("{}", label);
}
