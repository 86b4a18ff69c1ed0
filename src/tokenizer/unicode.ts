// Character classes exactly as Hugging Face's Rust tokenizers define them for BERT, looked up once
// per code point and remembered in a flat table so the hot loop never runs a regular expression.

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

const otherRegex = /\p{C}/u;
const whitespaceRegex = /\p{White_Space}/u;
const punctuationRegex = /\p{P}/u;
const markRegex = /\p{Mn}/u;

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
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

function computeFlags(cp: number): number {
  // Lone surrogates are category Cs; a Rust string cannot hold them, so treating them as
  // "other" (dropped by clean_text) is the only faithful choice.
  const char = cp >= 0xd800 && cp <= 0xdfff ? "\ud800" : String.fromCodePoint(cp);
  let flags = KNOWN;
  // HF keeps tab, newline and carriage return out of the control class: they are whitespace.
  if (cp !== 9 && cp !== 10 && cp !== 13 && otherRegex.test(char)) flags |= OTHER;
  if (whitespaceRegex.test(char)) flags |= WHITESPACE;
  if (isAsciiPunctuation(cp) || punctuationRegex.test(char)) flags |= PUNCTUATION;
  if (isChinese(cp)) flags |= CHINESE;
  if (markRegex.test(char)) flags |= NONSPACING_MARK;
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
  for (const char of text.normalize("NFD")) {
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
