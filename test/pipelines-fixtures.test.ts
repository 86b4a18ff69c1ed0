// Every case Hugging Face's pipelines produced (test/fixtures/pipelines/pipelines.cases.json):
// same keys, same strings, scores within 1e-4, either order where two scores differ by less.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { UserError } from "../src/errors.js";
import { type Pipeline, pipeline, type Task } from "../src/pipelines/index.js";

interface Case {
  task: Task;
  model?: string;
  inputs: unknown;
  options: Record<string, unknown>;
  output?: unknown;
  error?: string;
}

const FIXTURES = "test/fixtures/pipelines";
const TOLERANCE = 1e-4;
const cases = (
  JSON.parse(readFileSync(join(FIXTURES, "pipelines.cases.json"), "utf8")) as { cases: Case[] }
).cases;

function modelDir(name: string): string {
  return name === "bert-mini-sotu" ? "models/bert-mini-sotu" : join(FIXTURES, "models", name);
}

// The one case without a model (an input too long) is a text-classification case.
const DEFAULT_MODEL: Partial<Record<Task, string>> = {
  "text-classification": "text-classification-random",
};

const loaded = new Map<string, Promise<Pipeline>>();
function pipelineFor(task: Task, model: string): Promise<Pipeline> {
  const key = `${task} ${model}`;
  if (!loaded.has(key)) loaded.set(key, pipeline(task, modelDir(model)));
  return loaded.get(key) as Promise<Pipeline>;
}

function scoreOf(value: unknown): number | undefined {
  if (value !== null && typeof value === "object" && "score" in value)
    return (value as { score: number }).score;
  return undefined;
}

function matches(actual: unknown, expected: unknown, path: string): string | null {
  if (typeof expected === "number") {
    if (typeof actual !== "number")
      return `${path}: expected a number, got ${JSON.stringify(actual)}`;
    return Math.abs(actual - expected) <= TOLERANCE ? null : `${path}: ${actual} vs ${expected}`;
  }
  if (typeof expected === "string" || typeof expected === "boolean" || expected === null) {
    return actual === expected
      ? null
      : `${path}: ${JSON.stringify(actual)} vs ${JSON.stringify(expected)}`;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      return `${path}: expected ${expected.length} items, got ${JSON.stringify(actual)?.slice(0, 200)}`;
    }
    return matchList(actual, expected, path);
  }
  const expectedObject = expected as Record<string, unknown>;
  if (actual === null || typeof actual !== "object" || Array.isArray(actual)) {
    return `${path}: expected an object, got ${JSON.stringify(actual)?.slice(0, 200)}`;
  }
  const actualObject = actual as Record<string, unknown>;
  const keys = Object.keys(expectedObject).sort();
  if (JSON.stringify(Object.keys(actualObject).sort()) !== JSON.stringify(keys)) {
    return `${path}: keys ${Object.keys(actualObject)} vs ${keys}`;
  }
  if (Array.isArray(expectedObject.labels) && Array.isArray(expectedObject.scores)) {
    // Zero-shot: labels and scores are parallel lists, ranked together.
    const pairs = (o: Record<string, unknown>) =>
      (o.labels as string[]).map((label, i) => ({ label, score: (o.scores as number[])[i] }));
    const rest = matches(actualObject.sequence, expectedObject.sequence, `${path}.sequence`);
    return rest ?? matches(pairs(actualObject), pairs(expectedObject), `${path}.labels`);
  }
  for (const key of keys) {
    const problem = matches(actualObject[key], expectedObject[key], `${path}.${key}`);
    if (problem) return problem;
  }
  return null;
}

/** In order, except that items whose expected scores are within the tolerance may swap. */
function matchList(actual: unknown[], expected: unknown[], path: string): string | null {
  const used = new Set<number>();
  for (let i = 0; i < expected.length; i++) {
    const score = scoreOf(expected[i]);
    let problem: string | null = matches(actual[i], expected[i], `${path}[${i}]`);
    if (problem === null && !used.has(i)) {
      used.add(i);
      continue;
    }
    if (score === undefined) return problem;
    const swap = actual.findIndex((item, j) => {
      const other = scoreOf(expected[j]);
      return (
        !used.has(j) &&
        other !== undefined &&
        Math.abs(other - score) < TOLERANCE &&
        matches(item, expected[i], path) === null
      );
    });
    if (swap < 0) return problem ?? `${path}[${i}]: matched twice`;
    used.add(swap);
    problem = null;
  }
  return null;
}

for (const [n, item] of cases.entries()) {
  const model = item.model ?? DEFAULT_MODEL[item.task];
  const name = `${n} ${item.task} ${model} ${JSON.stringify(item.options)} ${JSON.stringify(item.inputs).slice(0, 50)}`;
  test(name, async () => {
    assert.ok(model, "the case names no model");
    const pipe = (await pipelineFor(item.task, model)) as unknown as (
      inputs: unknown,
      options: unknown,
    ) => Promise<unknown>;
    if (item.error !== undefined) {
      await assert.rejects(pipe(item.inputs, item.options), UserError);
      return;
    }
    const output = await pipe(item.inputs, item.options);
    const problem = matches(output, item.output, "output");
    assert.equal(problem, null, problem ?? "");
  });
}
