// `distilbert web`: serves the web app (run, fine-tune and distil in the browser) with the
// embedded models and any others given.

import { existsSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { UserError } from "../../errors.js";
import { resolveModel } from "../../io/hub.js";
import { type ServedModel, WebServer } from "../../server/web-server.js";
import type { Command } from "../commands.js";
import { positiveInt } from "../options.js";
import { nextSignal } from "../signals.js";

/** The built app: dist/web beside dist/src. */
const WEB_ROOT = fileURLToPath(new URL("../../../web/", import.meta.url));

const help = `distilbert web [--port 8080] [--host 127.0.0.1] [--model DIR_OR_ID ...]

Serves the web app: a page where you run models (fill-mask, text classification, NER, question
answering, sentence similarity), fine-tune a text classifier on your own JSON-lines or CSV file
and distil a teacher into a smaller student, watching the loss fall, then download the result as
a Hugging Face model folder (float32 or int8). Everything runs in your browser, in a Web Worker,
on WebAssembly with threads; nothing is sent to the server.

The page is served with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy:
require-corp, which give it the shared memory WebAssembly threads need. \`npm run build\` also
writes the app as static files (dist/web/) that any static host can serve with those two headers.

Options:
  --port N            port to listen on; default 8080 (0: any free port)
  --host HOST         address to listen on; default 127.0.0.1 (0.0.0.0: every interface)
  --model DIR_OR_ID   a model folder or Hugging Face Hub id to offer beside the embedded ones;
                      repeat for several

Example:
  distilbert web --model ./my-finetuned-model
  # then open http://127.0.0.1:8080/
`;

const OPTIONS = {
  port: { type: "string" },
  host: { type: "string" },
  model: { type: "string", multiple: true },
} as const;

async function servedModels(ids: string[]): Promise<ServedModel[]> {
  const served: ServedModel[] = [];
  for (const id of ids) {
    const dir = await resolveModel(id);
    if (!existsSync(join(dir, "config.json"))) {
      throw new UserError(`${dir} has no config.json: --model takes a Hugging Face model folder`);
    }
    let name = basename(dir.replace(/[\\/]+$/, ""));
    for (let n = 2; served.some((model) => model.name === name); n++)
      name = `${basename(dir)}-${n}`;
    served.push({ name, dir });
  }
  return served;
}

export const web: Command = {
  summary: "serve the web app: run, fine-tune and distil models in the browser",
  help,
  async run(args) {
    const { values } = parseArgs({ args, options: OPTIONS });
    const port = values.port === "0" ? 0 : (positiveInt("port", values.port) ?? 8080);
    const host = values.host ?? "127.0.0.1";
    const server = new WebServer(WEB_ROOT, await servedModels(values.model ?? []));
    const url = await server.listen(port, host);
    process.stderr.write(`distilbert web: serving the app on ${url} (Ctrl-C to stop)\n`);
    await nextSignal();
    await server.close();
    return 0;
  },
};
