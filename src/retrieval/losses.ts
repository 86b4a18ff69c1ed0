// The sentence-embedding losses of sentence-transformers, with their gradients with respect to the
// pooled (not yet normalised) embeddings. Every loss reads the first `dim` components of each
// embedding row [rows, size] (dim = size for the full vectors; less for a Matryoshka prefix) and
// adds `weight` times its gradient into `grad` [rows, size], so the Matryoshka loss is the sum of
// one call per dimension. All similarities are cosines: u_i = x_i / max(|x_i|, 1e-12) (torch's
// normalize), and back through the normalisation dL/dx = (g - (g . u) u) / max(|x|, 1e-12).
//
// MultipleNegativesRankingLoss (in-batch negatives), B anchors a_i and C >= B candidates c_j (the
// positives, c_i the one of a_i, then any hard negatives):
//   s_ij = scale cos(a_i, c_j);  L = (1/B) sum_i [ logsumexp_j s_ij - s_ii ]
// CoSENT, B pairs (x_i, y_i) with gold scores g_i:
//   s_i = scale cos(x_i, y_i);  L = log(1 + sum_{(i,j): g_i > g_j} exp(s_j - s_i))
// CosineSimilarityLoss (SetFit's), B pairs (x_i, y_i) with labels l_i (1 similar, 0 not):
//   L = (1/B) sum_i (cos(x_i, y_i) - l_i)^2
// Matryoshka: L = sum_d w_d L(the embeddings cut to their first d components).

/** Which rows of the embedding matrix a loss reads, and how many of their components. */
export interface EmbeddingRows {
  /** [rows, size], row-major. */
  vectors: Float32Array;
  size: number;
  /** Components read from the start of each row (a Matryoshka prefix), <= size. */
  dim: number;
}

/** The default scale (inverse temperature) of MultipleNegativesRanking and CoSENT, as sentence-transformers'. */
export const DEFAULT_SIMILARITY_SCALE = 20;

const NORM_EPS = 1e-12;

/** Unit rows of the first `dim` components of the given rows, and the norms they were divided by. */
function unitRows(
  embeddings: EmbeddingRows,
  rows: number[],
): { unit: Float64Array[]; norms: number[] } {
  const { vectors, size, dim } = embeddings;
  const unit: Float64Array[] = [];
  const norms: number[] = [];
  for (const row of rows) {
    const u = new Float64Array(dim);
    let sum = 0;
    for (let k = 0; k < dim; k++) {
      u[k] = vectors[row * size + k];
      sum += u[k] * u[k];
    }
    const norm = Math.max(Math.sqrt(sum), NORM_EPS);
    for (let k = 0; k < dim; k++) u[k] /= norm;
    unit.push(u);
    norms.push(norm);
  }
  return { unit, norms };
}

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let k = 0; k < a.length; k++) sum += a[k] * b[k];
  return sum;
}

/** Adds `weight` dL/dx into grad's row `row`, given g = dL/du for the unit vector u = x / norm. */
function addThroughNormalisation(
  grad: Float32Array,
  embeddings: EmbeddingRows,
  row: number,
  g: Float64Array,
  u: Float64Array,
  norm: number,
  weight: number,
): void {
  const along = dot(g, u);
  const at = row * embeddings.size;
  for (let k = 0; k < u.length; k++) grad[at + k] += (weight * (g[k] - along * u[k])) / norm;
}

/**
 * MultipleNegativesRankingLoss of anchors (rows `anchors`) against candidates (rows `candidates`,
 * whose first `anchors.length` are the anchors' positives, in order); adds weight x its gradient.
 */
export function multipleNegativesRankingLoss(
  embeddings: EmbeddingRows,
  anchors: number[],
  candidates: number[],
  grad: Float32Array,
  weight = 1,
  scale = DEFAULT_SIMILARITY_SCALE,
): number {
  const a = unitRows(embeddings, anchors);
  const c = unitRows(embeddings, candidates);
  const count = anchors.length;
  const dA = anchors.map(() => new Float64Array(embeddings.dim));
  const dC = candidates.map(() => new Float64Array(embeddings.dim));
  const scores = new Float64Array(candidates.length);
  let loss = 0;
  for (let i = 0; i < count; i++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < candidates.length; j++) {
      scores[j] = scale * dot(a.unit[i], c.unit[j]);
      max = Math.max(max, scores[j]);
    }
    let sum = 0;
    for (let j = 0; j < candidates.length; j++) sum += Math.exp(scores[j] - max);
    loss += max + Math.log(sum) - scores[i];
    // dL/ds_ij = (softmax_j - [j = i]) / B, and ds_ij = scale (u_j da_i + u_i dc_j).
    for (let j = 0; j < candidates.length; j++) {
      const dScore = ((Math.exp(scores[j] - max) / sum - (j === i ? 1 : 0)) * scale) / count;
      for (let k = 0; k < embeddings.dim; k++) {
        dA[i][k] += dScore * c.unit[j][k];
        dC[j][k] += dScore * a.unit[i][k];
      }
    }
  }
  anchors.forEach((row, i) => {
    addThroughNormalisation(grad, embeddings, row, dA[i], a.unit[i], a.norms[i], weight);
  });
  candidates.forEach((row, j) => {
    addThroughNormalisation(grad, embeddings, row, dC[j], c.unit[j], c.norms[j], weight);
  });
  return loss / count;
}

/**
 * CoSENT of the pairs (rows `first[i]`, `second[i]`) with gold scores `gold[i]`; adds weight x its
 * gradient. With no two different gold scores the loss is log 1 = 0.
 */
export function coSentLoss(
  embeddings: EmbeddingRows,
  first: number[],
  second: number[],
  gold: ArrayLike<number>,
  grad: Float32Array,
  weight = 1,
  scale = DEFAULT_SIMILARITY_SCALE,
): number {
  const x = unitRows(embeddings, first);
  const y = unitRows(embeddings, second);
  const count = first.length;
  const scores = Array.from({ length: count }, (_, i) => scale * dot(x.unit[i], y.unit[i]));
  // log(1 + sum exp(s_j - s_i)) as a logsumexp over 0 and every ordered difference.
  const terms: { i: number; j: number; value: number }[] = [];
  let max = 0;
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < count; j++) {
      if (gold[i] > gold[j]) {
        const value = scores[j] - scores[i];
        terms.push({ i, j, value });
        max = Math.max(max, value);
      }
    }
  }
  let sum = Math.exp(-max);
  for (const term of terms) sum += Math.exp(term.value - max);
  const dScores = new Float64Array(count);
  for (const term of terms) {
    const share = Math.exp(term.value - max) / sum;
    dScores[term.j] += share;
    dScores[term.i] -= share;
  }
  for (let i = 0; i < count; i++) {
    const g = dScores[i] * scale;
    const dx = x.unit[i].map((_, k) => g * y.unit[i][k]);
    const dy = y.unit[i].map((_, k) => g * x.unit[i][k]);
    addThroughNormalisation(grad, embeddings, first[i], dx, x.unit[i], x.norms[i], weight);
    addThroughNormalisation(grad, embeddings, second[i], dy, y.unit[i], y.norms[i], weight);
  }
  return max + Math.log(sum);
}

/**
 * CosineSimilarityLoss of the pairs (rows `first[i]`, `second[i]`) with labels `labels[i]`: the
 * mean squared difference between their cosine and the label; adds weight x its gradient.
 */
export function cosineSimilarityLoss(
  embeddings: EmbeddingRows,
  first: number[],
  second: number[],
  labels: ArrayLike<number>,
  grad: Float32Array,
  weight = 1,
): number {
  const x = unitRows(embeddings, first);
  const y = unitRows(embeddings, second);
  const count = first.length;
  let loss = 0;
  for (let i = 0; i < count; i++) {
    const error = dot(x.unit[i], y.unit[i]) - labels[i];
    loss += error * error;
    // dL/dcos_i = 2 (cos_i - l_i) / B, and dcos = y du_x + x du_y.
    const g = (2 * error) / count;
    const dx = x.unit[i].map((_, k) => g * y.unit[i][k]);
    const dy = y.unit[i].map((_, k) => g * x.unit[i][k]);
    addThroughNormalisation(grad, embeddings, first[i], dx, x.unit[i], x.norms[i], weight);
    addThroughNormalisation(grad, embeddings, second[i], dy, y.unit[i], y.norms[i], weight);
  }
  return loss / count;
}

/**
 * The Matryoshka loss: `loss` (one of the above, given the rows to read) summed over the prefixes
 * `dims` of the embeddings, each with its weight (default 1 each), gradients added into `grad`.
 * Returns the total and the loss at each dimension.
 */
export function matryoshkaLoss(
  vectors: Float32Array,
  size: number,
  dims: readonly number[],
  weights: readonly number[],
  loss: (embeddings: EmbeddingRows, weight: number) => number,
): { total: number; perDim: number[] } {
  const perDim = dims.map((dim, d) => loss({ vectors, size, dim }, weights[d]));
  const total = perDim.reduce((sum, value, d) => sum + weights[d] * value, 0);
  return { total, perDim };
}
