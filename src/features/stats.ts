/**
 * The CICFlowMeter statistical set, computed online per direction (Welford for mean/variance), with CICFlowMeter's
 * known bugs fixed (see ../shared/reference/cic-columns.md, "CICFlowMeter bugs and critiques"):
 * - PSH/URG and all flag counts are counted on every packet, not only the first (bug 4).
 * - Init window per direction is the window of that direction's FIRST packet (bug 5), -1 when not TCP.
 * - "Fwd Seg Size Min" is the minimum forward payload (segment) size, not a header length (bug 5).
 * - Subflow means are real divisions, not integer ones (bug 2); Bwd bulk columns are the Bwd values (bug 3).
 * - IATs are never negative: an out-of-order packet contributes an IAT of 0 (bug 8).
 * - Rates of a zero-duration flow are null (empty), never Infinity/NaN (bug 8).
 * - The flow itself ends only after FIN from both sides or RST (bug 1; see src/flow/table.ts).
 * Lengths: "payload" = transport payload bytes as the headers state them (what CICFlowMeter calls packet length);
 * "frame" = bytes on the wire including the link header. Standard deviations are sample (n − 1) deviations, as
 * CICFlowMeter's (Apache Commons SummaryStatistics) are; 0 for fewer than two values. Times in µs.
 * CICFlowMeter constants kept: bulk = ≥ 4 consecutive payload packets in one direction with gaps ≤ 1 s and no
 * payload packet in the other direction between; subflows split at gaps > 1 s; active/idle split at gaps > 5 s.
 */
import { type PacketView, TcpFlag } from '../decode/packet.ts';
import type { ColumnSpec, FlowRow, Meter } from './meter.ts';

const BULK_MIN_PACKETS = 4;
const BULK_GAP_US = 1_000_000;
const SUBFLOW_GAP_US = 1_000_000;
export const ACTIVITY_TIMEOUT_US = 5_000_000;

const FLAG_NAMES = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr'] as const;

const c = (key: string, type: ColumnSpec['type'], unit: string, doc: string): ColumnSpec => ({ key, type, unit, doc });

function dirColumns(d: 'src2dst' | 'dst2src', who: string): ColumnSpec[] {
  const cols: ColumnSpec[] = [
    c(`${d}_min_payload_bytes`, 'int', 'bytes', `Smallest transport payload of a packet ${who}.`),
    c(`${d}_mean_payload_bytes`, 'float', 'bytes', `Mean transport payload per packet ${who}.`),
    c(
      `${d}_stddev_payload_bytes`,
      'float',
      'bytes',
      `Sample standard deviation of transport payload per packet ${who}.`,
    ),
    c(`${d}_max_payload_bytes`, 'int', 'bytes', `Largest transport payload of a packet ${who}.`),
    c(`${d}_min_frame_bytes`, 'int', 'bytes', `Smallest frame (wire length) ${who}.`),
    c(`${d}_mean_frame_bytes`, 'float', 'bytes', `Mean frame (wire length) ${who}.`),
    c(`${d}_max_frame_bytes`, 'int', 'bytes', `Largest frame (wire length) ${who}.`),
    c(`${d}_total_piat_us`, 'float', 'us', `Sum of inter-arrival times between consecutive packets ${who}.`),
    c(
      `${d}_min_piat_us`,
      'float',
      'us',
      `Smallest inter-arrival time between consecutive packets ${who}; null with < 2 packets.`,
    ),
    c(
      `${d}_mean_piat_us`,
      'float',
      'us',
      `Mean inter-arrival time between consecutive packets ${who}; null with < 2 packets.`,
    ),
    c(`${d}_stddev_piat_us`, 'float', 'us', `Sample standard deviation of inter-arrival times ${who}.`),
    c(
      `${d}_max_piat_us`,
      'float',
      'us',
      `Largest inter-arrival time between consecutive packets ${who}; null with < 2 packets.`,
    ),
    c(
      `${d}_header_bytes`,
      'int',
      'bytes',
      `Sum of transport header lengths (TCP data offset × 4, UDP 8) of packets ${who}.`,
    ),
    c(
      `${d}_packets_per_s`,
      'float',
      'packets/s',
      `Packets ${who} divided by the flow duration; null when the duration is 0.`,
    ),
    c(`${d}_data_packets`, 'int', 'packets', `Packets ${who} carrying at least one byte of transport payload.`),
    c(
      `${d}_init_window_bytes`,
      'int',
      'bytes',
      `TCP window field of the first packet ${who}; -1 when not TCP or none.`,
    ),
    c(
      `${d}_bulk_count`,
      'int',
      'count',
      `Bulk transfers ${who} (≥ 4 payload packets, gaps ≤ 1 s, none the other way between).`,
    ),
    c(`${d}_bulk_mean_bytes`, 'float', 'bytes', `Mean payload bytes per bulk ${who}; 0 when no bulk.`),
    c(`${d}_bulk_mean_packets`, 'float', 'packets', `Mean packets per bulk ${who}; 0 when no bulk.`),
    c(
      `${d}_bulk_rate_bytes_per_s`,
      'float',
      'bytes/s',
      `Bulk payload bytes divided by bulk duration ${who}; 0 when no bulk.`,
    ),
    c(`${d}_subflow_mean_packets`, 'float', 'packets', `Packets ${who} divided by the number of subflows.`),
    c(`${d}_subflow_mean_bytes`, 'float', 'bytes', `Payload bytes ${who} divided by the number of subflows.`),
  ];
  for (const f of FLAG_NAMES)
    cols.push(c(`${d}_${f}_packets`, 'int', 'packets', `Packets ${who} with the TCP ${f.toUpperCase()} flag set.`));
  return cols;
}

export const STATS_COLUMNS: readonly ColumnSpec[] = [
  c('fwd_packets', 'int', 'packets', 'Packets sent by src (the flow initiator).'),
  c('bwd_packets', 'int', 'packets', 'Packets sent by dst.'),
  c('fwd_bytes', 'int', 'bytes', 'Frame bytes sent by src: original wire length including the link header.'),
  c('bwd_bytes', 'int', 'bytes', 'Frame bytes sent by dst: original wire length including the link header.'),
  c('fwd_payload_bytes', 'int', 'bytes', 'Transport payload bytes sent by src, as the headers state them.'),
  c('bwd_payload_bytes', 'int', 'bytes', 'Transport payload bytes sent by dst, as the headers state them.'),
  c('bidirectional_min_payload_bytes', 'int', 'bytes', 'Smallest transport payload of any packet.'),
  c('bidirectional_mean_payload_bytes', 'float', 'bytes', 'Mean transport payload per packet.'),
  c(
    'bidirectional_stddev_payload_bytes',
    'float',
    'bytes',
    'Sample standard deviation of transport payload per packet.',
  ),
  c('bidirectional_variance_payload_bytes', 'float', 'bytes^2', 'Sample variance of transport payload per packet.'),
  c('bidirectional_max_payload_bytes', 'int', 'bytes', 'Largest transport payload of any packet.'),
  c(
    'bidirectional_min_piat_us',
    'float',
    'us',
    'Smallest inter-arrival time between consecutive packets; null with < 2 packets.',
  ),
  c(
    'bidirectional_mean_piat_us',
    'float',
    'us',
    'Mean inter-arrival time between consecutive packets; null with < 2 packets.',
  ),
  c('bidirectional_stddev_piat_us', 'float', 'us', 'Sample standard deviation of inter-arrival times.'),
  c(
    'bidirectional_max_piat_us',
    'float',
    'us',
    'Largest inter-arrival time between consecutive packets; null with < 2 packets.',
  ),
  c(
    'bidirectional_bytes_per_s',
    'float',
    'bytes/s',
    'Payload bytes (both ways) divided by the duration; null when the duration is 0.',
  ),
  c(
    'bidirectional_packets_per_s',
    'float',
    'packets/s',
    'Packets (both ways) divided by the duration; null when the duration is 0.',
  ),
  ...FLAG_NAMES.map((f) =>
    c(`bidirectional_${f}_packets`, 'int', 'packets', `Packets with the TCP ${f.toUpperCase()} flag set.`),
  ),
  c(
    'bidirectional_fragment_packets',
    'int',
    'packets',
    'Packets that were IP fragments (first or later); each fragment counts as a packet.',
  ),
  c('down_up_ratio', 'float', 'ratio', 'bwd_packets / fwd_packets.'),
  c('subflow_count', 'int', 'count', 'Subflows: 1 + gaps longer than 1 s between consecutive packets.'),
  ...dirColumns('src2dst', 'from src'),
  ...dirColumns('dst2src', 'from dst'),
  c('active_count', 'int', 'count', 'Active periods (runs of packets with gaps ≤ 5 s) longer than 0 µs.'),
  c('active_min_us', 'float', 'us', 'Shortest active period; 0 when none.'),
  c('active_mean_us', 'float', 'us', 'Mean active period; 0 when none.'),
  c('active_stddev_us', 'float', 'us', 'Sample standard deviation of active periods.'),
  c('active_max_us', 'float', 'us', 'Longest active period; 0 when none.'),
  c('idle_min_us', 'float', 'us', 'Shortest idle gap (> 5 s) between active periods; 0 when none.'),
  c('idle_mean_us', 'float', 'us', 'Mean idle gap; 0 when none.'),
  c('idle_stddev_us', 'float', 'us', 'Sample standard deviation of idle gaps.'),
  c('idle_max_us', 'float', 'us', 'Longest idle gap; 0 when none.'),
  c('icmp_type', 'int', '', 'ICMP/ICMPv6 type of the first packet; -1 when not ICMP.'),
  c('icmp_code', 'int', '', 'ICMP/ICMPv6 code of the first packet; -1 when not ICMP.'),
];

/** Online min/mean/M2/max accumulators for one quantity, packed per (slot, dir) index. */
class Welford {
  n = new Float64Array(0);
  mean = new Float64Array(0);
  m2 = new Float64Array(0);
  min = new Float64Array(0);
  max = new Float64Array(0);
  resize(size: number): void {
    for (const k of ['n', 'mean', 'm2', 'min', 'max'] as const) {
      const a = new Float64Array(size);
      a.set(this[k].subarray(0, Math.min(size, this[k].length)));
      this[k] = a;
    }
  }
  reset(i: number): void {
    this.n[i] = 0;
    this.mean[i] = 0;
    this.m2[i] = 0;
    this.min[i] = 0;
    this.max[i] = 0;
  }
  add(i: number, x: number): void {
    const n = this.n[i]! + 1;
    this.n[i] = n;
    const delta = x - this.mean[i]!;
    const mean = this.mean[i]! + delta / n;
    this.mean[i] = mean;
    this.m2[i] = this.m2[i]! + delta * (x - mean);
    if (n === 1) {
      this.min[i] = x;
      this.max[i] = x;
    } else {
      if (x < this.min[i]!) this.min[i] = x;
      if (x > this.max[i]!) this.max[i] = x;
    }
  }
  variance(i: number): number {
    const n = this.n[i]!;
    return n > 1 ? this.m2[i]! / (n - 1) : 0;
  }
  std(i: number): number {
    return Math.sqrt(this.variance(i));
  }
  /** Merge two accumulators (Chan et al.) — used for the bidirectional view of per-direction payload sizes. */
  static merged(a: Welford, i: number, j: number): { n: number; mean: number; m2: number; min: number; max: number } {
    const na = a.n[i]!;
    const nb = a.n[j]!;
    const n = na + nb;
    if (na === 0) return { n: nb, mean: a.mean[j]!, m2: a.m2[j]!, min: a.min[j]!, max: a.max[j]! };
    if (nb === 0) return { n: na, mean: a.mean[i]!, m2: a.m2[i]!, min: a.min[i]!, max: a.max[i]! };
    const delta = a.mean[j]! - a.mean[i]!;
    return {
      n,
      mean: a.mean[i]! + (delta * nb) / n,
      m2: a.m2[i]! + a.m2[j]! + (delta * delta * na * nb) / n,
      min: Math.min(a.min[i]!, a.min[j]!),
      max: Math.max(a.max[i]!, a.max[j]!),
    };
  }
}

/** Position of each stats column in the vector a flow's statistics are written to. */
export const STATS_INDEX: ReadonlyMap<string, number> = new Map(STATS_COLUMNS.map((c, i) => [c.key, i]));
/** Property of a row holding its stats vector (see src/features/record.ts). */
export const STATS_VECTOR = Symbol('stats');
/** Named indices, so `v[C.fwd_packets!]` is a constant-offset store. */
const C = Object.fromEntries(STATS_INDEX) as Record<string, number>;

/** Column indices built once: template strings per row would be re-hashed on every flow. */
function dirKeys(d: string) {
  const i = (name: string) => STATS_INDEX.get(name)!;
  return {
    minPayload: i(`${d}_min_payload_bytes`),
    meanPayload: i(`${d}_mean_payload_bytes`),
    stddevPayload: i(`${d}_stddev_payload_bytes`),
    maxPayload: i(`${d}_max_payload_bytes`),
    minFrame: i(`${d}_min_frame_bytes`),
    meanFrame: i(`${d}_mean_frame_bytes`),
    maxFrame: i(`${d}_max_frame_bytes`),
    totalPiat: i(`${d}_total_piat_us`),
    minPiat: i(`${d}_min_piat_us`),
    meanPiat: i(`${d}_mean_piat_us`),
    stddevPiat: i(`${d}_stddev_piat_us`),
    maxPiat: i(`${d}_max_piat_us`),
    header: i(`${d}_header_bytes`),
    pps: i(`${d}_packets_per_s`),
    data: i(`${d}_data_packets`),
    initWin: i(`${d}_init_window_bytes`),
    bulkCount: i(`${d}_bulk_count`),
    bulkBytes: i(`${d}_bulk_mean_bytes`),
    bulkPackets: i(`${d}_bulk_mean_packets`),
    bulkRate: i(`${d}_bulk_rate_bytes_per_s`),
    subflowPackets: i(`${d}_subflow_mean_packets`),
    subflowBytes: i(`${d}_subflow_mean_bytes`),
    flags: FLAG_NAMES.map((f) => i(`${d}_${f}_packets`)),
  };
}
const DIR_KEYS = [dirKeys('src2dst'), dirKeys('dst2src')];
const BIDIR_FLAG_KEYS = FLAG_NAMES.map((f) => STATS_INDEX.get(`bidirectional_${f}_packets`)!);

const round = (x: number) => Math.round(x * 1000) / 1000;

export class StatsMeter implements Meter {
  readonly name = 'stats';
  readonly columns = STATS_COLUMNS;
  private readonly activityTimeoutUs: number;

  // Index i = slot * 2 + dir.
  private packets = new Float64Array(0);
  private frameBytes = new Float64Array(0);
  private payloadBytes = new Float64Array(0);
  private headerBytes = new Float64Array(0);
  private dataPackets = new Float64Array(0);
  private initWindow = new Int32Array(0);
  private lastTs = new Float64Array(0);
  private flags = new Uint32Array(0); // (slot * 2 + dir) * 8 + flag bit
  private readonly payload = new Welford();
  private readonly frame = new Welford();
  private readonly iat = new Welford();
  // Bulk state per (slot, dir).
  private bulkHelperStart = new Float64Array(0);
  private bulkHelperLast = new Float64Array(0);
  private bulkHelperCount = new Float64Array(0);
  private bulkHelperBytes = new Float64Array(0);
  private bulkLastTs = new Float64Array(0);
  private bulkCount = new Float64Array(0);
  private bulkPackets = new Float64Array(0);
  private bulkBytes = new Float64Array(0);
  private bulkDurationUs = new Float64Array(0);
  // Per slot.
  private flowLastTs = new Float64Array(0);
  private flowFirstTs = new Float64Array(0);
  private readonly flowIat = new Welford();
  private subflows = new Float64Array(0);
  private fragments = new Float64Array(0);
  private activeStart = new Float64Array(0);
  private activeEnd = new Float64Array(0);
  private readonly active = new Welford();
  private readonly idle = new Welford();
  private icmpType = new Int16Array(0);
  private icmpCode = new Int16Array(0);

  constructor(opts: { activityTimeoutUs?: number } = {}) {
    this.activityTimeoutUs = opts.activityTimeoutUs ?? ACTIVITY_TIMEOUT_US;
  }

  resize(capacity: number): void {
    const g64 = (a: Float64Array, n: number) => {
      const b = new Float64Array(n);
      b.set(a.subarray(0, Math.min(n, a.length)));
      return b;
    };
    const d = capacity * 2;
    this.packets = g64(this.packets, d);
    this.frameBytes = g64(this.frameBytes, d);
    this.payloadBytes = g64(this.payloadBytes, d);
    this.headerBytes = g64(this.headerBytes, d);
    this.dataPackets = g64(this.dataPackets, d);
    this.lastTs = g64(this.lastTs, d);
    const iw = new Int32Array(d);
    iw.set(this.initWindow.subarray(0, Math.min(d, this.initWindow.length)));
    this.initWindow = iw;
    const fl = new Uint32Array(d * 8);
    fl.set(this.flags.subarray(0, Math.min(d * 8, this.flags.length)));
    this.flags = fl;
    this.payload.resize(d);
    this.frame.resize(d);
    this.iat.resize(d);
    this.bulkHelperStart = g64(this.bulkHelperStart, d);
    this.bulkHelperLast = g64(this.bulkHelperLast, d);
    this.bulkHelperCount = g64(this.bulkHelperCount, d);
    this.bulkHelperBytes = g64(this.bulkHelperBytes, d);
    this.bulkLastTs = g64(this.bulkLastTs, d);
    this.bulkCount = g64(this.bulkCount, d);
    this.bulkPackets = g64(this.bulkPackets, d);
    this.bulkBytes = g64(this.bulkBytes, d);
    this.bulkDurationUs = g64(this.bulkDurationUs, d);
    this.flowLastTs = g64(this.flowLastTs, capacity);
    this.flowFirstTs = g64(this.flowFirstTs, capacity);
    this.flowIat.resize(capacity);
    this.subflows = g64(this.subflows, capacity);
    this.fragments = g64(this.fragments, capacity);
    this.activeStart = g64(this.activeStart, capacity);
    this.activeEnd = g64(this.activeEnd, capacity);
    this.active.resize(capacity);
    this.idle.resize(capacity);
    const it = new Int16Array(capacity);
    it.set(this.icmpType.subarray(0, Math.min(capacity, this.icmpType.length)));
    this.icmpType = it;
    const ic = new Int16Array(capacity);
    ic.set(this.icmpCode.subarray(0, Math.min(capacity, this.icmpCode.length)));
    this.icmpCode = ic;
  }

  onInit(slot: number, pkt: PacketView): void {
    for (let dir = 0; dir < 2; dir++) {
      const i = slot * 2 + dir;
      this.packets[i] = 0;
      this.frameBytes[i] = 0;
      this.payloadBytes[i] = 0;
      this.headerBytes[i] = 0;
      this.dataPackets[i] = 0;
      this.initWindow[i] = -1;
      this.lastTs[i] = 0;
      this.flags.fill(0, i * 8, i * 8 + 8);
      this.payload.reset(i);
      this.frame.reset(i);
      this.iat.reset(i);
      this.bulkHelperStart[i] = 0;
      this.bulkHelperLast[i] = 0;
      this.bulkHelperCount[i] = 0;
      this.bulkHelperBytes[i] = 0;
      this.bulkLastTs[i] = 0;
      this.bulkCount[i] = 0;
      this.bulkPackets[i] = 0;
      this.bulkBytes[i] = 0;
      this.bulkDurationUs[i] = 0;
    }
    this.flowFirstTs[slot] = pkt.tsUs;
    this.flowLastTs[slot] = pkt.tsUs;
    this.flowIat.reset(slot);
    this.subflows[slot] = 1;
    this.fragments[slot] = 0;
    this.activeStart[slot] = pkt.tsUs;
    this.activeEnd[slot] = pkt.tsUs;
    this.active.reset(slot);
    this.idle.reset(slot);
    const icmp = pkt.protocol === 1 || pkt.protocol === 58;
    this.icmpType[slot] = icmp ? pkt.icmpType : -1;
    this.icmpCode[slot] = icmp ? pkt.icmpCode : -1;
  }

  onUpdate(slot: number, pkt: PacketView, dir: 0 | 1): void {
    const i = slot * 2 + dir;
    const ts = pkt.tsUs;
    const payloadLen = pkt.payloadWireLen;
    const n = this.packets[i]!;
    this.packets[i] = n + 1;
    this.frameBytes[i] = this.frameBytes[i]! + pkt.wireLen;
    this.payloadBytes[i] = this.payloadBytes[i]! + payloadLen;
    this.headerBytes[i] = this.headerBytes[i]! + pkt.l4HeaderLen;
    this.payload.add(i, payloadLen);
    this.frame.add(i, pkt.wireLen);
    if (n > 0) {
      const gap = ts - this.lastTs[i]!;
      this.iat.add(i, gap > 0 ? gap : 0);
    }
    if (n === 0 || ts > this.lastTs[i]!) this.lastTs[i] = ts;
    if (pkt.protocol === 6) {
      if (n === 0) this.initWindow[i] = pkt.tcpWindow;
      const f = pkt.tcpFlags;
      if (f !== 0) {
        const base = i * 8;
        for (let b = 0; b < 8; b++) if (f & (1 << b)) this.flags[base + b]!++;
      }
    }
    if (payloadLen > 0) {
      this.dataPackets[i] = this.dataPackets[i]! + 1;
      this.updateBulk(slot, dir, ts, payloadLen);
    }

    if (pkt.fragOffset !== 0 || pkt.moreFragments) this.fragments[slot] = this.fragments[slot]! + 1;
    // Bidirectional timing: flow IAT, subflows, active/idle periods.
    const fi = this.flowLastTs[slot]!;
    const total = this.packets[slot * 2]! + this.packets[slot * 2 + 1]!;
    if (total > 1) {
      const gap = ts > fi ? ts - fi : 0;
      this.flowIat.add(slot, gap);
      if (gap > SUBFLOW_GAP_US) this.subflows[slot] = this.subflows[slot]! + 1;
      if (gap > this.activityTimeoutUs) {
        const activeLen = this.activeEnd[slot]! - this.activeStart[slot]!;
        if (activeLen > 0) this.active.add(slot, activeLen);
        this.idle.add(slot, ts - this.activeEnd[slot]!);
        this.activeStart[slot] = ts;
        this.activeEnd[slot] = ts;
      } else if (ts > this.activeEnd[slot]!) this.activeEnd[slot] = ts;
    }
    if (ts > fi) this.flowLastTs[slot] = ts;
  }

  /** CICFlowMeter's bulk detection (updateForwardBulk/updateBackwardBulk), per direction. */
  private updateBulk(slot: number, dir: 0 | 1, ts: number, size: number): void {
    const i = slot * 2 + dir;
    const other = slot * 2 + (1 - dir);
    // A payload packet the other way since this helper run started breaks the run.
    if (this.bulkLastTs[other]! > this.bulkHelperStart[i]!) this.bulkHelperStart[i] = 0;
    if (this.bulkHelperStart[i] === 0 || ts - this.bulkHelperLast[i]! > BULK_GAP_US) {
      this.bulkHelperStart[i] = ts === 0 ? 1 : ts;
      this.bulkHelperLast[i] = ts;
      this.bulkHelperCount[i] = 1;
      this.bulkHelperBytes[i] = size;
    } else {
      const count = this.bulkHelperCount[i]! + 1;
      this.bulkHelperCount[i] = count;
      this.bulkHelperBytes[i] = this.bulkHelperBytes[i]! + size;
      if (count === BULK_MIN_PACKETS) {
        this.bulkCount[i] = this.bulkCount[i]! + 1;
        this.bulkPackets[i] = this.bulkPackets[i]! + count;
        this.bulkBytes[i] = this.bulkBytes[i]! + this.bulkHelperBytes[i]!;
        this.bulkDurationUs[i] = this.bulkDurationUs[i]! + (ts - this.bulkHelperStart[i]!);
      } else if (count > BULK_MIN_PACKETS) {
        this.bulkPackets[i] = this.bulkPackets[i]! + 1;
        this.bulkBytes[i] = this.bulkBytes[i]! + size;
        this.bulkDurationUs[i] = this.bulkDurationUs[i]! + (ts - this.bulkHelperLast[i]!);
      }
      this.bulkHelperLast[i] = ts;
    }
    this.bulkLastTs[i] = ts;
  }

  onExpire(slot: number, row: FlowRow): void {
    const v = new Float64Array(STATS_COLUMNS.length);
    this.writeVector(slot, v);
    (row as { [STATS_VECTOR]?: Float64Array })[STATS_VECTOR] = v;
  }

  /** All stats columns of a flow, in STATS_COLUMNS order; NaN stands for null. */
  writeVector(slot: number, v: Float64Array): void {
    const f = slot * 2;
    const b = f + 1;
    const durationUs = this.flowLastTs[slot]! - this.flowFirstTs[slot]!;
    const fwdPk = this.packets[f]!;
    const bwdPk = this.packets[b]!;
    const payloadTotal = this.payloadBytes[f]! + this.payloadBytes[b]!;
    // Rates per second; NaN (null) for a zero-duration flow instead of CICFlowMeter's Infinity/NaN.
    const perUs = durationUs > 0 ? 1e6 / durationUs : Number.NaN;
    v[C.fwd_packets!] = fwdPk;
    v[C.bwd_packets!] = bwdPk;
    v[C.fwd_bytes!] = this.frameBytes[f]!;
    v[C.bwd_bytes!] = this.frameBytes[b]!;
    v[C.fwd_payload_bytes!] = this.payloadBytes[f]!;
    v[C.bwd_payload_bytes!] = this.payloadBytes[b]!;
    const all = Welford.merged(this.payload, f, b);
    v[C.bidirectional_min_payload_bytes!] = all.min;
    v[C.bidirectional_mean_payload_bytes!] = round(all.mean);
    const allVar = all.n > 1 ? all.m2 / (all.n - 1) : 0;
    v[C.bidirectional_stddev_payload_bytes!] = round(Math.sqrt(allVar));
    v[C.bidirectional_variance_payload_bytes!] = round(allVar);
    v[C.bidirectional_max_payload_bytes!] = all.max;
    const fiat = this.flowIat;
    const hasIat = fiat.n[slot]! > 0;
    v[C.bidirectional_min_piat_us!] = hasIat ? fiat.min[slot]! : Number.NaN;
    v[C.bidirectional_mean_piat_us!] = hasIat ? round(fiat.mean[slot]!) : Number.NaN;
    v[C.bidirectional_stddev_piat_us!] = round(fiat.std(slot));
    v[C.bidirectional_max_piat_us!] = hasIat ? fiat.max[slot]! : Number.NaN;
    v[C.bidirectional_bytes_per_s!] = round(payloadTotal * perUs);
    v[C.bidirectional_packets_per_s!] = round((fwdPk + bwdPk) * perUs);
    for (let k = 0; k < 8; k++) v[BIDIR_FLAG_KEYS[k]!] = this.flags[f * 8 + k]! + this.flags[b * 8 + k]!;
    v[C.bidirectional_fragment_packets!] = this.fragments[slot]!;
    v[C.down_up_ratio!] = fwdPk > 0 ? round(bwdPk / fwdPk) : 0;
    const subflows = this.subflows[slot]!;
    v[C.subflow_count!] = subflows;
    for (let dir = 0; dir < 2; dir++) {
      const i = f + dir;
      const k = DIR_KEYS[dir]!;
      const has = this.packets[i]! > 0;
      v[k.minPayload] = has ? this.payload.min[i]! : 0;
      v[k.meanPayload] = round(this.payload.mean[i]!);
      v[k.stddevPayload] = round(this.payload.std(i));
      v[k.maxPayload] = has ? this.payload.max[i]! : 0;
      v[k.minFrame] = has ? this.frame.min[i]! : 0;
      v[k.meanFrame] = round(this.frame.mean[i]!);
      v[k.maxFrame] = has ? this.frame.max[i]! : 0;
      const iatN = this.iat.n[i]!;
      v[k.totalPiat] = round(this.iat.mean[i]! * iatN);
      v[k.minPiat] = iatN > 0 ? this.iat.min[i]! : Number.NaN;
      v[k.meanPiat] = iatN > 0 ? round(this.iat.mean[i]!) : Number.NaN;
      v[k.stddevPiat] = round(this.iat.std(i));
      v[k.maxPiat] = iatN > 0 ? this.iat.max[i]! : Number.NaN;
      v[k.header] = this.headerBytes[i]!;
      v[k.pps] = round(this.packets[i]! * perUs);
      v[k.data] = this.dataPackets[i]!;
      v[k.initWin] = this.initWindow[i]!;
      const bc = this.bulkCount[i]!;
      v[k.bulkCount] = bc;
      v[k.bulkBytes] = bc > 0 ? round(this.bulkBytes[i]! / bc) : 0;
      v[k.bulkPackets] = bc > 0 ? round(this.bulkPackets[i]! / bc) : 0;
      const bd = this.bulkDurationUs[i]!;
      v[k.bulkRate] = bd > 0 ? round((this.bulkBytes[i]! * 1e6) / bd) : 0;
      v[k.subflowPackets] = round(this.packets[i]! / subflows);
      v[k.subflowBytes] = round(this.payloadBytes[i]! / subflows);
      for (let b = 0; b < 8; b++) v[k.flags[b]!] = this.flags[i * 8 + b]!;
    }
    // Close the last active period (CICFlowMeter's endActiveIdleTime).
    const lastActive = this.activeEnd[slot]! - this.activeStart[slot]!;
    const act = this.active;
    if (lastActive > 0) act.add(slot, lastActive);
    const an = act.n[slot]!;
    v[C.active_count!] = an;
    v[C.active_min_us!] = an > 0 ? act.min[slot]! : 0;
    v[C.active_mean_us!] = round(act.mean[slot]!);
    v[C.active_stddev_us!] = round(act.std(slot));
    v[C.active_max_us!] = an > 0 ? act.max[slot]! : 0;
    const idl = this.idle;
    const inn = idl.n[slot]!;
    v[C.idle_min_us!] = inn > 0 ? idl.min[slot]! : 0;
    v[C.idle_mean_us!] = round(idl.mean[slot]!);
    v[C.idle_stddev_us!] = round(idl.std(slot));
    v[C.idle_max_us!] = inn > 0 ? idl.max[slot]! : 0;
    v[C.icmp_type!] = this.icmpType[slot]!;
    v[C.icmp_code!] = this.icmpCode[slot]!;
  }
}
