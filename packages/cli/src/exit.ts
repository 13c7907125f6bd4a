/**
 * Ends the process with `code` once stdout and stderr have handed everything written to them to
 * their readers. Exiting at once would cut the output: a write to a pipe takes what the pipe has
 * room for (64 KiB on Linux) and leaves the rest in Node's buffer until the reader takes more, and
 * process.exit drops that buffer (`coyotes tasks --json | jq` read 65536 bytes). The exit itself
 * stays explicit: under pm2 an IPC channel to pm2 stays open and would keep the process alive.
 */
export async function exitWhenWritten(code: number): Promise<never> {
  await Promise.all([written(process.stdout), written(process.stderr)]);
  process.exit(code);
}

/** Resolves when what was written to `stream` is out, or can never be (the reader is gone: EPIPE). */
function written(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    stream.once('error', () => resolve());
    // callbacks run in write order: this one runs once everything written before it is out
    stream.write('', () => resolve());
  });
}
