/**
 * Pull-based reading of a byte stream in exact amounts: headers are read as whole 512-byte blocks, bodies are
 * streamed in chunks without buffering a whole file. A stream that ends early is reported, never padded.
 */

/** Thrown (and translated by callers) when the stream ends inside a unit that must be complete. */
export class TruncatedError extends Error {
  constructor(
    readonly wanted: number,
    readonly got: number,
  ) {
    super(`stream ended early: expected ${wanted} more bytes, got ${got}`);
  }
}

export class ByteSource {
  readonly #it: AsyncIterator<Buffer>;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #ended = false;

  constructor(source: AsyncIterable<Buffer>) {
    this.#it = source[Symbol.asyncIterator]();
  }

  async #fill(): Promise<boolean> {
    if (this.#ended) return false;
    for (;;) {
      const r = await this.#it.next();
      if (r.done === true) {
        this.#ended = true;
        return false;
      }
      if (r.value.length === 0) continue;
      this.#chunks.push(r.value);
      this.#buffered += r.value.length;
      return true;
    }
  }

  #take(n: number): Buffer {
    // n <= this.#buffered
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= n) {
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      this.#buffered -= n;
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.#chunks[0] as Buffer;
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(k);
    }
    this.#buffered -= n;
    return out;
  }

  /** Exactly `n` bytes, or null if the stream ended cleanly before the first byte. Partial → TruncatedError. */
  async readExact(n: number): Promise<Buffer | null> {
    while (this.#buffered < n) {
      if (!(await this.#fill())) {
        if (this.#buffered === 0) return null;
        throw new TruncatedError(n, this.#buffered);
      }
    }
    return this.#take(n);
  }

  /** Stream exactly `n` bytes in chunks. Ending early → TruncatedError. */
  async *stream(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.#buffered === 0 && !(await this.#fill())) throw new TruncatedError(n, n - left);
      const k = Math.min(left, (this.#chunks[0] as Buffer).length);
      left -= k;
      yield this.#take(k);
    }
  }

  /** Skip exactly `n` bytes. */
  async skip(n: number): Promise<void> {
    for await (const _ of this.stream(n)) {
      /* discard */
    }
  }

  /** Everything left, chunk by chunk. */
  async *rest(): AsyncGenerator<Buffer> {
    for (;;) {
      if (this.#buffered === 0 && !(await this.#fill())) return;
      const c = this.#take(this.#buffered);
      yield c;
    }
  }
}
