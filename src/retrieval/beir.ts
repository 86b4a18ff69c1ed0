// Reading a retrieval test set in BEIR's format: queries as JSON lines {"_id", "text"}, a corpus
// as JSON lines {"_id", "title", "text"} (the title may be missing or empty), and qrels as a TSV
// file with the header `query-id<TAB>corpus-id<TAB>score`, one judgment a line (graded relevance,
// an integer; 0 = judged not relevant). Any fault names the file and line.

import { UserError } from "../errors.js";
import { readTextFile } from "../io/text-file.js";
import { parseDataFile, type Row } from "../train/data-format.js";
import type { Qrels } from "./metrics.js";

export interface BeirDocument {
  id: string;
  /** What BEIR embeds and reranks: `(title + " " + text).trim()`. */
  text: string;
}

export interface BeirSet {
  /** Query id -> text, in file order. */
  queries: Map<string, string>;
  /** The corpus, in file order. */
  documents: BeirDocument[];
  qrels: Qrels;
}

export interface BeirPaths {
  queries: string;
  corpus: string;
  qrels: string;
}

function stringField(path: string, row: Row, name: string): string {
  const value = row.fields[name];
  if (typeof value !== "string") {
    throw new UserError(
      `${path} line ${row.line}: "${name}" must be a string, got ${JSON.stringify(value) ?? "nothing"}`,
    );
  }
  return value;
}

/** The `_id` of a row, refused when missing, empty or already seen (`lines` maps ids to lines). */
function uniqueId(path: string, row: Row, lines: Map<string, number>): string {
  const id = stringField(path, row, "_id");
  if (id === "") throw new UserError(`${path} line ${row.line}: "_id" is empty`);
  const earlier = lines.get(id);
  if (earlier !== undefined) {
    throw new UserError(`${path} line ${row.line}: "_id" ${id} is also on line ${earlier}`);
  }
  lines.set(id, row.line);
  return id;
}

function readQueries(path: string): Map<string, string> {
  const lines = new Map<string, number>();
  const queries = new Map<string, string>();
  for (const row of parseDataFile(readTextFile(path), path).rows) {
    queries.set(uniqueId(path, row, lines), stringField(path, row, "text"));
  }
  return queries;
}

function readCorpus(path: string): BeirDocument[] {
  const lines = new Map<string, number>();
  return parseDataFile(readTextFile(path), path).rows.map((row) => {
    const id = uniqueId(path, row, lines);
    const text = stringField(path, row, "text");
    const title = row.fields.title == null ? "" : stringField(path, row, "title");
    return { id, text: `${title} ${text}`.trim() };
  });
}

function readQrels(
  paths: BeirPaths,
  queryIds: ReadonlySet<string>,
  documentIds: ReadonlySet<string>,
): Qrels {
  const path = paths.qrels;
  const qrels = new Map<string, Map<string, number>>();
  const lines = readTextFile(path).split("\n");
  let header = true;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, "");
    if (line.trim() === "") continue;
    const where = `${path} line ${i + 1}`;
    const fields = line.split("\t");
    if (header) {
      // BEIR skips the first line; refuse a file that starts with a judgment instead of losing it.
      if (fields.length !== 3 || /^-?\d+$/.test(fields[2].trim())) {
        throw new UserError(
          `${where}: the first line must be the header query-id<TAB>corpus-id<TAB>score`,
        );
      }
      header = false;
      continue;
    }
    if (fields.length !== 3) {
      throw new UserError(
        `${where}: ${fields.length} tab-separated fields; a judgment is query-id<TAB>corpus-id<TAB>score`,
      );
    }
    const [query, document, score] = fields.map((field) => field.trim());
    if (!queryIds.has(query)) {
      throw new UserError(`${where}: query ${query} is not in ${paths.queries}`);
    }
    if (!documentIds.has(document)) {
      throw new UserError(`${where}: document ${document} is not in ${paths.corpus}`);
    }
    if (!/^-?\d+$/.test(score)) {
      throw new UserError(
        `${where}: the score must be an integer (graded relevance), got '${score}'`,
      );
    }
    const judgments = qrels.get(query) ?? new Map<string, number>();
    if (judgments.has(document)) {
      throw new UserError(`${where}: query ${query} and document ${document} are judged twice`);
    }
    judgments.set(document, Number(score));
    qrels.set(query, judgments);
  }
  if (qrels.size === 0) {
    throw new UserError(`${path} has no judgments: give a header line, then one judgment a line`);
  }
  return qrels;
}

/** Reads and cross-checks the three files of a BEIR test set. */
export function readBeirSet(paths: BeirPaths): BeirSet {
  const queries = readQueries(paths.queries);
  const documents = readCorpus(paths.corpus);
  const qrels = readQrels(
    paths,
    new Set(queries.keys()),
    new Set(documents.map((document) => document.id)),
  );
  return { queries, documents, qrels };
}
