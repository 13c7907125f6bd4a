import { Writable } from 'node:stream';

/**
 * A destination for a test's own pino logger (`pino(options, logged.stream)`) that keeps every
 * record parsed: assertions look at a record's fields, not at its wording.
 */
export function loggedRecords(): { stream: Writable; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) records.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { stream, records };
}
