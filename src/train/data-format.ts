// Reading training data: JSON lines (one object a line) or CSV (a header row, RFC 4180 quoting),
// into rows that remember their line number for error messages. No Node module: the browser
// parses the files a user picks with the same code.

import { UserError } from "../errors.js";

export interface Row {
  /** 1-based line where the record starts. */
  line: number;
  fields: Record<string, unknown>;
}

export interface DataFile {
  path: string;
  rows: Row[];
}

/** A UserError naming the file and line. */
export function rowError(file: DataFile, row: Row, message: string): UserError {
  return new UserError(`${file.path} line ${row.line}: ${message}`);
}

/** The data file of `text` (CSV when `path` ends in .csv, else JSON lines); it must have rows. */
export function parseDataFile(text: string, path: string): DataFile {
  const rows = parseDataText(text, path);
  if (rows.length === 0) {
    throw new UserError(`${path} has no examples: give a file with one example a line`);
  }
  return { path, rows };
}

/** The rows of a data file's text: CSV when `path` ends in .csv, else JSON lines. */
export function parseDataText(text: string, path: string): Row[] {
  return /\.csv$/i.test(path) ? parseCsv(text, path) : parseJsonLines(text, path);
}

function parseJsonLines(text: string, path: string): Row[] {
  const rows: Row[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new UserError(
        `${path} line ${i + 1}: not valid JSON (${(error as Error).message}); each line must be one JSON object`,
      );
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new UserError(`${path} line ${i + 1}: each line must be a JSON object`);
    }
    rows.push({ line: i + 1, fields: value as Record<string, unknown> });
  }
  return rows;
}

/** Splits CSV text into records of fields, each with the line it starts on. */
function csvRecords(text: string, path: string): { line: number; fields: string[] }[] {
  const records: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = "";
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  let fieldStarted = false;
  const endRecord = () => {
    fields.push(field);
    if (fields.length > 1 || fields[0] !== "") records.push({ line: recordLine, fields });
    fields = [];
    field = "";
    fieldStarted = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        if (c === "\n") line++;
        field += c;
      }
    } else if (c === '"' && !fieldStarted) {
      quoted = true;
      fieldStarted = true;
    } else if (c === ",") {
      fields.push(field);
      field = "";
      fieldStarted = false;
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      endRecord();
      line++;
      recordLine = line;
    } else {
      field += c;
      fieldStarted = true;
    }
  }
  if (quoted) throw new UserError(`${path} line ${recordLine}: a quoted field is never closed`);
  endRecord();
  return records;
}

function parseCsv(text: string, path: string): Row[] {
  const records = csvRecords(text.replace(/^\uFEFF/, ""), path);
  if (records.length === 0) return [];
  const [header, ...body] = records;
  return body.map(({ line, fields }) => {
    if (fields.length !== header.fields.length) {
      throw new UserError(
        `${path} line ${line}: ${fields.length} fields but the header has ${header.fields.length}`,
      );
    }
    return {
      line,
      fields: Object.fromEntries(header.fields.map((name, i) => [name, fields[i]])),
    };
  });
}
