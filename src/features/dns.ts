/**
 * DNS meter: what a DNS flow asked and got, and the DNS context of every other flow (the contextual features of
 * Anderson & McGrew, AISec 2016: the name a server address was resolved from, and the client's DNS behaviour).
 *
 * DNS flows: UDP or TCP with port 53 at either end (and mDNS, UDP 5353, unless `mdns: false`). Every message is
 * parsed (src/proto/dns.ts): the flow's columns come from its first query and first response, its counters from
 * all of them. DNS over TCP (RFC 7766 §8) is read through a bounded in-order buffer (4 KiB per direction, allocated
 * only for such flows): a message longer than that is parsed as far as it goes, then that direction stops.
 *
 * Context (group `dns_context`), fed by the port-53 responses this meter sees in the same run:
 * - address → name: each A/AAAA answer of a NOERROR response maps the address to the name the client asked for
 *   (the first question; the record's owner name when there is none). A bounded LRU map (default 100 000
 *   addresses), most recent resolution wins. A flow looks up its dst (server) address at its first packet, so the
 *   name is the one the address was last resolved from *before* the flow began.
 * - per client (the src address of queries): queries sent, NXDOMAIN responses received, first query time; a
 *   bounded LRU map (default 100 000 clients). Each flow takes a snapshot for its src at its first packet.
 * mDNS answers are local names and do not feed the context.
 * Address keys: an IPv4 address is its 32-bit number, an IPv6 address its RFC 5952 text; names live in Maps only.
 *
 * Allocation: parsing allocates per DNS message (a small share of packets); a non-DNS flow costs two Map lookups
 * at its first packet and one comparison per later packet.
 */
import type { PacketView } from '../decode/packet.ts';
import {
  DEFAULT_DNS_LIMITS,
  type DnsLimits,
  type DnsMessage,
  DnsRcode,
  DnsType,
  formatIPv6Words,
  parseDns,
} from '../proto/dns.ts';
import { SegmentBuffers } from './http.ts';
import type { ColumnSpec, FlowRow, Meter } from './meter.ts';
import { grow } from './meter.ts';

export interface DnsMeterOptions {
  /** Parse mDNS (UDP 5353) too (default true). */
  mdns?: boolean;
  /** Address → name entries kept (default 100 000). */
  maxAddresses?: number;
  /** Clients with counters kept (default 100 000). */
  maxClients?: number;
  /** Answer strings kept per flow (default 16). */
  maxAnswers?: number;
  limits?: Partial<DnsLimits>;
}

const DNS_PORT = 53;
const MDNS_PORT = 5353;
const TCP_BUFFER_BYTES = 4096;

const NOT_DNS = 0;
const DNS_UDP = 1;
const DNS_TCP = 2;

type AddrKey = number | string;

interface Resolution {
  name: string;
  tsUs: number;
}

interface ClientCounters {
  queries: number;
  nxdomain: number;
  firstQueryUs: number;
}

/**
 * A bounded map with least-recently-used eviction. Lookup: IPv4 keys (uint32) in an open-addressing table over
 * typed arrays, IPv6 keys (text) in a Map; recency: a doubly linked list over typed arrays (head = least recent),
 * so a `get` relinks two entries. Every flow looks up its client and its server here at its first packet: a Map
 * with number keys costs 110-150 ns a lookup (keys ≥ 2^31 are heap numbers, allocated per key), the table 10-30 ns
 * (micro-benchmark of 100 000 random addresses, 1 M lookups, Node 20).
 */
export class Lru<V> {
  private readonly map = new Map<string, number>();
  /** IPv4 table: key and entry index + 1 per cell (0 = empty); linear probing, load ≤ 1/2. */
  private v4Keys = new Uint32Array(16);
  private v4Cell = new Int32Array(16);
  private v4Count = 0;
  private keys: AddrKey[] = [];
  private vals: (V | undefined)[] = [];
  private prev = new Int32Array(16);
  private next = new Int32Array(16);
  /** Least and most recently used entry, -1 when empty. */
  private head = -1;
  private tail = -1;
  /** The entry index freed by the last eviction (reused by the insertion that follows), -1 when none. */
  private freeIndex = -1;
  readonly max: number;
  constructor(max: number) {
    this.max = Math.max(1, max);
  }
  get size(): number {
    return this.map.size + this.v4Count;
  }
  get(k: AddrKey): V | undefined {
    const i = this.indexOf(k);
    if (i < 0) return undefined;
    if (i !== this.tail) {
      this.unlink(i);
      this.append(i);
    }
    return this.vals[i];
  }
  set(k: AddrKey, v: V): void {
    let i = this.indexOf(k);
    if (i >= 0) {
      this.vals[i] = v;
      if (i !== this.tail) {
        this.unlink(i);
        this.append(i);
      }
      return;
    }
    if (this.freeIndex >= 0) {
      i = this.freeIndex;
      this.freeIndex = -1;
    } else {
      i = this.keys.length;
      this.keys.push(k);
      this.vals.push(v);
      if (i >= this.prev.length) {
        const prev = new Int32Array(this.prev.length * 2);
        prev.set(this.prev);
        this.prev = prev;
        const next = new Int32Array(this.next.length * 2);
        next.set(this.next);
        this.next = next;
      }
    }
    this.keys[i] = k;
    this.vals[i] = v;
    if (typeof k === 'number') this.v4Insert(k, i);
    else this.map.set(k, i);
    this.append(i);
    if (this.size > this.max) {
      const oldest = this.head;
      this.unlink(oldest);
      const ok = this.keys[oldest]!;
      if (typeof ok === 'number') this.v4Delete(ok);
      else this.map.delete(ok);
      this.vals[oldest] = undefined;
      this.freeIndex = oldest;
    }
  }
  clear(): void {
    this.map.clear();
    this.v4Keys = new Uint32Array(16);
    this.v4Cell = new Int32Array(16);
    this.v4Count = 0;
    this.keys = [];
    this.vals = [];
    this.head = -1;
    this.tail = -1;
    this.freeIndex = -1;
  }
  private indexOf(k: AddrKey): number {
    if (typeof k !== 'number') return this.map.get(k) ?? -1;
    const mask = this.v4Cell.length - 1;
    for (let c = v4Home(k, mask); ; c = (c + 1) & mask) {
      const e = this.v4Cell[c]!;
      if (e === 0) return -1;
      if (this.v4Keys[c] === k) return e - 1;
    }
  }
  private v4Insert(k: number, index: number): void {
    if (2 * (this.v4Count + 1) > this.v4Cell.length) this.v4Grow();
    const mask = this.v4Cell.length - 1;
    let c = v4Home(k, mask);
    while (this.v4Cell[c] !== 0) c = (c + 1) & mask;
    this.v4Keys[c] = k;
    this.v4Cell[c] = index + 1;
    this.v4Count++;
  }
  private v4Grow(): void {
    const keys = this.v4Keys;
    const cells = this.v4Cell;
    this.v4Keys = new Uint32Array(keys.length * 2);
    this.v4Cell = new Int32Array(cells.length * 2);
    const mask = this.v4Cell.length - 1;
    for (let j = 0; j < cells.length; j++) {
      if (cells[j] === 0) continue;
      let c = v4Home(keys[j]!, mask);
      while (this.v4Cell[c] !== 0) c = (c + 1) & mask;
      this.v4Keys[c] = keys[j]!;
      this.v4Cell[c] = cells[j]!;
    }
  }
  /** Remove a present key; later cells of its probe run shift back into the hole (no tombstones). */
  private v4Delete(k: number): void {
    const mask = this.v4Cell.length - 1;
    let hole = v4Home(k, mask);
    while (this.v4Keys[hole] !== k || this.v4Cell[hole] === 0) hole = (hole + 1) & mask;
    for (let c = (hole + 1) & mask; this.v4Cell[c] !== 0; c = (c + 1) & mask) {
      // Move the entry at c into the hole when the hole lies on its probe path (home .. c).
      if (((c - v4Home(this.v4Keys[c]!, mask)) & mask) >= ((c - hole) & mask)) {
        this.v4Keys[hole] = this.v4Keys[c]!;
        this.v4Cell[hole] = this.v4Cell[c]!;
        hole = c;
      }
    }
    this.v4Cell[hole] = 0;
    this.v4Count--;
  }
  private unlink(i: number): void {
    const p = this.prev[i]!;
    const n = this.next[i]!;
    if (p >= 0) this.next[p] = n;
    else this.head = n;
    if (n >= 0) this.prev[n] = p;
    else this.tail = p;
  }
  private append(i: number): void {
    this.prev[i] = this.tail;
    this.next[i] = -1;
    if (this.tail >= 0) this.next[this.tail] = i;
    else this.head = i;
    this.tail = i;
  }
}

/** Home cell of an IPv4 key: the address bits mixed (an integer finaliser), then masked to the table size. */
function v4Home(k: number, mask: number): number {
  let h = Math.imul(k ^ (k >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return (h ^ (h >>> 16)) & mask;
}

/**
 * The last two IPv6 addresses formatted, as words and text: every flow looks up its client and server at its
 * first packet, and formatting an IPv6 address (RFC 5952) allocates; consecutive flows mostly share addresses.
 */
const v6Words = new Uint32Array(8);
const v6Text = ['::', '::'];
let v6Next = 0;

function ipv6Key(w: Uint32Array): string {
  for (let e = 0; e < 2; e++) {
    const b = e * 4;
    if (v6Words[b] === w[0] && v6Words[b + 1] === w[1] && v6Words[b + 2] === w[2] && v6Words[b + 3] === w[3]) {
      return v6Text[e]!;
    }
  }
  const text = formatIPv6Words(w);
  const b = v6Next * 4;
  for (let i = 0; i < 4; i++) v6Words[b + i] = w[i]!;
  v6Text[v6Next] = text;
  v6Next ^= 1;
  return text;
}

/** Map key of an address in PacketView layout (IPv4 in word 0). */
export function addressKey(ipVersion: number, words: Uint32Array): AddrKey {
  return ipVersion === 6 ? ipv6Key(words) : words[0]! >>> 0;
}

const col = (key: string, type: ColumnSpec['type'], unit: string, doc: string): ColumnSpec => ({
  key,
  group: 'dns',
  type,
  unit,
  doc,
});
const ctx = (key: string, type: ColumnSpec['type'], unit: string, doc: string): ColumnSpec => ({
  key,
  group: 'dns_context',
  type,
  unit,
  doc,
});

export class DnsMeter implements Meter {
  static readonly columns: readonly ColumnSpec[] = [
    col(
      'query',
      'string',
      '',
      'Name in the first question of the first DNS message (RFC 1035 §5.1 presentation form).',
    ),
    col('qtype', 'int', '', 'QTYPE of that question (1 A, 28 AAAA, 5 CNAME, 16 TXT, ...).'),
    col(
      'rcode',
      'int',
      '',
      'RCODE of the first response (0 NOERROR, 3 NXDOMAIN, ...); null when no response was seen.',
    ),
    col('answer_count', 'int', 'count', 'ANCOUNT of the first response; null when no response was seen.'),
    col(
      'answers',
      'string_list',
      '',
      "RDATA of the first response's answers (A/AAAA addresses, CNAME/PTR/NS/MX names), at most 16.",
    ),
    col('ttl_min', 'int', 's', "Smallest TTL among the first response's answers; null when it has none."),
    col('ttl_max', 'int', 's', "Largest TTL among the first response's answers; null when it has none."),
    col('queries', 'int', 'count', 'DNS query messages (QR = 0) in the flow.'),
    col('responses', 'int', 'count', 'DNS response messages (QR = 1) in the flow.'),
    col('nxdomain', 'int', 'count', 'Responses in the flow with RCODE 3 (NXDOMAIN).'),
    col(
      'anomaly',
      'string',
      '',
      "First parser anomaly in the flow (dns_pointer_loop, dns_short_record, ...); '' when none.",
    ),
    ctx(
      'name',
      'string',
      '',
      "Name dst's address was last resolved from (A/AAAA answer) before the flow began; null when unknown.",
    ),
    ctx('age_us', 'int', 'us', "Time from that DNS response to the flow's first packet; null when unknown."),
    ctx('client_queries', 'int', 'count', 'DNS queries sent by src earlier in the capture (port 53).'),
    ctx('client_nxdomain', 'int', 'count', 'NXDOMAIN responses received by src earlier in the capture.'),
    ctx(
      'client_queries_per_s',
      'float',
      'queries/s',
      "src's queries divided by the time from its first query to this flow's first packet (at least 1 s).",
    ),
  ];
  readonly name = 'dns';
  /** Only payload is parsed, SYN or not (the context is taken in onInit, from the flow's first packet). */
  readonly skipsEmptyPackets = true;
  readonly payloadOnly = true;
  readonly columns = DnsMeter.columns;

  /** Anomaly code → messages with it, over the whole run (for the pipeline's counters). */
  readonly anomalies = new Map<string, number>();

  private readonly mdns: boolean;
  private readonly maxAnswers: number;
  private readonly limits: DnsLimits;
  private readonly resolved: Lru<Resolution>;
  private readonly clients: Lru<ClientCounters>;
  private readonly segments = new SegmentBuffers(TCP_BUFFER_BYTES);

  private kind = new Uint8Array(0);
  /** Per slot*2+dir: a TCP direction that gave up (gap or oversize message). */
  private tcpDone = new Uint8Array(0);
  private isMdns = new Uint8Array(0);
  private qtype = new Int32Array(0);
  private rcode = new Int32Array(0);
  private answerCount = new Int32Array(0);
  private ttlMin = new Float64Array(0);
  private ttlMax = new Float64Array(0);
  private queries = new Uint32Array(0);
  private responses = new Uint32Array(0);
  private nx = new Uint32Array(0);
  private query: (string | null)[] = [];
  private answers: (string[] | null)[] = [];
  private anomaly: string[] = [];
  private ctxName: (string | null)[] = [];
  private ctxAge = new Float64Array(0);
  private ctxQueries = new Float64Array(0);
  private ctxNx = new Float64Array(0);
  private ctxRate = new Float64Array(0);
  private ctxHasClient = new Uint8Array(0);

  constructor(opts: DnsMeterOptions = {}) {
    this.mdns = opts.mdns ?? true;
    this.maxAnswers = opts.maxAnswers ?? 16;
    this.limits = { ...DEFAULT_DNS_LIMITS, ...opts.limits };
    this.resolved = new Lru(opts.maxAddresses ?? 100_000);
    this.clients = new Lru(opts.maxClients ?? 100_000);
  }

  /** Forget the address → name map and the client counters (e.g. between unrelated captures). */
  onInputStart(_file: string): void {
    this.resetContext();
  }

  resetContext(): void {
    this.resolved.clear();
    this.clients.clear();
  }

  /** Entries in the address → name map and in the client map. */
  get contextSizes(): { addresses: number; clients: number } {
    return { addresses: this.resolved.size, clients: this.clients.size };
  }

  resize(capacity: number): void {
    this.kind = grow(this.kind, capacity);
    this.tcpDone = grow(this.tcpDone, capacity * 2);
    this.isMdns = grow(this.isMdns, capacity);
    this.qtype = grow(this.qtype, capacity);
    this.rcode = grow(this.rcode, capacity);
    this.answerCount = grow(this.answerCount, capacity);
    this.ttlMin = grow(this.ttlMin, capacity);
    this.ttlMax = grow(this.ttlMax, capacity);
    this.queries = grow(this.queries, capacity);
    this.responses = grow(this.responses, capacity);
    this.nx = grow(this.nx, capacity);
    this.ctxAge = grow(this.ctxAge, capacity);
    this.ctxQueries = grow(this.ctxQueries, capacity);
    this.ctxNx = grow(this.ctxNx, capacity);
    this.ctxRate = grow(this.ctxRate, capacity);
    this.ctxHasClient = grow(this.ctxHasClient, capacity);
    this.segments.resize(capacity);
    while (this.query.length < capacity) {
      this.query.push(null);
      this.answers.push(null);
      this.anomaly.push('');
      this.ctxName.push(null);
    }
  }

  /**
   * Takes the flow's context from its first packet, and returns false for a flow that is not DNS: its later
   * packets are not needed (before, every flow's first onUpdate took the context, one more call per flow: lab500,
   * 132k flows, 96 % of them not DNS).
   */
  onInit(slot: number, pkt: PacketView, _flowStartUs?: number, dir: 0 | 1 = 0): boolean {
    const p = pkt.protocol;
    const sp = pkt.srcPort;
    const dp = pkt.dstPort;
    let kind = NOT_DNS;
    let mdns = 0;
    if ((p === 17 || p === 6) && (sp === DNS_PORT || dp === DNS_PORT)) kind = p === 17 ? DNS_UDP : DNS_TCP;
    else if (this.mdns && p === 17 && (sp === MDNS_PORT || dp === MDNS_PORT)) {
      kind = DNS_UDP;
      mdns = 1;
    }
    this.kind[slot] = kind;
    this.isMdns[slot] = mdns;
    this.ctxName[slot] = null;
    this.ctxHasClient[slot] = 0;
    this.takeContext(slot, pkt, dir);
    if (kind === NOT_DNS) return false;
    this.tcpDone[slot * 2] = 0;
    this.tcpDone[slot * 2 + 1] = 0;
    this.qtype[slot] = -1;
    this.rcode[slot] = -1;
    this.answerCount[slot] = -1;
    this.ttlMin[slot] = -1;
    this.ttlMax[slot] = -1;
    this.queries[slot] = 0;
    this.responses[slot] = 0;
    this.nx[slot] = 0;
    this.query[slot] = null;
    this.answers[slot] = null;
    this.anomaly[slot] = '';
    this.segments.clear(slot, 0);
    this.segments.clear(slot, 1);
    return true;
  }

  /** Returns false for DNS over TCP once both directions gave up: later packets are not needed. */
  onUpdate(slot: number, pkt: PacketView, dir: 0 | 1): boolean {
    const kind = this.kind[slot]!;
    if (kind === NOT_DNS) return false;
    // A later IP fragment continues a message whose start was in the first fragment: no message starts here.
    if (pkt.payloadLen === 0 || pkt.fragOffset > 0) return true;
    const start = pkt.payloadOffset;
    const end = start + pkt.payloadLen;
    if (kind === DNS_UDP) {
      const msg = parseDns(pkt.buf, start, end, this.limits);
      // The first fragment of a fragmented datagram holds only the message's start (no IP reassembly here):
      // running out of bytes there is expected, not an anomaly of the message.
      if (pkt.moreFragments && msg.status === 'truncated') msg.anomaly = '';
      this.handle(slot, pkt, msg);
      return true;
    }
    this.onTcp(slot, pkt, dir);
    return this.tcpDone[slot * 2] === 0 || this.tcpDone[slot * 2 + 1] === 0;
  }

  /** Snapshot the context for the flow's src (client) and dst (server) at its first packet. */
  private takeContext(slot: number, pkt: PacketView, dir: 0 | 1): void {
    if (pkt.ipVersion !== 4 && pkt.ipVersion !== 6) return;
    const server = dir === 0 ? pkt.dst : pkt.src;
    const client = dir === 0 ? pkt.src : pkt.dst;
    const r = this.resolved.get(addressKey(pkt.ipVersion, server));
    if (r !== undefined) {
      this.ctxName[slot] = r.name;
      this.ctxAge[slot] = Math.max(0, pkt.tsUs - r.tsUs);
    }
    const c = this.clients.get(addressKey(pkt.ipVersion, client));
    if (c !== undefined) {
      this.ctxHasClient[slot] = 1;
      this.ctxQueries[slot] = c.queries;
      this.ctxNx[slot] = c.nxdomain;
      this.ctxRate[slot] = c.queries / Math.max(1, (pkt.tsUs - c.firstQueryUs) / 1e6);
    }
  }

  /** DNS over TCP: 2-byte length-prefixed messages (RFC 1035 §4.2.2), possibly split or several per segment. */
  private onTcp(slot: number, pkt: PacketView, dir: 0 | 1): void {
    const i = slot * 2 + dir;
    if (this.tcpDone[i] === 1) return;
    const seg = this.segments;
    const at = seg.position(slot, dir, pkt);
    if (at !== 0 && seg.length(slot, dir) === 0) {
      // Between whole messages: a retransmission repeats what was parsed; a gap loses the message framing.
      if (at === 1) this.tcpDone[i] = 1;
      return;
    }
    if (seg.length(slot, dir) === 0) {
      // Fast path: parse whole messages straight from the packet, buffer only a trailing partial one.
      const start = pkt.payloadOffset;
      const end = start + pkt.payloadLen;
      let p = start;
      while (end - p >= 2) {
        const len = (pkt.buf[p]! << 8) | pkt.buf[p + 1]!;
        if (p + 2 + len > end) break;
        this.handle(slot, pkt, parseDns(pkt.buf, p + 2, p + 2 + len, this.limits));
        p += 2 + len;
      }
      if (p === end) {
        seg.advance(slot, dir, pkt);
        return;
      }
      const r = seg.append(slot, dir, pkt, p - start);
      if (r === 'gap') this.tcpDone[i] = 1;
      else if (r === 'full') this.drainTruncated(slot, pkt, dir);
      return;
    }
    const r = seg.append(slot, dir, pkt);
    if (r === 'duplicate') return;
    if (r === 'gap') {
      this.tcpDone[i] = 1;
      return;
    }
    const view = seg.view(slot, dir);
    let p = 0;
    while (view.length - p >= 2) {
      const len = (view[p]! << 8) | view[p + 1]!;
      if (p + 2 + len > view.length) break;
      this.handle(slot, pkt, parseDns(view, p + 2, p + 2 + len, this.limits));
      p += 2 + len;
    }
    seg.consume(slot, dir, p);
    if (r === 'full' && seg.length(slot, dir) >= seg.bound) this.drainTruncated(slot, pkt, dir);
  }

  /** The buffer is full of one message longer than the bound: parse the part held, then stop this direction. */
  private drainTruncated(slot: number, pkt: PacketView, dir: 0 | 1): void {
    const view = this.segments.view(slot, dir);
    if (view.length >= 2) this.handle(slot, pkt, parseDns(view, 2, view.length, this.limits));
    this.segments.clear(slot, dir);
    this.tcpDone[slot * 2 + dir] = 1;
  }

  private handle(slot: number, pkt: PacketView, msg: DnsMessage): void {
    if (msg.anomaly !== '') {
      this.anomalies.set(msg.anomaly, (this.anomalies.get(msg.anomaly) ?? 0) + 1);
      if (this.anomaly[slot] === '') this.anomaly[slot] = msg.anomaly;
    }
    if (msg.anomaly === 'dns_short_header') return;
    const q = msg.questions[0];
    if (this.query[slot] === null && q !== undefined) {
      this.query[slot] = q.name;
      this.qtype[slot] = q.type;
    }
    const feeds = this.isMdns[slot] === 0 && (pkt.ipVersion === 4 || pkt.ipVersion === 6);
    if (!msg.response) {
      this.queries[slot] = this.queries[slot]! + 1;
      if (feeds && msg.opcode === 0) {
        const key = addressKey(pkt.ipVersion, pkt.src);
        const c = this.clients.get(key);
        if (c === undefined) this.clients.set(key, { queries: 1, nxdomain: 0, firstQueryUs: pkt.tsUs });
        else c.queries++;
      }
      return;
    }
    this.responses[slot] = this.responses[slot]! + 1;
    if (msg.rcode === DnsRcode.NXDOMAIN) {
      this.nx[slot] = this.nx[slot]! + 1;
      if (feeds) {
        const key = addressKey(pkt.ipVersion, pkt.dst);
        const c = this.clients.get(key);
        if (c === undefined) this.clients.set(key, { queries: 0, nxdomain: 1, firstQueryUs: pkt.tsUs });
        else c.nxdomain++;
      }
    }
    if (this.rcode[slot] === -1) {
      this.rcode[slot] = msg.rcode;
      this.answerCount[slot] = msg.ancount;
      const list: string[] = [];
      let lo = -1;
      let hi = -1;
      for (const a of msg.answers) {
        if (a.data !== '' && list.length < this.maxAnswers) list.push(a.data);
        if (lo < 0 || a.ttl < lo) lo = a.ttl;
        if (a.ttl > hi) hi = a.ttl;
      }
      this.answers[slot] = list;
      this.ttlMin[slot] = lo;
      this.ttlMax[slot] = hi;
    }
    if (feeds && msg.rcode === DnsRcode.NOERROR && msg.opcode === 0) {
      for (const a of msg.answers) {
        const name = q?.name ?? a.name;
        if (a.type === DnsType.A && a.ipv4 >= 0) this.resolved.set(a.ipv4, { name, tsUs: pkt.tsUs });
        else if (a.type === DnsType.AAAA && a.data !== '') this.resolved.set(a.data, { name, tsUs: pkt.tsUs });
      }
    }
  }

  onExpire(slot: number, row: FlowRow): void {
    if (this.ctxName[slot] !== null || this.ctxHasClient[slot] === 1) {
      const known = this.ctxName[slot] !== null;
      const has = this.ctxHasClient[slot] === 1;
      row.dns_context = {
        name: this.ctxName[slot] ?? null,
        age_us: known ? this.ctxAge[slot]! : null,
        client_queries: has ? this.ctxQueries[slot]! : 0,
        client_nxdomain: has ? this.ctxNx[slot]! : 0,
        client_queries_per_s: has ? Math.round(this.ctxRate[slot]! * 1e6) / 1e6 : null,
      };
      this.ctxName[slot] = null;
    }
    if (this.kind[slot] === NOT_DNS) return;
    const seen = this.queries[slot]! + this.responses[slot]!;
    const answers = this.answers[slot] ?? null;
    this.answers[slot] = null;
    this.segments.clear(slot, 0);
    this.segments.clear(slot, 1);
    if (seen === 0 && this.anomaly[slot] === '') return;
    const responded = this.rcode[slot]! >= 0;
    row.dns = {
      query: this.query[slot] ?? null,
      qtype: this.qtype[slot]! >= 0 ? this.qtype[slot]! : null,
      rcode: responded ? this.rcode[slot]! : null,
      answer_count: responded ? this.answerCount[slot]! : null,
      answers: responded ? answers : null,
      ttl_min: this.ttlMin[slot]! >= 0 ? this.ttlMin[slot]! : null,
      ttl_max: this.ttlMax[slot]! >= 0 ? this.ttlMax[slot]! : null,
      queries: this.queries[slot]!,
      responses: this.responses[slot]!,
      nxdomain: this.nx[slot]!,
      anomaly: this.anomaly[slot]!,
    };
    this.query[slot] = null;
  }
}
