import { cut, formatTable } from '../table.js';
import { optionalCount, print, usageError } from './verb.js';
import type { Verb } from './verb.js';

/** Reason and payload in a list: one line each, cut (the payload may be a whole producer entry). */
const LISTED_TEXT_MAX = 60;

/** `coyotes dead-letters ls | requeue ID… | rm ID…` */
export const deadLetters: Verb = {
  name: 'dead-letters',
  usage: 'coyotes dead-letters ls [--limit n] [--offset n] | requeue ID… | rm ID…',
  summary:
    'entries that could not become tasks (and callbacks given up): list them, requeue them through the door they failed, or remove them',
  flags: { string: ['limit', 'offset'] },
  async run({ positionals, flags }, context) {
    const [action = 'ls', ...ids] = positionals;
    const client = context.client;
    if (action === 'ls') {
      if (ids.length > 0) throw usageError(this, 'ls takes no id');
      const page = await client.deadLetters({
        limit: optionalCount(this, flags, 'limit', 1),
        offset: optionalCount(this, flags, 'offset'),
      });
      const c = context.colors.stdout;
      const rows = page.items.map((letter) => [
        letter.id,
        new Date(letter.at).toISOString(),
        c.red(cut(letter.reason, LISTED_TEXT_MAX)),
        cut(letter.payload, LISTED_TEXT_MAX),
      ]);
      const more = page.count > page.items.length ? `\n(${page.items.length} of ${page.count}: --limit, --offset for more)` : '';
      const table = formatTable(
        ['ID', 'AT', 'REASON', 'PAYLOAD'].map((title) => c.bold(title)),
        rows,
      );
      print(context, page, page.items.length === 0 ? 'no dead letters' : table + more);
      return 0;
    }
    if (action !== 'requeue' && action !== 'rm') throw usageError(this, `unknown action "${action}"`);
    if (ids.length === 0) throw usageError(this, `${action} needs at least one dead-letter id`);
    const done: unknown[] = [];
    const lines: string[] = [];
    for (const id of ids) {
      if (action === 'requeue') {
        const answer = await client.requeueDeadLetter(id);
        done.push(answer);
        lines.push(`requeued ${id} ${answer.requeued === 'callback' ? '(its callback is tried again)' : '(into the prepare queue)'}`);
      } else {
        done.push(await client.removeDeadLetter(id));
        lines.push(`removed ${id}`);
      }
    }
    print(context, done, lines.join('\n'));
    return 0;
  },
};
