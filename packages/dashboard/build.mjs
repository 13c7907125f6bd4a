// Builds the dashboard into dist/: compiles src/*.ts for the browser (ES modules, no bundler:
// the api serves each file) and copies the HTML, CSS and icon beside them.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';

const root = new URL('.', import.meta.url);
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', new URL('tsconfig.json', root).pathname], { stdio: 'inherit' });
if (compiled.status !== 0) process.exit(compiled.status ?? 1);
mkdirSync(new URL('dist', root), { recursive: true });
for (const file of readdirSync(new URL('src', root))) {
  if (/\.(html|css|svg)$/.test(file)) cpSync(new URL(`src/${file}`, root), new URL(`dist/${file}`, root));
}
