/**
 * TLS meter: handshake metadata and fingerprints of TLS over TCP on any port, detected by content (the first
 * payload of the flow must start like a TLS record or an SSLv2-compatible ClientHello), plus DTLS ClientHellos
 * over UDP (RFC 6347 §4.2.2 / RFC 9147 §5.2, first unfragmented hello only).
 *
 * Columns are in group `tls` (JSONL `row.tls.ja3`, flat `tls_ja3`) and, for the server's leaf certificate,
 * group `tls.cert` (JSONL `row.tls.cert.issuer`, flat `tls_cert_issuer`). A flow with several ClientHellos keeps
 * the first. Cost: per packet one typed-array check once the handshake is done (`DONE`); during the handshake
 * TCP payload is copied into a bounded per-direction buffer (src/proto/tls.ts limits).
 */
import type { PacketView } from '../decode/packet.ts';
import { TcpFlag } from '../decode/packet.ts';
import { ByteReader } from '../proto/reader.ts';
import {
  type ClientHello,
  clientMaxVersion,
  looksLikeClientHello,
  looksLikeTls,
  parseClientHello,
  parseServerHello,
  proxyProtocolLength,
  type ServerHello,
  TlsSession,
  tlsVersionName,
} from '../proto/tls.ts';
import { ja3, ja3s } from './ja3.ts';
import { ja4 } from './ja4.ts';
import { type ColumnSpec, type FlowRow, grow, type Meter } from './meter.ts';

const G = 'tls';
const C = 'tls.cert';

export const TLS_COLUMNS: readonly ColumnSpec[] = [
  {
    group: G,
    key: 'sni',
    type: 'string',
    unit: '',
    doc: 'Server name (first host_name of the ClientHello SNI extension, RFC 6066 §3).',
  },
  {
    group: G,
    key: 'version',
    type: 'string',
    unit: '',
    doc: "Negotiated version (ServerHello supported_versions, else its legacy version), e.g. 'TLSv1.3'; the client's highest offered version when no ServerHello was seen.",
  },
  {
    group: G,
    key: 'client_version',
    type: 'string',
    unit: '',
    doc: 'Highest version the ClientHello offers (supported_versions without GREASE, else legacy_version).',
  },
  {
    group: G,
    key: 'cipher',
    type: 'string',
    unit: '',
    doc: "Cipher suite chosen by the ServerHello, 4 lower-case hex digits ('c02f').",
  },
  {
    group: G,
    key: 'alpn',
    type: 'string',
    unit: '',
    doc: 'ALPN protocol chosen by the ServerHello (RFC 7301); null in TLS 1.3, where it is encrypted.',
  },
  {
    group: G,
    key: 'client_alpn',
    type: 'string_list',
    unit: '',
    doc: 'ALPN protocols offered by the ClientHello, in order.',
  },
  { group: G, key: 'ja3', type: 'string', unit: '', doc: 'JA3 of the first ClientHello: MD5 of ja3_full.' },
  {
    group: G,
    key: 'ja3_full',
    type: 'string',
    unit: '',
    doc: 'JA3 string (version,ciphers,extensions,groups,point formats; GREASE removed, as tshark 4.0).',
  },
  { group: G, key: 'ja3s', type: 'string', unit: '', doc: 'JA3S of the first ServerHello: MD5 of ja3s_full.' },
  { group: G, key: 'ja3s_full', type: 'string', unit: '', doc: 'JA3S string (version,cipher,extensions).' },
  {
    group: G,
    key: 'ja4',
    type: 'string',
    unit: '',
    doc: "JA4 of the first ClientHello (FoxIO spec, 't' prefix; 'd' for DTLS).",
  },
  {
    group: G,
    key: 'ja4_r',
    type: 'string',
    unit: '',
    doc: 'JA4 raw: the JA4 with its sorted cipher and extension lists spelled out.',
  },
  {
    group: G,
    key: 'cipher_count',
    type: 'int',
    unit: 'count',
    doc: 'Cipher suites offered by the ClientHello (GREASE included).',
  },
  {
    group: G,
    key: 'extension_count',
    type: 'int',
    unit: 'count',
    doc: 'Extensions in the ClientHello (GREASE included).',
  },
  {
    group: G,
    key: 'supported_groups',
    type: 'int_list',
    unit: '',
    doc: 'supported_groups of the ClientHello in order (GREASE included).',
  },
  {
    group: G,
    key: 'key_share_groups',
    type: 'int_list',
    unit: '',
    doc: 'Groups of the ClientHello key_share entries (RFC 8446 §4.2.8).',
  },
  { group: G, key: 'grease', type: 'bool', unit: '', doc: 'The ClientHello carries GREASE values (RFC 8701).' },
  {
    group: G,
    key: 'ech',
    type: 'bool',
    unit: '',
    doc: 'The ClientHello carries an encrypted_client_hello extension (0xfe0d).',
  },
  {
    group: G,
    key: 'psk',
    type: 'bool',
    unit: '',
    doc: 'The ClientHello offers a pre_shared_key (TLS 1.3 resumption).',
  },
  {
    group: G,
    key: 'session_ticket',
    type: 'bool',
    unit: '',
    doc: 'The ClientHello presents a non-empty session ticket (RFC 5077).',
  },
  { group: G, key: 'early_data', type: 'bool', unit: '', doc: 'The ClientHello announces 0-RTT early_data.' },
  {
    group: G,
    key: 'resumed',
    type: 'bool',
    unit: '',
    doc: 'Session resumed: ServerHello accepts a PSK, echoes the client session id, or (ticket) skips the Certificate.',
  },
  { group: G, key: 'tls13', type: 'bool', unit: '', doc: 'TLS 1.3 was negotiated.' },
  {
    group: G,
    key: 'client_key_bits',
    type: 'int',
    unit: 'bits',
    doc: "Length of the ClientKeyExchange public value (Joy's c_key_length); 0 when none (TLS 1.3).",
  },
  {
    group: G,
    key: 'server_key_bits',
    type: 'int',
    unit: 'bits',
    doc: 'ServerKeyExchange key size: ECDHE point length or DHE prime length; 0 when none.',
  },
  {
    group: G,
    key: 'alert',
    type: 'int',
    unit: '',
    doc: 'Description code of the first plaintext alert (RFC 8446 §6), -1 when none.',
  },
  {
    group: G,
    key: 'alert_count',
    type: 'int',
    unit: 'count',
    doc: 'Alert records seen (both directions, plaintext or not).',
  },
  {
    group: G,
    key: 'client_hellos',
    type: 'int',
    unit: 'count',
    doc: 'ClientHello messages seen in the flow (the first is described).',
  },
  {
    group: G,
    key: 'src2dst_record_lengths',
    type: 'int_list',
    unit: 'bytes',
    doc: 'Length fields of the first 8 TLS records sent by src.',
  },
  {
    group: G,
    key: 'dst2src_record_lengths',
    type: 'int_list',
    unit: 'bytes',
    doc: 'Length fields of the first 8 TLS records sent by dst.',
  },
  {
    group: G,
    key: 'anomaly',
    type: 'string',
    unit: '',
    doc: "First parsing anomaly (tls_* or x509_* code), '' when none.",
  },
  {
    group: C,
    key: 'subject',
    type: 'string',
    unit: '',
    doc: "Leaf certificate subject, 'CN=…, O=…, C=…' in certificate order (TLS ≤ 1.2 only).",
  },
  { group: C, key: 'issuer', type: 'string', unit: '', doc: 'Leaf certificate issuer, same format.' },
  { group: C, key: 'subject_cn', type: 'string', unit: '', doc: 'Leaf subject commonName.' },
  { group: C, key: 'issuer_cn', type: 'string', unit: '', doc: 'Leaf issuer commonName.' },
  { group: C, key: 'issuer_o', type: 'string', unit: '', doc: 'Leaf issuer organizationName.' },
  { group: C, key: 'serial', type: 'string', unit: '', doc: 'Leaf serial number, lower-case hex of its DER bytes.' },
  {
    group: C,
    key: 'not_before_us',
    type: 'int',
    unit: 'us',
    doc: 'Leaf notBefore, microseconds since the Unix epoch.',
  },
  { group: C, key: 'not_after_us', type: 'int', unit: 'us', doc: 'Leaf notAfter, microseconds since the Unix epoch.' },
  { group: C, key: 'validity_days', type: 'int', unit: 'days', doc: 'Leaf validity period in whole days.' },
  { group: C, key: 'expired', type: 'bool', unit: '', doc: "Leaf notAfter is before the flow's first packet." },
  {
    group: C,
    key: 'self_signed',
    type: 'bool',
    unit: '',
    doc: 'Leaf issuer Name equals its subject Name (signature not verified).',
  },
  {
    group: C,
    key: 'key_alg',
    type: 'string',
    unit: '',
    doc: "Leaf public key algorithm ('rsa', 'ec', 'ed25519', ...).",
  },
  {
    group: C,
    key: 'key_bits',
    type: 'int',
    unit: 'bits',
    doc: 'Leaf public key size (RSA modulus, EC curve, DSA prime).',
  },
  {
    group: C,
    key: 'sig_alg',
    type: 'string',
    unit: '',
    doc: "Leaf signature algorithm ('sha256WithRSAEncryption', ...).",
  },
  { group: C, key: 'san_count', type: 'int', unit: 'count', doc: 'Entries in the leaf subjectAltName.' },
  {
    group: C,
    key: 'san',
    type: 'string_list',
    unit: '',
    doc: 'DNS names and IP addresses of the leaf subjectAltName (first 32).',
  },
  { group: C, key: 'chain_length', type: 'int', unit: 'count', doc: 'Certificates in the server Certificate message.' },
];

/** Per-slot phase: nothing seen yet, handshake in progress, or nothing more to inspect. */
const NEW = 0;
const ACTIVE = 1;
const DONE = 2;
const SCANNING = 3;
/**
 * Payload packets per flow checked for a ClientHello at their start when the flow did not open with TLS
 * (STARTTLS after a plaintext dialogue; metasploit-psexec.pcap's TLS follows ~570 packets of stage upload).
 * The check is a few byte compares, no allocation.
 */
export const TLS_SCAN_PAYLOAD_PACKETS = 1024;
/** UDP payload packets per flow checked for a DTLS ClientHello, then for its ServerHello. */
export const TLS_SCAN_UDP_PACKETS = 64;

/**
 * The body of the DTLS handshake message in the first record of a datagram, when it is whole in this fragment
 * (fragment_offset 0, fragment_length = length, RFC 6347 §4.2.2); null otherwise.
 */
function dtlsHandshakeBody(b: Uint8Array, off: number, len: number): ByteReader | null {
  const r = new ByteReader(b, off + 11, off + len);
  const rec = r.sub(Math.min(r.u16(), r.remaining));
  rec.skip(1);
  const msgLen = rec.u24();
  rec.skip(2);
  const fragOff = rec.u24();
  const fragLen = rec.u24();
  if (!rec.ok || fragOff !== 0 || fragLen !== msgLen || msgLen > rec.remaining) return null;
  return rec.sub(msgLen);
}

/** What the meter knows about one flow's TLS handshake; exported for tests and other consumers. */
export interface TlsFlowSummary {
  session: TlsSession | null;
  dtlsHello: ClientHello | null;
  /** Direction (0 src2dst, 1 dst2src) of the ClientHello, -1 when none. */
  clientDir: number;
}

export class TlsMeter implements Meter {
  readonly name = 'tls';
  /** Reads payload, and the sequence number of a SYN (which the pipeline always passes). */
  readonly skipsEmptyPackets = true;
  /** Flows that send neither payload nor a SYN get no columns (src/features/meter.ts, "Lazy meters"). */
  readonly lazyInit = true;
  readonly protocols = [6, 17] as const;
  readonly columns = TLS_COLUMNS;
  private phase = new Uint8Array(0);
  /** SYN sequence numbers seen before the session exists: [slot*2+dir], with a flag array. */
  private synSeq = new Uint32Array(0);
  private synSeen = new Uint8Array(0);
  private scanned = new Uint16Array(0);
  private sessions: (TlsSession | null)[] = [];
  private dtls: (ClientHello | null)[] = [];
  private dtlsDir = new Int8Array(0);
  private dtlsServer: (ServerHello | null)[] = [];

  /** `collectAllHellos`: keep every ClientHello of each flow in its session (reference checks; costs memory). */
  constructor(private readonly opts: { collectAllHellos?: boolean } = {}) {}

  resize(capacity: number): void {
    this.phase = grow(this.phase, capacity);
    this.synSeq = grow(this.synSeq, capacity * 2);
    this.synSeen = grow(this.synSeen, capacity * 2);
    this.scanned = grow(this.scanned, capacity);
    this.dtlsDir = grow(this.dtlsDir, capacity);
    while (this.sessions.length < capacity) {
      this.sessions.push(null);
      this.dtls.push(null);
      this.dtlsServer.push(null);
    }
  }

  /** TLS runs over TCP, DTLS over UDP: other flows need no packets (returns false). */
  onInit(slot: number, pkt: PacketView): boolean {
    const tcpOrUdp = pkt.protocol === 6 || pkt.protocol === 17;
    this.phase[slot] = tcpOrUdp ? NEW : DONE;
    this.synSeen[slot * 2] = 0;
    this.synSeen[slot * 2 + 1] = 0;
    this.scanned[slot] = 0;
    this.sessions[slot] = null;
    this.dtls[slot] = null;
    this.dtlsServer[slot] = null;
    this.dtlsDir[slot] = -1;
    return tcpOrUdp;
  }

  /** Returns false once the flow's TLS state is decided (phase DONE): later packets are not needed. */
  onUpdate(slot: number, pkt: PacketView, dir: 0 | 1): boolean {
    if (this.phase[slot] !== DONE) this.update(slot, pkt, dir);
    return this.phase[slot] !== DONE;
  }

  private update(slot: number, pkt: PacketView, dir: 0 | 1): void {
    if (pkt.protocol === 17) {
      this.udp(slot, pkt, dir);
      return;
    }
    if (pkt.protocol !== 6) {
      this.phase[slot] = DONE;
      return;
    }
    const syn = (pkt.tcpFlags & TcpFlag.SYN) !== 0;
    let s = this.sessions[slot] ?? null;
    let skip = 0;
    if (s === null) {
      if (syn) {
        this.synSeq[slot * 2 + dir] = pkt.tcpSeq;
        this.synSeen[slot * 2 + dir] = 1;
      }
      if (pkt.payloadLen === 0) return;
      const first = this.phase[slot] === NEW;
      if (!first) {
        // Scanning (most payload packets of non-TLS flows): a ClientHello starts with 22, a PROXY header with
        // 0x0d or 'P'; any other first byte goes straight to the scan count below.
        const b0 = pkt.buf[pkt.payloadOffset];
        if (b0 !== 22 && b0 !== 0x0d && b0 !== 0x50) {
          this.scanPacket(slot);
          return;
        }
      }
      const opensTls = looksLikeTls(pkt.buf, pkt.payloadOffset, pkt.payloadLen);
      const proxyLen = opensTls ? 0 : proxyProtocolLength(pkt.buf, pkt.payloadOffset, pkt.payloadLen);
      if (first && opensTls) {
        // Content detection: the flow's first payload opens a TLS record (any port).
        s = new TlsSession(this.opts);
        for (const d of [0, 1] as const) {
          if (this.synSeen[slot * 2 + d] === 1) s.dirs[d].segment(pkt.buf, 0, 0, this.synSeq[slot * 2 + d]!, true);
        }
      } else if (looksLikeClientHello(pkt.buf, pkt.payloadOffset, pkt.payloadLen)) {
        // TLS after other bytes (STARTTLS, a staged payload): both directions start at their next record.
        s = new TlsSession(this.opts);
        s.dirs[0].requireRecordStart = true;
        s.dirs[1].requireRecordStart = true;
      } else if (
        proxyLen > 0 &&
        looksLikeClientHello(pkt.buf, pkt.payloadOffset + proxyLen, pkt.payloadLen - proxyLen)
      ) {
        // A PROXY protocol header, then the ClientHello in the same segment: the stream starts after the header.
        skip = proxyLen;
        s = new TlsSession(this.opts);
        s.dirs[0].requireRecordStart = true;
        s.dirs[1].requireRecordStart = true;
      } else {
        this.scanPacket(slot);
        return;
      }
      s.nowUs = pkt.tsUs;
      this.sessions[slot] = s;
      this.phase[slot] = ACTIVE;
    }
    s.dirs[dir].segment(pkt.buf, pkt.payloadOffset + skip, pkt.payloadLen - skip, (pkt.tcpSeq + skip) >>> 0, syn);
    if (s.done) this.phase[slot] = DONE;
  }

  /** A payload packet without a ClientHello at its start: keep scanning for a bounded number of them. */
  private scanPacket(slot: number): void {
    this.phase[slot] = SCANNING;
    const n = ++this.scanned[slot]!;
    if (n >= TLS_SCAN_PAYLOAD_PACKETS) this.phase[slot] = DONE;
  }

  /**
   * DTLS (RFC 6347 §4.1 record header, §4.2.2 handshake header; RFC 9147 keeps the plaintext layout): the first
   * ClientHello and the ServerHello after it, each when carried unfragmented in the first record of a datagram.
   * DTLS often follows STUN on the same ports (WebRTC), so the first TLS_SCAN_UDP_PACKETS payload packets are
   * checked before giving up.
   */
  private udp(slot: number, pkt: PacketView, dir: 0 | 1): void {
    const b = pkt.buf;
    const off = pkt.payloadOffset;
    const len = pkt.payloadLen;
    if (len === 0) return;
    const n = ++this.scanned[slot]!;
    // Record: type 22, version 0xfeXX, epoch 0; handshake header (12 bytes) after the 13-byte record header.
    // Versions 0xfeXX, and 0x0100 (OpenSSL's pre-RFC DTLS1_BAD_VER, ndpi/dtls_old_version.pcapng).
    const v1 = b[off + 1];
    const dtlsVersion = v1 === 0xfe || (v1 === 0x01 && b[off + 2] === 0x00);
    const handshake = len >= 25 && b[off] === 22 && dtlsVersion && b[off + 3] === 0 && b[off + 4] === 0;
    const type = handshake ? b[off + 13]! : -1;
    const hello = this.dtls[slot] ?? null;
    if (hello === null && type === 1) {
      const msg = dtlsHandshakeBody(b, off, len);
      if (msg !== null) {
        this.dtls[slot] = parseClientHello(msg, true);
        this.dtlsDir[slot] = dir;
        this.scanned[slot] = 0;
        return;
      }
    } else if (hello !== null && type === 2 && dir !== this.dtlsDir[slot]) {
      const msg = dtlsHandshakeBody(b, off, len);
      if (msg !== null) {
        this.dtlsServer[slot] = parseServerHello(msg);
        this.phase[slot] = DONE;
        return;
      }
    }
    if (n >= TLS_SCAN_UDP_PACKETS) this.phase[slot] = DONE;
  }

  /** The parsed state of a slot (valid until the slot is reused). */
  summary(slot: number): TlsFlowSummary {
    const s = this.sessions[slot] ?? null;
    return {
      session: s,
      dtlsHello: this.dtls[slot] ?? null,
      clientDir: s !== null ? s.clientDir : this.dtlsDir[slot]!,
    };
  }

  /** Anomaly counts by code over all flows (tls_* from the handshake, x509_* from certificates). */
  readonly anomalies = new Map<string, number>();

  private count(code: string, n = 1): void {
    this.anomalies.set(code, (this.anomalies.get(code) ?? 0) + n);
  }

  /** Optional observer of each flow's summary as it expires (tests, debugging). */
  onSummary: ((summary: TlsFlowSummary, row: FlowRow) => void) | null = null;

  onExpire(slot: number, row: FlowRow): void {
    const s = this.sessions[slot] ?? null;
    const dtlsHello = this.dtls[slot] ?? null;
    if (s === null && dtlsHello === null) return;
    if (this.onSummary !== null) this.onSummary(this.summary(slot), row);
    // A lazy meter's slot may next hold flows it never sees: let go of this one's handshake now.
    this.sessions[slot] = null;
    this.dtls[slot] = null;
    const dtlsServer = this.dtlsServer[slot] ?? null;
    this.dtlsServer[slot] = null;
    s?.dirs[0].flush();
    s?.dirs[1].flush();
    if (s?.anomalyCounts) for (const [code, n] of s.anomalyCounts) this.count(code, n);
    if (s !== null) for (const c of s.certificates) if (c.anomaly !== '') this.count(c.anomaly);
    if (s === null && dtlsHello !== null && dtlsHello.anomaly !== '') this.count(dtlsHello.anomaly);
    const ch = s !== null ? s.clientHello : dtlsHello;
    const sh = s !== null ? s.serverHello : dtlsServer;
    // The group object is written directly (keys in the order setColumn would add them), not per key through
    // setColumn. Every path below sets at least one key, so the group exists whenever this point is reached.
    const g: Record<string, unknown> = {};
    row[G] = g;
    if (ch !== null) {
      g.sni = ch.sni !== '' ? ch.sni : null;
      g.client_version = tlsVersionName(clientMaxVersion(ch));
      g.client_alpn = ch.alpn;
      const j3 = ja3(ch);
      g.ja3 = j3?.ja3 ?? null;
      g.ja3_full = j3?.ja3Full ?? null;
      if (!ch.sslv2) {
        const j4 = ja4(ch, ch.dtls ? 'd' : 't');
        g.ja4 = j4.ja4;
        g.ja4_r = j4.ja4R;
      }
      g.cipher_count = ch.ciphers.length;
      g.extension_count = ch.extensions.length;
      g.supported_groups = ch.supportedGroups;
      g.key_share_groups = ch.keyShareGroups;
      g.grease = ch.grease;
      g.ech = ch.hasEch;
      g.psk = ch.hasPreSharedKey;
      g.session_ticket = ch.sessionTicketLength > 0;
      g.early_data = ch.hasEarlyData;
    }
    const version = sh !== null ? sh.selectedVersion : ch !== null ? clientMaxVersion(ch) : 0;
    if (version !== 0) g.version = tlsVersionName(version);
    if (sh !== null) {
      g.cipher = sh.cipher.toString(16).padStart(4, '0');
      g.alpn = sh.alpn === '' ? null : sh.alpn;
      const j = ja3s(sh);
      g.ja3s = j.ja3s;
      g.ja3s_full = j.ja3sFull;
      g.tls13 = sh.selectedVersion === 0x0304;
    }
    if (s === null) return;
    g.resumed = s.resumed;
    g.client_key_bits = s.clientKeyBits;
    g.server_key_bits = s.serverKeyBits;
    const d0 = s.dirs[0];
    const d1 = s.dirs[1];
    g.alert = d0.alertDescription >= 0 ? d0.alertDescription : d1.alertDescription;
    g.alert_count = d0.alertCount + d1.alertCount;
    g.client_hellos = s.clientHellos;
    g.src2dst_record_lengths = d0.recordLengths.slice();
    g.dst2src_record_lengths = d1.recordLengths.slice();
    g.anomaly = s.anomaly;
    const leaf = s.certificates[0];
    if (leaf !== undefined) {
      g.cert = {
        subject: leaf.subject,
        issuer: leaf.issuer,
        subject_cn: leaf.subjectCN,
        issuer_cn: leaf.issuerCN,
        issuer_o: leaf.issuerO,
        serial: leaf.serial,
        not_before_us: leaf.notBeforeUs,
        not_after_us: leaf.notAfterUs,
        validity_days: leaf.validityDays,
        expired: leaf.expired,
        self_signed: leaf.selfSigned,
        key_alg: leaf.keyAlgorithm,
        key_bits: leaf.keyBits,
        sig_alg: leaf.signatureAlgorithm,
        san_count: leaf.sanCount,
        san: leaf.sanNames,
        chain_length: s.chainLength,
      };
    }
  }
}
