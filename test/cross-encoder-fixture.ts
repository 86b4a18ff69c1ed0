// A small cross-encoder for the text-ranking tests: the feature-extraction fixture's encoder with
// a new one-label head (CrossEncoder's layout: a sequence classifier with num_labels 1), written
// to a temporary folder.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBackend } from "../src/tensor/index.js";
import { prepareModel } from "../src/train/model-setup.js";

const ENCODER_FIXTURE = "test/fixtures/pipelines/models/feature-extraction-random";

/** Writes the cross-encoder into a new temporary folder and returns the folder. */
export async function makeCrossEncoder(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "cross-encoder-"));
  const backend = await createBackend("reference");
  // "regression" gives the one-label head; a seeded head makes the scores differ by text.
  prepareModel(ENCODER_FIXTURE, "regression", null, backend, 7).writeFolder(dir);
  return dir;
}
