/**
 * HTTP/1.x context of a flow (any TCP port; detected by content — see src/proto/http.ts): method, host, URI,
 * user agent from the first request; status, content type and server from the first response.
 *
 * Each direction is looked at once: its first payload-carrying segment either starts like HTTP or the direction
 * is done (one comparison per later packet). A head that does not end in its first segment is copied into a
 * bounded per-direction buffer (8 KiB by default), allocated only then, and re-parsed as segments arrive in TCP
 * order; a sequence gap, or the bound, ends the wait and the fields parsed so far are kept (anomaly
 * `http_incomplete`). Only the first request and the first response are read; pipelined ones are not.
 *
 * `SegmentBuffers` is the bounded in-order stream prefix also used by the DNS-over-TCP and SSH meters.
 */
import type { PacketView } from '../decode/packet.ts';
import { DEFAULT_HTTP_LIMITS, detectHttp, type HttpHead, type HttpLimits, parseHttpHead } from '../proto/http.ts';
import type { ColumnSpec, FlowRow, Meter } from './meter.ts';
import { grow } from './meter.ts';

export type AppendResult = 'ok' | 'duplicate' | 'gap' | 'full';

/**
 * A bounded byte prefix per (slot, direction), appended in TCP sequence order. Buffers are allocated on first
 * use and dropped by `clear`, so only flows that need buffering pay for one. For TCP a segment wholly before the
 * expected sequence number is a retransmission (`duplicate`), one that overlaps contributes only its new tail,
 * and one after it is a `gap` (a lost or reordered segment: the caller stops). Other protocols append as given.
 */
export class SegmentBuffers {
  readonly bound: number;
  private bufs: (Uint8Array | null)[] = [];
  private lens = new Int32Array(0);
  /** Next expected TCP sequence number, -1 before the first append. */
  private nextSeq = new Float64Array(0);

  constructor(bound: number) {
    this.bound = bound;
  }

  resize(capacity: number): void {
    const old = this.lens.length / 2;
    this.lens = grow(this.lens, capacity * 2);
    this.nextSeq = grow(this.nextSeq, capacity * 2);
    this.nextSeq.fill(-1, old * 2);
    while (this.bufs.length < capacity * 2) this.bufs.push(null);
  }

  clear(slot: number, dir: 0 | 1): void {
    const i = slot * 2 + dir;
    this.bufs[i] = null;
    this.lens[i] = 0;
    this.nextSeq[i] = -1;
  }

  length(slot: number, dir: 0 | 1): number {
    return this.lens[slot * 2 + dir]!;
  }

  /** The buffered bytes (a view, valid until the next append/consume/clear). */
  view(slot: number, dir: 0 | 1): Uint8Array {
    const i = slot * 2 + dir;
    const b = this.bufs[i];
    return b ? b.subarray(0, this.lens[i]!) : new Uint8Array(0);
  }

  /**
   * Record the TCP position of payload that the caller consumed in place (without buffering), so the next
   * append can tell a retransmission or gap from the continuation.
   */
  advance(slot: number, dir: 0 | 1, pkt: PacketView): void {
    if (pkt.protocol === 6) this.nextSeq[slot * 2 + dir] = (pkt.tcpSeq + pkt.payloadLen) >>> 0;
  }

  /**
   * Where a TCP segment starts relative to the expected sequence number: 0 in order (or unknown, or not TCP),
   * -1 before it (retransmission or overlap), 1 after it (a gap).
   */
  position(slot: number, dir: 0 | 1, pkt: PacketView): -1 | 0 | 1 {
    const expected = this.nextSeq[slot * 2 + dir]!;
    if (pkt.protocol !== 6 || expected < 0) return 0;
    const diff = (pkt.tcpSeq - expected) | 0;
    return diff === 0 ? 0 : diff < 0 ? -1 : 1;
  }

  /** Append `pkt`'s payload from byte `skip` on. */
  append(slot: number, dir: 0 | 1, pkt: PacketView, skip = 0): AppendResult {
    const i = slot * 2 + dir;
    let from = pkt.payloadOffset + skip;
    const to = pkt.payloadOffset + pkt.payloadLen;
    if (pkt.protocol === 6) {
      const expected = this.nextSeq[i]!;
      const seq = (pkt.tcpSeq + skip) >>> 0;
      if (expected >= 0) {
        const diff = (seq - expected) | 0; // modulo-2^32 distance (RFC 9293 §3.4)
        if (diff > 0) return 'gap';
        if (diff < 0) {
          if (to - from <= -diff) return 'duplicate';
          from -= diff;
        }
      }
      this.nextSeq[i] = (seq + (to - pkt.payloadOffset - skip)) >>> 0;
    }
    let b = this.bufs[i];
    const len = this.lens[i]!;
    const n = Math.min(to - from, this.bound - len);
    if (!b || b.length < len + n) {
      // Grow by doubling from 256 bytes up to the bound: a flood of flows that each send a few bytes of a head
      // would otherwise pin `bound` bytes per flow and direction (8 KiB for HTTP: test/robustness/flood.test.ts).
      let cap = b ? b.length : 256;
      while (cap < len + n) cap *= 2;
      const next = new Uint8Array(Math.min(cap, this.bound));
      if (b) next.set(b.subarray(0, len));
      b = next;
      this.bufs[i] = b;
    }
    b.set(pkt.buf.subarray(from, from + n), len);
    this.lens[i] = len + n;
    return n < to - from ? 'full' : 'ok';
  }

  /** Drop the first n buffered bytes. */
  consume(slot: number, dir: 0 | 1, n: number): void {
    const i = slot * 2 + dir;
    const b = this.bufs[i];
    const len = this.lens[i]!;
    if (!b || n <= 0) return;
    if (n >= len) {
      this.lens[i] = 0;
      return;
    }
    b.copyWithin(0, n, len);
    this.lens[i] = len - n;
  }
}

export interface HttpMeterOptions {
  /** Largest message head buffered per direction when it spans segments (default 8192 bytes). */
  maxHeadBytes?: number;
  limits?: Partial<HttpLimits>;
}

/** The headers whose values the columns below read (parseHttpHead decodes only these). */
const HEADERS_READ: ReadonlySet<string> = new Set(['host', 'user-agent', 'content-type', 'server']);

const WAITING = 0;
const BUFFERING = 1;
const DONE = 2;

const col = (key: string, type: ColumnSpec['type'], unit: string, doc: string): ColumnSpec => ({
  key,
  group: 'http',
  type,
  unit,
  doc,
});

export class HttpMeter implements Meter {
  static readonly columns: readonly ColumnSpec[] = [
    col('method', 'string', '', 'Method of the first HTTP/1.x request of the flow (GET, POST, ...).'),
    col('host', 'string', '', 'Host header of the first request (truncated to 256 characters).'),
    col('uri', 'string', '', 'Request target of the first request, truncated to 256 characters.'),
    col('uri_length', 'int', 'bytes', 'Length of the first request target before truncation.'),
    col('user_agent', 'string', '', 'User-Agent header of the first request (truncated to 256 characters).'),
    col('version', 'string', '', 'HTTP version of the first request (of the first response when no request was seen).'),
    col('status', 'int', '', 'Status code of the first response; null when none was seen.'),
    col('content_type', 'string', '', 'Content-Type header of the first response.'),
    col('server', 'string', '', 'Server header of the first response.'),
    col('anomaly', 'string', '', "First parser anomaly (http_incomplete, http_line_too_long, ...); '' when none."),
  ];
  readonly name = 'http';
  /** Reads payload only; flows without any get no columns (src/features/meter.ts, "Lazy meters"). */
  readonly skipsEmptyPackets = true;
  readonly payloadOnly = true;
  readonly lazyInit = true;
  readonly protocols = [6] as const;
  readonly columns = HttpMeter.columns;
  private readonly limits: HttpLimits;
  private readonly segments: SegmentBuffers;

  /** Index slot*2+dir: WAITING, BUFFERING or DONE. */
  private state = new Uint8Array(0);
  private request: (HttpHead | null)[] = [];
  private response: (HttpHead | null)[] = [];

  constructor(opts: HttpMeterOptions = {}) {
    this.limits = { ...DEFAULT_HTTP_LIMITS, ...opts.limits };
    this.segments = new SegmentBuffers(Math.max(64, opts.maxHeadBytes ?? 8192));
  }

  resize(capacity: number): void {
    this.state = grow(this.state, capacity * 2);
    this.segments.resize(capacity);
    while (this.request.length < capacity) {
      this.request.push(null);
      this.response.push(null);
    }
  }

  /** HTTP/1.x runs over TCP only (RFC 9112 §2.1): other flows are done at once and need no packets (false). */
  onInit(slot: number, pkt: PacketView): boolean {
    const s = pkt.protocol === 6 ? WAITING : DONE;
    this.state[slot * 2] = s;
    this.state[slot * 2 + 1] = s;
    this.request[slot] = null;
    this.response[slot] = null;
    this.segments.clear(slot, 0);
    this.segments.clear(slot, 1);
    return s !== DONE;
  }

  /** Returns false once both directions are done (first head read, or not HTTP). */
  onUpdate(slot: number, pkt: PacketView, dir: 0 | 1): boolean {
    this.update(slot, pkt, dir);
    return this.state[slot * 2] !== DONE || this.state[slot * 2 + 1] !== DONE;
  }

  private update(slot: number, pkt: PacketView, dir: 0 | 1): void {
    const i = slot * 2 + dir;
    const st = this.state[i]!;
    // A later IP fragment has no TCP header of its own (pkt.tcpSeq is not its position): skip it.
    if (st === DONE || pkt.payloadLen === 0 || pkt.fragOffset > 0) return;
    if (st === WAITING) {
      const start = pkt.payloadOffset;
      const end = start + pkt.payloadLen;
      if (detectHttp(pkt.buf, start, end) === 'none') {
        this.state[i] = DONE;
        return;
      }
      const head = parseHttpHead(pkt.buf, start, end, this.limits, HEADERS_READ);
      if (head.status === 'incomplete') {
        this.segments.append(slot, dir, pkt);
        this.state[i] = BUFFERING;
        return;
      }
      this.finish(slot, dir, head);
      return;
    }
    // BUFFERING: the head continues in this segment.
    const r = this.segments.append(slot, dir, pkt);
    if (r === 'duplicate') return;
    const view = this.segments.view(slot, dir);
    const head = parseHttpHead(view, 0, view.length, this.limits, HEADERS_READ);
    if (head.status === 'incomplete' && r === 'ok') return;
    this.finish(slot, dir, head);
  }

  private finishBuffered(slot: number, dir: 0 | 1): void {
    const view = this.segments.view(slot, dir);
    this.finish(slot, dir, parseHttpHead(view, 0, view.length, this.limits, HEADERS_READ));
  }

  private finish(slot: number, dir: 0 | 1, head: HttpHead): void {
    this.state[slot * 2 + dir] = DONE;
    this.segments.clear(slot, dir);
    if (head.kind === 'request' && this.request[slot] === null) this.request[slot] = head;
    else if (head.kind === 'response' && this.response[slot] === null) this.response[slot] = head;
  }

  onExpire(slot: number, row: FlowRow): void {
    // A head still waiting for its end when the flow ends keeps what was parsed.
    if (this.state[slot * 2] === BUFFERING) this.finishBuffered(slot, 0);
    if (this.state[slot * 2 + 1] === BUFFERING) this.finishBuffered(slot, 1);
    const req = this.request[slot] ?? null;
    const resp = this.response[slot] ?? null;
    this.request[slot] = null;
    this.response[slot] = null;
    this.segments.clear(slot, 0);
    this.segments.clear(slot, 1);
    if (req === null && resp === null) return;
    row.http = {
      method: req?.method ?? null,
      host: req?.headers.get('host') ?? null,
      uri: req?.uri ?? null,
      uri_length: req ? req.uriLength : null,
      user_agent: req?.headers.get('user-agent') ?? null,
      version: req?.version ?? resp?.version ?? null,
      status: resp ? resp.statusCode : null,
      content_type: resp?.headers.get('content-type') ?? null,
      server: resp?.headers.get('server') ?? null,
      anomaly: req?.anomaly || resp?.anomaly || '',
    };
  }
}
