import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import { CoyotesError } from '@coyotes/protocol';

// loaded when a YAML file is read: every start of the binary (client verbs too) would pay for it
const parseYaml = (text: string): unknown => (createRequire(import.meta.url)('yaml') as typeof Yaml).parse(text);

/** Reads a JSON or YAML settings file keyed by flag name. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CoyotesError(
      'COY_ERR_CONFIG_INVALID',
      `cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  let doc: unknown;
  try {
    doc = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new CoyotesError(
      'COY_ERR_CONFIG_INVALID',
      `config file ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message.split('\n')[0]}`,
    );
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new CoyotesError('COY_ERR_CONFIG_INVALID', `config file ${path} must hold a mapping of settings`);
  return doc as Record<string, unknown>;
}
