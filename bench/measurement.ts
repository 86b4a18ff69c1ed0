// One JSON line of a benchmark script, and the median over rounds of the same measurement.

export interface Measurement {
  /** distilbert-ts-native, distilbert-ts-wasm, onnxruntime-node, pytorch-openblas, ... */
  runtime: string;
  /** inference, train, memory, matmul, tokenize, tokenize-check, tokenize-ratio. */
  step: string;
  /** Ours: "float32" or "int8" (the baselines say int8 in their runtime's name). */
  dtype?: string;
  /** memory: peak RSS to load the model and run one short input. */
  peak_rss_mb?: number;
  /** distilbert-base or bert-mini-sotu for model runs. */
  model?: string;
  /** "median" on the lines aggregated over the rounds, which carry the count of rounds. */
  round?: number | "median";
  rounds?: number;
  batch?: number;
  seq?: number;
  threads?: number;
  runs?: number;
  median_ms?: number;
  min_ms?: number;
  seq_per_s?: number;
  tokens_per_s?: number;
  /** Matrix multiply: C[m, n] = A[m, k] B[k, n] with op NT, NN or TN. */
  op?: string;
  m?: number;
  n?: number;
  k?: number;
  gflops?: number;
  peak_fraction?: number;
  mode?: string;
  lines?: number;
  differing?: number;
  [field: string]: unknown;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function round2(value: number): number {
  return Number(value.toFixed(2));
}

function key(line: Measurement): string {
  const { runtime, dtype, step, model, batch, seq, threads, op, m, n, k, mode } = line;
  return JSON.stringify([runtime, dtype, step, model, batch, seq, threads, op, m, n, k, mode]);
}

/**
 * The timed measurements (those with median_ms) of several rounds folded into one line each: the
 * median of the rounds' medians, the minimum of their minimums, throughput from the median.
 */
export function medianOfRounds(lines: Measurement[]): Measurement[] {
  const groups = new Map<string, Measurement[]>();
  for (const line of lines) {
    if (line.median_ms === undefined) continue;
    const group = groups.get(key(line)) ?? [];
    group.push(line);
    groups.set(key(line), group);
  }
  return [...groups.values()].map((group) => {
    const ms = median(group.map((line) => line.median_ms as number));
    const result: Measurement = { ...group[0], round: "median", rounds: group.length };
    result.median_ms = ms;
    if (result.min_ms !== undefined) {
      result.min_ms = Math.min(...group.map((line) => line.min_ms as number));
    }
    if (result.batch !== undefined) result.seq_per_s = round2((result.batch * 1000) / ms);
    if (result.tokens_per_s !== undefined && result.batch !== undefined && result.seq) {
      result.tokens_per_s = Math.round((result.batch * result.seq * 1000) / ms);
    }
    if (result.gflops !== undefined) result.gflops = median(group.map((l) => l.gflops as number));
    return result;
  });
}
