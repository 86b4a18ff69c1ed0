// `npm run fuzz`: every fuzz target (fuzz-targets.ts) for its share of FUZZ_SECONDS (default 60).
// Prints the inputs each got, then `N inputs, M crashes`; a crash's shrunk input and error are
// written to fuzz-crashes.json. Exit status 1 on any crash.

import { writeFileSync } from "node:fs";
import fc from "fast-check";
import { fuzzTargets } from "./fuzz-targets.js";

const seconds = Number(process.env.FUZZ_SECONDS ?? 60);
const { targets, close } = await fuzzTargets();
const share = (seconds * 1000) / targets.length;
let total = 0;
const crashes: { target: string; input: string; error: string }[] = [];
for (const target of targets) {
  const details = await fc.check(target.property, {
    numRuns: Number.MAX_SAFE_INTEGER,
    interruptAfterTimeLimit: share,
  });
  total += details.numRuns;
  if (details.failed) {
    crashes.push({
      target: target.name,
      input: fc.stringify(details.counterexample),
      error: String(details.errorInstance),
    });
  }
  console.log(`${target.name}: ${details.numRuns} inputs${details.failed ? ", CRASH" : ""}`);
}
await close();
if (crashes.length > 0) {
  writeFileSync("fuzz-crashes.json", `${JSON.stringify(crashes, null, 2)}\n`);
  console.log("crashes written to fuzz-crashes.json");
}
console.log(`${total} inputs, ${crashes.length} crashes`);
process.exitCode = crashes.length > 0 ? 1 : 0;
