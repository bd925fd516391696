/**
 * Markov-chain features of packet lengths and inter-arrival times (Joy / Anderson & McGrew, AISec 2016, §4.2;
 * the same representation as the Trench-style models): over the first N payload-carrying packets of a flow in
 * arrival order (both directions), each length is put in one of 10 bins of 150 bytes (the last bin is ≥ 1350
 * bytes) and each inter-arrival time in one of 10 bins of 50 ms (last ≥ 450 ms); the counts of transitions
 * between consecutive packets' bins form two 10×10 matrices, and each row is divided by its sum, so entry (i, j)
 * estimates P(next bin = j | current bin = i). A row never left stays all zeros.
 *
 * Packet selection and IATs are as in splt.ts (payload-carrying packets by default; the first IAT from the flow's
 * first packet). N defaults to 50 (Joy's default packet-array length) and is at most 256, so a transition count
 * fits one byte.
 *
 * Optional model features: off by default in the extractor (200 columns per flow). Output flat as
 * `markov_bidirectional_transition_ps_<i>_<j>` and `markov_bidirectional_transition_piat_<i>_<j>`.
 * State: 200 bytes of counts + 12 bytes per slot; per packet one comparison once N packets are seen.
 */
import type { PacketView } from '../decode/packet.ts';
import type { ColumnSpec, FlowRow, Meter } from './meter.ts';
import { grow } from './meter.ts';

export interface MarkovOptions {
  /** Payload-carrying packets considered (default 50, 2..256). */
  maxPackets?: number;
  /** Count packets without payload too (default false). */
  includeEmpty?: boolean;
}

export const MARKOV_BINS = 10;
export const MARKOV_LENGTH_BIN_BYTES = 150;
export const MARKOV_IAT_BIN_US = 50_000;
export const MARKOV_DEFAULT_PACKETS = 50;
const CELLS = MARKOV_BINS * MARKOV_BINS;

function matrixColumns(quantity: 'ps' | 'piat', what: string, bin: string): ColumnSpec[] {
  const cols: ColumnSpec[] = [];
  for (let i = 0; i < MARKOV_BINS; i++) {
    for (let j = 0; j < MARKOV_BINS; j++) {
      cols.push({
        key: `bidirectional_transition_${quantity}_${i}_${j}`,
        group: 'markov',
        type: 'float',
        unit: 'probability',
        doc: `P(next packet's ${what} bin = ${j} | this packet's bin = ${i}), ${bin}; first N payload packets.`,
      });
    }
  }
  return cols;
}

const MATRIX_COLUMNS: readonly ColumnSpec[] = [
  ...matrixColumns('ps', 'payload length', 'bins of 150 bytes'),
  ...matrixColumns('piat', 'inter-arrival time', 'bins of 50 ms'),
];

/**
 * The `markov` group object of a row. Filling a plain `{}` with 200 keys passes V8's limit for fast properties and
 * the object becomes a dictionary: 37 µs per flow, against 2.3 µs for a constructor assigning the keys in one fixed
 * order (one hidden class), measured with a 90 000-object loop in Node 20. The constructor's source is generated
 * from our own column list above (identifiers only), never from packet data.
 */
const MarkovGroup = new Function(
  'v',
  MATRIX_COLUMNS.map((c, i) => `this.${c.key} = v[${i}];`).join('\n'),
) as unknown as new (
  v: Float64Array,
) => Record<string, number>;

export class MarkovMeter implements Meter {
  static readonly columns: readonly ColumnSpec[] = MATRIX_COLUMNS;
  readonly name = 'markov';
  readonly columns = MarkovMeter.columns;
  readonly maxPackets: number;
  readonly includeEmpty: boolean;
  /** Packets without payload are not recorded unless includeEmpty. */
  readonly skipsEmptyPackets: boolean;

  private count = new Uint16Array(0);
  private prevLen = new Int8Array(0);
  private prevIat = new Int8Array(0);
  private lastTs = new Float64Array(0);
  /** slot * 200: 100 length-transition counts then 100 IAT-transition counts. */
  private cells = new Uint8Array(0);
  private readonly scratch = new Float64Array(2 * CELLS);

  constructor(opts: MarkovOptions = {}) {
    this.maxPackets = Math.max(2, Math.min(256, Math.floor(opts.maxPackets ?? MARKOV_DEFAULT_PACKETS)));
    this.includeEmpty = opts.includeEmpty ?? false;
    this.skipsEmptyPackets = !this.includeEmpty;
  }

  resize(capacity: number): void {
    this.count = grow(this.count, capacity);
    this.prevLen = grow(this.prevLen, capacity);
    this.prevIat = grow(this.prevIat, capacity);
    this.lastTs = grow(this.lastTs, capacity);
    this.cells = grow(this.cells, capacity * 2 * CELLS);
  }

  onInit(slot: number, pkt: PacketView): void {
    this.count[slot] = 0;
    this.lastTs[slot] = pkt.tsUs;
    this.cells.fill(0, slot * 2 * CELLS, (slot + 1) * 2 * CELLS);
  }

  /** Returns false once the first N packets are counted: the flow's later packets are not needed. */
  onUpdate(slot: number, pkt: PacketView, dir: 0 | 1): boolean {
    void dir;
    const k = this.count[slot]!;
    if (k >= this.maxPackets) return false;
    const len = Math.max(pkt.payloadWireLen, pkt.payloadLen);
    if (len === 0 && !this.includeEmpty) return true;
    const iat = pkt.tsUs - this.lastTs[slot]!;
    if (iat > 0) this.lastTs[slot] = pkt.tsUs;
    const lb = Math.min(MARKOV_BINS - 1, Math.floor(len / MARKOV_LENGTH_BIN_BYTES));
    const ib = iat <= 0 ? 0 : Math.min(MARKOV_BINS - 1, Math.floor(iat / MARKOV_IAT_BIN_US));
    if (k > 0) {
      const base = slot * 2 * CELLS;
      const a = base + this.prevLen[slot]! * MARKOV_BINS + lb;
      const c = base + CELLS + this.prevIat[slot]! * MARKOV_BINS + ib;
      this.cells[a] = this.cells[a]! + 1;
      this.cells[c] = this.cells[c]! + 1;
    }
    this.prevLen[slot] = lb;
    this.prevIat[slot] = ib;
    this.count[slot] = k + 1;
    return k + 1 < this.maxPackets;
  }

  onExpire(slot: number, row: FlowRow): void {
    const base = slot * 2 * CELLS;
    const v = this.scratch;
    for (let m = 0; m < 2; m++) {
      for (let i = 0; i < MARKOV_BINS; i++) {
        const r = base + m * CELLS + i * MARKOV_BINS;
        let sum = 0;
        for (let j = 0; j < MARKOV_BINS; j++) sum += this.cells[r + j]!;
        for (let j = 0; j < MARKOV_BINS; j++) {
          const p = sum === 0 ? 0 : Math.round((this.cells[r + j]! / sum) * 1e6) / 1e6;
          v[m * CELLS + i * MARKOV_BINS + j] = p;
        }
      }
    }
    row.markov = new MarkovGroup(v);
  }
}
