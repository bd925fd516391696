/**
 * Reasons for a score: the features with the largest tree-path contributions (Saabas), as
 * `feature=value (+contribution)` strings — the same text on the command line, in files and in the library.
 */

import type { Forest } from './tree.ts';
import { contributions } from './tree.ts';

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'missing';
  return Number.isInteger(v) ? String(v) : Number(v.toPrecision(4)).toString();
}

/** Top `k` reasons of row `r` of the column-major matrix `x` (nRows rows); `scratch` has one slot per feature. */
export function topReasons(
  forest: Forest,
  features: readonly string[],
  x: Float32Array,
  nRows: number,
  r: number,
  scratch: Float64Array,
  k = 3,
): string[] {
  contributions(forest, x, nRows, r, scratch);
  const order = Array.from(scratch.keys())
    .filter((i) => scratch[i] !== 0)
    .sort((a, b) => Math.abs(scratch[b]!) - Math.abs(scratch[a]!))
    .slice(0, k);
  return order.map((i) => {
    const c = scratch[i]!;
    return `${features[i]}=${formatValue(x[i * nRows + r]!)} (${c >= 0 ? '+' : ''}${c.toFixed(3)})`;
  });
}
