/**
 * Flattening rows for tabular outputs: a column with a group is `row[group][key]` in a row and `${group}_${key}`
 * in CSV/Parquet. JSONL keeps rows nested, as the meters wrote them.
 */
import { type ColumnSpec, flatName, getColumn } from '../features/meter.ts';
import { statsVector } from '../features/record.ts';
import { STATS_INDEX } from '../features/stats.ts';

/** A function reading one column of a row; statistics come straight from the row's vector. */
export type Accessor = (row: Record<string, unknown>) => unknown;

export function columnAccessor(c: ColumnSpec): Accessor {
  if (c.group) {
    const g = c.group;
    const k = c.key;
    // A dotted group ('tls.cert') is nested (row.tls.cert), as setColumn writes it; its path is split once here,
    // not on every read as getColumn does.
    if (g.includes('.')) {
      const path = g.split('.');
      return (row) => lookupGroup(row, path)?.[k];
    }
    return (row) => {
      const o = row[g] as Record<string, unknown> | undefined | null;
      return o == null ? undefined : o[k];
    };
  }
  const i = STATS_INDEX.get(c.key);
  const k = c.key;
  if (i === undefined) return (row) => row[k];
  return (row) => {
    const v = statsVector(row);
    if (!v) return row[k];
    const x = v[i]!;
    return Number.isNaN(x) ? null : x;
  };
}

export function columnValue(row: Record<string, unknown>, c: ColumnSpec): unknown {
  return getColumn(row, c);
}

/** Flat name → value for every column. */
export function flattenRow(row: Record<string, unknown>, columns: readonly ColumnSpec[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of columns) out[flatName(c)] = columnValue(row, c);
  return out;
}

/** Columns in order with duplicates (same flat name) removed, first wins. */
export function uniqueColumns(columns: readonly ColumnSpec[]): ColumnSpec[] {
  const seen = new Set<string>();
  const out: ColumnSpec[] = [];
  for (const c of columns) {
    const n = flatName(c);
    if (seen.has(n)) continue;
    seen.add(n);
    out.push(c);
  }
  return out;
}

/** row.tls.cert for path ['tls', 'cert'] as getColumn walks it; undefined when a level is not an object. */
export function lookupGroup(
  row: Record<string, unknown>,
  path: readonly string[],
): Record<string, unknown> | undefined {
  let g: unknown = row;
  for (let p = 0; p < path.length; p++) {
    if (g === null || typeof g !== 'object') return undefined;
    g = (g as Record<string, unknown>)[path[p]!];
  }
  return g === null || typeof g !== 'object' ? undefined : (g as Record<string, unknown>);
}
