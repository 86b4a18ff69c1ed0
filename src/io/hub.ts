// Models by id from the Hugging Face Hub: `resolveModel` turns a local directory or a Hub id into
// a local directory holding the model's files, downloading into the cache Python's
// huggingface_hub uses (see hub-cache.ts), so either reuses what the other downloaded.

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, join } from "node:path";
import { UserError } from "../errors.js";
import { defaultCacheDir, isCommitHash, RepoCache } from "./hub-cache.js";
import {
  downloadBlob,
  type FileLookup,
  type HubClient,
  HubUnreachableError,
  lookupFile,
} from "./hub-http.js";

export interface ResolveModelOptions {
  /** A branch, tag or commit hash; default "main". */
  revision?: string;
  /** Default `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`. */
  cacheDir?: string;
  /** Default `$HF_ENDPOINT`, else https://huggingface.co. */
  endpoint?: string;
  /** Use the cache only, never the network; default from `HF_HUB_OFFLINE`. */
  offline?: boolean;
  /**
   * The files to fetch instead of the default set; each must exist ("model.safetensors" falls
   * back to the sharded "model.safetensors.index.json" and its shards).
   */
  files?: string[];
  /** A progress bar on stderr for large files; default when stderr is a terminal. */
  progress?: boolean;
}

const WEIGHTS = "model.safetensors";
const SHARDED_INDEX = "model.safetensors.index.json";
const OPTIONAL_FILES = [
  "tokenizer.json",
  "vocab.txt",
  "tokenizer_config.json",
  "special_tokens_map.json",
];
// Python's rule: "name" or "org/name", word characters, '-' and '.', no "--" or "..".
const REPO_ID = /^(?:[\w.-]+\/)?[\w.-]+$/;

/**
 * A local directory holding the model: `idOrDir` itself when it exists locally, else the Hub
 * snapshot of that model id, downloaded when missing from the cache. The snapshot holds
 * config.json, the safetensors weights (single or sharded) and the tokenizer files the repo has.
 */
export async function resolveModel(
  idOrDir: string,
  options: ResolveModelOptions = {},
): Promise<string> {
  const path = expandHome(idOrDir);
  if (existsSync(path)) return path;
  if (LOCAL_PATH.test(idOrDir)) {
    throw new UserError(
      `${idOrDir}: no such model folder (it starts with ./, ../, / or ~, so it is read as a path, not a Hub id): check the spelling${closeNames(path)}`,
    );
  }
  // "models/bert-mini" where ./models exists is a mistyped folder, not the Hub's org "models".
  const parent = dirname(path);
  if (parent !== "." && isDirectory(parent)) {
    throw new UserError(
      `${idOrDir}: no such model folder (the folder ${parent} exists here, so it is read as a path, not a Hub id): check the spelling${closeNames(path)}`,
    );
  }
  checkRepoId(idOrDir);
  const snapshot = new SnapshotFetcher(idOrDir, options);
  if (options.files) {
    if (options.files.length === 0) throw new UserError("resolveModel: files must not be empty");
    for (const file of options.files) {
      if (file === WEIGHTS) await snapshot.fetchWeights();
      else await snapshot.fetch(file, true);
    }
  } else {
    await snapshot.fetch("config.json", true);
    await snapshot.fetchWeights();
    for (const file of OPTIONAL_FILES) await snapshot.fetch(file, false);
  }
  return snapshot.directory();
}

function isDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

/** "; did you mean ...?" naming the folders beside `path` whose names are a few edits away. */
function closeNames(path: string): string {
  const parent = dirname(path);
  if (!isDirectory(parent)) return "";
  const name = basename(path);
  const limit = Math.max(2, Math.floor(name.length / 4));
  const close = readdirSync(parent, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => ({ name: entry.name, distance: editDistance(name, entry.name) }))
    .filter((entry) => entry.distance <= limit)
    .sort((a, b) => a.distance - b.distance)
    .slice(0, 3)
    .map((entry) => join(parent, entry.name));
  return close.length > 0 ? `; did you mean ${close.join(" or ")}?` : "";
}

/** Levenshtein distance: the fewest insertions, deletions and substitutions from a to b. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(substitution, previous[j] + 1, current[j - 1] + 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/** What only a path starts with: ./ ../ / ~ (and their Windows forms). */
const LOCAL_PATH = /^(\.{1,2}([\\/]|$)|[\\/]|~|[A-Za-z]:[\\/])/;

/** `~` and `~/...` as the home folder, as a shell would. */
function expandHome(path: string): string {
  if (path === "~") return homedir();
  return path.startsWith("~/") ? join(homedir(), path.slice(2)) : path;
}

function checkRepoId(id: string): void {
  if (!REPO_ID.test(id) || id.includes("--") || id.includes("..") || id.length > 96) {
    throw new UserError(
      `'${id}' is neither an existing directory nor a Hugging Face model id ('name' or 'org/name')`,
    );
  }
}

function checkFileName(file: string, repoId: string): void {
  const parts = file.split("/");
  if (file.startsWith("/") || file.includes("\\") || parts.some((p) => p === ".." || p === "")) {
    throw new UserError(`unsafe file name '${file}' in ${repoId}: refusing to write it`);
  }
}

function envFlag(value: string | undefined): boolean {
  return ["1", "on", "yes", "true"].includes((value ?? "").toLowerCase());
}

/** Fetches files of one repo at one revision into one snapshot of the cache. */
class SnapshotFetcher {
  private readonly cache: RepoCache;
  private readonly client: HubClient;
  private readonly revision: string;
  private offline: boolean;
  /** The commit the revision resolved to; later files are fetched at this commit. */
  private commit: string | undefined;

  constructor(
    private readonly repoId: string,
    options: ResolveModelOptions,
  ) {
    this.cache = new RepoCache(options.cacheDir ?? defaultCacheDir(), repoId);
    this.revision = options.revision ?? "main";
    this.offline = options.offline ?? envFlag(process.env.HF_HUB_OFFLINE);
    this.commit = isCommitHash(this.revision) ? this.revision : undefined;
    const endpoint = options.endpoint ?? (process.env.HF_ENDPOINT || "https://huggingface.co");
    this.client = {
      endpoint: endpoint.replace(/\/+$/, ""),
      repoId,
      token: process.env.HF_TOKEN || undefined,
      progress: options.progress ?? process.stderr.isTTY === true,
    };
  }

  directory(): string {
    return this.cache.snapshotDir(this.resolvedCommit());
  }

  /** Returns whether the repo has the file; throws when a required file is missing. */
  async fetch(file: string, required: boolean): Promise<boolean> {
    checkFileName(file, this.repoId);
    if (this.commit !== undefined) {
      if (this.cache.has(this.commit, file)) return true;
      if (this.cache.isKnownAbsent(this.commit, file)) return this.absent(file, required);
    }
    if (this.offline) return this.fetchFromCache(file, required);
    let lookup: FileLookup;
    try {
      lookup = await lookupFile(this.client, this.commit ?? this.revision, file);
    } catch (error) {
      if (!(error instanceof HubUnreachableError)) throw error;
      // As Python: without network, fall back to what the cache holds for this revision.
      if (this.commit === undefined && this.cache.readRef(this.revision) !== undefined) {
        this.offline = true;
        return this.fetchFromCache(file, required);
      }
      throw new UserError(
        `${error.message} to download ${file} of ${this.repoId}: check the network, or use ` +
          "the cache only with HF_HUB_OFFLINE=1, or pass a local model directory",
      );
    }
    const commit = this.commit ?? (lookup.found ? lookup.metadata.commit : lookup.commit);
    if (commit !== undefined && this.commit === undefined) {
      this.commit = commit;
      this.cache.writeRef(this.revision, commit);
    }
    if (!lookup.found) {
      if (commit !== undefined) this.cache.markAbsent(commit, file);
      return this.absent(file, required);
    }
    const { metadata } = lookup;
    if (!this.cache.has(metadata.commit, file)) {
      const blob = this.cache.blobPath(metadata.etag);
      if (!existsSync(blob)) await downloadBlob(this.client, file, metadata, blob);
      this.cache.link(metadata.commit, file, metadata.etag);
    }
    return true;
  }

  /** model.safetensors, or the sharded index and every shard it names. */
  async fetchWeights(): Promise<void> {
    if (await this.fetch(WEIGHTS, false)) return;
    if (await this.fetch(SHARDED_INDEX, false)) {
      for (const shard of this.shardNames()) await this.fetch(shard, true);
      return;
    }
    const where = this.offline ? "in the cache (offline mode)" : "in the repo";
    throw new UserError(
      `no ${WEIGHTS} nor ${SHARDED_INDEX} for ${this.repoId} at revision '${this.revision}' ` +
        `${where}: only safetensors weights can be loaded (convert pytorch_model.bin to ` +
        "safetensors with Hugging Face's transformers, or pick a revision that has them)",
    );
  }

  private shardNames(): string[] {
    const path = this.cache.pointerPath(this.resolvedCommit(), SHARDED_INDEX);
    let index: { weight_map?: Record<string, string> };
    try {
      index = JSON.parse(readFileSync(path, "utf8"));
    } catch (error) {
      throw new UserError(`${SHARDED_INDEX} of ${this.repoId} is not valid JSON: ${error}`);
    }
    if (typeof index.weight_map !== "object" || index.weight_map === null) {
      throw new UserError(`${SHARDED_INDEX} of ${this.repoId} has no weight_map`);
    }
    return [...new Set(Object.values(index.weight_map))];
  }

  private resolvedCommit(): string {
    if (this.commit === undefined) throw new Error("no file was fetched");
    return this.commit;
  }

  private fetchFromCache(file: string, required: boolean): boolean {
    const commit = this.cache.readRef(this.revision);
    if (commit === undefined) {
      throw new UserError(
        `${this.repoId} at revision '${this.revision}' is not in the cache ` +
          `${this.cache.folder} and offline mode is on (HF_HUB_OFFLINE or offline: true): ` +
          "run once with network access, or pass a local model directory",
      );
    }
    this.commit = commit;
    if (this.cache.has(commit, file)) return true;
    if (!required) return false;
    throw new UserError(
      `${file} of ${this.repoId} at revision '${this.revision}' is not in the cache ` +
        `${this.cache.folder} and offline mode is on: run once with network access`,
    );
  }

  private absent(file: string, required: boolean): false {
    if (!required) return false;
    throw new UserError(
      `${file} not found in model repository '${this.repoId}' at revision '${this.revision}'`,
    );
  }
}
