// Choosing a backend: `auto` takes the fastest one that loads here.

import type { Backend, BackendName } from "./backend.js";
import { tryNativeBackend } from "./native/try-native.js";
import { ReferenceBackend } from "./reference.js";
import { WasmBackend } from "./wasm/backend.js";

export type BackendChoice = BackendName | "auto";

export const BACKEND_CHOICES: readonly BackendChoice[] = ["auto", "native", "wasm", "reference"];

export interface BackendOptions {
  /** Worker threads for the backends that have them; default: the machine's cores. */
  threads?: number;
}

export async function createBackend(
  choice: BackendChoice = "auto",
  options: BackendOptions = {},
): Promise<Backend> {
  if (choice === "native" || choice === "auto") {
    const native = await tryNativeBackend(options.threads);
    if (native) return native;
    choice = "auto";
  }
  switch (choice) {
    case "auto":
      return (await tryWasmBackend(options.threads)) ?? new ReferenceBackend();
    case "wasm":
      return WasmBackend.create({ threads: options.threads });
    case "reference":
      return new ReferenceBackend();
    default:
      throw new Error(`the ${choice} backend is not built yet; use --backend reference`);
  }
}

// WebAssembly needs shared memory: a browser page that is not cross-origin isolated has none.
async function tryWasmBackend(threads: number | undefined): Promise<Backend | undefined> {
  try {
    return await WasmBackend.create({ threads });
  } catch {
    return undefined;
  }
}

export type { Activation, Backend, BackendName, MatmulOptions } from "./backend.js";
