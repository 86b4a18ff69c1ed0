// The web app's server without a browser: the isolation headers on every answer, models.json
// with the extra models first, ETag revalidation, and no file outside the app and the models.

import assert from "node:assert/strict";
import { get } from "node:http";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { WebServer } from "../src/server/web-server.js";

const ROOT = join(import.meta.dirname, "..", "..");
const TEACHER = join(ROOT, "models", "bert-mini-sotu");
let server: WebServer;
let origin: string;

before(async () => {
  server = new WebServer(join(ROOT, "dist", "web"), [{ name: "mine", dir: TEACHER }]);
  origin = await server.listen(0, "127.0.0.1");
});

after(() => server.close());

test("every answer isolates the page; models.json lists the extra models first", async () => {
  for (const path of ["", "app.js", "models.json", "no-such-file"]) {
    const response = await fetch(new URL(path, origin));
    assert.equal(response.headers.get("cross-origin-opener-policy"), "same-origin", path);
    assert.equal(response.headers.get("cross-origin-embedder-policy"), "require-corp", path);
  }
  const models = (await (await fetch(new URL("models.json", origin))).json()) as {
    name: string;
    url: string;
  }[];
  assert.deepEqual(models[0], { name: "mine", url: "models/mine/" });
  assert.ok(models.some((model) => model.name === "bert-mini-sotu"));
});

test("model files carry an ETag and answer 304 to it", async () => {
  const url = new URL("models/mine/config.json", origin);
  const first = await fetch(url);
  assert.equal(first.status, 200);
  const etag = first.headers.get("etag") as string;
  assert.ok(etag);
  const again = await fetch(url, { headers: { "If-None-Match": etag } });
  assert.equal(again.status, 304);
});

/** The status of GET `path` sent as it is (fetch would normalise the dots away). */
function rawStatus(path: string): Promise<number> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    get({ hostname, port, path }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    }).on("error", reject);
  });
}

test("nothing outside the app and the models' own files is served", async () => {
  for (const path of [
    "/../package.json",
    "/../../package.json",
    "/%2e%2e/%2e%2e/package.json",
    "/..%2f..%2fpackage.json",
    "/models/mine/README.md",
    "/models/mine/..%2f..%2fpackage.json",
  ]) {
    assert.equal(await rawStatus(path), 404, path);
  }
  assert.equal(await rawStatus("/app.js"), 200);
  assert.equal(await rawStatus("/%E0%A4%A"), 400);
});
