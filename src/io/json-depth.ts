// The nesting depth of JSON from clients (request bodies, input lines, job data). Code that walks a
// value recursively (counting an input's tokens, copying it to a worker) overflows the stack on a
// few thousand nested arrays, which a 10 KB body holds: every such value is checked here first,
// by a walk that uses no recursion itself.

/** More than any input or parameter of ours needs ({"inputs": [{"text": ...}]} is 3). */
export const MAX_JSON_DEPTH = 32;

/** True when `value` nests arrays or objects deeper than `limit` (a scalar is depth 0). */
export function exceedsJsonDepth(value: unknown, limit = MAX_JSON_DEPTH): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop() as [unknown, number];
    if (current === null || typeof current !== "object") continue;
    if (depth + 1 > limit) return true;
    for (const child of Object.values(current)) pending.push([child, depth + 1]);
  }
  return false;
}
