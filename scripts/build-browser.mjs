// Bundles the browser entry (src/browser.ts) into one ES module, dist/browser/distilbert.js (or
// into the folder given as the first argument). The WebAssembly kernels are embedded in it and its
// kernel workers start from Blob URLs, so the bundle is the only file to serve. Fails if the
// bundle would import one of Node's modules, except the dynamic imports the WebAssembly backend
// makes only when it runs in Node.

import { mkdir, rename, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const outdir = process.argv[2] ?? join(root, "dist", "browser");
const outfile = join(outdir, "distilbert.js");

const result = await build({
  entryPoints: [join(root, "src", "browser.ts")],
  outfile,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  minify: true,
  sourcemap: true,
  external: ["node:*"],
  metafile: true,
  write: false,
  logLevel: "warning",
});

const nodeImports = Object.entries(result.metafile.inputs).flatMap(([file, input]) =>
  input.imports
    .filter((entry) => entry.path.startsWith("node:") && entry.kind !== "dynamic-import")
    .map((entry) => `${file} imports ${entry.path}`),
);
if (nodeImports.length > 0) {
  console.error(`build-browser: the browser bundle must not import Node's modules:`);
  for (const line of nodeImports) console.error(`  ${line}`);
  process.exit(1);
}

await mkdir(outdir, { recursive: true });
for (const output of result.outputFiles) {
  await writeFile(`${output.path}.tmp`, output.contents);
  await rename(`${output.path}.tmp`, output.path);
}
const bytes = result.outputFiles.find((output) => output.path === outfile).contents.byteLength;
console.log(
  `build-browser: ${relative(process.cwd(), outfile)} (${(bytes / 1024).toFixed(0)} KiB)`,
);
