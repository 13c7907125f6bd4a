// Copies non-TypeScript assets (the broker's Lua scripts) next to the compiled output.
import { cpSync } from 'node:fs';

cpSync(new URL('../packages/broker/src/lua', import.meta.url), new URL('../packages/broker/dist/lua', import.meta.url), {
  recursive: true,
});
