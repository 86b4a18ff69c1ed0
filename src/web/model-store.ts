// The worker's models: the server's (fetched on first use, through the Cache API) and the ones
// trained in the page (folders of files in memory, the same files a download gives). Pipelines
// are built once per task and model and kept.

import { loadCheckpointFrom, loadConfigFrom, loadTokenizerFrom, pipeline } from "../browser.js";
import { UserError } from "../errors.js";
import { type ModelConfig, parseConfigText } from "../io/config-format.js";
import {
  type DownloadProgress,
  filesAtUrl,
  filesInMemory,
  type ModelFiles,
} from "../io/model-files.js";
import type { Checkpoint } from "../io/safetensors-format.js";
import { decodeUtf8 } from "../io/utf8.js";
import { headOfConfig } from "../models/create.js";
import type { Task, TaskPipelines } from "../pipelines/tasks.js";
import type { Backend } from "../tensor/backend.js";
import type { Tokenizer } from "../tokenizer/tokenizer.js";
import { labelNames } from "../train/labels.js";
import type { ModelInfo } from "./protocol.js";

/** The Cache API cache the served models' files are kept in. */
export const MODEL_CACHE = "distilbert-models";

const TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "vocab.txt"];

/** A folder's files by name, as a trained model keeps them and a download zips them. */
export type FolderFiles = Record<string, Uint8Array | string>;

interface Entry {
  info: ModelInfo;
  files: ModelFiles;
  /** A trained model's files (for download); null for a served model. */
  memory: FolderFiles | null;
}

/** The parts of a model folder a training job reads. */
export interface LoadedFolder {
  config: ModelConfig;
  checkpoint: Checkpoint;
  tokenizer: Tokenizer;
  /** The folder's tokenizer files, to put beside a model trained from it. */
  tokenizerFiles: FolderFiles;
}

function describe(id: string, name: string, config: ModelConfig): ModelInfo {
  return {
    id,
    name,
    head: headOfConfig(config, `${name}/config.json`),
    architecture: config.architectures[0] ?? "BertModel",
    layers: config.numLayers,
    hiddenSize: config.hiddenSize,
    labels: labelNames(config),
  };
}

export class ModelStore {
  private readonly entries = new Map<string, Entry>();
  private readonly pipelines = new Map<string, Promise<unknown>>();
  private added = 0;

  constructor(
    readonly backend: Backend,
    private readonly onProgress: (progress: DownloadProgress) => void,
  ) {}

  /** Reads the server's list (models.json: [{name, url}]) and each model's config. */
  async addServed(manifestUrl: string): Promise<void> {
    const response = await fetch(manifestUrl);
    if (!response.ok) {
      throw new UserError(`cannot read the model list ${manifestUrl}: HTTP ${response.status}`);
    }
    const manifest = (await response.json()) as { name: string; url: string }[];
    const base = new URL(manifestUrl, globalThis.location?.href);
    for (const { name, url } of manifest) {
      const files = filesAtUrl(new URL(url, base), {
        cache: MODEL_CACHE,
        onProgress: this.onProgress,
      });
      const id = `served:${name}`;
      try {
        this.entries.set(id, {
          info: describe(id, name, await loadConfigFrom(files)),
          files,
          memory: null,
        });
      } catch (error) {
        // One model this page cannot run (another architecture) leaves the others usable.
        if (!(error instanceof UserError)) throw error;
        console.warn(`distilbert-ts: ${name} is left out: ${error.message}`);
      }
    }
  }

  /** Keeps a model trained here under a new id and says what it is. */
  addTrained(name: string, folder: FolderFiles): ModelInfo {
    return this.addInMemory("made", name, folder, true);
  }

  /** Keeps a folder the user opened from their disk. */
  addOpened(name: string, folder: FolderFiles): ModelInfo {
    if (folder["config.json"] === undefined) {
      throw new UserError(`${name} has no config.json: open a Hugging Face model folder`);
    }
    return this.addInMemory("opened", name, folder, false);
  }

  /** `madeHere`: a trained model, whose files a download gives. */
  private addInMemory(kind: string, name: string, folder: FolderFiles, madeHere: boolean) {
    this.added += 1;
    const id = `${kind}:${this.added}`;
    const contents = folder["config.json"];
    const text =
      typeof contents === "string" ? contents : decodeUtf8(contents, `${name}/config.json`);
    const config = parseConfigText(text, `${name}/config.json`);
    const entry: Entry = {
      info: describe(id, name, config),
      files: filesInMemory(folder, name),
      memory: madeHere ? folder : null,
    };
    this.entries.set(id, entry);
    return entry.info;
  }

  list(): ModelInfo[] {
    return [...this.entries.values()].map((entry) => entry.info);
  }

  private entry(id: string): Entry {
    const entry = this.entries.get(id);
    if (!entry) throw new UserError(`no model '${id}' here: pick one from the list`);
    return entry;
  }

  info(id: string): ModelInfo {
    return this.entry(id).info;
  }

  /** A trained model's files, for download. */
  folder(id: string): FolderFiles {
    const { memory, info } = this.entry(id);
    if (!memory) throw new UserError(`${info.name} was not made here: nothing to download`);
    return memory;
  }

  async load(id: string): Promise<LoadedFolder> {
    const { files } = this.entry(id);
    // Read once: for the tokenizer here, and to be copied beside a model trained from it.
    const tokenizerFiles: FolderFiles = {};
    for (const name of TOKENIZER_FILES) {
      const bytes = await files.read(name);
      if (bytes) tokenizerFiles[name] = bytes;
    }
    const [config, checkpoint, tokenizer] = await Promise.all([
      loadConfigFrom(files),
      loadCheckpointFrom(files),
      loadTokenizerFrom(filesInMemory(tokenizerFiles, files.where)),
    ]);
    return { config, checkpoint, tokenizer, tokenizerFiles };
  }

  /** The task's pipeline on the model, built on first use. */
  pipeline<T extends Task>(task: T, id: string): Promise<TaskPipelines[T]> {
    const key = `${task}|${id}`;
    let made = this.pipelines.get(key);
    if (!made) {
      made = pipeline(task, this.entry(id).files, { backend: this.backend });
      // A failed load is not kept: the next run tries again.
      made.catch(() => this.pipelines.delete(key));
      this.pipelines.set(key, made);
    }
    return made as Promise<TaskPipelines[T]>;
  }
}
