import { readFileSync } from 'node:fs';
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

/** The JSON records of a log file (lines that are not JSON, such as a process manager's own, are left out). */
export function logFileRecords(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}
