// Packs Coyotes as one npm package an operator installs without the monorepo:
//   node scripts/pack.mjs [--out DIR]     (after `pnpm run build`; `pnpm run package` does both)
// writes DIR/coyotes-<version>.tgz (DIR defaults to the repository root), for which
// `npm install -g ./coyotes-<version>.tgz` gives one `coyotes` binary, server and client.
//
// Layout of the package: each workspace package's built dist/ (JavaScript, declarations, the
// broker's Lua scripts, the dashboard's assets, the build's commit) under lib/<name>/dist/, as in
// the monorepo, so every path a module finds beside itself at run time (import.meta.url) still
// holds; `@coyotes/<name>` imports are rewritten to relative paths; the external dependencies
// of all of them are declared in the one package.json, and npm installs them. No workspace link.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(import.meta.dirname, '..');
const PACKAGES = ['protocol', 'broker', 'history', 'runner', 'api', 'master', 'cli', 'dashboard'];
const { values } = parseArgs({ options: { out: { type: 'string', default: ROOT } } });
const out = path.resolve(values.out);

const manifest = (name) => JSON.parse(readFileSync(path.join(ROOT, 'packages', name, 'package.json'), 'utf8'));
const cli = manifest('cli');
const stage = path.join(mkdtempSync(path.join(tmpdir(), 'coyotes-pack-')), 'coyotes');

// --- the external dependencies, one range each ----------------------------------------------
const dependencies = {};
for (const name of PACKAGES) {
  for (const [dep, range] of Object.entries(manifest(name).dependencies ?? {})) {
    if (dep.startsWith('@coyotes/')) continue;
    if (dependencies[dep] !== undefined && dependencies[dep] !== range) {
      throw new Error(`pack: ${dep} is wanted as ${dependencies[dep]} and as ${range}: make the packages agree`);
    }
    dependencies[dep] = range;
  }
}

// --- the built files ------------------------------------------------------------------------
for (const name of PACKAGES) {
  const dist = path.join(ROOT, 'packages', name, 'dist');
  if (!existsSync(dist)) throw new Error(`pack: ${dist} is missing: run pnpm run build first`);
  cpSync(dist, path.join(stage, 'lib', name, 'dist'), {
    recursive: true,
    filter: (file) => !/\.(map|tsbuildinfo)$/.test(file),
  });
  // modules read their own package.json (the version) and need "type": "module"
  const { version } = manifest(name);
  writeFileSync(
    path.join(stage, 'lib', name, 'package.json'),
    `${JSON.stringify({ name: `@coyotes/${name}`, version, private: true, type: 'module' }, null, 2)}\n`,
  );
}
if (!existsSync(path.join(stage, 'lib/cli/dist/build-info.json')))
  throw new Error('pack: the build recorded no commit (scripts/build-info.mjs)');

/** Where `@coyotes/<name>[/<sub>]` points, as a file of the package (per that package's "exports"). */
function target(specifier) {
  const [, name, sub] = /^@coyotes\/([a-z-]+)(\/[\w./-]+)?$/.exec(specifier) ?? [];
  const entry = manifest(name).exports?.[sub ? `.${sub}` : '.'];
  if (!entry) throw new Error(`pack: cannot resolve ${specifier}`);
  return path.join(stage, 'lib', name, typeof entry === 'string' ? entry : entry.default);
}

/** Rewrites `from '@coyotes/x'`, `import('@coyotes/x')` and `import '@coyotes/x'` to relative paths. */
function rewrite(file) {
  const text = readFileSync(file, 'utf8');
  const rewritten = text.replace(/((?:from|import)\s*\(?\s*)(['"])(@coyotes\/[^'"]+)\2/g, (_all, lead, quote, specifier) => {
    const relative = path.relative(path.dirname(file), target(specifier));
    return `${lead}${quote}${relative.startsWith('.') ? relative : `./${relative}`}${quote}`;
  });
  if (rewritten !== text) writeFileSync(file, rewritten);
}
const walk = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? walk(full) : [full];
  });
for (const file of walk(path.join(stage, 'lib'))) if (/\.(js|d\.ts)$/.test(file)) rewrite(file);
const leftover = walk(path.join(stage, 'lib')).filter(
  (file) => /\.(js|d\.ts)$/.test(file) && /(from|import)\s*\(?\s*['"]@coyotes\//.test(readFileSync(file, 'utf8')),
);
if (leftover.length > 0) throw new Error(`pack: @coyotes imports left in ${leftover.join(', ')}`);

// --- the binary and the manifest ------------------------------------------------------------
mkdirSync(path.join(stage, 'bin'));
const bin = readFileSync(path.join(ROOT, 'packages/cli/bin/coyotes.js'), 'utf8').replace(
  "'../dist/main.bundle.js'",
  "'../lib/cli/dist/main.bundle.js'",
);
if (!bin.includes("'../lib/cli/dist/main.bundle.js'")) {
  throw new Error('pack: packages/cli/bin/coyotes.js no longer imports ../dist/main.bundle.js');
}
writeFileSync(path.join(stage, 'bin/coyotes.js'), bin, { mode: 0o755 });
cpSync(path.join(ROOT, 'README.md'), path.join(stage, 'README.md'));
// the native command spawner is compiled where the package is installed (by the system C
// compiler, nothing downloaded): its source and the build script go in, no binary
const native = path.join(stage, 'lib', 'runner', 'native');
mkdirSync(native, { recursive: true });
cpSync(path.join(ROOT, 'packages/runner/native/spawner.c'), path.join(native, 'spawner.c'));
cpSync(path.join(ROOT, 'scripts/build-native.mjs'), path.join(native, 'build-native.mjs'));
const root = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const pkg = {
  name: 'coyotes',
  version: cli.version,
  description: root.description,
  type: 'module',
  engines: root.engines,
  bin: { coyotes: './bin/coyotes.js' },
  // the same calls as a typed library: import { CoyotesClient } from 'coyotes'
  exports: { '.': { types: './lib/cli/dist/index.d.ts', default: './lib/cli/dist/index.js' } },
  files: ['bin', 'lib', 'README.md'],
  scripts: { install: 'node lib/runner/native/build-native.mjs lib/runner/native/spawner.c lib/runner/native/build' },
  dependencies: Object.fromEntries(Object.entries(dependencies).sort(([a], [b]) => a.localeCompare(b))),
};
writeFileSync(path.join(stage, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);

mkdirSync(out, { recursive: true });
const [packed] = JSON.parse(
  execFileSync('npm', ['pack', '--json', '--pack-destination', out], {
    cwd: stage,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }),
);
rmSync(path.dirname(stage), { recursive: true, force: true });
process.stdout.write(`${path.join(out, packed.filename)}\n`);
