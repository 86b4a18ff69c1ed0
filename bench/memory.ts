// Peak memory (RSS) to load DistilBERT-base and run one short input, ours against onnxruntime-node,
// float32 and int8, each in a fresh process under /usr/bin/time (which reads the kernel's peak):
// one JSON line each, {runtime, dtype, step: "memory", model, peak_rss_mb}.
//
//   node dist/bench/memory.js --model DIR --int8-model DIR --cli dist/src/cli/main.js \
//     --ort-script ort-rss.mjs
//
// Ours in int8 is the folder `distilbert quantize` wrote, as onnxruntime's is its q8 file.

import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    "int8-model": { type: "string" },
    cli: { type: "string" },
    "ort-script": { type: "string" },
  },
});
if (!values.model || !values["int8-model"] || !values.cli || !values["ort-script"]) {
  console.error(
    "usage: memory.js --model DIR --int8-model DIR --cli MAIN.js --ort-script ORT-RSS.mjs",
  );
  process.exit(1);
}

/** Peak RSS in MB of `node args`, as /usr/bin/time -f %M reports it (KB, on stderr's last line). */
function peakMb(args: string[]): number {
  const run = spawnSync("/usr/bin/time", ["-f", "%M", process.execPath, ...args], {
    encoding: "utf8",
    stdio: ["ignore", "ignore", "pipe"],
  });
  if (run.status !== 0) throw new Error(`node ${args.join(" ")} failed:\n${run.stderr}`);
  const lines = run.stderr.trim().split("\n");
  return Math.round(Number(lines[lines.length - 1]) / 1024);
}

// `bench` at one 16-token input, twice for warm-up and once timed, no training: load + one input.
const ours = (model: string) => [
  values.cli as string,
  "bench",
  "--model",
  model,
  "--backend",
  "native",
  "--threads",
  "2",
  "--shapes",
  "1x16",
  "--runs",
  "1",
  "--train",
  "none",
];
const runs: [string, string, string[]][] = [
  ["distilbert-ts-native", "float32", ours(values.model)],
  ["distilbert-ts-native", "int8", ours(values["int8-model"])],
  ["onnxruntime-node", "float32", [values["ort-script"] as string]],
  ["onnxruntime-node", "int8", [values["ort-script"] as string, "--int8"]],
];
for (const [runtime, dtype, args] of runs) {
  const line = {
    runtime,
    dtype,
    step: "memory",
    model: "distilbert-base",
    peak_rss_mb: peakMb(args),
  };
  console.log(JSON.stringify(line));
}
