// The lines of standard input for the commands that read one input a line (predict, tokenize,
// decode): numbered from 1, CR LF or LF, each decoded as strict UTF-8, so that every input line
// gets exactly one output line and a bad one is reported by its number, never dropped.

export type StdinLine = { number: number; text: string } | { number: number; error: string };

const decoder = new TextDecoder("utf-8", { fatal: true });

function decodeLine(bytes: Buffer, number: number): StdinLine {
  const end =
    bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.length - 1 : bytes.length;
  try {
    const text = decoder.decode(bytes.subarray(0, end));
    if (text.trim() === "") return { number, error: `line ${number} is blank: give an input` };
    return { number, text };
  } catch {
    return { number, error: `line ${number} is not valid UTF-8: convert the input to UTF-8` };
  }
}

export async function* stdinLines(
  input: AsyncIterable<Buffer> = process.stdin,
): AsyncGenerator<StdinLine> {
  let pending: Buffer = Buffer.alloc(0);
  let number = 0;
  for await (const chunk of input) {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let start = 0;
    for (let at = pending.indexOf(0x0a); at >= 0; at = pending.indexOf(0x0a, start)) {
      yield decodeLine(pending.subarray(start, at), ++number);
      start = at + 1;
    }
    pending = pending.subarray(start);
  }
  if (pending.length > 0) yield decodeLine(pending, ++number);
}

/** The output line for an input line that failed. */
export function errorLine(message: string, number: number): string {
  return JSON.stringify({ error: message, line: number });
}
