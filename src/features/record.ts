/**
 * FlowRecord: the row a finished flow becomes. Building a plain object of ~110 properties costs 5–10 µs per flow in
 * V8 (measured: keyed and named stores alike, .scratch micro-benchmark, 200k rows), more than the packets of a short
 * flow cost to meter. So the statistics live in one Float64Array (NaN = null) and are exposed as read-only getters
 * on the prototype: `row.fwd_packets` works as on a plain object, sinks read the vector directly, and `toJSON()`
 * gives the plain nested object (identity, statistics, then the protocol groups) for JSONL and library users.
 */
import { STATS_COLUMNS, STATS_INDEX, STATS_VECTOR } from './stats.ts';

export class FlowRecord {
  [key: string]: unknown;
  declare [STATS_VECTOR]?: Float64Array;

  constructor(identity: Record<string, unknown>) {
    for (const k in identity) this[k] = identity[k];
  }

  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const groups: [string, unknown][] = [];
    for (const k of Object.keys(this)) {
      const v = this[k];
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) groups.push([k, v]);
      else out[k] = v;
    }
    const vec = this[STATS_VECTOR];
    if (vec) {
      for (let i = 0; i < STATS_COLUMNS.length; i++) {
        const x = vec[i]!;
        out[STATS_COLUMNS[i]!.key] = Number.isNaN(x) ? null : x;
      }
    }
    for (const [k, v] of groups) out[k] = v;
    return out;
  }
}

/**
 * A finished flow's row as the pipeline builds it, with its identity columns (IDENTITY_COLUMNS in src/pipeline.ts,
 * in that order). The identity columns are named stores in the constructor: every row then has the same
 * shape from the same store sites (copying them from an object literal, as FlowRecord's constructor does, is a
 * megamorphic keyed store per column: 250–310 against 35–70 ns per row, micro-benchmark, 300k rows, Node 20), and
 * V8 sizes the object from the constructor's stores. Stores made after construction, as the earlier
 * `FlowRecord.ofFlow` made all of them on an empty FlowRecord, gave rows of 9 in-object fields whose further properties (the last identity
 * columns, the stats vector, each meter's group) went to a separate property array, reallocated as it grew by
 * three: flowEnd then allocated ~320 bytes per row (lab500, sampling heap profiler).
 *
 * Not `extends FlowRecord`: its prototype is linked to FlowRecord.prototype below instead, so rows are still
 * `instanceof FlowRecord` with its getters and toJSON. As a derived class (super() inlined with this class as
 * new.target), every TurboFan compilation of this constructor was thrown away at the end ("Compilation aborted due to
 * invalid dependency: StableMapDependency", `--trace-compilation-dependencies`): 62–127 aborted compilations per run
 * (lab500, mixed500), the constructor and flowEnd left unoptimized meanwhile. Without: none. Pipeline without output
 * (bench/meters.ts child, CPU-s, median of 6 and 3 interleaved runs): lab500 all meters 1.75 → 1.59, statistics
 * only 1.24 → 1.06; mixed500 4.76 → 4.50 and 2.26 → 2.05; TurboFan compile time on lab500 1.27 → 0.67 s.
 */
export class FinishedFlow {
  [key: string]: unknown;
  declare [STATS_VECTOR]?: Float64Array;

  constructor(
    flowId: number,
    srcIp: string,
    srcPort: number,
    dstIp: string,
    dstPort: number,
    protocol: number,
    ipVersion: number,
    firstSeenUs: number,
    lastSeenUs: number,
    vlanId: number,
    tunnel: string,
    endReason: string,
  ) {
    this.flow_id = flowId;
    this.src_ip = srcIp;
    this.src_port = srcPort;
    this.dst_ip = dstIp;
    this.dst_port = dstPort;
    this.protocol = protocol;
    this.ip_version = ipVersion;
    this.first_seen_us = firstSeenUs;
    this.last_seen_us = lastSeenUs;
    this.duration_us = lastSeenUs - firstSeenUs;
    this.vlan_id = vlanId;
    this.tunnel = tunnel;
    this.end_reason = endReason;
  }
}

Object.setPrototypeOf(FinishedFlow.prototype, FlowRecord.prototype);

for (const [key, i] of STATS_INDEX) {
  Object.defineProperty(FlowRecord.prototype, key, {
    enumerable: false,
    configurable: false,
    get(this: FlowRecord) {
      const x = this[STATS_VECTOR]?.[i];
      return x === undefined || Number.isNaN(x) ? null : x;
    },
  });
}

/** The stats vector of a row, when it has one (rows read back from files do not). */
export function statsVector(row: unknown): Float64Array | undefined {
  return row instanceof FlowRecord ? row[STATS_VECTOR] : undefined;
}
