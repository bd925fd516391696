/**
 * The flow table: open addressing over integer keys; per slot a 64-byte record (key, hash, TCP state, direction,
 * LRU links) and its timestamps in typed arrays indexed by slot.
 *
 * Semantics (documented for users in docs/flows.md):
 * - A flow is bidirectional; its forward direction (src) is the sender of its first packet, unless `localNets`
 *   is given, in which case src is the endpoint inside those networks when exactly one endpoint is.
 * - Idle timeout: a flow with no packet while the capture clock advances `idleTimeoutUs` ends ('idle'). Active
 *   timeout: a packet arriving more than `activeTimeoutUs` after the flow's first packet ends it ('active') and
 *   starts a new flow.
 * - TCP: RST ends the flow ('rst'); FIN seen from both sides ends it ('fin'). An ended TCP flow lingers for
 *   `tcpCloseLingerUs` so the final ACK and retransmitted FIN/RST join it instead of starting "TCP appendix"
 *   flows (CICFlowMeter's first-FIN bug); a SYN on an ended key always starts a new flow.
 * - At most `maxFlows` live flows: when full, the least recently seen flow is evicted ('evicted', counted).
 * - Time is the capture's clock: the maximum timestamp seen so far, so a packet out of order never rewinds it;
 *   idle and linger times count from the clock at a flow's last packet (see activeUs).
 *
 * Expiry is O(1) amortised per packet: live flows are kept in a least-recently-seen list, so the idle scan walks
 * from the head and stops at the first flow still live (NFStream's meter_scan idea without a fixed budget, since
 * each step expires one flow). Nothing here allocates per packet.
 */
import { type PacketView, TcpFlag } from '../decode/packet.ts';
import { canonicalKey, cidrContains, hashKey, icmpKind, KEY_WORDS, type parseCidr } from './key.ts';

export const EndReason = { idle: 0, active: 1, fin: 2, rst: 3, evicted: 4, end_of_capture: 5 } as const;
export const END_REASON_NAMES = ['idle', 'active', 'fin', 'rst', 'evicted', 'end_of_capture'] as const;
export type EndReasonName = (typeof END_REASON_NAMES)[number];

export interface FlowTableOptions {
  idleTimeoutUs: number;
  activeTimeoutUs: number;
  maxFlows: number;
  tcpCloseLingerUs: number;
  localNets?: NonNullable<ReturnType<typeof parseCidr>>[];
}

export const DEFAULT_FLOW_OPTIONS: FlowTableOptions = {
  idleTimeoutUs: 120_000_000,
  activeTimeoutUs: 1_800_000_000,
  maxFlows: 1_000_000,
  tcpCloseLingerUs: 5_000_000,
};

/** What the table tells its owner: a slot was taken by a new flow, a packet joined a flow, a flow ended. */
export interface FlowListener {
  /** `dir`: the creating packet's direction in the new flow (1 when --local-net made its receiver src). */
  onFlowStart(slot: number, pkt: PacketView, dir: 0 | 1): void;
  onFlowPacket(slot: number, pkt: PacketView, dir: 0 | 1): void;
  onFlowEnd(slot: number, reason: number): void;
  onResize(capacity: number): void;
}

const CLOSED_FIN = 1;
const CLOSED_RST = 2;
const FWD_FIN = 4;
const BWD_FIN = 8;
const EMPTY = -1;
const INITIAL_CAPACITY = 4096;

/**
 * A slot's record in `keys` (RECORD 32-bit words, 64 bytes: one cache line): the canonical key, then its hash, TCP
 * state, which key endpoint is src, and the least-recently-seen list links. A packet's lookup, state update and list
 * move touch this line and its neighbours' instead of one line in each of seven arrays.
 */
const RECORD = 16;
const R_HASH = KEY_WORDS;
const R_TCP = KEY_WORDS + 1;
const R_SRC_IS_A = KEY_WORDS + 2;
const R_PREV = KEY_WORDS + 3;
const R_NEXT = KEY_WORDS + 4;

export class FlowTable {
  readonly opts: FlowTableOptions;
  private readonly listener: FlowListener;
  capacity = 0;
  live = 0;
  /** Flows ended because the table was full. */
  evictions = 0;
  /** The capture clock: the largest timestamp seen (µs). */
  clockUs = 0;

  /** Per slot, a record of RECORD words starting with its canonical key (see RECORD); read by endpointBase. */
  keys = new Uint32Array(0);
  /** The same records as signed words (the list links, EMPTY = -1). */
  private records = new Int32Array(0);
  firstSeenUs = new Float64Array(0);
  lastSeenUs = new Float64Array(0);
  /**
   * Capture clock at the flow's last packet: idle and linger times count from it, not from the packet's own
   * timestamp. The clock never goes back, so the least-recently-seen list is ordered by it and a flow is idle exactly
   * when its own last activity is old — whatever other flows hold. With packet timestamps, a flow whose packets
   * ran behind the clock (merged captures, a clock step) looked idle at once, and whether it ended before its next
   * packet depended on which flows stood before it in the list: flows were split, and a sharded run (--threads)
   * split them differently from one table.
   */
  private activeUs = new Float64Array(0);
  /** Sequence number of the flow in this table (becomes flow_id). */
  flowSeq = new Float64Array(0);
  private lruHead = EMPTY;
  private lruTail = EMPTY;
  private freeSlots = new Int32Array(0);
  private freeTop = 0;
  /** Hash index: slot numbers, EMPTY when free; size a power of two ≥ 2 × capacity. */
  private index = new Int32Array(0);
  private indexMask = 0;
  /** Ring of ended-but-lingering TCP flows, in close order. */
  private closedRing = new Int32Array(0);
  private closedHead = 0;
  private closedCount = 0;
  private nextSeq = 1;
  private readonly scratch = new Uint32Array(KEY_WORDS);

  constructor(opts: Partial<FlowTableOptions>, listener: FlowListener) {
    this.opts = { ...DEFAULT_FLOW_OPTIONS, ...opts };
    if (!(this.opts.maxFlows >= 1)) throw new RangeError('maxFlows must be at least 1');
    this.listener = listener;
    this.grow(Math.min(INITIAL_CAPACITY, this.opts.maxFlows));
  }

  private grow(capacity: number): void {
    const old = this.capacity;
    const copyF64 = (a: Float64Array) => {
      const n = new Float64Array(capacity);
      n.set(a);
      return n;
    };
    const keys = new Uint32Array(capacity * RECORD);
    keys.set(this.keys);
    this.keys = keys;
    this.records = new Int32Array(keys.buffer);
    this.firstSeenUs = copyF64(this.firstSeenUs);
    this.lastSeenUs = copyF64(this.lastSeenUs);
    this.activeUs = copyF64(this.activeUs);
    this.flowSeq = copyF64(this.flowSeq);
    // Free slots: the new ones, highest first so slot numbers are handed out in increasing order.
    const free = new Int32Array(capacity);
    free.set(this.freeSlots.subarray(0, this.freeTop));
    let top = this.freeTop;
    for (let s = capacity - 1; s >= old; s--) free[top++] = s;
    this.freeSlots = free;
    this.freeTop = top;
    // Closed ring: re-linearise.
    const ring = new Int32Array(capacity);
    for (let i = 0; i < this.closedCount; i++)
      ring[i] = this.closedRing[(this.closedHead + i) % this.closedRing.length]!;
    this.closedRing = ring;
    this.closedHead = 0;
    this.capacity = capacity;
    // Rebuild the index at load ≤ 0.5.
    let size = 1;
    while (size < capacity * 2) size <<= 1;
    this.index = new Int32Array(size).fill(EMPTY);
    this.indexMask = size - 1;
    for (let s = this.lruHead; s !== EMPTY; s = this.records[s * RECORD + R_NEXT]!) this.indexInsert(s);
    this.listener.onResize(capacity);
  }

  private indexInsert(slot: number): void {
    const mask = this.indexMask;
    let i = this.keys[slot * RECORD + R_HASH]! & mask;
    while (this.index[i] !== EMPTY) i = (i + 1) & mask;
    this.index[i] = slot;
  }

  /** Backward-shift deletion keeps linear probing correct without tombstones. */
  private indexRemove(slot: number): void {
    const mask = this.indexMask;
    const keys = this.keys;
    let i = keys[slot * RECORD + R_HASH]! & mask;
    while (this.index[i] !== slot) {
      if (this.index[i] === EMPTY) return;
      i = (i + 1) & mask;
    }
    let hole = i;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const s = this.index[j]!;
      if (s === EMPTY) break;
      const home = keys[s * RECORD + R_HASH]! & mask;
      // Move s into the hole when its home position is not in the cyclic range (hole, j].
      if ((j > hole && (home <= hole || home > j)) || (j < hole && home <= hole && home > j)) {
        this.index[hole] = s;
        hole = j;
      }
    }
    this.index[hole] = EMPTY;
  }

  private find(key: Uint32Array, hash: number): number {
    const mask = this.indexMask;
    const keys = this.keys;
    let i = hash & mask;
    for (;;) {
      const s = this.index[i]!;
      if (s === EMPTY) return EMPTY;
      const b = s * RECORD;
      if (keys[b + R_HASH] === hash) {
        let same = true;
        for (let w = 0; w < KEY_WORDS; w++) {
          if (keys[b + w] !== key[w]) {
            same = false;
            break;
          }
        }
        if (same) return s;
      }
      i = (i + 1) & mask;
    }
  }

  private lruUnlink(s: number): void {
    const r = this.records;
    const p = r[s * RECORD + R_PREV]!;
    const n = r[s * RECORD + R_NEXT]!;
    if (p === EMPTY) this.lruHead = n;
    else r[p * RECORD + R_NEXT] = n;
    if (n === EMPTY) this.lruTail = p;
    else r[n * RECORD + R_PREV] = p;
  }

  private lruAppend(s: number): void {
    const r = this.records;
    r[s * RECORD + R_PREV] = this.lruTail;
    r[s * RECORD + R_NEXT] = EMPTY;
    if (this.lruTail === EMPTY) this.lruHead = s;
    else r[this.lruTail * RECORD + R_NEXT] = s;
    this.lruTail = s;
  }

  /** TCP close state of a slot (CLOSED_FIN, CLOSED_RST, FWD_FIN, BWD_FIN bits). */
  private tcpStateOf(slot: number): number {
    return this.records[slot * RECORD + R_TCP]!;
  }

  /** Add one decoded IP packet. */
  add(pkt: PacketView): void {
    const ts = pkt.tsUs;
    if (ts > this.clockUs) this.clockUs = ts;
    const now = this.clockUs;
    this.expireIdle(now);

    const isIcmp = pkt.protocol === 1 || pkt.protocol === 58;
    const kind = isIcmp ? icmpKind(pkt.protocol, pkt.icmpType) : 0;
    const key = this.scratch;
    const aToB = isIcmp ? canonicalKey(pkt, key, kind, kind) : canonicalKey(pkt, key, pkt.srcPort, pkt.dstPort);
    const hash = hashKey(key);
    let slot = this.find(key, hash);
    const isTcp = pkt.protocol === 6;
    if (slot !== EMPTY) {
      const st = this.tcpStateOf(slot);
      const syn = isTcp && (pkt.tcpFlags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN;
      const closed = (st & (CLOSED_FIN | CLOSED_RST)) !== 0;
      // A closed flow past its linger ends here even when expireIdle has not reached it yet: the ring of closed
      // flows is in close order, and a flow still lingering before it (a late ACK renewed its activity) stops the
      // scan. Whether a packet joins a closed flow then depends on that flow alone, also in a sharded run.
      if (closed && (syn || now - this.activeUs[slot]! > this.opts.tcpCloseLingerUs)) {
        this.end(slot, st & CLOSED_RST ? EndReason.rst : EndReason.fin);
        slot = EMPTY;
      } else if (ts - this.firstSeenUs[slot]! > this.opts.activeTimeoutUs) {
        this.end(
          slot,
          (st & CLOSED_RST) !== 0 ? EndReason.rst : (st & CLOSED_FIN) !== 0 ? EndReason.fin : EndReason.active,
        );
        slot = EMPTY;
      }
    }
    if (slot === EMPTY) slot = this.create(key, hash, aToB, pkt);

    const dir: 0 | 1 = this.records[slot * RECORD + R_SRC_IS_A] === aToB ? 0 : 1;
    if (ts > this.lastSeenUs[slot]!) this.lastSeenUs[slot] = ts;
    this.activeUs[slot] = now;
    if (slot !== this.lruTail) {
      this.lruUnlink(slot);
      this.lruAppend(slot);
    }
    this.listener.onFlowPacket(slot, pkt, dir);

    if (isTcp) {
      const f = pkt.tcpFlags;
      let st = this.tcpStateOf(slot);
      if ((st & (CLOSED_FIN | CLOSED_RST)) === 0) {
        if (f & TcpFlag.RST) st |= CLOSED_RST;
        else if (f & TcpFlag.FIN) {
          st |= dir === 0 ? FWD_FIN : BWD_FIN;
          if ((st & (FWD_FIN | BWD_FIN)) === (FWD_FIN | BWD_FIN)) st |= CLOSED_FIN;
        }
        if (st & (CLOSED_FIN | CLOSED_RST)) this.pushClosed(slot);
        this.records[slot * RECORD + R_TCP] = st;
      }
    }
  }

  private create(key: Uint32Array, hash: number, aToB: 0 | 1, pkt: PacketView): number {
    if (this.freeTop === 0) {
      if (this.capacity < this.opts.maxFlows) this.grow(Math.min(this.capacity * 2, this.opts.maxFlows));
      else {
        this.evictions++;
        const victim = this.lruHead;
        const st = this.tcpStateOf(victim);
        // A closed flow leaving early still ended for its own reason; only live flows count as evicted.
        this.end(victim, st & CLOSED_RST ? EndReason.rst : st & CLOSED_FIN ? EndReason.fin : EndReason.evicted);
      }
    }
    const slot = this.freeSlots[--this.freeTop]!;
    const rec = slot * RECORD;
    this.keys.set(key, rec);
    this.keys[rec + R_HASH] = hash;
    let srcIsA: number = aToB;
    const nets = this.opts.localNets;
    if (nets && nets.length > 0) {
      const v = pkt.ipVersion;
      const srcLocal = nets.some((n) => cidrContains(n, v, pkt.src));
      const dstLocal = nets.some((n) => cidrContains(n, v, pkt.dst));
      // The local endpoint is src when exactly one side is local; otherwise the first sender stays src.
      if (srcLocal !== dstLocal) srcIsA = srcLocal ? aToB : 1 - aToB;
    }
    this.records[rec + R_SRC_IS_A] = srcIsA;
    this.firstSeenUs[slot] = pkt.tsUs;
    this.lastSeenUs[slot] = pkt.tsUs;
    this.activeUs[slot] = this.clockUs;
    this.records[rec + R_TCP] = 0;
    this.flowSeq[slot] = this.nextSeq++;
    this.indexInsert(slot);
    this.lruAppend(slot);
    this.live++;
    this.listener.onFlowStart(slot, pkt, srcIsA === aToB ? 0 : 1);
    return slot;
  }

  private pushClosed(slot: number): void {
    if (this.closedCount >= this.closedRing.length) return; // cannot happen: at most one entry per live flow
    this.closedRing[(this.closedHead + this.closedCount) % this.closedRing.length] = slot;
    this.closedCount++;
  }

  /** End a flow: tell the listener, then free its slot. */
  private end(slot: number, reason: number): void {
    this.listener.onFlowEnd(slot, reason);
    this.indexRemove(slot);
    this.lruUnlink(slot);
    this.records[slot * RECORD + R_TCP] = 0;
    this.keys[slot * RECORD + R_HASH] = 0;
    this.freeSlots[this.freeTop++] = slot;
    this.live--;
  }

  /** End flows idle at `now`, and closed TCP flows past their linger time. */
  expireIdle(now: number): void {
    const idle = this.opts.idleTimeoutUs;
    while (this.lruHead !== EMPTY && now - this.activeUs[this.lruHead]! > idle) {
      const s = this.lruHead;
      const st = this.tcpStateOf(s);
      this.end(s, st & CLOSED_RST ? EndReason.rst : st & CLOSED_FIN ? EndReason.fin : EndReason.idle);
    }
    const linger = this.opts.tcpCloseLingerUs;
    const ring = this.closedRing;
    while (this.closedCount > 0) {
      const s = ring[this.closedHead]!;
      const st = this.tcpStateOf(s);
      if ((st & (CLOSED_FIN | CLOSED_RST)) === 0) {
        // The slot was freed (idle, eviction, SYN reuse) since it closed: drop the stale entry.
        this.closedHead = (this.closedHead + 1) % ring.length;
        this.closedCount--;
        continue;
      }
      if (now - this.activeUs[s]! <= linger) break;
      this.closedHead = (this.closedHead + 1) % ring.length;
      this.closedCount--;
      this.end(s, st & CLOSED_RST ? EndReason.rst : EndReason.fin);
    }
  }

  /** End every live flow (end of input), least recently seen first. */
  flush(): void {
    this.closedCount = 0;
    this.closedHead = 0;
    while (this.lruHead !== EMPTY) {
      const s = this.lruHead;
      const st = this.tcpStateOf(s);
      this.end(s, st & CLOSED_RST ? EndReason.rst : st & CLOSED_FIN ? EndReason.fin : EndReason.end_of_capture);
    }
  }

  /** Key endpoint of a slot's src (initiator) or dst: word offset into `keys` of its address, and its port. */
  endpointBase(slot: number, srcSide: boolean): number {
    const isA = (this.records[slot * RECORD + R_SRC_IS_A] === 1) === srcSide;
    return slot * RECORD + (isA ? 0 : 4);
  }

  endpointPort(slot: number, srcSide: boolean): number {
    const isA = (this.records[slot * RECORD + R_SRC_IS_A] === 1) === srcSide;
    const w = this.keys[slot * RECORD + 8]!;
    return isA ? w >>> 16 : w & 0xffff;
  }

  protocolOf(slot: number): number {
    return this.keys[slot * RECORD + 9]! & 0xff;
  }

  ipVersionOf(slot: number): number {
    return (this.keys[slot * RECORD + 9]! >>> 8) & 0xf;
  }

  vlanOf(slot: number): number {
    return (this.keys[slot * RECORD + 9]! >>> 12) & 0xfff;
  }
}
