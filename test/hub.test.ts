import assert from "node:assert/strict";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import { UserError } from "../src/errors.js";
import { type ResolveModelOptions, resolveModel } from "../src/io/hub.js";
import { commitHash, etagOf, type FakeFile, FakeHub } from "./hub-server.js";

const fixture = (path: string) => readFileSync(join("test/fixtures", path));
const text = (s: string): FakeFile => ({ content: Buffer.from(s), lfs: false });
const lfs = (content: Buffer): FakeFile => ({ content, lfs: true });

const MAIN = commitHash("main");
const V1 = commitHash("v1");
const weights = lfs(fixture("models/distilbert-seqcls/model.safetensors"));
const mainFiles: Record<string, FakeFile> = {
  "config.json": text(fixture("models/distilbert-seqcls/config.json").toString()),
  "model.safetensors": weights,
  "vocab.txt": text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n"),
  "tokenizer_config.json": text(fixture("tokenizer/uncased/tokenizer_config.json").toString()),
  "special_tokens_map.json": text('{"unk_token": "[UNK]"}'),
};
const v1Files: Record<string, FakeFile> = {
  ...mainFiles,
  "config.json": text('{"model_type": "distilbert", "note": "v1"}'),
};
const shardIndex = {
  metadata: { total_size: 8 },
  weight_map: {
    a: "model-00001-of-00002.safetensors",
    b: "model-00002-of-00002.safetensors",
    c: "model-00001-of-00002.safetensors",
  },
};

const hub = new FakeHub({
  "org/tiny": { commits: { [MAIN]: mainFiles, [V1]: v1Files }, refs: { main: MAIN, v1: V1 } },
  "tiny-old-name": { commits: {}, refs: {}, renamedTo: "org/tiny" },
  "org/sharded": {
    commits: {
      [MAIN]: {
        "config.json": text("{}"),
        "model.safetensors.index.json": text(JSON.stringify(shardIndex)),
        "model-00001-of-00002.safetensors": lfs(Buffer.from("shard-1")),
        "model-00002-of-00002.safetensors": lfs(Buffer.from("shard-2")),
      },
    },
    refs: { main: MAIN },
  },
  "org/no-config": { commits: { [MAIN]: { "model.safetensors": weights } }, refs: { main: MAIN } },
  "org/no-weights": { commits: { [MAIN]: { "config.json": text("{}") } }, refs: { main: MAIN } },
  "org/gated": { commits: {}, refs: {}, gated: true },
});

let cacheDir: string;
const options = (extra: ResolveModelOptions = {}): ResolveModelOptions => ({
  cacheDir,
  endpoint: hub.endpoint,
  progress: false,
  ...extra,
});
const repoFolder = (id: string) => join(cacheDir, `models--${id.replaceAll("/", "--")}`);

before(() => hub.start());
after(() => hub.stop());
beforeEach(() => {
  cacheDir = mkdtempSync(join(tmpdir(), "hub-test-"));
  hub.requests.length = 0;
  delete process.env.HF_HUB_OFFLINE;
  delete process.env.HF_TOKEN;
});
afterEach(() => rmSync(cacheDir, { recursive: true, force: true }));

describe("resolveModel from a Hub", () => {
  it("creates Python's cache layout: blobs, relative snapshot symlinks, refs/main", async () => {
    const dir = await resolveModel("org/tiny", options());
    const folder = repoFolder("org/tiny");
    assert.equal(dir, join(folder, "snapshots", MAIN));
    assert.equal(readFileSync(join(folder, "refs", "main"), "utf8"), MAIN);
    assert.deepEqual(readdirSync(dir).sort(), Object.keys(mainFiles).sort());
    for (const [name, file] of Object.entries(mainFiles)) {
      assert.equal(readlinkSync(join(dir, name)), `../../blobs/${etagOf(file)}`);
      assert.deepEqual(readFileSync(join(dir, name)), file.content);
    }
    const etags = Object.values(mainFiles).map(etagOf);
    assert.deepEqual(readdirSync(join(folder, "blobs")).sort(), etags.sort());
    assert.ok(existsSync(join(folder, ".no_exist", MAIN, "tokenizer.json")));
    const cdnGets = hub.requests.filter((r) => r.url.startsWith("/cdn/"));
    assert.equal(cdnGets.length, 1);
  });

  it("reuses the cache: one HEAD online, no request at all offline", async () => {
    const first = await resolveModel("org/tiny", options());
    hub.requests.length = 0;
    assert.equal(await resolveModel("org/tiny", options()), first);
    assert.deepEqual(
      hub.requests.map((r) => [r.method, r.url]),
      [["HEAD", "/org/tiny/resolve/main/config.json"]],
    );
    hub.requests.length = 0;
    assert.equal(await resolveModel("org/tiny", options({ offline: true })), first);
    process.env.HF_HUB_OFFLINE = "1";
    assert.equal(await resolveModel("org/tiny", options()), first);
    assert.equal(hub.requests.length, 0);
  });

  it("pins a revision: a tag gets its own ref and snapshot, a cached commit needs no request", async () => {
    const dir = await resolveModel("org/tiny", options({ revision: "v1" }));
    assert.equal(dir, join(repoFolder("org/tiny"), "snapshots", V1));
    assert.equal(readFileSync(join(repoFolder("org/tiny"), "refs", "v1"), "utf8"), V1);
    assert.deepEqual(readFileSync(join(dir, "config.json")), v1Files["config.json"].content);
    // The weights did not change between the commits: one blob serves both snapshots.
    await resolveModel("org/tiny", options());
    assert.equal(hub.requests.filter((r) => r.url.startsWith("/cdn/")).length, 1);
    hub.requests.length = 0;
    assert.equal(await resolveModel("org/tiny", options({ revision: V1 })), dir);
    assert.equal(hub.requests.length, 0);
  });

  it("downloads a commit hash revision without writing a ref", async () => {
    const dir = await resolveModel("org/tiny", options({ revision: V1 }));
    assert.equal(dir, join(repoFolder("org/tiny"), "snapshots", V1));
    assert.ok(!existsSync(join(repoFolder("org/tiny"), "refs")));
    assert.ok(hub.requests.every((r) => r.url.includes(V1) || r.url.startsWith("/cdn/")));
  });

  it("offline without a cached copy fails clearly and touches no network", async () => {
    process.env.HF_HUB_OFFLINE = "1";
    await assert.rejects(resolveModel("org/tiny", options()), (error: Error) => {
      assert.ok(error instanceof UserError);
      assert.match(error.message, /org\/tiny at revision 'main' is not in the cache/);
      assert.match(error.message, /offline/);
      return true;
    });
    assert.equal(hub.requests.length, 0);
  });

  it("never leaves a dropped download looking complete, and resumes it next time", async () => {
    hub.dropNextDownload = true;
    await assert.rejects(resolveModel("org/tiny", options()), /interrupted.*run again to resume/);
    const blob = join(repoFolder("org/tiny"), "blobs", etagOf(weights));
    assert.ok(!existsSync(blob));
    assert.ok(!existsSync(join(repoFolder("org/tiny"), "snapshots", MAIN, "model.safetensors")));
    const partial = statSync(`${blob}.incomplete`).size;
    assert.ok(partial > 0 && partial < weights.content.byteLength);

    const dir = await resolveModel("org/tiny", options());
    assert.deepEqual(readFileSync(join(dir, "model.safetensors")), weights.content);
    assert.ok(!existsSync(`${blob}.incomplete`));
    const resumed = hub.requests.filter((r) => r.url.startsWith("/cdn/")).at(-1);
    assert.equal(resumed?.range, `bytes=${partial}-`);
  });

  it("downloads sharded weights: the index and each shard once", async () => {
    const dir = await resolveModel("org/sharded", options());
    assert.deepEqual(readdirSync(dir).sort(), [
      "config.json",
      "model-00001-of-00002.safetensors",
      "model-00002-of-00002.safetensors",
      "model.safetensors.index.json",
    ]);
    assert.equal(readFileSync(join(dir, "model-00002-of-00002.safetensors"), "utf8"), "shard-2");
    assert.ok(existsSync(join(repoFolder("org/sharded"), ".no_exist", MAIN, "model.safetensors")));
  });

  it("follows a renamed repo's relative redirect, caching under the requested id", async () => {
    const dir = await resolveModel("tiny-old-name", options({ files: ["config.json"] }));
    assert.equal(dir, join(repoFolder("tiny-old-name"), "snapshots", MAIN));
    assert.deepEqual(readdirSync(dir), ["config.json"]);
  });

  it("says which of repo, revision or file was not found", async () => {
    await assert.rejects(
      resolveModel("org/missing", options()),
      /model repository 'org\/missing' not found.*HF_TOKEN/,
    );
    await assert.rejects(
      resolveModel("org/tiny", options({ revision: "nope" })),
      /revision 'nope' not found in model repository 'org\/tiny'/,
    );
    await assert.rejects(
      resolveModel("org/no-config", options()),
      /config\.json not found in model repository 'org\/no-config'/,
    );
    await assert.rejects(
      resolveModel("org/no-weights", options()),
      /no model\.safetensors nor model\.safetensors\.index\.json for org\/no-weights/,
    );
    await assert.rejects(resolveModel("org/gated", options()), /gated or private.*HF_TOKEN/);
  });

  it("sends HF_TOKEN to the Hub", async () => {
    process.env.HF_TOKEN = "hf_secret";
    await resolveModel("org/tiny", options({ files: ["config.json"] }));
    assert.equal(hub.requests[0].authorization, "Bearer hf_secret");
  });

  it("without network: falls back to the cache, else suggests offline mode", async () => {
    const unreachable = "http://127.0.0.1:1";
    await assert.rejects(
      resolveModel("org/tiny", options({ endpoint: unreachable })),
      /cannot reach http:\/\/127\.0\.0\.1:1.*HF_HUB_OFFLINE=1.*local model directory/,
    );
    const dir = await resolveModel("org/tiny", options());
    assert.equal(await resolveModel("org/tiny", options({ endpoint: unreachable })), dir);
  });

  it("returns an existing local path as is and rejects what is neither path nor id", async () => {
    const local = "test/fixtures/models/distilbert-seqcls";
    assert.equal(await resolveModel(local, options()), local);
    for (const path of ["./nope", "../nope", "/no/such/dir", "~/no-such-model"]) {
      await assert.rejects(resolveModel(path, options()), /no such model folder.*read as a path/);
    }
    await assert.rejects(resolveModel("no such id", options()), /neither an existing directory/);
    assert.equal(hub.requests.length, 0);
  });
});
