// The native backend is optional: when its addon does not load, say why once (on stderr) and let
// createBackend use the next backend. Kept apart from native-backend.ts so that importing the
// backend chooser does not import Node's modules (browser bundles).

import type { Backend } from "../backend.js";

let warned = false;

export async function tryNativeBackend(threads: number | undefined): Promise<Backend | undefined> {
  if (!globalThis.process?.versions?.node) return undefined;
  try {
    const { NativeBackend } = await import("./native-backend.js");
    return new NativeBackend({ threads });
  } catch (error) {
    if (!warned) {
      warned = true;
      const reason = error instanceof Error ? error.message : String(error);
      console.warn(`distilbert-ts: ${reason}; using another backend.`);
    }
    return undefined;
  }
}
