// The backends every kernel and model test runs with: the reference, and each fast backend that
// loads here (WebAssembly always; native when its addon is built) at 1 and 2 threads. Created once
// per process and reused.

import type { Backend } from "../src/tensor/backend.js";
import { tryNativeBackend } from "../src/tensor/native/try-native.js";
import { ReferenceBackend } from "../src/tensor/reference.js";
import { WasmBackend } from "../src/tensor/wasm/backend.js";

export interface NamedBackend {
  label: string;
  backend: Backend;
}

let cached: Promise<NamedBackend[]> | undefined;

/** The fast backends (not the reference), each at 1 and 2 threads. */
export function fastBackends(): Promise<NamedBackend[]> {
  cached ??= (async () => {
    const list: NamedBackend[] = [];
    for (const threads of [1, 2]) {
      list.push({ label: `wasm/${threads}`, backend: await WasmBackend.create({ threads }) });
      const native = await tryNativeBackend(threads);
      if (native) list.push({ label: `native/${threads}`, backend: native });
    }
    return list;
  })();
  return cached;
}

/** The reference backend followed by every fast backend. */
export async function allBackends(): Promise<NamedBackend[]> {
  return [{ label: "reference", backend: new ReferenceBackend() }, ...(await fastBackends())];
}
