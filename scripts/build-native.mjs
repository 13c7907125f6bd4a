// Compiles the native command spawner (packages/runner/native/spawner.c) with the system C
// compiler, at build time in the monorepo and at `npm install` of the packed package. Without one, Coyotes falls back to node:child_process and says so at start: this
// script then only prints a note (bootstrap.sh installs Debian's gcc where it can).
import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// arguments: the source and the output directory; defaults: the monorepo's (the packed npm
// package runs this same script at install with its own paths, see scripts/pack.mjs)
const [sourceArg, dirArg] = process.argv.slice(2);
const source = sourceArg ?? fileURLToPath(new URL('../packages/runner/native/spawner.c', import.meta.url));
const dir = dirArg ? `${dirArg.replace(/\/$/, '')}/` : fileURLToPath(new URL('../packages/runner/native/build/', import.meta.url));
const binary = `${dir}coyotes-spawner`;
const compiler = process.env.CC || 'cc';

if (process.platform !== 'linux') {
  console.error(`build-native: the native spawner is Linux-only; commands start through node:child_process`);
  process.exit(0);
}
mkdirSync(dir, { recursive: true });
// built beside and renamed: a running channel process's helper binary is never half-written
const partial = `${binary}.${process.pid}.tmp`;
const result = spawnSync(compiler, ['-O2', '-Wall', '-o', partial, source], { stdio: 'inherit' });
if (result.error || result.status !== 0) {
  rmSync(partial, { force: true });
  rmSync(binary, { force: true });
  const why = result.error ? `${compiler} not found` : `${compiler} failed`;
  console.error(`build-native: ${why}; commands will start through node:child_process (run scripts/bootstrap.sh to install gcc)`);
  process.exit(0);
}
renameSync(partial, binary);
