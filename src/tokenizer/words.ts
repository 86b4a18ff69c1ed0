// BertNormalizer and BertPreTokenizer in one pass: the text is normalized code point by code point
// into a reusable buffer of UTF-16 units, each unit remembering the source range it came from, and
// cut into words on whitespace and around punctuation and CJK ideographs. No strings are built for
// ASCII text, which is nearly all of it.

import { CHINESE, CharTransform, charFlags, OTHER, PUNCTUATION, WHITESPACE } from "./unicode.js";

export interface NormalizerOptions {
  cleanText: boolean;
  handleChineseChars: boolean;
  /** null: follow `lowercase`, as Hugging Face. */
  stripAccents: boolean | null;
  lowercase: boolean;
}

const ASCII_KEEP = 0;
const ASCII_SPACE = 1;
const ASCII_PUNCT = 2;
const ASCII_DROP = 3;

export class WordBuffer {
  /** Normalized text, as UTF-16 units. */
  units = new Uint16Array(1024);
  /** For each unit, the source range [sourceStart, sourceEnd) in the original text. */
  sourceStart = new Int32Array(1024);
  sourceEnd = new Int32Array(1024);
  length = 0;
  /** Words as unit ranges; `wordAddedId` is the id of an added token matched in the raw text, else -1. */
  wordStart = new Int32Array(256);
  wordEnd = new Int32Array(256);
  wordChars = new Int32Array(256);
  wordAddedId = new Int32Array(256);
  wordCount = 0;
  private currentStart = 0;
  private currentChars = 0;

  reset(): void {
    this.length = 0;
    this.wordCount = 0;
    this.currentStart = 0;
    this.currentChars = 0;
  }

  push(unit: number, start: number, end: number): void {
    if (this.length === this.units.length) this.growUnits();
    this.units[this.length] = unit;
    this.sourceStart[this.length] = start;
    this.sourceEnd[this.length] = end;
    this.length++;
  }

  countChar(): void {
    this.currentChars++;
  }

  endWord(): void {
    if (this.length > this.currentStart)
      this.addWord(this.currentStart, this.length, this.currentChars, -1);
    this.currentStart = this.length;
    this.currentChars = 0;
  }

  /** An added token: a word of its own, outside the normalized units. */
  addAddedToken(id: number, start: number, end: number): void {
    this.endWord();
    this.push(0, start, end);
    this.addWord(this.length - 1, this.length, 1, id);
    this.currentStart = this.length;
  }

  private addWord(start: number, end: number, chars: number, addedId: number): void {
    if (this.wordCount === this.wordStart.length) this.growWords();
    this.wordStart[this.wordCount] = start;
    this.wordEnd[this.wordCount] = end;
    this.wordChars[this.wordCount] = chars;
    this.wordAddedId[this.wordCount] = addedId;
    this.wordCount++;
  }

  private growUnits(): void {
    const size = this.units.length * 2;
    this.units = grow(this.units, new Uint16Array(size));
    this.sourceStart = grow(this.sourceStart, new Int32Array(size));
    this.sourceEnd = grow(this.sourceEnd, new Int32Array(size));
  }

  private growWords(): void {
    const size = this.wordStart.length * 2;
    this.wordStart = grow(this.wordStart, new Int32Array(size));
    this.wordEnd = grow(this.wordEnd, new Int32Array(size));
    this.wordChars = grow(this.wordChars, new Int32Array(size));
    this.wordAddedId = grow(this.wordAddedId, new Int32Array(size));
  }
}

function grow<T extends Uint16Array | Int32Array>(old: T, next: T): T {
  next.set(old);
  return next;
}

export class WordSplitter {
  private readonly asciiClass = new Uint8Array(128);
  private readonly asciiMap = new Uint16Array(128);
  private readonly transform: CharTransform;

  constructor(readonly options: NormalizerOptions) {
    const strip = options.stripAccents ?? options.lowercase;
    this.transform = new CharTransform(strip, options.lowercase);
    for (let c = 0; c < 128; c++) {
      const flags = charFlags(c);
      let cls = ASCII_KEEP;
      if (options.cleanText && (c === 0 || (flags & OTHER) !== 0)) cls = ASCII_DROP;
      else if ((flags & WHITESPACE) !== 0) cls = ASCII_SPACE;
      else if ((flags & PUNCTUATION) !== 0) cls = ASCII_PUNCT;
      this.asciiClass[c] = cls;
      this.asciiMap[c] = options.lowercase && c >= 65 && c <= 90 ? c + 32 : c;
    }
  }

  /** Normalizes text[from, to) and appends its words to `out`. */
  split(text: string, from: number, to: number, out: WordBuffer): void {
    const asciiClass = this.asciiClass;
    const asciiMap = this.asciiMap;
    let i = from;
    while (i < to) {
      const c = text.charCodeAt(i);
      if (c < 128) {
        const cls = asciiClass[c];
        if (cls === ASCII_KEEP) {
          out.push(asciiMap[c], i, i + 1);
          out.countChar();
        } else if (cls === ASCII_SPACE) {
          out.endWord();
        } else if (cls === ASCII_PUNCT) {
          out.endWord();
          out.push(c, i, i + 1);
          out.countChar();
          out.endWord();
        }
        i++;
        continue;
      }
      let cp = c;
      let size = 1;
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < to) {
        const next = text.charCodeAt(i + 1);
        if (next >= 0xdc00 && next <= 0xdfff) {
          cp = ((c - 0xd800) << 10) + (next - 0xdc00) + 0x10000;
          size = 2;
        }
      }
      this.splitChar(cp, i, i + size, out);
      i += size;
    }
    out.endWord();
  }

  private splitChar(cp: number, start: number, end: number, out: WordBuffer): void {
    const flags = charFlags(cp);
    const options = this.options;
    if (options.cleanText) {
      if (cp === 0xfffd || (flags & OTHER) !== 0) return;
      if ((flags & WHITESPACE) !== 0) {
        out.endWord();
        return;
      }
    }
    const isolated = options.handleChineseChars && (flags & CHINESE) !== 0;
    if (isolated) out.endWord();
    if (this.transform.identity) {
      this.appendChar(cp, start, end, out);
    } else {
      const mapped = this.transform.apply(cp);
      for (let k = 0; k < mapped.length; k++) {
        const m = mapped.codePointAt(k) as number;
        if (m > 0xffff) k++;
        this.appendChar(m, start, end, out);
      }
    }
    if (isolated) out.endWord();
  }

  /** Places one normalized code point: whitespace ends a word, punctuation stands alone. */
  private appendChar(cp: number, start: number, end: number, out: WordBuffer): void {
    const flags = charFlags(cp);
    if ((flags & WHITESPACE) !== 0) {
      out.endWord();
      return;
    }
    const punctuation = (flags & PUNCTUATION) !== 0;
    if (punctuation) out.endWord();
    if (cp > 0xffff) {
      out.push(0xd800 + ((cp - 0x10000) >> 10), start, end);
      out.push(0xdc00 + ((cp - 0x10000) & 0x3ff), start, end);
    } else {
      out.push(cp, start, end);
    }
    out.countChar();
    if (punctuation) out.endWord();
  }
}
