// Builds the web app into dist/web (or the folder given as the first argument): the page, its
// main-thread script and its worker (each one bundle, the library inside the worker), uPlot's
// style sheet, two small sample files, and the embedded models with models.json listing them.
// Any static host serves the folder, given the two headers that cross-origin isolate it:
// Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp.

import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
} from "node:fs";
import { writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleForBrowser } from "./browser-bundle.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const outdir = process.argv[2] ?? join(root, "dist", "web");
const web = join(root, "src", "web");

const sizes = {
  "app.js": await bundleForBrowser(join(web, "app.ts"), join(outdir, "app.js")),
  "worker.js": await bundleForBrowser(join(web, "worker.ts"), join(outdir, "worker.js")),
};
copyFileSync(join(web, "index.html"), join(outdir, "index.html"));
copyFileSync(
  join(root, "node_modules", "uplot", "dist", "uPlot.min.css"),
  join(outdir, "uPlot.min.css"),
);

// Samples small enough to fine-tune and distil on in a minute or two.
mkdirSync(join(outdir, "samples"), { recursive: true });
// 200 of each class, the first 200 characters of each mail, the labels named.
const SPAM_LABELS = ["ham", "spam"];
const byClass = [[], []];
for (const line of readFileSync(join(root, "data", "tasks", "spam.train.jsonl"), "utf8").split(
  "\n",
)) {
  if (line.trim() === "") continue;
  const { text, label } = JSON.parse(line);
  if (byClass[label].length < 200) {
    byClass[label].push(JSON.stringify({ text: text.slice(0, 200), label: SPAM_LABELS[label] }));
  }
}
// Interleaved, so any first rows hold both classes.
const spam = byClass[0].flatMap((ham, i) => [ham, byClass[1][i]]);
await writeFile(join(outdir, "samples", "spam.jsonl"), `${spam.join("\n")}\n`);
const corpus = readFileSync(join(root, "data", "corpus.train.txt"), "utf8")
  .split("\n")
  .slice(0, 300);
await writeFile(join(outdir, "samples", "corpus.txt"), `${corpus.join("\n")}\n`);

// The embedded models, linked (not copied: they are large) where the file system allows.
const MODEL_FILES = [
  "config.json",
  "model.safetensors",
  "tokenizer.json",
  "tokenizer_config.json",
  "vocab.txt",
];
const modelsDir = join(root, "models");
const manifest = [];
rmSync(join(outdir, "models"), { recursive: true, force: true });
for (const name of readdirSync(modelsDir).sort()) {
  if (!existsSync(join(modelsDir, name, "config.json"))) continue;
  mkdirSync(join(outdir, "models", name), { recursive: true });
  for (const file of MODEL_FILES) {
    const from = join(modelsDir, name, file);
    if (!existsSync(from)) continue;
    const to = join(outdir, "models", name, file);
    try {
      linkSync(from, to);
    } catch {
      copyFileSync(from, to);
    }
  }
  manifest.push({ name, url: `models/${name}/` });
}
await writeFile(join(outdir, "models.json"), `${JSON.stringify(manifest, null, 2)}\n`);
const kib = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`;
console.log(
  `build-web: ${relative(process.cwd(), outdir)} (app.js ${kib(sizes["app.js"])}, worker.js ${kib(sizes["worker.js"])}, ${manifest.length} models)`,
);
