// Bundles the TypeScript sources into dist/ with esbuild (installed with tsx), so the CLI starts without compiling
// ~150 modules on every run: `flowsieve --version` 0.66 s → 0.25 s wall, and each `--threads` worker likewise.
// Plain JavaScript on purpose: npm runs it from "prepare" during `npm ci`, before anything else is set up.
// bin/flowsieve.js uses the bundle only while it is newer than every file under src/.
// Usage: node scripts/build.mjs [--outdir DIR] [--entry FILE]
//   DIR defaults to dist (tests build elsewhere); --entry bundles FILE alone, as DIR/<its name>.mjs, with the same
//   options (the benchmarks' pipeline child, bench/child.ts, so it starts as the CLI does).
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const at = process.argv.indexOf('--outdir');
const outdir = resolve(root, at > 0 ? process.argv[at + 1] : 'dist');
const entry = process.argv.indexOf('--entry');
rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints:
    entry > 0
      ? [process.argv[entry + 1]]
      : {
          'cli/main': 'src/cli/main.ts',
          'parallel/worker': 'src/parallel/worker.ts',
          'output/encoder-worker': 'src/output/encoder-worker.ts',
        },
  outdir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // The small pure-JavaScript dependencies every command loads (commander, zod, cli-progress, fzstd) are bundled:
  // from node_modules as ESM, zod alone added ~70 ms to every start (its ~50 module files resolved and compiled
  // one by one); bundled and tree-shaken (`import * as z`), ~15 ms. `flowsieve --version`, best of 7: 210 → 150 ms.
  // The big or wasm-backed ones, loaded only by the commands that need them, stay in node_modules (parquet-wasm
  // loads its .wasm file relative to itself).
  external: ['apache-arrow', 'parquet-wasm', 'vega', 'vega-lite'],
  // commander and cli-progress are CommonJS and require() Node's built-ins: give the ESM bundle a require.
  banner: {
    js: "import { createRequire as flowsieveCreateRequire } from 'node:module'; const require = flowsieveCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
