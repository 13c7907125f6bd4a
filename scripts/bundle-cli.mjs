// Bundles the `coyotes` binary's entry (packages/cli/dist/main.js, after tsc) into one file,
// packages/cli/dist/main.bundle.js, which bin/coyotes.js imports: a client verb or --version
// then loads one module instead of some fifty (the CLI's, @coyotes/protocol's, yargs-parser's,
// shlex's), each of which Node's ES module loader resolves and reads on its own.
//
// The server stays out of the bundle: main imports ./server.js only when it runs the server, and
// that import is left as it is, so the server (and every child process it forks) runs the
// unbundled modules and finds its Lua scripts, dashboard and native spawner beside them. The
// bundle lives in the same dist/ directory as the modules it was made of, so what it reads beside
// itself (../package.json, build-info.json) is where it was.
import path from 'node:path';
import { build } from 'esbuild';

const dist = path.resolve(import.meta.dirname, '../packages/cli/dist');

await build({
  entryPoints: [path.join(dist, 'main.js')],
  outfile: path.join(dist, 'main.bundle.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['./server.js'],
  logLevel: 'warning',
});
