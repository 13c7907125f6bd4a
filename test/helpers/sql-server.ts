import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

/** A real SQL server of the test's own, on a free loopback port, with a user that has a password. */
export interface TestSqlServer {
  dialect: 'mysql' | 'postgres';
  port: number;
  /** `-history-url` for its database, with the right password. */
  url: string;
  /** The same URL with a wrong password. */
  wrongPasswordUrl: string;
  /** Stops the server (its data stays) and starts it again on the same port. */
  down(): Promise<void>;
  up(): Promise<void>;
  /** Stops it for good and removes its data. */
  stop(): Promise<void>;
}

export const SQL_USER = 'coyotes';
export const SQL_PASSWORD = 'coyotes-secret';
export const SQL_DATABASE = 'coyotes_history';

/** Runs a tool to its end; rejects with its output when it fails. */
export function runTool(file: string, args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // a tool that reads nothing may close its input first
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${file} ${args.join(' ')} exited ${code}: ${output.slice(-800)}`)),
    );
  });
}

/** Waits for a long-running server process to print `ready` (on stdout or stderr). */
export function launchUntil(file: string, args: string[], ready: RegExp): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const look = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) resolve(child);
    };
    child.stdout!.on('data', look);
    child.stderr!.on('data', look);
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}: ${output.slice(-800)}`)));
  });
}
