// Character classes exactly as Hugging Face's Rust tokenizers define them for BERT, looked up once
// per code point and remembered in a flat table so the hot loop never searches the range lists.

import {
  NFD_UNCHANGED,
  NONSPACING_MARK_RANGES,
  OTHER_RANGES,
  PUNCTUATION_RANGES,
} from "./unicode-tables.js";

/** Unicode general category C (Cc, Cf, Cn, Co, Cs): `clean_text` drops these, as HF's `is_control`. */
export const OTHER = 1;
/** Rust's `char::is_whitespace` (the White_Space property). */
export const WHITESPACE = 2;
/** HF's BERT punctuation: ASCII punctuation (symbols like `$` and `^` included) or category P. */
export const PUNCTUATION = 4;
/** The CJK ideograph blocks that `handle_chinese_chars` isolates. */
export const CHINESE = 8;
/** Category Mn, what `strip_accents` removes after NFD. */
export const NONSPACING_MARK = 16;
const KNOWN = 128;

const whitespaceRegex = /\p{White_Space}/u;

/** Sorted [start, end] pairs, flattened, from the base-36 range lists. */
function parseRanges(text: string): Int32Array {
  const bounds: number[] = [];
  for (const range of text.split(" ")) {
    const [start, end = start] = range.split("-");
    bounds.push(Number.parseInt(start, 36), Number.parseInt(end, 36));
  }
  return Int32Array.from(bounds);
}

const otherRanges = parseRanges(OTHER_RANGES);
const punctuationRanges = parseRanges(PUNCTUATION_RANGES);
const markRanges = parseRanges(NONSPACING_MARK_RANGES);
const nfdUnchanged = parseRanges(NFD_UNCHANGED);

function inRanges(ranges: Int32Array, cp: number): boolean {
  let low = 0;
  let high = ranges.length / 2 - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (cp < ranges[2 * middle]) high = middle - 1;
    else if (cp > ranges[2 * middle + 1]) low = middle + 1;
    else return true;
  }
  return false;
}

const flagTable = new Uint8Array(0x110000);

function isAsciiPunctuation(cp: number): boolean {
  return (
    (cp >= 33 && cp <= 47) ||
    (cp >= 58 && cp <= 64) ||
    (cp >= 91 && cp <= 96) ||
    (cp >= 123 && cp <= 126)
  );
}

function isChinese(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    // Hugging Face starts this block at 0x2B920 (Python's BERT says 0x2B820); we follow HF.
    (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

function isOther(cp: number): boolean {
  // HF keeps tab, newline and carriage return out of the control class: they are whitespace.
  if (cp < 0x80) return (cp < 32 && cp !== 9 && cp !== 10 && cp !== 13) || cp === 127;
  // Lone surrogates are category Cs; a Rust string cannot hold them, so dropping them with the
  // other controls is the only faithful choice.
  return (cp >= 0xd800 && cp <= 0xdfff) || inRanges(otherRanges, cp);
}

function computeFlags(cp: number): number {
  let flags = KNOWN;
  if (isOther(cp)) flags |= OTHER;
  if (!(cp >= 0xd800 && cp <= 0xdfff) && whitespaceRegex.test(String.fromCodePoint(cp)))
    flags |= WHITESPACE;
  if (cp < 0x80 ? isAsciiPunctuation(cp) : inRanges(punctuationRanges, cp)) flags |= PUNCTUATION;
  if (isChinese(cp)) flags |= CHINESE;
  if (cp >= 0x80 && inRanges(markRanges, cp)) flags |= NONSPACING_MARK;
  return flags;
}

/** The class bits of a code point (any of the constants above). */
export function charFlags(cp: number): number {
  let flags = flagTable[cp];
  if (flags === 0) {
    flags = computeFlags(cp);
    flagTable[cp] = flags;
  }
  return flags;
}

/** Rust's per-character `to_lowercase` (no context rules such as the final sigma). */
function lowercaseEachChar(text: string): string {
  let out = "";
  for (const char of text) out += char.toLowerCase();
  return out;
}

/** NFD then drop every nonspacing mark, as BertNormalizer's strip_accents. */
function stripAccents(text: string): string {
  let out = "";
  const decomposed = inRanges(nfdUnchanged, text.codePointAt(0) as number)
    ? text
    : text.normalize("NFD");
  for (const char of decomposed) {
    if ((charFlags(char.codePointAt(0) as number) & NONSPACING_MARK) === 0) out += char;
  }
  return out;
}

/** Maps a non-ASCII code point through strip_accents and lowercase, remembering the answers. */
export class CharTransform {
  private readonly cache = new Map<number, string>();

  constructor(
    private readonly strip: boolean,
    private readonly lowercase: boolean,
  ) {}

  get identity(): boolean {
    return !this.strip && !this.lowercase;
  }

  apply(cp: number): string {
    let out = this.cache.get(cp);
    if (out === undefined) {
      out = cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : String.fromCodePoint(cp);
      if (this.strip) out = stripAccents(out);
      if (this.lowercase) out = lowercaseEachChar(out);
      this.cache.set(cp, out);
    }
    return out;
  }
}
