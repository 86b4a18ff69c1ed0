// SetFit's classification head: scikit-learn's LogisticRegression with its defaults (L2 penalty,
// C = 1, an unpenalised intercept), fitted exactly, in float64, on the rows' embeddings.
//
// For K > 2 classes it is multinomial, W [K, d] and b [K]:
//   minimise  sum_i -log softmax(W x_i + b)[y_i] + 1/(2C) |W|^2
// For two it is binary, one w [d] and c, as scikit-learn fits it:
//   minimise  sum_i log(1 + exp(-s_i (w . x_i + c))) + 1/(2C) |w|^2,  s_i = +1 class 1, -1 class 0
// which is the softmax objective with class 0's row and intercept pinned at zero
// (softmax([0, z]) = [1 - sigmoid(z), sigmoid(z)]): one objective serves both, and the binary
// model's class-1 logit is scikit-learn's decision_function.
//
// Both are strictly convex in W; the multinomial intercepts are only fixed up to a constant added
// to all of them (which leaves every probability unchanged). Starting from zero, every step moves
// along gradients whose intercept parts sum to zero, so the intercepts found sum to zero (the
// solution scikit-learn's lbfgs reaches too, from the same start).
//
// The solver is L-BFGS (memory 10) run until the largest gradient component is below 1e-11 per
// row, far tighter than scikit-learn's default tol (1e-4), so that this is the optimum itself. Near
// the optimum the objective's decrease falls under float64's resolution of its value, so a step is
// also accepted when the value did not measurably rise and the slope along the step stayed small
// (Hager and Zhang's approximate Wolfe condition): the gradient, not the value, decides the end.

/** A fitted model: logits = weights x + intercepts, class by class. */
export interface LogisticRegression {
  classes: number;
  dim: number;
  /** [classes, dim], row-major (the binary model's row 0 is zero). */
  weights: Float64Array;
  /** [classes] (the binary model's entry 0 is zero). */
  intercepts: Float64Array;
}

export interface LogisticRegressionFit {
  model: LogisticRegression;
  iterations: number;
  /** The largest |component| of the objective's gradient at the solution. */
  gradientNorm: number;
  objective: number;
}

const MEMORY = 10;
const MAX_ITERATIONS = 10_000;
const TOLERANCE_PER_ROW = 1e-11;
const ARMIJO = 1e-4;

/** The classes that have parameters: all of them, or for a binary model class 1 only. */
function freeClasses(classes: number): number[] {
  return classes === 2 ? [1] : Array.from({ length: classes }, (_, k) => k);
}

/** theta = for each free class, its weights then its intercept. */
function modelOf(theta: Float64Array, classes: number, dim: number): LogisticRegression {
  const weights = new Float64Array(classes * dim);
  const intercepts = new Float64Array(classes);
  freeClasses(classes).forEach((k, f) => {
    const at = f * (dim + 1);
    weights.set(theta.subarray(at, at + dim), k * dim);
    intercepts[k] = theta[at + dim];
  });
  return { classes, dim, weights, intercepts };
}

/** The logits of one row. */
export function logisticLogits(model: LogisticRegression, x: ArrayLike<number>): Float64Array {
  const logits = new Float64Array(model.classes);
  for (let k = 0; k < model.classes; k++) {
    let sum = model.intercepts[k];
    for (let j = 0; j < model.dim; j++) sum += model.weights[k * model.dim + j] * x[j];
    logits[k] = sum;
  }
  return logits;
}

/** The class probabilities of one row: softmax of its logits. */
export function logisticProbabilities(
  model: LogisticRegression,
  x: ArrayLike<number>,
): Float64Array {
  const logits = logisticLogits(model, x);
  const max = Math.max(...logits);
  const exps = logits.map((z) => Math.exp(z - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

/** The objective at theta and its gradient. */
function objective(
  theta: Float64Array,
  rows: ArrayLike<number>[],
  labels: number[],
  classes: number,
  penalty: number,
): { value: number; gradient: Float64Array } {
  const dim = rows[0].length;
  const free = freeClasses(classes);
  const gradient = new Float64Array(theta.length);
  let value = 0;
  free.forEach((_, f) => {
    for (let j = 0; j < dim; j++) {
      const w = theta[f * (dim + 1) + j];
      value += 0.5 * penalty * w * w;
      gradient[f * (dim + 1) + j] = penalty * w;
    }
  });
  const model = modelOf(theta, classes, dim);
  rows.forEach((x, i) => {
    const logits = logisticLogits(model, x);
    const max = Math.max(...logits);
    let sum = 0;
    for (const z of logits) sum += Math.exp(z - max);
    const logSum = max + Math.log(sum);
    value += logSum - logits[labels[i]];
    free.forEach((k, f) => {
      const dLogit = Math.exp(logits[k] - logSum) - (k === labels[i] ? 1 : 0);
      const at = f * (dim + 1);
      for (let j = 0; j < dim; j++) gradient[at + j] += dLogit * x[j];
      gradient[at + dim] += dLogit;
    });
  });
  return { value, gradient };
}

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

function maxAbs(values: Float64Array): number {
  let max = 0;
  for (const v of values) max = Math.max(max, Math.abs(v));
  return max;
}

/** -H g by L-BFGS's two-loop recursion over the remembered steps s and gradient changes y. */
function searchDirection(gradient: Float64Array, s: Float64Array[], y: Float64Array[]) {
  const q = Float64Array.from(gradient);
  const alphas: number[] = [];
  for (let m = s.length - 1; m >= 0; m--) {
    const alpha = dot(s[m], q) / dot(y[m], s[m]);
    alphas[m] = alpha;
    for (let i = 0; i < q.length; i++) q[i] -= alpha * y[m][i];
  }
  if (s.length > 0) {
    const last = s.length - 1;
    const gamma = dot(s[last], y[last]) / dot(y[last], y[last]);
    for (let i = 0; i < q.length; i++) q[i] *= gamma;
  }
  for (let m = 0; m < s.length; m++) {
    const beta = dot(y[m], q) / dot(y[m], s[m]);
    for (let i = 0; i < q.length; i++) q[i] += s[m][i] * (alphas[m] - beta);
  }
  return q.map((v) => -v);
}

/**
 * Fits the model to `rows` (each of the same length) with class ids `labels` in 0..classes-1
 * (classes >= 2); `c` is scikit-learn's C, the inverse of the penalty's strength.
 */
export function fitLogisticRegression(
  rows: ArrayLike<number>[],
  labels: number[],
  classes: number,
  c = 1,
): LogisticRegressionFit {
  const dim = rows[0].length;
  const penalty = 1 / c;
  const tolerance = TOLERANCE_PER_ROW * rows.length;
  let theta: Float64Array = new Float64Array(freeClasses(classes).length * (dim + 1));
  let current = objective(theta, rows, labels, classes, penalty);
  const steps: Float64Array[] = [];
  const changes: Float64Array[] = [];
  let iterations = 0;
  while (iterations < MAX_ITERATIONS && maxAbs(current.gradient) > tolerance) {
    const direction = searchDirection(current.gradient, steps, changes);
    const slope = dot(current.gradient, direction);
    // Before any curvature is known, a first step of unit length.
    let alpha = steps.length === 0 ? 1 / Math.sqrt(dot(direction, direction)) : 1;
    let next: { theta: Float64Array; value: number; gradient: Float64Array } | null = null;
    for (let tries = 0; tries < 60 && next === null; tries++, alpha /= 2) {
      const candidate = theta.map((v, i) => v + alpha * direction[i]);
      const at = objective(candidate, rows, labels, classes, penalty);
      const armijo = at.value <= current.value + ARMIJO * alpha * slope;
      const flat =
        at.value <= current.value + 1e-12 * Math.abs(current.value) &&
        dot(at.gradient, direction) <= (1 - 2 * ARMIJO) * -slope;
      if (armijo || flat) next = { theta: candidate, ...at };
    }
    // No step lowers the objective any further: the solution is as close as float64 allows.
    if (next === null) break;
    const step = next.theta.map((v, i) => v - theta[i]);
    const change = next.gradient.map((v, i) => v - current.gradient[i]);
    if (dot(step, change) > 1e-16 * Math.sqrt(dot(step, step) * dot(change, change))) {
      steps.push(step);
      changes.push(change);
      if (steps.length > MEMORY) {
        steps.shift();
        changes.shift();
      }
    }
    theta = next.theta;
    current = next;
    iterations++;
  }
  return {
    model: modelOf(theta, classes, dim),
    iterations,
    gradientNorm: maxAbs(current.gradient),
    objective: current.value,
  };
}
