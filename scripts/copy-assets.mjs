// Copies non-TypeScript assets (the broker's Lua scripts) next to the compiled output, replacing
// what was there: a renamed script must not linger in dist with a stale key count.
import { cpSync, rmSync } from 'node:fs';

const lua = new URL('../packages/broker/dist/lua', import.meta.url);
rmSync(lua, { recursive: true, force: true });
cpSync(new URL('../packages/broker/src/lua', import.meta.url), lua, { recursive: true });
