import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RunAsUser, TaskScript } from '@coyotes/protocol';

/** An uploaded script written to disk for one execution. */
export interface ScriptFile {
  path: string;
  remove(): void;
}

/**
 * Writes a task's uploaded script to a fresh file inside the command root (readable only by the
 * user that runs it), to be passed to its interpreter and removed when the execution ends.
 */
export function writeScriptFile(script: TaskScript, commandRoot: string, runAs: RunAsUser | undefined): ScriptFile {
  const dir = path.join(commandRoot, '.coyotes-scripts');
  mkdirSync(dir, { recursive: true, mode: 0o711 });
  const extension = path
    .extname(script.name)
    .replace(/[^A-Za-z0-9.]/g, '')
    .slice(0, 16);
  const file = path.join(dir, `${randomBytes(12).toString('hex')}${extension}`);
  writeFileSync(file, Buffer.from(script.base64, 'base64'), { mode: 0o700, flag: 'wx' });
  if (runAs) chownSync(file, runAs.uid, runAs.gid);
  return { path: file, remove: () => rmSync(file, { force: true }) };
}
