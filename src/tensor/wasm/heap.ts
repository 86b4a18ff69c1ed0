// The WebAssembly memory, shared by the caller and every worker, and a bump allocator over it.
//
// Growing a shared memory gives `memory.buffer` a new SharedArrayBuffer object, while views made
// on the old one stay valid (the storage is the same). So an array is "ours" when its buffer is
// one of the buffer objects this memory has handed out, not when it is `memory.buffer`.

const PAGE_BYTES = 65536;
const MAX_PAGES = 65536;
const ALIGN = 64;

export class WasmHeap {
  readonly memory: WebAssembly.Memory;
  private top: number;
  private readonly buffers = new WeakSet<ArrayBufferLike>();

  /** `reserved` bytes at the start are left for the control block. */
  constructor(initialPages: number, reserved: number) {
    this.memory = new WebAssembly.Memory({
      initial: initialPages,
      maximum: MAX_PAGES,
      shared: true,
    });
    this.buffers.add(this.memory.buffer);
    this.top = align(reserved);
  }

  /** A fresh zero-filled block of `bytes`, 64-byte aligned; returns its byte offset. */
  allocate(bytes: number): number {
    const offset = this.top;
    const end = offset + align(bytes);
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const needed = Math.ceil((end - have) / PAGE_BYTES);
      const pages = Math.min(
        Math.max(needed, have / PAGE_BYTES / 2),
        MAX_PAGES - have / PAGE_BYTES,
      );
      if (pages < needed) {
        throw new RangeError(
          `the WebAssembly backend is out of memory (4 GiB): cannot allocate ${bytes} more bytes`,
        );
      }
      this.memory.grow(pages);
      this.buffers.add(this.memory.buffer);
    }
    this.top = end;
    return offset;
  }

  floats(offset: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, offset, length);
  }

  bytes(offset: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, offset, length);
  }

  owns(array: ArrayBufferView): boolean {
    return this.buffers.has(array.buffer);
  }
}

function align(bytes: number): number {
  return Math.ceil(bytes / ALIGN) * ALIGN;
}
