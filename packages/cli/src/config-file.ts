import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import { CoyotesError, isCoyotesError, scheduleFrom } from '@coyotes/protocol';
import type { ScheduleDefinition } from '@coyotes/protocol';

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

/**
 * Takes the `schedules` list out of a config file's settings: each entry has the fields of
 * `POST /schedules`; master writes them at start (cron expression and time zone are checked there).
 */
export function takeConfigSchedules(file: Record<string, unknown>): ScheduleDefinition[] {
  const { schedules } = file;
  delete file.schedules;
  if (schedules === undefined || schedules === null) return [];
  if (!Array.isArray(schedules)) throw new CoyotesError('COY_ERR_CONFIG_INVALID', 'config file: schedules must be a list of schedules');
  const names = new Set<string>();
  return schedules.map((entry: unknown, i) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw new CoyotesError('COY_ERR_CONFIG_INVALID', `config file: schedules[${i}] must be a mapping of schedule fields`);
    }
    try {
      const schedule = scheduleFrom(entry as Record<string, unknown>);
      if (names.has(schedule.name)) throw new CoyotesError('COY_ERR_SCHEDULE_INVALID', `name ${schedule.name} is given twice`);
      names.add(schedule.name);
      return schedule;
    } catch (error) {
      if (!isCoyotesError(error)) throw error;
      throw new CoyotesError('COY_ERR_CONFIG_INVALID', `config file: schedules[${i}]: ${error.message}`);
    }
  });
}
