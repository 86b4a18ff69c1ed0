// The Hugging Face Hub cache layout, the same as Python's huggingface_hub, so a model downloaded
// by either is reused by the other without network:
//   <cache>/models--ORG--NAME/blobs/<etag>                file contents, named by their ETag
//   <cache>/models--ORG--NAME/snapshots/<commit>/<file>   relative symlink to ../../blobs/<etag>
//   <cache>/models--ORG--NAME/refs/<revision>             the commit a branch or tag resolved to
//   <cache>/models--ORG--NAME/.no_exist/<commit>/<file>   empty marker: no such file at that commit

import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, relative } from "node:path";
import { writeFileAtomic } from "./atomic.js";

const COMMIT_HASH = /^[0-9a-f]{40}$/;

export function isCommitHash(revision: string): boolean {
  return COMMIT_HASH.test(revision);
}

/** Python's default: `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`. */
export function defaultCacheDir(): string {
  const env = process.env;
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  const hfHome =
    env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "huggingface");
  return join(hfHome, "hub");
}

export class RepoCache {
  readonly folder: string;

  constructor(cacheDir: string, repoId: string) {
    this.folder = join(cacheDir, `models--${repoId.replaceAll("/", "--")}`);
  }

  snapshotDir(commit: string): string {
    return join(this.folder, "snapshots", commit);
  }

  pointerPath(commit: string, file: string): string {
    return join(this.snapshotDir(commit), file);
  }

  blobPath(etag: string): string {
    return join(this.folder, "blobs", etag);
  }

  /** The commit a branch or tag last resolved to, or undefined when never resolved. */
  readRef(revision: string): string | undefined {
    if (isCommitHash(revision)) return revision;
    const path = join(this.folder, "refs", revision);
    if (!existsSync(path)) return undefined;
    const commit = readFileSync(path, "utf8").trim();
    return isCommitHash(commit) ? commit : undefined;
  }

  writeRef(revision: string, commit: string): void {
    if (revision === commit || this.readRef(revision) === commit) return;
    const path = join(this.folder, "refs", revision);
    mkdirSync(dirname(path), { recursive: true });
    writeFileAtomic(path, commit);
  }

  /** Whether the snapshot holds the file (a symlink whose blob exists). */
  has(commit: string, file: string): boolean {
    return existsSync(this.pointerPath(commit, file));
  }

  isKnownAbsent(commit: string, file: string): boolean {
    return existsSync(join(this.folder, ".no_exist", commit, file));
  }

  markAbsent(commit: string, file: string): void {
    const path = join(this.folder, ".no_exist", commit, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileAtomic(path, "");
  }

  /** Points snapshots/<commit>/<file> at blobs/<etag> with a relative symlink, as Python does. */
  link(commit: string, file: string, etag: string): void {
    const pointer = this.pointerPath(commit, file);
    const blob = this.blobPath(etag);
    mkdirSync(dirname(pointer), { recursive: true });
    rmSync(pointer, { force: true });
    try {
      symlinkSync(relative(dirname(pointer), blob), pointer);
    } catch {
      // Windows without the symlink privilege: Python falls back to a copy as well.
      copyFileSync(blob, pointer);
    }
  }
}
