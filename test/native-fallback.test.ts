// Without the native addon, createBackend says why once on stderr and uses another backend.
// Runs in a child process because a process loads the addon (or fails to) only once.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";

const indexUrl = new URL("../src/tensor/index.js", import.meta.url).href;

function runWithAddonAt(addonPath: string, script: string) {
  return spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    env: { ...process.env, DISTILBERT_NATIVE_PATH: addonPath },
    encoding: "utf8",
  });
}

test("an absent addon gives another backend and exactly one warning", () => {
  const script = `
    import { createBackend } from ${JSON.stringify(indexUrl)};
    const names = [];
    for (const choice of ["auto", "native", "auto"]) names.push((await createBackend(choice)).name);
    console.log(JSON.stringify(names));
  `;
  const result = runWithAddonAt("/nonexistent/distilbert_native.node", script);
  assert.equal(result.status, 0, result.stderr);
  const names: string[] = JSON.parse(result.stdout);
  assert.equal(names.length, 3);
  for (const name of names) assert.notEqual(name, "native");
  const warnings = result.stderr.trim().split("\n");
  assert.equal(warnings.length, 1, result.stderr);
  assert.match(warnings[0], /cannot load the native kernels from \/nonexistent/);
});

test("the built addon is what auto picks, with no warning", () => {
  const script = `
    import { createBackend } from ${JSON.stringify(indexUrl)};
    const backend = await createBackend("auto", { threads: 2 });
    console.log(JSON.stringify([backend.name, backend.threads]));
  `;
  const { DISTILBERT_NATIVE_PATH: _, ...env } = process.env;
  const result = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    env,
    encoding: "utf8",
  });
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), ["native", 2]);
  assert.equal(result.stderr, "");
});
