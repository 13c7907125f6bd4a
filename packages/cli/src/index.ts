import { CoyotesError } from '@coyotes/protocol';
import { helpText, parseCommandLine } from './flags.js';
import { VERSION, runServer, serverOptions } from './server.js';

/** The `coyotes` binary: the server; answers an exit code. */
export async function main(argv: string[]): Promise<number> {
  try {
    const command = parseCommandLine(argv);
    if (command.help) {
      process.stdout.write(`${helpText()}\n`);
      return 0;
    }
    if (command.version) {
      process.stdout.write(`coyotes ${VERSION}\n`);
      return 0;
    }
    if (command.positionals.length > 0) {
      throw new CoyotesError('COY_ERR_CONFIG_UNKNOWN_FLAG', `unexpected argument "${command.positionals[0]}" (see coyotes --help)`);
    }
    const { options, warnings } = serverOptions(command, process.env);
    return await runServer(options, warnings);
  } catch (error) {
    if (error instanceof CoyotesError) {
      process.stderr.write(`coyotes: ${error.message}${error.hint ? ` (${error.hint})` : ''}\n`);
      return 2;
    }
    throw error;
  }
}

export { FLAGS, envName, layerOptions, parseCommandLine } from './flags.js';
export { serverOptions } from './server.js';
