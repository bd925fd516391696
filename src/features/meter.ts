/**
 * The meter contract (NFStream's plugin idea, made allocation-free): a meter owns typed-array state indexed by
 * the flow table's slot, and has exactly three hooks.
 *
 * - `onInit(slot, pkt)`: a new flow took `slot` (slots are reused: reset everything); `pkt` is its first packet,
 *   which `onUpdate` also receives right after.
 * - `onUpdate(slot, pkt, dir)`: every packet of the flow, `dir` 0 = src2dst (forward, the flow's initiator),
 *   1 = dst2src. Must not allocate in the common case; `pkt` and its buffer are valid only during the call.
 * - `onExpire(slot, row)`: the flow ended; write this meter's columns into `row`.
 *
 * Columns: each meter lists its columns (name, type, unit, definition) statically; docs/features.md is generated
 * from these lists. A column with a `group` is nested in JSONL (`row.tls.ja3`) and flat elsewhere (`tls_ja3`).
 */
import type { PacketView } from '../decode/packet.ts';

export type ColumnType = 'int' | 'float' | 'string' | 'bool' | 'int_list' | 'float_list' | 'string_list';

export interface ColumnSpec {
  /** Key inside the group (or top-level name when no group). */
  readonly key: string;
  /** Protocol group for nesting in JSONL (`tls`, `dns`, `splt`...); flat name is `${group}_${key}`. */
  readonly group?: string;
  readonly type: ColumnType;
  /** Unit, e.g. 'bytes', 'us', 'packets', 'packets/s', 'count', '' for none. */
  readonly unit: string;
  /** One-line definition, as written in docs/features.md. */
  readonly doc: string;
}

/** A finished flow record: top-level scalars plus one nested object per group. Values: number | string | boolean | null | arrays. */
export type FlowRow = Record<string, unknown>;

export interface Meter {
  readonly name: string;
  readonly columns: readonly ColumnSpec[];
  /** (Re)allocate state for `capacity` slots; called once before any packet and when the table grows. */
  resize(capacity: number): void;
  onInit(slot: number, pkt: PacketView): void;
  onUpdate(slot: number, pkt: PacketView, dir: 0 | 1): void;
  onExpire(slot: number, row: FlowRow): void;
}

/** Flat column name for CSV/Parquet. */
export function flatName(c: ColumnSpec): string {
  return c.group ? `${c.group}_${c.key}` : c.key;
}

/** Set a column's value in a row, creating its group object on first use. */
export function setColumn(row: FlowRow, group: string, key: string, value: unknown): void {
  let g = row[group] as Record<string, unknown> | undefined;
  if (g === undefined) {
    g = {};
    row[group] = g;
  }
  g[key] = value;
}

/** Grow a typed array to `capacity`, keeping existing contents. */
export function grow<T extends Float64Array | Uint32Array | Int32Array | Uint16Array | Uint8Array | Int8Array>(
  arr: T,
  capacity: number,
): T {
  if (arr.length >= capacity) return arr;
  const next = new (arr.constructor as new (n: number) => T)(capacity);
  next.set(arr);
  return next;
}
