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
  // Top k by |contribution| in one pass (classify explains every flow: no per-flow sort of all features). Ties keep
  // the lower feature index first, as a stable sort would.
  const order: number[] = [];
  for (let i = 0; i < scratch.length; i++) {
    const a = Math.abs(scratch[i]!);
    if (a === 0 || (order.length === k && a <= Math.abs(scratch[order[k - 1]!]!))) continue;
    let j = order.length < k ? order.length : k - 1;
    while (j > 0 && Math.abs(scratch[order[j - 1]!]!) < a) j--;
    order.splice(j, 0, i);
    if (order.length > k) order.pop();
  }
  return order.map((i) => {
    const c = scratch[i]!;
    return `${features[i]}=${formatValue(x[i * nRows + r]!)} (${c >= 0 ? '+' : ''}${c.toFixed(3)})`;
  });
}
