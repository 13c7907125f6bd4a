import { CoyotesError } from '@coyotes/protocol';
import { colors, colorsWanted } from './colors.js';
import { VERBS, parseVerbArgs, verbsHelp } from './commands/index.js';
import { helpText, parseCommandLine } from './flags.js';
import { checkOpenFilesLimit, openFilesFailure } from './open-files.js';
import { layeredServerOptions, serverOptions } from './server-options.js';
import { versionReport } from './version.js';

/**
 * A CoyotesError, known by its name: main runs bundled (scripts/bundle-cli.mjs) and the server
 * from the unbundled modules, so an error the server throws is of another copy of the class.
 */
const isCoyotesError = (error: unknown): error is CoyotesError =>
  error instanceof CoyotesError || (error instanceof Error && error.name === 'CoyotesError' && 'code' in error);

const report = (error: CoyotesError): void => {
  process.stderr.write(`coyotes: ${error.message}${error.hint ? ` (${error.hint})` : ''}\n`);
};

/** A client verb: exit 2 on bad usage, 1 when the API refuses or cannot be reached. */
async function runVerb(name: string, argv: string[]): Promise<number> {
  const verb = VERBS.get(name)!;
  if (argv[0] === '--help' || argv[0] === '-h') {
    process.stdout.write(`${verb.usage}\n        ${verb.summary}\n`);
    return 0;
  }
  const { args, client, json } = parseVerbArgs(verb, argv, process.env);
  try {
    return await verb.run(args, {
      client,
      json,
      stdout: (text) => process.stdout.write(text),
      stderr: (text) => process.stderr.write(text),
      colors: { stdout: colors(colorsWanted(process.stdout, process.env)), stderr: colors(colorsWanted(process.stderr, process.env)) },
    });
  } catch (error) {
    if (error instanceof CoyotesError && error.code.startsWith('COY_ERR_CLIENT_')) {
      report(error);
      return 1;
    }
    throw error;
  }
}

/** Where the verb is: first, or after the common client flags (`coyotes --json status`); -1 for the server. */
function verbPosition(argv: string[]): number {
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (VERBS.has(arg)) return i;
    if (/^--?(json|(addr|token)=.*)$/.test(arg)) continue;
    if (/^--?(addr|token)$/.test(arg)) {
      i += 1;
      continue;
    }
    return -1;
  }
  return -1;
}

/**
 * The `coyotes` binary: a client verb when the first argument names one, the server otherwise
 * (seed compatibility: `coyotes -redis-host …`). Answers an exit code.
 */
export async function main(argv: string[]): Promise<number> {
  try {
    if (argv[0] === 'help') {
      process.stdout.write(`${argv[1] === 'verbs' || VERBS.has(argv[1] ?? '') ? verbsHelp() : `${helpText()}\n\n${verbsHelp()}`}\n`);
      return 0;
    }
    const verbAt = verbPosition(argv);
    if (verbAt >= 0) return await runVerb(argv[verbAt]!, [...argv.slice(0, verbAt), ...argv.slice(verbAt + 1)]);
    const command = parseCommandLine(argv);
    if (command.help) {
      process.stdout.write(`${helpText()}\n`);
      return 0;
    }
    if (command.version) {
      process.stdout.write(`${await versionReport(layeredServerOptions(command, process.env).options)}\n`);
      return 0;
    }
    if (command.positionals.length > 0) {
      throw new CoyotesError(
        'COY_ERR_CONFIG_UNKNOWN_FLAG',
        `unknown verb or argument "${command.positionals[0]}" (verbs: ${[...VERBS.keys()].join(', ')}; see coyotes help)`,
      );
    }
    const { options, warnings, schedules } = serverOptions(command, process.env);
    checkOpenFilesLimit();
    // loaded only now: a client verb or --version must not pay for master, the api, ioredis and pino
    const { runServer } = await import('./server.js').catch((error: unknown) => {
      throw openFilesFailure(error) ?? error;
    });
    return await runServer(options, warnings, schedules);
  } catch (error) {
    if (isCoyotesError(error)) {
      report(error);
      return 2;
    }
    throw error;
  }
}

export { exitWhenWritten } from './exit.js';
