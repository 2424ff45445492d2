#!/usr/bin/env node
// The eitp command: runs the compiled CLI (built by `npm run build`, which `npm install` runs through `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('eitp: the compiled CLI is missing (dist/src/cli/main.js). Run `npm install` or `npm run build` first.');
  process.exit(1);
}
await import(entry.href);
