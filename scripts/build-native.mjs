// Builds the native kernel addon (src/tensor/native) with node-gyp. Run by `npm install` /
// `npm ci`; the addon is optional, so a failed build prints one warning and exits 0, and the
// library then uses the WebAssembly backend.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const nativeDir = fileURLToPath(new URL("../src/tensor/native", import.meta.url));
const verbose = process.argv.includes("--verbose");

// npm exports the path of its bundled node-gyp to lifecycle scripts; outside npm, look for the
// copy npm ships next to this Node.
function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(
      dirname(process.execPath),
      "../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js",
    ),
    join(dirname(process.execPath), "node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"),
  ];
  return candidates.find((path) => path && existsSync(path));
}

// Use the headers installed with this Node when there are any, so the build needs no download.
function nodedirArgs() {
  if (process.env.npm_config_nodedir) return [];
  const prefix = join(dirname(process.execPath), "..");
  return existsSync(join(prefix, "include/node/node_api.h")) ? [`--nodedir=${prefix}`] : [];
}

function warn(reason) {
  console.warn(
    `distilbert-ts: the native kernels were not built (${reason}); the WebAssembly backend will ` +
      "be used. Run `npm run build:native -- --verbose` to see the details.",
  );
}

const nodeGyp = findNodeGyp();
if (!nodeGyp) {
  warn("node-gyp not found");
} else {
  const result = spawnSync(
    process.execPath,
    [nodeGyp, "configure", "build", "--jobs", "max", ...nodedirArgs()],
    { cwd: nativeDir, stdio: verbose ? "inherit" : "pipe", encoding: "utf8" },
  );
  if (result.status !== 0) {
    const output = `${result.stdout ?? ""}${result.stderr ?? ""}`;
    const firstError = output.split("\n").find((line) => /error/i.test(line));
    warn(firstError?.trim() || result.error?.message || `node-gyp exited with ${result.status}`);
  }
}
