// Strict UTF-8 decoding of the text files a user gives (data, corpora, model folders' JSON and
// vocab), shared with the browser bundle: a file in another encoding (Latin-1, Windows-1252) is
// refused where it is read, naming the first bad byte, instead of becoming U+FFFD characters that
// train, index and come back in results.

import { UserError } from "../errors.js";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The text of `bytes`; a UserError naming `source`, the line and the byte offset if not UTF-8. */
export function decodeUtf8(bytes: Uint8Array, source: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    const offset = firstInvalidByte(bytes);
    let line = 1;
    for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
    throw new UserError(
      `${source} line ${line} (byte ${offset}) is not UTF-8 text: convert the file to UTF-8 (for example iconv -f latin1 -t utf-8)`,
    );
  }
}

/**
 * The offset of the first byte that does not start or continue a well-formed UTF-8 sequence
 * (the Unicode Standard's table 3-7: no overlong forms, no surrogates, nothing past U+10FFFF).
 */
function firstInvalidByte(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i];
    if (lead < 0x80) {
      i++;
      continue;
    }
    // The sequence's length and the range of its second byte; later bytes are 0x80..0xbf.
    let length = 0;
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) length = 2;
    else if (lead === 0xe0) [length, low] = [3, 0xa0];
    else if (lead === 0xed) [length, high] = [3, 0x9f];
    else if (lead >= 0xe1 && lead <= 0xef) length = 3;
    else if (lead === 0xf0) [length, low] = [4, 0x90];
    else if (lead >= 0xf1 && lead <= 0xf3) length = 4;
    else if (lead === 0xf4) [length, high] = [4, 0x8f];
    else return i;
    for (let k = 1; k < length; k++) {
      const byte = bytes[i + k];
      const [min, max] = k === 1 ? [low, high] : [0x80, 0xbf];
      if (byte === undefined || byte < min || byte > max) return i;
    }
    i += length;
  }
  return bytes.length;
}
