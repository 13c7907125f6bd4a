#!/usr/bin/env node
// one bundled module (scripts/bundle-cli.mjs): a client verb loads this file and nothing else of ours
import { exitWhenWritten, main } from '../dist/main.bundle.js';

// exit explicitly (under pm2 an IPC channel to pm2 stays open and would keep this process alive),
// but only once stdout and stderr took everything: a pipe's reader may not have emptied it yet
await exitWhenWritten(await main(process.argv.slice(2)));
