#!/usr/bin/env node
// Entry point: TypeScript sources run through tsx's loader (no build step), then the CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
const code = await main(process.argv);
// Let stdout drain before exiting (a pipe may still hold buffered output).
process.exitCode = code;
