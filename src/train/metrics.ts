// Evaluation metrics, computed as scikit-learn, SciPy and seqeval compute them.

export function accuracy(predictions: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (labels.length === 0) return 0;
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predictions[i] === labels[i]) correct++;
  return correct / labels.length;
}

interface Counts {
  truePositive: number;
  falsePositive: number;
  falseNegative: number;
}

function countsFor(predictions: ArrayLike<number>, labels: ArrayLike<number>, label: number) {
  const counts: Counts = { truePositive: 0, falsePositive: 0, falseNegative: 0 };
  for (let i = 0; i < labels.length; i++) {
    const predicted = predictions[i] === label;
    const actual = labels[i] === label;
    if (predicted && actual) counts.truePositive++;
    else if (predicted) counts.falsePositive++;
    else if (actual) counts.falseNegative++;
  }
  return counts;
}

/** F1 from counts; 0 when there is nothing to score (scikit-learn's zero_division=0). */
function f1FromCounts({ truePositive, falsePositive, falseNegative }: Counts): number {
  const denominator = 2 * truePositive + falsePositive + falseNegative;
  return denominator === 0 ? 0 : (2 * truePositive) / denominator;
}

/** F1 of the positive class (label 1), scikit-learn's average="binary". */
export function f1Binary(predictions: ArrayLike<number>, labels: ArrayLike<number>): number {
  return f1FromCounts(countsFor(predictions, labels, 1));
}

/** Unweighted mean of per-class F1 over the classes present in labels or predictions. */
export function f1Macro(predictions: ArrayLike<number>, labels: ArrayLike<number>): number {
  const classes = new Set<number>([...Array.from(labels), ...Array.from(predictions)]);
  if (classes.size === 0) return 0;
  let sum = 0;
  for (const label of classes) sum += f1FromCounts(countsFor(predictions, labels, label));
  return sum / classes.size;
}

/** Matthews correlation coefficient, multi-class (Gorodkin's R_K, as scikit-learn). */
export function matthewsCorrelation(
  predictions: ArrayLike<number>,
  labels: ArrayLike<number>,
): number {
  const classes = [...new Set<number>([...Array.from(labels), ...Array.from(predictions)])];
  const n = labels.length;
  let correct = 0;
  for (let i = 0; i < n; i++) if (predictions[i] === labels[i]) correct++;
  let predictedTimesTrue = 0;
  let predictedSquares = 0;
  let trueSquares = 0;
  for (const label of classes) {
    let predicted = 0;
    let actual = 0;
    for (let i = 0; i < n; i++) {
      if (predictions[i] === label) predicted++;
      if (labels[i] === label) actual++;
    }
    predictedTimesTrue += predicted * actual;
    predictedSquares += predicted * predicted;
    trueSquares += actual * actual;
  }
  const denominator = Math.sqrt((n * n - predictedSquares) * (n * n - trueSquares));
  return denominator === 0 ? 0 : (correct * n - predictedTimesTrue) / denominator;
}

export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let meanX = 0;
  let meanY = 0;
  for (let i = 0; i < n; i++) {
    meanX += x[i];
    meanY += y[i];
  }
  meanX /= n;
  meanY /= n;
  let covariance = 0;
  let varianceX = 0;
  let varianceY = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - meanX;
    const dy = y[i] - meanY;
    covariance += dx * dy;
    varianceX += dx * dx;
    varianceY += dy * dy;
  }
  const denominator = Math.sqrt(varianceX * varianceY);
  return denominator === 0 ? Number.NaN : covariance / denominator;
}

/** Ranks 1..n, ties given their average rank (SciPy's rankdata "average"). */
function ranks(values: ArrayLike<number>): number[] {
  const order = Array.from(values, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const out = new Array<number>(values.length);
  let start = 0;
  while (start < order.length) {
    let end = start;
    while (end + 1 < order.length && values[order[end + 1]] === values[order[start]]) end++;
    const rank = (start + end) / 2 + 1;
    for (let i = start; i <= end; i++) out[order[i]] = rank;
    start = end + 1;
  }
  return out;
}

export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  return pearson(ranks(x), ranks(y));
}

export function meanSquaredError(predictions: ArrayLike<number>, labels: ArrayLike<number>) {
  let sum = 0;
  for (let i = 0; i < labels.length; i++) sum += (predictions[i] - labels[i]) ** 2;
  return labels.length === 0 ? 0 : sum / labels.length;
}

export interface Entity {
  type: string;
  start: number;
  end: number;
}

/**
 * Entity spans of one IOB2 tag sequence, as seqeval's default (non-strict) mode reads them: an
 * I- tag continuing a different type, or after O, starts a new entity.
 */
export function entities(tags: string[]): Entity[] {
  const found: Entity[] = [];
  let current: Entity | null = null;
  const close = (end: number) => {
    if (current) found.push({ ...current, end });
    current = null;
  };
  tags.forEach((tag, i) => {
    const prefix = tag.length > 1 && tag[1] === "-" ? tag[0] : tag === "O" ? "O" : "B";
    const type = tag.length > 1 && tag[1] === "-" ? tag.slice(2) : "";
    if (prefix === "O") {
      close(i);
    } else if (prefix === "B" || prefix === "S" || !current || current.type !== type) {
      close(i);
      current = { type, start: i, end: i + 1 };
    }
    if (prefix === "E" || prefix === "S") close(i + 1);
  });
  close(tags.length);
  return found;
}

export interface EntityScores {
  precision: number;
  recall: number;
  f1: number;
  accuracy: number;
}

/** Micro-averaged entity-level precision, recall and F1 (seqeval), and token accuracy. */
export function entityScores(predicted: string[][], gold: string[][]): EntityScores {
  let truePositive = 0;
  let predictedCount = 0;
  let goldCount = 0;
  let tokens = 0;
  let correctTokens = 0;
  for (let s = 0; s < gold.length; s++) {
    const key = (e: Entity) => `${e.type}:${e.start}:${e.end}`;
    const goldSet = new Set(entities(gold[s]).map(key));
    const predictedEntities = entities(predicted[s]);
    predictedCount += predictedEntities.length;
    goldCount += goldSet.size;
    for (const entity of predictedEntities) if (goldSet.has(key(entity))) truePositive++;
    for (let i = 0; i < gold[s].length; i++) {
      tokens++;
      if (predicted[s][i] === gold[s][i]) correctTokens++;
    }
  }
  const precision = predictedCount === 0 ? 0 : truePositive / predictedCount;
  const recall = goldCount === 0 ? 0 : truePositive / goldCount;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1, accuracy: tokens === 0 ? 0 : correctTokens / tokens };
}

/** SQuAD's answer normalisation: lower case, no punctuation, no articles, single spaces. */
export function normalizeAnswer(text: string): string {
  return text
    .toLowerCase()
    .replace(/[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g, "")
    .replace(/\b(a|an|the)\b/g, " ")
    .split(/\s+/)
    .filter((word) => word.length > 0)
    .join(" ");
}

/** SQuAD exact match and token F1 of one prediction against its best gold answer (0..1). */
export function squadScores(prediction: string, answers: string[]): { exact: number; f1: number } {
  if (answers.length === 0) answers = [""];
  let exact = 0;
  let f1 = 0;
  const predictedTokens = normalizeAnswer(prediction).split(" ").filter(Boolean);
  for (const answer of answers) {
    if (normalizeAnswer(answer) === normalizeAnswer(prediction)) exact = 1;
    const goldTokens = normalizeAnswer(answer).split(" ").filter(Boolean);
    if (goldTokens.length === 0 || predictedTokens.length === 0) {
      f1 = Math.max(f1, goldTokens.length === predictedTokens.length ? 1 : 0);
      continue;
    }
    const remaining = new Map<string, number>();
    for (const token of goldTokens) remaining.set(token, (remaining.get(token) ?? 0) + 1);
    let common = 0;
    for (const token of predictedTokens) {
      const left = remaining.get(token) ?? 0;
      if (left > 0) {
        common++;
        remaining.set(token, left - 1);
      }
    }
    if (common === 0) continue;
    const precision = common / predictedTokens.length;
    const recall = common / goldTokens.length;
    f1 = Math.max(f1, (2 * precision * recall) / (precision + recall));
  }
  return { exact, f1 };
}
