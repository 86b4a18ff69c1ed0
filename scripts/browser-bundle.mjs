// Bundles one browser entry point with esbuild into one ES module, and fails if the bundle would
// import one of Node's modules (except the dynamic imports the WebAssembly backend makes only when
// it runs in Node). Used by build-browser.mjs (the library) and build-web.mjs (the web app).

import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname, relative } from "node:path";
import { build } from "esbuild";

/** Writes `outfile` (and its source map) from `entry`; returns the bundle's size in bytes. */
export async function bundleForBrowser(entry, outfile) {
  const result = await build({
    entryPoints: [entry],
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
    console.error(`${relative(process.cwd(), outfile)} must not import Node's modules:`);
    for (const line of nodeImports) console.error(`  ${line}`);
    process.exit(1);
  }
  await mkdir(dirname(outfile), { recursive: true });
  for (const output of result.outputFiles) {
    await writeFile(`${output.path}.tmp`, output.contents);
    await rename(`${output.path}.tmp`, output.path);
  }
  return result.outputFiles.find((output) => output.path === outfile).contents.byteLength;
}
