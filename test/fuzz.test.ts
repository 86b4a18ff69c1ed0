// The fuzz targets (fuzz-targets.ts), 100 cases each (FUZZ_RUNS): the short run of npm test.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import fc from "fast-check";
import { UserError } from "../src/errors.js";
import { parseConfigText } from "../src/io/config-format.js";
import { type FuzzTarget, fuzzTargets, readsOrRefuses } from "./fuzz-targets.js";

const RUNS = Number(process.env.FUZZ_RUNS ?? 100);

test("the property fails on any exception other than UserError", () => {
  assert.throws(() => readsOrRefuses(() => JSON.parse("{")), SyntaxError);
  assert.throws(() => readsOrRefuses(() => (undefined as unknown as { x: 1 }).x), TypeError);
  readsOrRefuses(() => {
    throw new UserError("refused");
  });
});

test("crashes the long fuzz run found stay fixed", () => {
  const config = JSON.parse(
    readFileSync("test/fixtures/models/distilbert-seqcls/config.json", "utf8"),
  );
  for (const activation of [{ toString: {} }, "toString", "__proto__"]) {
    const text = JSON.stringify({ ...config, activation });
    assert.throws(
      () => parseConfigText(text, "config.json"),
      UserError,
      JSON.stringify(activation),
    );
  }
  const architectures = JSON.stringify({ ...config, architectures: [{ toString: null }] });
  assert.throws(() => parseConfigText(architectures, "config.json"), /'architectures' must be/);
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
