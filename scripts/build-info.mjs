// Records the git commit the build is made from in packages/cli/dist/build-info.json, read by
// `coyotes --version`: an installed package (scripts/pack.sh) has no .git to ask.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

const git = (...args) => {
  try {
    return execFileSync('git', args, { cwd: new URL('..', import.meta.url), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
};
const commit = git('rev-parse', '--short=12', 'HEAD') ?? 'unknown';
// tracked files only: build output and local data are not changes to the source
const dirty = commit !== 'unknown' && git('status', '--porcelain', '--untracked-files=no') !== '';
const info = { commit, dirty, builtAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
writeFileSync(new URL('../packages/cli/dist/build-info.json', import.meta.url), `${JSON.stringify(info)}\n`);
