import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';
import { lastWords } from './reaper.js';
import { childrenOf } from './processes.js';
import { waitFor } from './wait.js';

const STOP_GRACE_MS = 30_000;
/** How long api() waits for an answer. */
const API_TIMEOUT_MS = 30_000;

export const BIN = path.resolve(import.meta.dirname, '../../packages/cli/bin/coyotes.js');

/** A real `coyotes` server process started by a test. */
export interface RunningCoyotes {
  process: ChildProcess;
  pid: number;
  httpAddr: string;
  baseUrl: string;
  pidfile: string;
  /** Every line it printed so far (stdout and stderr). */
  output(): string;
  /** Parsed JSON log lines so far. */
  logs(): Record<string, unknown>[];
  /** Resolves with master's exit code (or signal) once it and its children have exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /**
   * Sends a signal and waits for master and its children to exit; after `graceMs` (default
   * 30 s) whatever is left is SIGKILLed, so a wedged child never hangs a test file.
   */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StartOptions {
  redisAddr: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Wait until the HTTP API answers (default true). */
  waitHttp?: boolean;
  httpPort?: number;
  /** Discard what it prints (for tests whose commands print gigabytes). */
  quiet?: boolean;
  /** Reuse a pidfile (a restart of the same installation); a fresh one by default. */
  pidfile?: string;
  /** A program that execs the rest of its arguments (`node coyotes.js …`), keeping the pid. */
  launcher?: string;
}

/** Thrown when the binary refused to start because its HTTP port was taken. */
class PortTaken extends Error {}

/**
 * Spawns the binary (built) with its own pidfile and HTTP port; short leases for tests. A free
 * port can be taken by another test file between the look and the bind (master then exits 2
 * with "already in use"): a port the caller did not choose is then looked for again.
 */
export async function startCoyotes(options: StartOptions): Promise<RunningCoyotes> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options, options.httpPort ?? (await freePort()));
    } catch (error) {
      if (!(error instanceof PortTaken) || options.httpPort !== undefined || attempt >= 3) throw error;
    }
  }
}

async function startOnce(options: StartOptions, port: number): Promise<RunningCoyotes> {
  const pidfile = options.pidfile ?? path.join(mkdtempSync(path.join(tmpdir(), 'coyotes-test-')), 'coyotes.pid');
  const httpAddr = `127.0.0.1:${port}`;
  const args = [
    '-redis-host',
    options.redisAddr,
    '-http-addr',
    httpAddr,
    '-pidfile',
    pidfile,
    '-lease-timeout',
    '2',
    '-kill-grace',
    '1',
    ...(options.args ?? []),
  ];
  const command = options.launcher ? [options.launcher, process.execPath] : [process.execPath];
  const child = spawn(command[0]!, [...command.slice(1), BIN, ...args], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', options.quiet ? 'ignore' : 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // 'close': the master has exited and so has every child that inherited its stdout
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  // a file ended at its timeout shows what its server said last
  const forget = lastWords(() => `coyotes ${child.pid} on ${httpAddr}, its last output:\n${output.slice(-4000)}`);
  void exited.then(forget);
  const running: RunningCoyotes = {
    process: child,
    pid: child.pid!,
    httpAddr,
    baseUrl: `http://${httpAddr}`,
    pidfile,
    output: () => output,
    logs: () =>
      output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => {
          try {
            return JSON.parse(line) as Record<string, unknown>;
          } catch {
            return {};
          }
        }),
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = STOP_GRACE_MS) {
      // its children, known now: after master dies they are re-parented and out of reach
      const children = childrenOf(child.pid!).map((c) => c.pid);
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => {
        // a child still holding the output after the grace (e.g. waiting on a Redis the test
        // already stopped) must not hang the test file: kill what is left
        for (const pid of [child.pid!, ...children]) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone
          }
        }
      }, graceMs);
      const status = await exited;
      clearTimeout(timer);
      return status;
    },
  };
  if (options.waitHttp ?? true) {
    await Promise.race([
      waitFor('the HTTP API', async () => (await fetch(`${running.baseUrl}/health`)).status === 200, 30_000),
      exited.then((status) => {
        const message = `coyotes exited early (${JSON.stringify(status)}):\n${output}`;
        throw status.code === 2 && output.includes('is already in use') ? new PortTaken(message) : new Error(message);
      }),
    ]);
  }
  return running;
}

/** Sends a request and parses the envelope; `code` is the refusal's `X-Coyotes-Error` header (null when absent). */
export async function api(
  base: string,
  method: string,
  route: string,
  body?: Record<string, string | string[]> | FormData | string,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: { status_code: number; message: string; data: any }; code: string | null }> {
  let payload: BodyInit | undefined;
  if (body instanceof FormData || typeof body === 'string') payload = body;
  else if (body) {
    const form = new FormData();
    for (const [key, value] of Object.entries(body)) for (const item of Array.isArray(value) ? value : [value]) form.append(key, item);
    payload = form;
  }
  // a server that never answers fails the test with its route, not the whole file at its timeout
  const response = await fetch(base + route, { method, body: payload, headers, signal: AbortSignal.timeout(API_TIMEOUT_MS) }).catch(
    (error: Error) => {
      throw new Error(`${method} ${route}: ${error.name === 'TimeoutError' ? `no answer in ${API_TIMEOUT_MS / 1000} s` : error.message}`);
    },
  );
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${method} ${route}: not JSON (${response.status}): ${text.slice(0, 200)}`);
  }
  return { status: response.status, json, code: response.headers.get('x-coyotes-error') };
}
