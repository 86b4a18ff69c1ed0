// Ids back to text: Hugging Face's WordPiece decoder (a space before each word, "##" pieces glued to
// the previous one, then its per-token clean-up of spaces before punctuation) and, on request,
// transformers' clean_up_tokenization over the whole text.

export interface DecoderOptions {
  prefix: string;
  /** The decoder's own per-token clean-up (tokenizer.json `decoder.cleanup`). */
  cleanup: boolean;
}

function cleanUp(text: string): string {
  return text
    .replaceAll(" .", ".")
    .replaceAll(" ?", "?")
    .replaceAll(" !", "!")
    .replaceAll(" ,", ",")
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" do not", " don't")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}

export function decodeTokens(tokens: string[], options: DecoderOptions): string {
  let text = "";
  for (let i = 0; i < tokens.length; i++) {
    let token = tokens[i];
    if (i > 0)
      token = token.startsWith(options.prefix) ? token.slice(options.prefix.length) : ` ${token}`;
    text += options.cleanup ? cleanUp(token) : token;
  }
  return text;
}

/** transformers' `clean_up_tokenization` (the `clean_up_tokenization_spaces` option). */
export function cleanUpTokenizationSpaces(text: string): string {
  return text
    .replaceAll(" .", ".")
    .replaceAll(" ?", "?")
    .replaceAll(" !", "!")
    .replaceAll(" ,", ",")
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}
