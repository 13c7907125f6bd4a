/** Keeps the last `limit` bytes of a stream: memory stays flat however much a command prints. */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    if (this.limit === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - this.chunks[0]!.length >= this.limit) this.size -= this.chunks.shift()!.length;
  }

  toString(): string {
    const all = Buffer.concat(this.chunks, this.size);
    // a cut may fall inside a multi-byte character: the replacement char marks it
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }
}

const MAX_LINE_BYTES = 64 * 1024;
const NEWLINE = 0x0a;

/**
 * Splits a byte stream into lines; a line longer than 64 KiB is emitted in pieces. Works on
 * Buffers so that a command printing gigabytes without newlines never makes large strings
 * (which V8 keeps in large-object space until a major GC, inflating the process).
 */
export class LineSplitter {
  private partial: Buffer[] = [];
  private partialBytes = 0;

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer): void {
    let from = 0;
    for (let newline = chunk.indexOf(NEWLINE, from); newline !== -1; newline = chunk.indexOf(NEWLINE, from)) {
      const emitted = this.take(chunk.subarray(from, newline));
      // a line of exactly the limit was already emitted whole
      if (this.partialBytes > 0 || !emitted) this.flush();
      from = newline + 1;
    }
    if (from < chunk.length) this.take(chunk.subarray(from));
  }

  end(): void {
    if (this.partialBytes > 0) this.flush();
  }

  /** Adds bytes of the current line, emitting full pieces as they reach the limit; answers whether it emitted. */
  private take(bytes: Buffer): boolean {
    let emitted = false;
    while (this.partialBytes + bytes.length >= MAX_LINE_BYTES) {
      const room = MAX_LINE_BYTES - this.partialBytes;
      this.partial.push(bytes.subarray(0, room));
      this.partialBytes = MAX_LINE_BYTES;
      this.flush();
      emitted = true;
      bytes = bytes.subarray(room);
    }
    if (bytes.length > 0) {
      // copy: the chunk is otherwise kept whole for a few bytes
      this.partial.push(Buffer.from(bytes));
      this.partialBytes += bytes.length;
    }
    return emitted;
  }

  private flush(): void {
    const line =
      this.partial.length === 1 ? this.partial[0]!.toString('utf8') : Buffer.concat(this.partial, this.partialBytes).toString('utf8');
    this.partial = [];
    this.partialBytes = 0;
    this.onLine(line);
  }
}
