import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { constants } from 'node:os';
import { getSystemErrorName } from 'node:util';
import type { CommandOptions, CommandOutput, SpawnedCommand, Spawner } from './spawner.js';

/** Frame types of packages/runner/native/spawner.c (its header documents the protocol). */
const SPAWN = 0x53; // 'S'
const CLOSE = 0x43; // 'C'
const SPAWNED = 0x50; // 'P'
const OUTPUT = 0x4f; // 'O'
const END = 0x45; // 'E'
const EXIT = 0x58; // 'X'

const HEADER_BYTES = 9; // u32 length, u8 type, u32 id
const SPAWN_FIXED_BYTES = 20; // argc, envc, ngroups, uid, gid
const EMPTY = Buffer.alloc(0);

const signalNames = new Map<number, NodeJS.Signals>(
  Object.entries(constants.signals).map(([name, number]) => [number, name as NodeJS.Signals]),
);

/** One output pipe of a command; `destroy` asks the helper to stop reading it. */
class OutputPipe extends EventEmitter implements CommandOutput {
  constructor(private readonly onDestroy: () => void) {
    super();
  }

  destroy(): void {
    this.onDestroy();
  }
}

/** A command started by the helper, as the executor sees it. */
class NativeCommand extends EventEmitter implements SpawnedCommand {
  pid: number | undefined;
  readonly stdout: OutputPipe;
  readonly stderr: OutputPipe;
  streamsOpen = 2;
  exited = false;
  /** Told with its exit: whether processes of its group outlived it. */
  groupLeft: boolean | undefined;
  /** Its pipes were closed on request: late output is dropped. */
  discarded = false;

  constructor(
    readonly argv0: string,
    closePipes: () => void,
  ) {
    super();
    this.stdout = new OutputPipe(closePipes);
    this.stderr = new OutputPipe(closePipes);
  }
}

/** What the helper's death leaves: every process of its session is SIGKILLed. */
export type SpawnerDeathHandler = (reason: string) => void;

/**
 * Starts commands through `coyotes-spawner`, a small C process (one per channel process) that
 * posix_spawns them: starting a command no longer forks this Node process. The helper leads its
 * own session, so every command's process group lies in it; if the helper dies, everything left
 * in that session is SIGKILLed here and `onDeath` is told (the channel process then exits like a
 * crashed one, and master requeues its tasks).
 */
export class NativeSpawner implements Spawner {
  readonly kind = 'native';
  private readonly helper: ChildProcess;
  private readonly commands = new Map<number, NativeCommand>();
  private nextId = 1;
  private rest: Buffer = EMPTY;
  private closing = false;
  private dead: string | null = null;
  /** Requests of this tick, written together (one write for the spawns a claim brought). */
  private outgoing: Buffer[] = [];
  /** The encoded environment of each env object seen (most tasks share the filtered base). */
  private envCache = new WeakMap<NodeJS.ProcessEnv, { strings: string[]; bytes: number; valid: boolean }>();

  constructor(
    binary: string,
    private readonly onDeath: SpawnerDeathHandler = () => undefined,
  ) {
    // detached: the helper leads its own session (a Ctrl-C to our group is not for it)
    this.helper = spawn(binary, [String(process.pid)], { detached: true, stdio: ['pipe', 'pipe', 'inherit'] });
    this.helper.stdout!.on('data', (chunk: Buffer) => this.receive(chunk));
    this.helper.stdin!.on('error', () => undefined);
    this.helper.stdout!.on('error', () => undefined);
    this.helper.once('error', (error) => this.died(`cannot run ${binary}: ${error.message}`));
    this.helper.once('exit', (code, signal) => this.died(`exited with ${signal ?? `code ${code}`}`));
  }

  /** The helper's pid (tests kill it). */
  get pid(): number | undefined {
    return this.helper.pid;
  }

  spawn(argv: string[], options: CommandOptions): SpawnedCommand {
    const id = this.nextId;
    this.nextId = this.nextId === 0xffffffff ? 1 : this.nextId + 1;
    const command = new NativeCommand(argv[0] ?? '', () => this.closePipes(id));
    const fail = (code: string, message: string): SpawnedCommand => {
      process.nextTick(() => command.emit('error', Object.assign(new Error(message), { code })));
      return command;
    };
    if (this.dead !== null) return fail('EPIPE', `spawn ${command.argv0} EPIPE (the command spawner ${this.dead})`);
    const frame = this.encodeSpawn(id, argv, options);
    if (!frame) return fail('ERR_INVALID_ARG_VALUE', `spawn ${command.argv0}: arguments, cwd and environment must not contain null bytes`);
    this.commands.set(id, command);
    this.send(frame);
    return command;
  }

  close(): void {
    this.closing = true;
    this.flush();
    this.helper.stdin!.end();
  }

  private send(frame: Buffer): void {
    if (this.outgoing.push(frame) === 1) process.nextTick(() => this.flush());
  }

  private flush(): void {
    if (this.outgoing.length === 0) return;
    const frames = this.outgoing;
    this.outgoing = [];
    this.helper.stdin!.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames));
  }

  private closePipes(id: number): void {
    const command = this.commands.get(id);
    if (!command || command.discarded) return;
    command.discarded = true;
    const frame = Buffer.allocUnsafe(HEADER_BYTES);
    frame.writeUInt32LE(HEADER_BYTES - 4, 0);
    frame[4] = CLOSE;
    frame.writeUInt32LE(id, 5);
    this.send(frame);
    if (command.exited) this.commands.delete(id);
  }

  private encodeSpawn(id: number, argv: string[], options: CommandOptions): Buffer | null {
    const env = this.encodedEnv(options.env);
    const head = [options.cwd ?? '', ...argv];
    let bytes = HEADER_BYTES + SPAWN_FIXED_BYTES + env.bytes;
    for (const s of head) {
      if (s.includes('\0')) return null;
      bytes += Buffer.byteLength(s) + 1;
    }
    if (!env.valid) return null;
    const frame = Buffer.allocUnsafe(bytes);
    frame.writeUInt32LE(bytes - 4, 0);
    frame[4] = SPAWN;
    frame.writeUInt32LE(id, 5);
    frame.writeUInt32LE(argv.length, 9);
    frame.writeUInt32LE(env.strings.length, 13);
    frame.writeUInt32LE(0, 17); // supplementary groups: dropped, as node:child_process does
    frame.writeInt32LE(options.uid ?? -1, 21);
    frame.writeInt32LE(options.gid ?? -1, 25);
    let offset = HEADER_BYTES + SPAWN_FIXED_BYTES;
    for (const s of [...head, ...env.strings]) {
      offset += frame.write(s, offset);
      frame[offset++] = 0;
    }
    return frame;
  }

  private encodedEnv(env: NodeJS.ProcessEnv): { strings: string[]; bytes: number; valid: boolean } {
    let encoded = this.envCache.get(env);
    if (!encoded) {
      const strings: string[] = [];
      let bytes = 0;
      for (const [name, value] of Object.entries(env)) {
        if (value === undefined) continue;
        const entry = `${name}=${value}`;
        strings.push(entry);
        bytes += Buffer.byteLength(entry) + 1;
      }
      encoded = { strings, bytes, valid: strings.every((entry) => !entry.includes('\0')) };
      this.envCache.set(env, encoded);
    }
    return encoded;
  }

  private receive(chunk: Buffer): void {
    const data = this.rest.length > 0 ? Buffer.concat([this.rest, chunk]) : chunk;
    let offset = 0;
    while (data.length - offset >= 4) {
      const length = data.readUInt32LE(offset);
      if (data.length - offset - 4 < length) break;
      this.dispatch(data[offset + 4]!, data.readUInt32LE(offset + 5), data.subarray(offset + HEADER_BYTES, offset + 4 + length));
      offset += 4 + length;
    }
    this.rest = offset < data.length ? data.subarray(offset) : EMPTY;
  }

  private dispatch(type: number, id: number, body: Buffer): void {
    const command = this.commands.get(id);
    if (!command) return;
    switch (type) {
      case SPAWNED: {
        const pid = body.readInt32LE(0);
        if (pid > 0) {
          command.pid = pid;
          command.emit('spawn');
          return;
        }
        this.commands.delete(id);
        const code = getSystemErrorName(pid);
        command.emit('error', Object.assign(new Error(`spawn ${command.argv0} ${code}`), { code, errno: pid, path: command.argv0 }));
        command.emit('close', -pid, null);
        return;
      }
      case OUTPUT:
        if (!command.discarded) (body[0] === 1 ? command.stdout : command.stderr).emit('data', body.subarray(1));
        return;
      case END:
        command.streamsOpen -= 1;
        if (!command.discarded) (body[0] === 1 ? command.stdout : command.stderr).emit('end');
        if (command.streamsOpen > 0 || !command.exited) return;
        this.commands.delete(id);
        if (!command.discarded) command.emit('close');
        return;
      case EXIT: {
        const code = body.readInt32LE(0);
        const signal = body.readInt32LE(4);
        command.exited = true;
        command.groupLeft = body.length >= 12 ? body.readInt32LE(8) !== 0 : undefined;
        const over = command.streamsOpen === 0 || command.discarded;
        if (over) this.commands.delete(id);
        command.emit('exit', signal === 0 ? code : null, signal === 0 ? null : (signalNames.get(signal) ?? null));
        // as node:child_process: 'close' once it exited and both pipes ended
        if (command.streamsOpen === 0 && !command.discarded) command.emit('close');
        return;
      }
    }
  }

  private died(reason: string): void {
    if (this.dead !== null) return;
    this.dead = reason;
    if (this.closing && this.commands.size === 0) return;
    // its commands are orphans now: none may run on unsupervised
    if (this.helper.pid !== undefined) killSession(this.helper.pid);
    for (const command of this.commands.values()) {
      if (command.pid === undefined) continue;
      try {
        process.kill(-command.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    this.onDeath(reason);
  }
}

/** SIGKILLs every process of a session (the helper led it; the commands' groups lie in it). */
function killSession(session: number): void {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return;
  }
  for (const entry of entries) {
    const first = entry.charCodeAt(0);
    if (first < 48 || first > 57) continue; // not a pid directory
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      // after "pid (comm) ": state ppid pgrp session
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ', 4)[3]) === session) process.kill(Number(entry), 'SIGKILL');
    } catch {
      // ended meanwhile
    }
  }
}
