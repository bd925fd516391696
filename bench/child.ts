/**
 * The pipeline-only child of bench/meters.ts (also the "no output" rows of bench/extract.ts), bundled by esbuild the
 * way scripts/build.mjs bundles the CLI, so it starts as `flowsieve` does. Run through tsx it started in 0.38 s
 * wall / 0.45 CPU-s (a 1,480-packet capture, either mode) instead of ~0.13 s: a constant added to the statistics-only
 * and the all-meters figures alike, which pulled their ratio towards 1 (lab500 CPU-s: 1.22 / 1.71 = 0.71 with it,
 * 0.61 without).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Bundle bench/meters.ts into `dir` (once per bench run); returns the command prefix of its child mode. */
export function bundledChild(dir: string): string[] {
  const out = path.join(dir, 'meters-child.mjs');
  const script = `
    const { build } = await import('esbuild');
    await build({
      absWorkingDir: ${JSON.stringify(ROOT)},
      entryPoints: ['bench/meters.ts'],
      outfile: ${JSON.stringify(out)},
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      external: ['apache-arrow', 'parquet-wasm', 'vega', 'vega-lite', 'esbuild'],
      banner: { js: "import { createRequire as r } from 'node:module'; const require = r(import.meta.url);" },
      logLevel: 'warning',
    });`;
  execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, stdio: 'inherit' });
  return [process.execPath, out, '--child'];
}
