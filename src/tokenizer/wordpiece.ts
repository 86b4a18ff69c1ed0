// The WordPiece model: each word becomes its longest vocabulary prefix, then the longest
// "##"-prefixed piece of the rest, and so on; a word with no full cover, or longer than
// max_input_chars_per_word characters, becomes the unknown token.

import { VocabTrie } from "./vocab-trie.js";
import type { WordBuffer } from "./words.js";

/** One sequence as the model produced it: ids and source offsets, before special tokens. */
export interface TokenRun {
  ids: number[];
  starts: number[];
  ends: number[];
}

export interface WordPieceOptions {
  unkTokenId: number;
  continuingSubwordPrefix: string;
  maxInputCharsPerWord: number;
}

export class WordPiece {
  private readonly trie: VocabTrie;
  /** The trie node after the continuing-subword prefix ("##"), -1 if no token has it. */
  private readonly continuationRoot: number;

  constructor(
    vocab: Map<string, number>,
    readonly options: WordPieceOptions,
  ) {
    this.trie = new VocabTrie(vocab);
    this.continuationRoot = this.trie.walk(options.continuingSubwordPrefix);
  }

  /**
   * Appends the pieces of the words in `words` to `out`, stopping after the word that brings the
   * count to `limit` (Hugging Face tokenizers 0.23's early exit when truncating).
   */
  tokenize(words: WordBuffer, out: TokenRun, limit: number): void {
    const { units, sourceStart, sourceEnd } = words;
    const trie = this.trie;
    const maxChars = this.options.maxInputCharsPerWord;
    for (let w = 0; w < words.wordCount; w++) {
      const wordStart = words.wordStart[w];
      const wordEnd = words.wordEnd[w];
      const addedId = words.wordAddedId[w];
      if (addedId >= 0) {
        pushPiece(out, addedId, sourceStart[wordStart], sourceEnd[wordStart]);
        continue;
      }
      if (words.wordChars[w] > maxChars) {
        pushPiece(out, this.options.unkTokenId, sourceStart[wordStart], sourceEnd[wordEnd - 1]);
        if (out.ids.length >= limit) return;
        continue;
      }
      const firstPiece = out.ids.length;
      let position = wordStart;
      while (position < wordEnd) {
        let node = position === wordStart ? 0 : this.continuationRoot;
        let bestId = -1;
        let bestEnd = position;
        for (let j = position; j < wordEnd && node >= 0; j++) {
          node = trie.child(node, units[j]);
          if (node >= 0) {
            const id = trie.tokenIdAt(node);
            if (id >= 0) {
              bestId = id;
              bestEnd = j + 1;
            }
          }
        }
        if (bestId < 0) {
          out.ids.length = firstPiece;
          out.starts.length = firstPiece;
          out.ends.length = firstPiece;
          pushPiece(out, this.options.unkTokenId, sourceStart[wordStart], sourceEnd[wordEnd - 1]);
          break;
        }
        pushPiece(out, bestId, sourceStart[position], sourceEnd[bestEnd - 1]);
        position = bestEnd;
      }
      if (out.ids.length >= limit) return;
    }
  }
}

function pushPiece(out: TokenRun, id: number, start: number, end: number): void {
  out.ids.push(id);
  out.starts.push(start);
  out.ends.push(end);
}
