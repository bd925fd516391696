/**
 * The pipeline-only child of bench/meters.ts (also the "no output" rows of bench/extract.ts), bundled by
 * scripts/build.mjs with the CLI's options, so it starts as `flowsieve` does: 0.10–0.11 CPU-s on a capture of no
 * packets. Run through tsx it took 0.45 CPU-s (0.38 s wall) more, in the statistics-only and the all-meters runs
 * alike, which pulled their ratio towards 1: lab500 CPU-s 1.22 / 1.71 = 0.71 through tsx, 0.80 / 1.30 = 0.62
 * bundled (bench/meters.ts, best of 3).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Bundle bench/meters.ts into `dir`/child; returns the command that runs its child mode. */
export function bundledChild(dir: string): string[] {
  const out = path.join(dir, 'child');
  execFileSync(process.execPath, ['scripts/build.mjs', '--outdir', out, '--entry', 'bench/meters.ts'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  return [process.execPath, path.join(out, 'meters.mjs'), '--child'];
}
