/**
 * The extraction pipeline: capture → decode → flow table → meters → flow rows, one way.
 *
 * Accounting invariant (tested): packets_read = packets_in_flows + Σ dropped. Every record the capture reader saw
 * is either decoded into a flow or counted under a name (capture_*, decode statuses, ip_fragment_*), never lost.
 * Rows are handed to `onFlow` as flows end, so a stream on stdin yields records while it runs.
 */
import { CaptureError, type CaptureSummary, type CaptureWarning, listInputs, readCapture } from './capture/index.ts';
import { decodeFrame, linkTypeName } from './decode/index.ts';
import { PacketView, TcpFlag, TUNNEL_NAMES } from './decode/packet.ts';
import type { ColumnSpec, FlowRow, Meter } from './features/meter.ts';
import { FinishedFlow, FlowRecord } from './features/record.ts';
import { formatAddress } from './flow/key.ts';
import { END_REASON_NAMES, type FlowListener, FlowTable, type FlowTableOptions } from './flow/table.ts';

export interface ExtractOptions {
  /** Files, directories (recursed in sorted order) or '-' for a pcap/pcapng stream on stdin. */
  inputs: string[];
  flow?: Partial<FlowTableOptions>;
  /** Meters to run; each gets its own state. */
  meters: Meter[];
  /** Receives each finished flow row (synchronously, while packets are being read). */
  onFlow: (row: FlowRow) => void;
  onWarning?: (w: CaptureWarning) => void;
  /** Progress per input: bytes consumed of this file, its size when known, packets so far overall. */
  onProgress?: (p: {
    file: string;
    fileIndex: number;
    files: number;
    bytesRead: number;
    totalBytes: number | undefined;
    packets: number;
  }) => void;
  /** Add `source_file` to every row (default: when several inputs are read). */
  sourceFileColumn?: boolean;
}

/**
 * Sharded extraction of one capture (src/parallel): one reader — the main thread, a FlowPipeline with a
 * `ShardRouter` — reads and decodes every packet, counts those that become no flow (decode errors, fragments
 * without their first, capture drops) and hands each other packet to the router, which gives it to the shard of its
 * flow (`flowShard` of the symmetric key hash, so both directions reach one shard). DNS packets (TCP/UDP port 53 or
 * 5353 at either end, `isDnsFlow`) go to every shard, because the DNS meter's context (the name a server address
 * was resolved from, per-client counters) joins them to flows of all shards; only the owner emits their rows and
 * counts their packets. Each shard is a FlowPipeline with `ShardOptions`, fed by `routedPacket` (a worker, from the
 * packet's bytes) or `routedView` (the main thread's own shard, from the reader's decoded view), so the counters of
 * the reader and the shards add up to the single-threaded ones.
 */
export interface ShardOptions {
  /** An owned flow started at the packet with this ordinal (0-based, over every packet of the file). */
  onFlowCreated(ordinal: number): void;
  /** Written by the pipeline just before onFlow: the ordinal of the ended flow's first packet. */
  flowOrdinal: number;
  /** Written by the pipeline: one past the ordinal of the packet being handled. */
  packetsSeen: number;
}

/** The reader's side: receives every packet that becomes a flow packet, decoded, fragment ports resolved. */
export interface ShardRouter {
  route(
    view: PacketView,
    buf: Uint8Array,
    offset: number,
    capLen: number,
    wireLen: number,
    tsUs: number,
    linkType: number,
    ordinal: number,
  ): void;
}

/**
 * The shard of `count` a flow key hash belongs to, shard 0 taking `share0` of the hash space (the others equal
 * parts of the rest). The hash is remixed first: the flow table indexes by the low bits of the same hash.
 */
export function flowShard(hash: number, count: number, share0 = 1 / count): number {
  const u = (Math.imul(hash ^ (hash >>> 15), 0x2c1b3c6d) >>> 0) / 2 ** 32;
  if (u < share0 || count < 2) return 0;
  return Math.min(count - 1, 1 + Math.floor(((u - share0) / (1 - share0)) * (count - 1)));
}

/** TCP/UDP flows on the DNS ports feed the DNS meter's cross-flow context: every shard processes them. */
export function isDnsFlow(v: PacketView): boolean {
  if (v.protocol !== 6 && v.protocol !== 17) return false;
  const a = v.srcPort;
  const b = v.dstPort;
  return a === 53 || b === 53 || (v.protocol === 17 && (a === 5353 || b === 5353));
}

export interface ExtractStats {
  packets_read: number;
  packets_in_flows: number;
  dropped: Record<string, number>;
  flows: number;
  flows_by_end_reason: Record<string, number>;
  evictions: number;
  bytes_read: number;
  files: { file: string; format: string; compression: string; packets: number; link_types: string[] }[];
  warnings: number;
  /** Malformed application data seen by the meters, by anomaly code (the packets still count in their flows). */
  anomalies: Record<string, number>;
  /** Inputs that could not be read at all (not a capture, unreadable). */
  file_errors: { file: string; code: string; offset: number; message: string }[];
  first_seen_us: number | null;
  last_seen_us: number | null;
  elapsed_s: number;
}

export const IDENTITY_COLUMNS: readonly ColumnSpec[] = [
  {
    key: 'flow_id',
    type: 'int',
    unit: '',
    doc: 'Sequence number of the flow in this run, in order of first packet (per input file).',
  },
  {
    key: 'src_ip',
    type: 'string',
    unit: '',
    doc: 'Address of src, the sender of the first packet (or the local endpoint with --local-net).',
  },
  { key: 'src_port', type: 'int', unit: '', doc: 'TCP/UDP/SCTP port of src; 0 for other protocols.' },
  { key: 'dst_ip', type: 'string', unit: '', doc: 'Address of dst, the other endpoint.' },
  { key: 'dst_port', type: 'int', unit: '', doc: 'TCP/UDP/SCTP port of dst; 0 for other protocols.' },
  {
    key: 'protocol',
    type: 'int',
    unit: '',
    doc: 'IANA protocol number of the transport (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ...).',
  },
  { key: 'ip_version', type: 'int', unit: '', doc: '4 or 6 (innermost IP header when tunnelled).' },
  {
    key: 'first_seen_us',
    type: 'int',
    unit: 'us',
    doc: 'Timestamp of the first packet, microseconds since the Unix epoch.',
  },
  {
    key: 'last_seen_us',
    type: 'int',
    unit: 'us',
    doc: 'Timestamp of the last packet, microseconds since the Unix epoch.',
  },
  { key: 'duration_us', type: 'int', unit: 'us', doc: 'last_seen_us − first_seen_us.' },
  { key: 'vlan_id', type: 'int', unit: '', doc: 'Outermost 802.1Q VLAN id; 0 when untagged. Part of the flow key.' },
  {
    key: 'tunnel',
    type: 'string',
    unit: '',
    doc: "Outermost tunnel the flow was carried in (gre, vxlan, gtpu, ipip, ...); '' when none.",
  },
  {
    key: 'end_reason',
    type: 'string',
    unit: '',
    doc: 'Why the flow ended: idle, active, fin, rst, evicted or end_of_capture.',
  },
];

export const SOURCE_FILE_COLUMN: ColumnSpec = {
  key: 'source_file',
  type: 'string',
  unit: '',
  doc: 'Input file the flow was read from (present when several inputs are read).',
};

/** Keeps the ports of first fragments so later fragments join the same flow (RFC 791 §2.3, RFC 8200 §4.5). */
class FragmentPorts {
  private readonly ports = new Map<string, number>();
  private static readonly MAX = 8192;
  static key(v: PacketView): string {
    return `${v.ipVersion}|${v.src.join('.')}|${v.dst.join('.')}|${v.protocol}|${v.ipId}`;
  }
  remember(v: PacketView): void {
    const k = FragmentPorts.key(v);
    if (this.ports.size >= FragmentPorts.MAX) {
      const oldest = this.ports.keys().next().value;
      if (oldest !== undefined) this.ports.delete(oldest);
    }
    this.ports.set(k, (v.srcPort << 16) | v.dstPort);
  }
  /** Sets the view's ports from the first fragment; false when it was never seen. */
  recall(v: PacketView): boolean {
    const p = this.ports.get(FragmentPorts.key(v));
    if (p === undefined) return false;
    v.srcPort = p >>> 16;
    v.dstPort = p & 0xffff;
    return true;
  }
}

/** Fresh, zeroed run statistics. */
export function emptyStats(): ExtractStats {
  return {
    packets_read: 0,
    packets_in_flows: 0,
    dropped: {},
    flows: 0,
    flows_by_end_reason: {},
    evictions: 0,
    bytes_read: 0,
    files: [],
    warnings: 0,
    file_errors: [],
    anomalies: {},
    first_seen_us: null,
    last_seen_us: null,
    elapsed_s: 0,
  };
}

/**
 * decode → flow table → meters → rows, driven one packet at a time. `runExtract` feeds it from capture files;
 * a parallel worker can feed it packets it was handed. Per input file: `startFile`, `packet`..., `endFile`.
 */
export class FlowPipeline {
  readonly stats: ExtractStats = emptyStats();
  private readonly view = new PacketView();
  private readonly meters: Meter[];
  private readonly fragments = new FragmentPorts();
  private readonly statusNames = new Map<number, string>();
  private table: FlowTable | null = null;
  private tunnels = new Uint8Array(0);
  private currentFile = '';
  private readonly listener: FlowListener;
  private onFlow: ExtractOptions['onFlow'];
  /** Per meter and anomaly code: the count already merged into stats (finish). */
  private readonly anomaliesMerged = new Map<string, number>();
  /** Bound packet handler, shaped like the capture layer's PacketCallback. */
  readonly packet: (
    buf: Uint8Array,
    offset: number,
    capLen: number,
    wireLen: number,
    tsUs: number,
    linkType: number,
  ) => void;

  /**
   * Per slot, bit i set while meter i still wants the flow's packets (cleared when its onInit/onUpdate returns
   * false, see src/features/meter.ts): a flow whose TLS/QUIC/DNS/HTTP/SSH state is decided no longer pays a call
   * per packet to those meters. Meters past the 32nd are always called.
   */
  private wanted = new Int32Array(0);
  /** The meters' onInit and onExpire, bound (see the constructor). */
  private readonly inits: Meter['onInit'][];
  private readonly expires: Meter['onExpire'][];
  /** onExpireUnseen of each meter, bound (a no-op for meters without one: their bits are never in `unseenMeters`). */
  private readonly unseens: NonNullable<Meter['onExpireUnseen']>[];
  /**
   * Per slot, bit i set when meter i gets the flow's onExpire: every eager meter, and a lazy meter once its onInit
   * accepted the flow (src/features/meter.ts, "Lazy meters"). Meters past the 32nd are always called.
   */
  private expiring = new Int32Array(0);
  /**
   * Bits of the meters that want packets without payload too (no `skipsEmptyPackets`). An empty packet (pure ACK,
   * RST, FIN) goes only to those, a SYN to those in `synMeters`, and each flow's first packet to every wanted eager
   * meter.
   */
  private readonly everyPacket: number;
  /** Bits of the meters that want a TCP SYN without payload (all but the `payloadOnly` ones). */
  private readonly synMeters: number;
  /** Bits of the lazy meters (`lazyInit` with `skipsEmptyPackets`, among the first 32). */
  private readonly lazyMeters: number;
  /** Bits of the lazy meters with onExpireUnseen: a flow they never saw still gets their (constant) columns. */
  private readonly unseenMeters: number;
  /** Per IP protocol number: the bits of the meters a new flow starts with (eager ones, lazy ones for it). */
  private readonly startBits = new Int32Array(256);
  /** The slot whose flow was just created: its first packet, next to reach onFlowPacket, goes to every eager meter. */
  private firstSlot = -1;
  /** Shard mode only: per slot, 1 when the flow belongs to another shard (processed for DNS context only). */
  private shadow = new Uint8Array(0);
  /** Shard mode only: per slot, ordinal of the flow's first packet. */
  private firstOrdinal = new Float64Array(0);
  private shadowPacket = 0;
  /** Router mode only: ordinal of the next packet of the file. */
  private routedOrdinal = 0;
  /** Router mode: packets of the current file handed to the pipeline so far (the ordinal of the next one). */
  get packetsOfFile(): number {
    return this.routedOrdinal;
  }

  constructor(
    private readonly opts: Pick<ExtractOptions, 'flow' | 'meters' | 'onFlow'> & {
      sourceFileColumn: boolean;
      /** A worker of a sharded extraction: fed by routedPacket (see ShardOptions). */
      shard?: ShardOptions;
      /** The reader of a sharded extraction: packets that become flow packets go to the router (see ShardRouter). */
      router?: ShardRouter;
    },
  ) {
    this.meters = opts.meters;
    this.onFlow = opts.onFlow;
    const meters = this.meters;
    const stats = this.stats;
    // Each meter's hooks bound once: the dispatch loops then call an array element instead of looking a method up
    // on meters of eight classes (a megamorphic load per call).
    const inits = meters.map((m) => m.onInit.bind(m));
    const updates = meters.map((m) => m.onUpdate.bind(m));
    this.inits = inits;
    this.expires = meters.map((m) => m.onExpire.bind(m));
    this.unseens = meters.map((m) => (m.onExpireUnseen ? m.onExpireUnseen.bind(m) : () => {}));
    let everyPacket = 0;
    let synMeters = 0;
    let lazyMeters = 0;
    let unseenMeters = 0;
    this.startBits.fill(0);
    for (let i = 0; i < Math.min(32, meters.length); i++) {
      const m = meters[i]!;
      const skipsEmpty = m.skipsEmptyPackets === true || m.payloadOnly === true;
      if (!skipsEmpty) everyPacket |= 1 << i;
      if (m.payloadOnly !== true) synMeters |= 1 << i;
      const lazy = m.lazyInit === true && skipsEmpty;
      if (lazy) lazyMeters |= 1 << i;
      if (lazy && m.onExpireUnseen !== undefined) unseenMeters |= 1 << i;
      for (let p = 0; p < 256; p++) {
        if (!lazy || m.protocols === undefined || m.protocols.includes(p))
          this.startBits[p] = this.startBits[p]! | (1 << i);
      }
    }
    this.everyPacket = everyPacket;
    this.synMeters = synMeters;
    this.lazyMeters = lazyMeters;
    this.unseenMeters = unseenMeters;
    this.listener = {
      onResize: (capacity) => {
        const t = new Uint8Array(capacity);
        t.set(this.tunnels.subarray(0, Math.min(capacity, this.tunnels.length)));
        this.tunnels = t;
        const w = new Int32Array(capacity);
        w.set(this.wanted.subarray(0, Math.min(capacity, this.wanted.length)));
        this.wanted = w;
        const e = new Int32Array(capacity);
        e.set(this.expiring.subarray(0, Math.min(capacity, this.expiring.length)));
        this.expiring = e;
        if (opts.shard) {
          const sh = new Uint8Array(capacity);
          sh.set(this.shadow.subarray(0, Math.min(capacity, this.shadow.length)));
          this.shadow = sh;
          const fo = new Float64Array(capacity);
          fo.set(this.firstOrdinal.subarray(0, Math.min(capacity, this.firstOrdinal.length)));
          this.firstOrdinal = fo;
        }
        for (const m of meters) m.resize(capacity);
      },
      onFlowStart: (slot, pkt, dir) => {
        this.tunnels[slot] = pkt.tunnel;
        const shard = opts.shard;
        if (shard) {
          // packetsSeen was already incremented for this packet.
          this.shadow[slot] = this.shadowPacket;
          this.firstOrdinal[slot] = shard.packetsSeen - 1;
          if (this.shadowPacket === 0) shard.onFlowCreated(shard.packetsSeen - 1);
          else {
            this.uncounted(() => this.initMeters(slot, pkt, dir));
            return;
          }
        }
        this.initMeters(slot, pkt, dir);
      },
      onFlowPacket: (slot, pkt, dir) => {
        // Only the meters whose bit is still set: lowest set bit first, so meters run in their listed order.
        let want = this.wanted[slot]!;
        let call = want;
        if (pkt.payloadLen === 0 && pkt.payloadWireLen === 0) {
          let allow = pkt.protocol === 6 && (pkt.tcpFlags & TcpFlag.SYN) !== 0 ? this.synMeters : this.everyPacket;
          // The flow's first packet goes to every eager meter; a lazy one waits for a packet it reads.
          if (slot === this.firstSlot) allow |= ~this.lazyMeters;
          call &= allow;
        }
        if (slot === this.firstSlot) this.firstSlot = -1;
        let expiring = this.expiring[slot]!;
        // Lazy meters called for the first time on this flow: onInit first, with this packet.
        const starting = call & this.lazyMeters & ~expiring;
        for (let left = call; left !== 0; ) {
          const bit = left & -left;
          left ^= bit;
          const i = 31 - Math.clz32(bit);
          if ((starting & bit) !== 0) {
            if (inits[i]!(slot, pkt, this.table!.firstSeenUs[slot]!, dir) === false) {
              want &= ~bit;
              continue;
            }
            expiring |= bit;
          }
          if (updates[i]!(slot, pkt, dir) === false) want &= ~bit;
        }
        this.wanted[slot] = want;
        if (starting !== 0) this.expiring[slot] = expiring;
        for (let i = 32; i < meters.length; i++) meters[i]!.onUpdate(slot, pkt, dir);
      },
      onFlowEnd: (slot, reason) => this.flowEnd(slot, reason),
    };
    const view = this.view;
    if (opts.shard) {
      const onFlowPacket = this.listener.onFlowPacket;
      this.listener.onFlowPacket = (slot, pkt, dir) => {
        if (this.shadow[slot] === 1) this.uncounted(() => onFlowPacket(slot, pkt, dir));
        else onFlowPacket(slot, pkt, dir);
      };
      this.packet = () => {
        throw new Error('a shard pipeline is fed by routedPacket');
      };
      return;
    }
    if (opts.router) {
      this.packet = this.routerPacketHandler(opts.router);
      return;
    }
    this.packet = (buf, offset, capLen, wireLen, tsUs, linkType) => {
      stats.packets_read++;
      const status = decodeFrame(view, buf, offset, capLen, wireLen, tsUs, linkType);
      if (status !== 'ok') {
        this.count(status === 'unsupported_link_type' ? this.linkStatus(linkType) : status);
        return;
      }
      if (view.fragOffset > 0) {
        if (!this.fragments.recall(view)) {
          this.count('ip_fragment_without_first');
          return;
        }
      } else if (view.moreFragments) this.fragments.remember(view);
      stats.packets_in_flows++;
      this.table!.add(view);
    };
  }

  /**
   * A new flow took `slot`: every eager meter's onInit, and the bits of the meters that want its packets (the eager
   * ones that did not decline, the lazy ones for its protocol, which start at their first packet).
   */
  private initMeters(slot: number, pkt: PacketView, dir: 0 | 1): void {
    const meters = this.meters;
    const start = this.startBits[pkt.protocol]!;
    const eager = start & ~this.lazyMeters;
    let want = start & this.lazyMeters;
    for (let left = eager; left !== 0; ) {
      const bit = left & -left;
      left ^= bit;
      if (this.inits[31 - Math.clz32(bit)]!(slot, pkt, pkt.tsUs, dir) !== false) want |= bit;
    }
    for (let i = 32; i < meters.length; i++) meters[i]!.onInit(slot, pkt, pkt.tsUs, dir);
    this.wanted[slot] = want;
    this.expiring[slot] = eager;
    this.firstSlot = slot;
  }

  /**
   * onExpire of the meters that took part in the flow in `slot` (see `expiring`), and onExpireUnseen of the lazy
   * meters that would have but never woke (their bit still wanted, not expiring), in their listed order.
   */
  private expireMeters(slot: number, row: FlowRow): void {
    const meters = this.meters;
    const expiring = this.expiring[slot]!;
    const unseen = this.wanted[slot]! & this.unseenMeters & ~expiring;
    for (let left = expiring | unseen; left !== 0; ) {
      const bit = left & -left;
      left ^= bit;
      if ((unseen & bit) !== 0) this.unseens[31 - Math.clz32(bit)]!(row);
      else this.expires[31 - Math.clz32(bit)]!(slot, row);
    }
    for (let i = 32; i < meters.length; i++) meters[i]!.onExpire(slot, row);
  }

  /**
   * The reader's packet handler (sharded extraction): count what becomes no flow, exactly like the ordinary handler,
   * and hand the rest to the router with the packet's ordinal in the file.
   */
  private routerPacketHandler(router: ShardRouter): FlowPipeline['packet'] {
    const view = this.view;
    const stats = this.stats;
    return (buf, offset, capLen, wireLen, tsUs, linkType) => {
      const at = this.routedOrdinal++;
      const status = decodeFrame(view, buf, offset, capLen, wireLen, tsUs, linkType);
      if (status !== 'ok') {
        stats.packets_read++;
        this.count(status === 'unsupported_link_type' ? this.linkStatus(linkType) : status);
        return;
      }
      if (view.fragOffset > 0) {
        if (!this.fragments.recall(view)) {
          stats.packets_read++;
          this.count('ip_fragment_without_first');
          return;
        }
      } else if (view.moreFragments) this.fragments.remember(view);
      router.route(view, buf, offset, capLen, wireLen, tsUs, linkType, at);
    };
  }

  /**
   * A shard's packet (sharded extraction): one the reader routed here, with its ordinal in the file, the reader's
   * flow-table clock once it is added (so idle flows end as they would in one table, even when another shard's
   * packets moved the clock), whether this shard owns its flow (else it is another shard's DNS packet, processed
   * for the DNS context only), and its ports as the reader resolved them (later IP fragments carry none).
   */
  routedPacket(
    buf: Uint8Array,
    offset: number,
    capLen: number,
    wireLen: number,
    tsUs: number,
    linkType: number,
    ordinal: number,
    clockUs: number,
    owned: boolean,
    ports: number,
  ): void {
    const view = this.view;
    // The reader decoded these bytes to 'ok' already: the same decoder gives the same view.
    decodeFrame(view, buf, offset, capLen, wireLen, tsUs, linkType);
    if (view.fragOffset > 0) {
      view.srcPort = ports >>> 16;
      view.dstPort = ports & 0xffff;
    }
    this.routedView(view, ordinal, clockUs, owned);
  }

  /** routedPacket with the reader's own decoded view (the main thread's shard: no second decode). */
  routedView(view: PacketView, ordinal: number, clockUs: number, owned: boolean): void {
    this.opts.shard!.packetsSeen = ordinal + 1;
    if (owned) {
      this.stats.packets_read++;
      this.stats.packets_in_flows++;
      this.shadowPacket = 0;
    } else this.shadowPacket = 1;
    const table = this.table!;
    if (clockUs > table.clockUs) table.clockUs = clockUs;
    table.add(view);
  }

  /** A worker's clock follows the reader's (sharded extraction): end the flows idle at `clockUs`. */
  advanceClock(clockUs: number): void {
    const table = this.table;
    if (!table || clockUs <= table.clockUs) return;
    table.clockUs = clockUs;
    table.expireIdle(clockUs);
  }

  /**
   * Run meter hooks of a shadowed flow without keeping the anomalies they count: the owning shard counts them, so
   * the shards' anomaly counters add up to the single-threaded ones. Shadowed flows are DNS flows of other shards
   * (a small share of packets), so copying the meters' small anomaly maps here is cheap.
   */
  private uncounted(fn: () => void): void {
    const maps: Map<string, number>[] = [];
    for (const m of this.meters) if (m.anomalies instanceof Map) maps.push(m.anomalies as Map<string, number>);
    const saved = maps.map((m) => [...m]);
    fn();
    for (let i = 0; i < maps.length; i++) {
      const m = maps[i]!;
      m.clear();
      for (const [k, n] of saved[i]!) m.set(k, n);
    }
  }

  private count(name: string): void {
    this.stats.dropped[name] = (this.stats.dropped[name] ?? 0) + 1;
  }

  private linkStatus(linkType: number): string {
    let name = this.statusNames.get(linkType);
    if (name === undefined) {
      name = `unsupported_link_type_${linkTypeName(linkType)}_${linkType}`;
      this.statusNames.set(linkType, name);
    }
    return name;
  }

  private flowEnd(slot: number, reason: number): void {
    const t = this.table!;
    const stats = this.stats;
    const shard = this.opts.shard;
    if (shard) {
      if (this.shadow[slot] === 1) {
        // Another shard owns this DNS flow: the meters still release its state, the row is dropped.
        const scrap: FlowRow = new FlowRecord({});
        this.uncounted(() => this.expireMeters(slot, scrap));
        return;
      }
      shard.flowOrdinal = this.firstOrdinal[slot]!;
    }
    const first = t.firstSeenUs[slot]!;
    const last = t.lastSeenUs[slot]!;
    const version = t.ipVersionOf(slot);
    const proto = t.protocolOf(slot);
    const hasPorts = proto === 6 || proto === 17 || proto === 132;
    const endReason = END_REASON_NAMES[reason] ?? 'end_of_capture';
    // Identity columns in IDENTITY_COLUMNS order.
    const row: FlowRow = new FinishedFlow(
      t.flowSeq[slot]!,
      formatAddress(version, t.keys, t.endpointBase(slot, true)),
      hasPorts ? t.endpointPort(slot, true) : 0,
      formatAddress(version, t.keys, t.endpointBase(slot, false)),
      hasPorts ? t.endpointPort(slot, false) : 0,
      proto,
      version,
      first,
      last,
      t.vlanOf(slot),
      TUNNEL_NAMES[this.tunnels[slot]!] ?? '',
      endReason,
    );
    if (this.opts.sourceFileColumn) row.source_file = this.currentFile;
    this.expireMeters(slot, row);
    stats.flows++;
    stats.flows_by_end_reason[endReason] = (stats.flows_by_end_reason[endReason] ?? 0) + 1;
    if (stats.first_seen_us === null || first < stats.first_seen_us) stats.first_seen_us = first;
    if (stats.last_seen_us === null || last > stats.last_seen_us) stats.last_seen_us = last;
    this.onFlow(row);
  }

  /**
   * Where finished rows go from now on. A worker keeps one pipeline for every file it is given (the same meters,
   * tables and closures, so V8 does not compile the packet path again for each file; see src/parallel/worker.ts)
   * and points it at each job's batcher.
   */
  setOnFlow(onFlow: ExtractOptions['onFlow']): void {
    this.onFlow = onFlow;
  }

  startFile(file: string): void {
    this.currentFile = file;
    if (this.opts.shard) this.opts.shard.packetsSeen = 0;
    this.routedOrdinal = 0;
    for (const m of this.meters) m.onInputStart?.(file);
    this.table = new FlowTable(this.opts.flow ?? {}, this.listener);
  }

  /** End every live flow of the current file. */
  endFile(): void {
    if (!this.table) return;
    this.table.flush();
    this.stats.evictions += this.table.evictions;
    this.table = null;
  }

  /** Merge the meters' anomaly counters (those not merged before) into the stats; returns the stats. */
  finish(): ExtractStats {
    for (const m of this.meters) {
      if (!m.anomalies) continue;
      for (const [code, n] of m.anomalies) {
        const key = `${m.name}\u0000${code}`;
        const before = this.anomaliesMerged.get(key) ?? 0;
        if (n === before) continue;
        this.stats.anomalies[code] = (this.stats.anomalies[code] ?? 0) + n - before;
        this.anomaliesMerged.set(key, n);
      }
    }
    return this.stats;
  }

  /**
   * The counters since the pipeline started or since the last call (finish() included), and zeroed counters for
   * what comes next: one pipeline serving several jobs reports each job's own.
   */
  takeStats(): ExtractStats {
    const taken = { ...this.finish() };
    // In place: the packet handlers hold this object.
    Object.assign(this.stats, emptyStats());
    return taken;
  }
}

/** Count what reading one capture file gave: packets dropped by the capture layer, bytes, and its file entry. */
export function addFileSummary(stats: ExtractStats, file: string, summary: CaptureSummary): void {
  for (const [name, n] of Object.entries(summary.dropped)) {
    stats.dropped[name] = (stats.dropped[name] ?? 0) + n;
    stats.packets_read += n;
  }
  stats.bytes_read += summary.bytesRead;
  stats.files.push({
    file,
    format: summary.format,
    compression: summary.compression,
    packets: summary.packetsDelivered + Object.values(summary.dropped).reduce((a, b) => a + b, 0),
    link_types: summary.linkTypes.map((l) => `${linkTypeName(l)}(${l})`),
  });
}

/** Run the pipeline over the inputs. A file that is not a capture is recorded in file_errors; the rest are read. */
export async function runExtract(opts: ExtractOptions): Promise<ExtractStats> {
  const started = performance.now();
  const files = await listInputs(opts.inputs);
  const pipeline = new FlowPipeline({ ...opts, sourceFileColumn: opts.sourceFileColumn ?? files.length > 1 });
  await extractFiles(pipeline, files, opts);
  const stats = pipeline.finish();
  stats.elapsed_s = (performance.now() - started) / 1000;
  return stats;
}

/**
 * Read `files` through `pipeline`, one after another, counting into its stats. A file that is not a capture at all
 * fails alone (recorded in file_errors); the other inputs are still read.
 */
export async function extractFiles(
  pipeline: FlowPipeline,
  files: readonly string[],
  opts: Pick<ExtractOptions, 'onWarning' | 'onProgress'>,
): Promise<void> {
  const stats = pipeline.stats;
  for (let fi = 0; fi < files.length; fi++) {
    const file = files[fi]!;
    pipeline.startFile(file);
    let summary: CaptureSummary;
    try {
      summary = await readCapture(file, pipeline.packet, {
        onWarning: (w) => {
          stats.warnings++;
          opts.onWarning?.(w);
        },
        onProgress: opts.onProgress
          ? (bytesRead, totalBytes) =>
              opts.onProgress!({
                file,
                fileIndex: fi,
                files: files.length,
                bytesRead,
                totalBytes,
                packets: stats.packets_read,
              })
          : undefined,
      });
    } catch (e) {
      if (!(e instanceof CaptureError)) throw e;
      stats.file_errors.push({ file, code: e.code, offset: e.offset, message: e.message });
      continue;
    } finally {
      pipeline.endFile();
    }
    addFileSummary(stats, file, summary);
  }
}
