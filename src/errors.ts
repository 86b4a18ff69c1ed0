/**
 * A failure caused by the caller's input or environment (a malformed file, a missing tensor, a
 * bad option), as opposed to a bug. The message says what was wrong and what to do; the CLI
 * prints it as one line without a stack trace.
 */
export class UserError extends Error {
  override name = "UserError";
}
