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

/** Splits a byte stream into lines; a line longer than 64 KiB is emitted in pieces. */
export class LineSplitter {
  private partial = '';

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer): void {
    const lines = (this.partial + chunk.toString('utf8')).split('\n');
    this.partial = lines.pop()!;
    for (const line of lines) this.onLine(line);
    while (this.partial.length > MAX_LINE_BYTES) {
      this.onLine(this.partial.slice(0, MAX_LINE_BYTES));
      this.partial = this.partial.slice(MAX_LINE_BYTES);
    }
  }

  end(): void {
    if (this.partial !== '') this.onLine(this.partial);
    this.partial = '';
  }
}
