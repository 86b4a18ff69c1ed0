// The result of encoding one text or text pair. Offsets and tokens are built on first use: most
// callers only need the ids, and skipping millions of small arrays is a large part of the speed.

export interface Encoding {
  ids: number[];
  tokenTypeIds: number[];
  attentionMask: number[];
  /** [start, end) in UTF-16 code units of the source text: `text.slice(start, end)`; [0, 0] for added special tokens and padding. */
  offsets: [number, number][];
  tokens: string[];
  /** 0 for the first text, 1 for the pair, null for special tokens and padding. */
  sequenceIds: (number | null)[];
  specialTokensMask: number[];
  /** The further windows when truncation cut the input (`returnOverflowing`). */
  overflowing: Encoding[];
  /**
   * Whether truncation dropped tokens of the text or the pair (they may be in `overflowing`).
   * Without special tokens, a text cut to exactly max_length is not seen as cut: the tokenizer
   * stops at max_length tokens, as Hugging Face's does.
   */
  truncated: boolean;
}

export class EncodingResult implements Encoding {
  overflowing: EncodingResult[] = [];
  truncated = false;
  private offsetsCache: [number, number][] | undefined;
  private tokensCache: string[] | undefined;

  constructor(
    public ids: number[],
    public tokenTypeIds: number[],
    public attentionMask: number[],
    public sequenceIds: (number | null)[],
    public specialTokensMask: number[],
    /** Source offsets, kept flat. */
    readonly starts: number[],
    readonly ends: number[],
    private readonly idToToken: (id: number) => string | undefined,
  ) {}

  get offsets(): [number, number][] {
    if (this.offsetsCache === undefined || this.offsetsCache.length !== this.ids.length) {
      const offsets: [number, number][] = new Array(this.ids.length);
      for (let i = 0; i < offsets.length; i++) offsets[i] = [this.starts[i], this.ends[i]];
      this.offsetsCache = offsets;
    }
    return this.offsetsCache;
  }

  get tokens(): string[] {
    if (this.tokensCache === undefined || this.tokensCache.length !== this.ids.length) {
      this.tokensCache = this.ids.map((id) => this.idToToken(id) ?? "");
    }
    return this.tokensCache;
  }

  /** Appends padding up to `length` (and in every overflowing window). */
  padTo(length: number, padId: number, padTypeId: number): void {
    for (const window of this.overflowing) window.padTo(length, padId, padTypeId);
    for (let i = this.ids.length; i < length; i++) {
      this.ids.push(padId);
      this.tokenTypeIds.push(padTypeId);
      this.attentionMask.push(0);
      this.sequenceIds.push(null);
      this.specialTokensMask.push(1);
      this.starts.push(0);
      this.ends.push(0);
    }
  }

  toJSON(): Encoding {
    return {
      ids: this.ids,
      tokenTypeIds: this.tokenTypeIds,
      attentionMask: this.attentionMask,
      offsets: this.offsets,
      tokens: this.tokens,
      sequenceIds: this.sequenceIds,
      specialTokensMask: this.specialTokensMask,
      overflowing: this.overflowing.map((window) => window.toJSON()),
      truncated: this.truncated,
    };
  }
}
