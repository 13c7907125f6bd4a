import {
  chmodSync,
  chownSync,
  closeSync,
  constants,
  fchownSync,
  lstatSync,
  mkdtempSync,
  openSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import type { RunAsUser, TaskScript } from '@coyotes/protocol';

/** An uploaded script written to disk for one execution. */
export interface ScriptFile {
  path: string;
  remove(): void;
}

/** Names of the per-execution directories, `<command-root>/.coyotes-script-XXXXXX`. */
export const SCRIPT_DIR_PREFIX = '.coyotes-script-';

const { O_CREAT, O_EXCL, O_NOFOLLOW, O_WRONLY } = constants;
/** The sticky bit: in such a directory only an entry's owner may rename or remove it. */
const S_ISVTX = 0o1000;

/**
 * Writes a task's uploaded script to a file no other local user can replace, to be passed to its
 * interpreter and removed when the execution ends.
 *
 * Each execution gets a directory of its own, created here with a fresh unpredictable name
 * (mkdtemp: it never adopts one that exists), owned by Coyotes' user and closed to everyone else;
 * with `-run-as` its group becomes that user's and it gets the group's search bit, so the
 * command can reach its file and still nobody can add, rename or replace an entry in it. The file
 * is created with O_EXCL|O_NOFOLLOW, mode 0500, owned by the user that runs it. Anything that
 * does not check out throws, and the execution fails with the reason (a spawn-error): a script
 * is never run from a place another user could have touched.
 */
export function writeScriptFile(script: TaskScript, commandRoot: string, runAs: RunAsUser | undefined): ScriptFile {
  checkCommandRoot(commandRoot);
  const dir = mkdtempSync(path.join(commandRoot, SCRIPT_DIR_PREFIX));
  const extension = path
    .extname(script.name)
    .replace(/[^A-Za-z0-9.]/g, '')
    .slice(0, 16);
  const file = path.join(dir, `script${extension}`);
  // recursive is safe: only Coyotes' own user can write in the directory. Never throws: it runs
  // when the execution has ended, and a leftover file harms nothing
  const remove = (): void => {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // left behind
    }
  };
  try {
    if (runAs) {
      chownSync(dir, process.geteuid?.() ?? 0, runAs.gid);
      chmodSync(dir, 0o710);
    }
    checkPrivate(dir, runAs);
    const fd = openSync(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o500);
    try {
      const bytes = Buffer.from(script.base64, 'base64');
      for (let written = 0; written < bytes.length;) written += writeSync(fd, bytes, written);
      if (runAs) fchownSync(fd, runAs.uid, runAs.gid);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    remove();
    throw new Error(`uploaded script not written: ${(error as Error).message}`, { cause: error });
  }
  return { path: file, remove };
}

/**
 * A directory others may write in without the sticky bit (or that another user owns) lets them
 * rename the script's directory away and put their own in its place: refuse to write there.
 */
function checkCommandRoot(commandRoot: string): void {
  const stats = statSync(commandRoot);
  const uid = process.geteuid?.() ?? stats.uid;
  if (stats.uid !== uid && stats.uid !== 0) {
    throw new Error(`uploaded script not written: the command root ${commandRoot} belongs to another user (uid ${stats.uid})`);
  }
  if ((stats.mode & 0o022) !== 0 && (stats.mode & S_ISVTX) === 0) {
    throw new Error(
      `uploaded script not written: the command root ${commandRoot} is writable by other users without the sticky bit (mode ${(stats.mode & 0o7777).toString(8)})`,
    );
  }
}

/** The script's directory must be a real directory, ours, closed to others (group search only with run-as). */
function checkPrivate(dir: string, runAs: RunAsUser | undefined): void {
  const stats = lstatSync(dir);
  const uid = process.geteuid?.() ?? stats.uid;
  const allowed = runAs ? 0o710 : 0o700;
  if (!stats.isDirectory() || stats.isSymbolicLink()) throw new Error(`${dir} is not a directory`);
  if (stats.uid !== uid) throw new Error(`${dir} belongs to uid ${stats.uid}, not ${uid}`);
  if ((stats.mode & 0o777 & ~allowed) !== 0) throw new Error(`${dir} has mode ${(stats.mode & 0o777).toString(8)}, open to others`);
  if (runAs && stats.gid !== runAs.gid) throw new Error(`${dir} has group ${stats.gid}, not ${runAs.gid}`);
}
