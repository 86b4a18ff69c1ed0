// Added tokens ([CLS], [MASK], ...) are found in the raw text before normalization, leftmost
// first and longest at a position, as Hugging Face's AddedVocabulary; the text between them goes
// through the normal pipeline.

export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
}

export class AddedTokenMatcher {
  /** Candidates by their first UTF-16 unit, longest first. */
  private readonly byFirstUnit = new Map<number, AddedToken[]>();
  private readonly firstUnits = new Uint8Array(65536);

  constructor(tokens: AddedToken[]) {
    for (const token of tokens) {
      if (token.content.length === 0) continue;
      const first = token.content.charCodeAt(0);
      const list = this.byFirstUnit.get(first) ?? [];
      list.push(token);
      this.byFirstUnit.set(first, list);
      this.firstUnits[first] = 1;
    }
    for (const list of this.byFirstUnit.values()) {
      list.sort((a, b) => b.content.length - a.content.length);
    }
  }

  /**
   * Calls `onText(from, to)` for each stretch of ordinary text and `onToken(token, start, end)`
   * for each added token, in order.
   */
  split(
    text: string,
    onText: (from: number, to: number) => void,
    onToken: (token: AddedToken, start: number, end: number) => void,
  ): void {
    let textStart = 0;
    const firstUnits = this.firstUnits;
    for (let i = 0; i < text.length; i++) {
      if (firstUnits[text.charCodeAt(i)] === 0) continue;
      const candidates = this.byFirstUnit.get(text.charCodeAt(i)) as AddedToken[];
      const match = candidates.find((token) => text.startsWith(token.content, i));
      if (!match) continue;
      if (i > textStart) onText(textStart, i);
      onToken(match, i, i + match.content.length);
      i += match.content.length - 1;
      textStart = i + 1;
    }
    if (textStart < text.length) onText(textStart, text.length);
  }
}
