#!/usr/bin/env node
// one bundled module (scripts/bundle-cli.mjs): a client verb loads this file and nothing else of ours
import { main } from '../dist/main.bundle.js';

// exit explicitly: under pm2 an IPC channel to pm2 stays open and would keep this process alive
// (stdout and stderr writes to files, pipes and terminals are synchronous on Linux: nothing is lost)
process.exit(await main(process.argv.slice(2)));
