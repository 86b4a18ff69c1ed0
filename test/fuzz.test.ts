// The fuzz targets (fuzz-targets.ts), 100 cases each (FUZZ_RUNS): the short run of npm test.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import fc from "fast-check";
import { UserError } from "../src/errors.js";
import { type FuzzTarget, fuzzTargets, readsOrRefuses } from "./fuzz-targets.js";

const RUNS = Number(process.env.FUZZ_RUNS ?? 100);

test("the property fails on any exception other than UserError", () => {
  assert.throws(() => readsOrRefuses(() => JSON.parse("{")), SyntaxError);
  assert.throws(() => readsOrRefuses(() => (undefined as unknown as { x: 1 }).x), TypeError);
  readsOrRefuses(() => {
    throw new UserError("refused");
  });
});

let targets: FuzzTarget[] = [];
let close = async () => {};
before(async () => {
  ({ targets, close } = await fuzzTargets());
});
after(() => close());

test("every parser and entry point reads or refuses what it is given", async () => {
  assert.ok(targets.length >= 12);
  for (const target of targets) {
    await fc.assert(target.property, { numRuns: RUNS });
  }
});
