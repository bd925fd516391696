/**
 * QUIC meter: the client's ClientHello read from decrypted Initial packets (src/proto/quic.ts) of UDP flows on any
 * port, detected by content (a long-header Initial of a version we can decrypt). Columns in group `quic`
 * (JSONL `row.quic.sni`, flat `quic_sni`). Per packet after the hello: one typed-array check.
 */
import type { PacketView } from '../decode/packet.ts';
import { looksLikeQuicLongHeader, QuicInitialSession } from '../proto/quic.ts';
import { clientMaxVersion, tlsVersionName } from '../proto/tls.ts';
import { ja3 } from './ja3.ts';
import { ja4 } from './ja4.ts';
import { type ColumnSpec, type FlowRow, grow, type Meter } from './meter.ts';

const G = 'quic';

export const QUIC_COLUMNS: readonly ColumnSpec[] = [
  {
    group: G,
    key: 'version',
    type: 'string',
    unit: '',
    doc: "QUIC version of the first Initial, 8 hex digits ('00000001' v1, '6b3343cf' v2, 'ff00001d' draft-29).",
  },
  {
    group: G,
    key: 'sni',
    type: 'string',
    unit: '',
    doc: 'Server name from the ClientHello in the client Initial packets.',
  },
  { group: G, key: 'alpn', type: 'string_list', unit: '', doc: 'ALPN protocols offered by the ClientHello, in order.' },
  { group: G, key: 'tls_version', type: 'string', unit: '', doc: 'Highest TLS version offered (supported_versions).' },
  { group: G, key: 'ja4', type: 'string', unit: '', doc: "JA4 of the ClientHello with the 'q' prefix (FoxIO spec)." },
  { group: G, key: 'ja4_r', type: 'string', unit: '', doc: 'JA4 raw form of the same hello.' },
  {
    group: G,
    key: 'ja3',
    type: 'string',
    unit: '',
    doc: 'JA3 MD5 of the ClientHello (as tshark computes it for QUIC).',
  },
  { group: G, key: 'ja3_full', type: 'string', unit: '', doc: 'JA3 string of the ClientHello.' },
  {
    group: G,
    key: 'transport_parameters',
    type: 'int_list',
    unit: '',
    doc: 'QUIC transport parameter ids in ClientHello order (RFC 9000 §18).',
  },
  { group: G, key: 'dcid', type: 'string', unit: '', doc: "Client's original Destination Connection ID, hex." },
  {
    group: G,
    key: 'initial_packets',
    type: 'int',
    unit: 'packets',
    doc: 'Client Initial packets decrypted before the hello was complete.',
  },
  { group: G, key: 'anomaly', type: 'string', unit: '', doc: "First anomaly (quic_* code), '' when none." },
];

const NEW = 0;
const ACTIVE = 1;
const DONE = 2;

export class QuicMeter implements Meter {
  readonly name = 'quic';
  /** Reads payload only; flows without any get no columns (src/features/meter.ts, "Lazy meters"). */
  readonly skipsEmptyPackets = true;
  readonly payloadOnly = true;
  readonly lazyInit = true;
  readonly protocols = [17] as const;
  readonly columns = QUIC_COLUMNS;
  private phase = new Uint8Array(0);
  private clientDir = new Int8Array(0);
  private sessions: (QuicInitialSession | null)[] = [];
  /** Anomaly counts by code over all flows (first quic_* anomaly of each flow, and a tls_* one from its hello). */
  readonly anomalies = new Map<string, number>();

  /** Optional observer of each flow's session as it expires (tests). */
  onSession: ((s: QuicInitialSession, row: FlowRow) => void) | null = null;

  /** `collectAllHellos`: keep every ClientHello of each flow (one per Initial key set; reference checks). */
  constructor(private readonly opts: { collectAllHellos?: boolean } = {}) {}

  resize(capacity: number): void {
    this.phase = grow(this.phase, capacity);
    this.clientDir = grow(this.clientDir, capacity);
    while (this.sessions.length < capacity) this.sessions.push(null);
  }

  /** QUIC runs over UDP only: other flows need no packets (returns false). */
  onInit(slot: number, pkt: PacketView): boolean {
    this.phase[slot] = pkt.protocol === 17 ? NEW : DONE;
    this.clientDir[slot] = -1;
    this.sessions[slot] = null;
    return pkt.protocol === 17;
  }

  /** Returns false once the flow is decided: not QUIC, hello parsed, or the datagram budget spent. */
  onUpdate(slot: number, pkt: PacketView, dir: 0 | 1): boolean {
    if (this.phase[slot] !== DONE && pkt.payloadLen !== 0) this.update(slot, pkt, dir);
    return this.phase[slot] !== DONE;
  }

  private update(slot: number, pkt: PacketView, dir: 0 | 1): void {
    let s = this.sessions[slot] ?? null;
    if (s === null) {
      // Content detection: a long header with the fixed bit (RFC 9000 §17.2). Its version may still be one to
      // negotiate away (quic_interop_V.pcapng: a reserved version first, then v1), so the session waits for an
      // Initial it can decrypt, for a bounded number of datagrams.
      if (!looksLikeQuicLongHeader(pkt.buf, pkt.payloadOffset, pkt.payloadLen)) {
        this.phase[slot] = DONE;
        return;
      }
      s = new QuicInitialSession(this.opts);
      this.sessions[slot] = s;
      this.clientDir[slot] = dir;
      this.phase[slot] = ACTIVE;
    }
    if (dir !== this.clientDir[slot]) return;
    s.clientDatagram(pkt.buf, pkt.payloadOffset, pkt.payloadLen);
    if (s.done) this.phase[slot] = DONE;
  }

  private count(code: string): void {
    this.anomalies.set(code, (this.anomalies.get(code) ?? 0) + 1);
  }

  onExpire(slot: number, row: FlowRow): void {
    const s = this.sessions[slot] ?? null;
    if (s === null) return;
    // A lazy meter's slot may next hold flows it never sees: let go of this one's session now.
    this.sessions[slot] = null;
    if (this.onSession !== null) this.onSession(s, row);
    if (s.anomaly !== '') this.count(s.anomaly);
    if (s.clientHello !== null && s.clientHello.anomaly !== '') this.count(s.clientHello.anomaly);
    // The group object is written directly (keys in column order), not through setColumn per key.
    const g: Record<string, unknown> = {
      version: s.version.toString(16).padStart(8, '0'),
      dcid: s.dcidHex,
      initial_packets: s.initialPackets,
      anomaly: s.anomaly,
    };
    row[G] = g;
    const ch = s.clientHello;
    if (ch === null) return;
    g.sni = ch.sni !== '' ? ch.sni : null;
    g.alpn = ch.alpn;
    g.tls_version = tlsVersionName(clientMaxVersion(ch));
    const j4 = ja4(ch, 'q');
    g.ja4 = j4.ja4;
    g.ja4_r = j4.ja4R;
    const j3 = ja3(ch);
    g.ja3 = j3?.ja3 ?? null;
    g.ja3_full = j3?.ja3Full ?? null;
    g.transport_parameters = ch.quicTransportParameters;
  }
}
