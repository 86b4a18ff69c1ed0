// Bundles the browser entry (src/browser.ts) into one ES module, dist/browser/distilbert.js (or
// into the folder given as the first argument). The WebAssembly kernels are embedded in it and its
// kernel workers start from Blob URLs, so the bundle is the only file to serve.

import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleForBrowser } from "./browser-bundle.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const outdir = process.argv[2] ?? join(root, "dist", "browser");
const outfile = join(outdir, "distilbert.js");
const bytes = await bundleForBrowser(join(root, "src", "browser.ts"), outfile);
console.log(
  `build-browser: ${relative(process.cwd(), outfile)} (${(bytes / 1024).toFixed(0)} KiB)`,
);
