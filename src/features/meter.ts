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
 * Early finish (optional): `onInit` or `onUpdate` may return `false` to say "this flow needs no more `onUpdate`
 * calls from me" (its handshake is decided, it is not my protocol, my budget is spent). The pipeline then stops
 * dispatching that flow's packets to the meter, so a meter must return `false` only when every later call would
 * change nothing. Returning nothing (or `true`) keeps the packets coming; `onExpire` is always called (unless the
 * meter is lazy, below).
 *
 * Lazy meters (optional, `lazyInit`): most flows are scans and other short exchanges that never reach a protocol
 * meter's content (mixed500.pcap: 96 k of 233 k TCP flows carry no payload), yet each cost three calls per meter.
 * A lazy meter is called only for flows of its `protocols`, and only from the first packet the pipeline would pass
 * to its onUpdate (see `skipsEmptyPackets` and `payloadOnly`): onInit then runs with that packet, just before its
 * onUpdate (its `flowStartUs` argument is then the flow's first packet's time, not this packet's). A flow that
 * never sends such a packet, or whose onInit returns `false`, costs the meter nothing at all: no onUpdate and no
 * onExpire. The meter promises that this changes no row: onInit depends only on what all packets of a flow share
 * (protocol, the unordered port pair, the start time), the withheld packets would have changed nothing, and such
 * a flow gets no column from it (its onExpire would have written nothing) — or, for a meter that describes every
 * flow (SPLT, byte distribution: empty lists, zero counts), the columns `onExpireUnseen` writes, which must be
 * what onExpire would have written for a flow without payload.
 *
 * Columns: each meter lists its columns (name, type, unit, definition) statically; docs/features.md is generated
 * from these lists. A column with a `group` is nested in JSONL (`row.tls.ja3`) and flat elsewhere (`tls_ja3`).
 */
import type { PacketView } from '../decode/packet.ts';

export type ColumnType = 'int' | 'float' | 'string' | 'bool' | 'int_list' | 'float_list' | 'string_list';

export interface ColumnSpec {
  /** Key inside the group (or top-level name when no group). */
  readonly key: string;
  /**
   * Protocol group for nesting in JSONL (`tls`, `dns`, `splt`...); flat name is `${group}_${key}`. A dotted group
   * (`tls.cert`) nests deeper in JSONL (`row.tls.cert.issuer`) and flattens with '_' (`tls_cert_issuer`).
   */
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
  /**
   * May return `false`: the flow's packets are not needed at all (onUpdate is then not called for it).
   * `flowStartUs`: the time of the flow's first packet (`pkt`'s when omitted; the pipeline passes it to lazy
   * meters, whose `pkt` may be a later one; see above). `dir`: `pkt`'s direction in the flow, as onUpdate's (the
   * pipeline passes it; 0 when omitted).
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a meter that never finishes early keeps returning nothing.
  onInit(slot: number, pkt: PacketView, flowStartUs?: number, dir?: 0 | 1): boolean | void;
  /** May return `false`: no later packet of this flow is needed (see "Early finish" above). */
  // biome-ignore lint/suspicious/noConfusingVoidType: as onInit.
  onUpdate(slot: number, pkt: PacketView, dir: 0 | 1): boolean | void;
  onExpire(slot: number, row: FlowRow): void;
  /**
   * Optional, lazy meters only: called instead of onExpire for a flow the meter never saw (no packet woke it, see
   * "Lazy meters"). Writes the columns onExpire would have written for such a flow, as shared frozen objects:
   * most flows of a scan or a flood carry no payload, and this keeps their rows from costing an allocation each.
   */
  onExpireUnseen?(row: FlowRow): void;
  /**
   * Optional: true when `onUpdate` changes nothing for a packet without transport payload (`payloadLen` and
   * `payloadWireLen` both 0) that is not a TCP SYN — the pipeline then does not call it for such packets, except
   * the flow's first packet, which every eager meter receives (a lazy one waits, see "Lazy meters").
   */
  readonly skipsEmptyPackets?: boolean;
  /**
   * Optional, stronger than `skipsEmptyPackets` (and implying it): `onUpdate` changes nothing for a packet without
   * transport payload even when it is a TCP SYN (the flow's first packet still reaches every eager meter) — so a lazy
   * meter is not woken by the SYN of a flow that never sends data.
   */
  readonly payloadOnly?: boolean;
  /** Optional: see "Lazy meters" above. Honoured only with `skipsEmptyPackets` and for the first 32 meters. */
  readonly lazyInit?: boolean;
  /** Optional, lazy meters only: the IP protocol numbers (6 TCP, 17 UDP, ...) whose flows the meter may describe. */
  readonly protocols?: readonly number[];
  /** Optional: a new input file starts (state that spans flows, like DNS context, must not leak across files). */
  onInputStart?(file: string): void;
  /** Optional: anomaly counts by code (`<layer>_<what>`) this meter saw, reported in the run statistics. */
  readonly anomalies?: ReadonlyMap<string, number>;
}

/** Flat column name for CSV/Parquet. */
export function flatName(c: ColumnSpec): string {
  return c.group ? `${c.group.replaceAll('.', '_')}_${c.key}` : c.key;
}

/** Set a column's value in a row, creating its group object on first use. */
export function setColumn(row: FlowRow, group: string, key: string, value: unknown): void {
  let g: Record<string, unknown> = row;
  // A dotted group ('tls.cert') nests one object per part (row.tls.cert.issuer); flat name tls_cert_issuer.
  let start = 0;
  for (;;) {
    const dot = group.indexOf('.', start);
    const part = dot === -1 ? group.slice(start) : group.slice(start, dot);
    let next = g[part] as Record<string, unknown> | undefined;
    if (next === undefined) {
      next = {};
      g[part] = next;
    }
    g = next;
    if (dot === -1) break;
    start = dot + 1;
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

/** Read a column's value back from a row (the inverse of setColumn, dotted groups included); undefined when unset. */
export function getColumn(row: FlowRow, c: ColumnSpec): unknown {
  if (!c.group) return row[c.key];
  let g: unknown = row;
  let start = 0;
  for (;;) {
    const dot = c.group.indexOf('.', start);
    const part = dot === -1 ? c.group.slice(start) : c.group.slice(start, dot);
    if (g === null || typeof g !== 'object') return undefined;
    g = (g as Record<string, unknown>)[part];
    if (dot === -1) break;
    start = dot + 1;
  }
  return g === null || typeof g !== 'object' ? undefined : (g as Record<string, unknown>)[c.key];
}
