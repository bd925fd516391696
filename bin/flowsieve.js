#!/usr/bin/env node
// Entry point. `npm ci` builds dist/ (scripts/build.mjs, run by "prepare"): the bundled CLI starts in a third of
// the time the TypeScript sources take through tsx's loader. While someone edits the sources (any file under src/
// newer than the bundle) or when there is no bundle, the sources run instead, so a stale bundle never runs.
import { readdirSync, statSync } from 'node:fs';

const bundle = new URL('../dist/cli/main.mjs', import.meta.url);

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = new URL(entry.name + (entry.isDirectory() ? '/' : ''), dir);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function bundleIsFresh() {
  try {
    return statSync(bundle).mtimeMs >= newestMtime(new URL('../src/', import.meta.url));
  } catch {
    return false;
  }
}

let entry = bundle;
if (process.env.FLOWSIEVE_FROM_SOURCE === '1' || !bundleIsFresh()) {
  const { register } = await import('tsx/esm/api');
  register();
  entry = new URL('../src/cli/main.ts', import.meta.url);
}
const { main } = await import(entry.href);
const code = await main(process.argv);
// Let stdout drain before exiting (a pipe may still hold buffered output).
process.exitCode = code;
