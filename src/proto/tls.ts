/**
 * TLS handshake parsing for flow features: records (RFC 8446 §5.1, RFC 5246 §6.2), handshake messages
 * (RFC 8446 §4, RFC 5246 §7.4), hello extensions (RFC 6066 SNI, RFC 7301 ALPN, RFC 8422 groups and point formats,
 * RFC 8446 §4.2 versions/key_share/PSK/early data, RFC 5077 session ticket, RFC 9000 §18 QUIC transport
 * parameters, draft-ietf-tls-esni ECH 0xfe0d), GREASE (RFC 8701), the SSLv2-compatible ClientHello (RFC 5246
 * Appendix E.2) and the DTLS handshake header (RFC 6347 §4.2.2).
 *
 * Two layers:
 * - pure message parsers (`parseClientHello`, `parseServerHello`, `parseCertificateList`, key-exchange lengths)
 *   over a ByteReader bounded to one message; they never throw and report `status` + `anomaly`;
 * - `TlsSession`, the per-flow state machine: per direction it reassembles the TCP byte stream in order (bounded
 *   out-of-order window), deframes records, joins handshake messages split across records (and splits several
 *   messages in one record), and keeps the first ClientHello/ServerHello/Certificate of the flow.
 *
 * Limits (each breach is an anomaly code, never an allocation of the claimed size):
 * - TLS_MAX_HANDSHAKE_BYTES (64 KiB) buffered handshake bytes per direction; a record or message claiming more is
 *   read up to the limit (a Certificate message is parsed as far as it fits), the rest is skipped;
 * - TLS_MAX_CIPHERS, TLS_MAX_EXTENSIONS, TLS_MAX_LIST (groups, signature algorithms...) values kept per hello;
 * - TLS_MAX_CERTS certificates parsed per chain (the chain length still counts every complete one);
 * - TLS_TCP_MAX_PENDING out-of-order segments within TLS_TCP_WINDOW bytes ahead of the next expected byte.
 * Strings (SNI, ALPN) are Latin-1 decoded so every byte maps to one char code (JA4 inspects the bytes).
 */

import { ByteReader, latin1 } from './reader.ts';
import { type CertInfo, parseCertificate } from './x509.ts';

export const TLS_MAX_HANDSHAKE_BYTES = 65536;
export const TLS_MAX_CIPHERS = 1024;
export const TLS_MAX_EXTENSIONS = 256;
export const TLS_MAX_LIST = 256;
export const TLS_MAX_ALPN = 32;
export const TLS_MAX_CERTS = 16;
export const TLS_RECORD_LENGTHS_KEPT = 8;
export const TLS_TCP_WINDOW = 65536;
export const TLS_TCP_MAX_PENDING = 16;
/**
 * Out-of-order bytes held across ALL flows. A flood of half-handshakes with gaps (16 segments per flow × many live
 * flows) would otherwise pin ~23 KiB per flow; past this budget a flow gives up reassembly (`tls_tcp_budget`).
 */
export const TLS_TCP_GLOBAL_PENDING_BYTES = 16 * 1024 * 1024;
let pendingBytesAllFlows = 0;
/** Out-of-order bytes currently held by every TLS direction together (for tests and stats). */
export function tlsPendingBytes(): number {
  return pendingBytesAllFlows;
}
/**
 * Handshake buffers (4, 8, 16, 32, 64 KiB) of finished directions, kept for later flows: every TLS direction
 * needs one, and a fresh zeroed ArrayBuffer each time was allocation and GC work on every TLS flow. At most
 * HS_POOL_PER_SIZE per size (≤ 1 MiB in all). Nothing parsed keeps a view into them: hello session ids are
 * copied, certificates are parsed (and cached by a copy) before the buffer is released.
 */
const HS_POOL: Uint8Array[][] = [[], [], [], [], []];
const HS_POOL_PER_SIZE = 8;
const HS_MIN_BYTES = 4096;
function hsPoolIndex(capacity: number): number {
  return 31 - Math.clz32(capacity / HS_MIN_BYTES);
}
function takeHsBuffer(capacity: number): Uint8Array {
  return HS_POOL[hsPoolIndex(capacity)]?.pop() ?? new Uint8Array(capacity);
}
function releaseHsBuffer(b: Uint8Array): void {
  const pool = HS_POOL[hsPoolIndex(b.length)];
  if (pool !== undefined && pool.length < HS_POOL_PER_SIZE) pool.push(b);
}

/** RFC 8446 §5.1: a record body is at most 2^14 bytes (+2048 for TLS 1.2 ciphertext expansion, RFC 5246 §6.2.3). */
export const TLS_MAX_RECORD_BODY = 16384 + 2048;

export const TlsStatus = { ok: 0, truncated: 1, malformed: 2 } as const;
export type TlsStatusCode = (typeof TlsStatus)[keyof typeof TlsStatus];

/** Closed list of anomaly codes raised by this module (`tls_<what>`). */
export const TLS_ANOMALIES = [
  'tls_short_vector',
  'tls_odd_cipher_length',
  'tls_too_many_ciphers',
  'tls_too_many_extensions',
  'tls_list_too_long',
  'tls_trailing_bytes',
  'tls_bad_record',
  'tls_record_too_long',
  'tls_handshake_too_long',
  'tls_too_many_certificates',
  'tls_bad_certificate',
  'tls_tcp_gap',
  'tls_tcp_window',
  'tls_tcp_budget',
  'tls_truncated_message',
] as const;
export type TlsAnomaly = (typeof TLS_ANOMALIES)[number];

export const HandshakeType = {
  clientHello: 1,
  serverHello: 2,
  newSessionTicket: 4,
  certificate: 11,
  serverKeyExchange: 12,
  certificateRequest: 13,
  serverHelloDone: 14,
  clientKeyExchange: 16,
} as const;

export const ContentType = {
  changeCipherSpec: 20,
  alert: 21,
  handshake: 22,
  applicationData: 23,
  heartbeat: 24,
} as const;

export const Ext = {
  serverName: 0,
  supportedGroups: 10,
  ecPointFormats: 11,
  signatureAlgorithms: 13,
  alpn: 16,
  sessionTicket: 35,
  preSharedKey: 41,
  earlyData: 42,
  supportedVersions: 43,
  pskKeyExchangeModes: 45,
  keyShare: 51,
  quicTransportParameters: 57,
  quicTransportParametersDraft: 0xffa5,
  encryptedClientHello: 0xfe0d,
  encryptedServerName: 0xffce,
} as const;

/** RFC 8701 §2: GREASE values are 0x?A?A with both bytes equal. */
export function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);
}

export interface ClientHello {
  status: TlsStatusCode;
  /** First anomaly met while parsing, '' when none. */
  anomaly: TlsAnomaly | '';
  /** Version of the record that carried the hello's first byte (0 when unknown). */
  recordVersion: number;
  /** client_version / legacy_version (RFC 8446 §4.1.2). */
  legacyVersion: number;
  /** Came as an SSLv2-compatible CLIENT-HELLO (RFC 5246 Appendix E.2). */
  sslv2: boolean;
  /** DTLS hello (has a cookie). */
  dtls: boolean;
  sessionId: Uint8Array;
  ciphers: number[];
  compressionMethods: number;
  /** Extension types in wire order, GREASE included. */
  extensions: number[];
  /** An extension block was present (even if empty). */
  hasExtensionBlock: boolean;
  /**
   * The extension block's length field is cut short or claims more than the hello holds. tshark 4.0 then ends its
   * JA3 string after the cipher list ("769,4-5,"), which ja3.ts reproduces.
   */
  extensionBlockMalformed: boolean;
  /**
   * A vector inside an extension body overruns the extension (e.g. an ALPN list longer than its extension). tshark
   * 4.0 aborts the hello there ("Malformed Packet") and writes no JA3; ja3.ts does the same.
   */
  extensionBodyMalformed: boolean;
  /** The session id, cipher suite or compression vector overruns the hello (tshark: no JA3, ndpi/tls_cipher_lens). */
  fixedPartMalformed: boolean;
  /** First host_name of the server_name extension ('' when none). */
  sni: string;
  /** A server_name extension is present. */
  hasSni: boolean;
  alpn: string[];
  supportedVersions: number[];
  supportedGroups: number[];
  ecPointFormats: number[];
  signatureAlgorithms: number[];
  keyShareGroups: number[];
  pskKeyExchangeModes: number[];
  hasPreSharedKey: boolean;
  /** Session ticket extension body length, -1 when the extension is absent. */
  sessionTicketLength: number;
  hasEarlyData: boolean;
  hasEch: boolean;
  /** Any GREASE value among ciphers, extensions, groups, versions, signature algorithms or key shares. */
  grease: boolean;
  /** QUIC transport parameter ids in order (RFC 9000 §18), empty when absent. */
  quicTransportParameters: number[];
}

export interface ServerHello {
  status: TlsStatusCode;
  anomaly: TlsAnomaly | '';
  legacyVersion: number;
  /** supported_versions selection when present (TLS 1.3), else legacy_version. */
  selectedVersion: number;
  sessionId: Uint8Array;
  cipher: number;
  compression: number;
  extensions: number[];
  alpn: string;
  keyShareGroup: number;
  hasPreSharedKey: boolean;
  /** RFC 8446 §4.1.3: a HelloRetryRequest is a ServerHello with this fixed random. */
  helloRetryRequest: boolean;
}

function newClientHello(): ClientHello {
  return {
    status: TlsStatus.ok,
    anomaly: '',
    recordVersion: 0,
    legacyVersion: 0,
    sslv2: false,
    dtls: false,
    sessionId: new Uint8Array(0),
    ciphers: [],
    compressionMethods: 0,
    extensions: [],
    hasExtensionBlock: false,
    extensionBlockMalformed: false,
    extensionBodyMalformed: false,
    fixedPartMalformed: false,
    sni: '',
    hasSni: false,
    alpn: [],
    supportedVersions: [],
    supportedGroups: [],
    ecPointFormats: [],
    signatureAlgorithms: [],
    keyShareGroups: [],
    pskKeyExchangeModes: [],
    hasPreSharedKey: false,
    sessionTicketLength: -1,
    hasEarlyData: false,
    hasEch: false,
    grease: false,
    quicTransportParameters: [],
  };
}

interface Flagged {
  status: TlsStatusCode;
  anomaly: TlsAnomaly | '';
}

function flag(m: Flagged, status: TlsStatusCode, anomaly: TlsAnomaly): void {
  if (m.anomaly === '') m.anomaly = anomaly;
  if (status > m.status) m.status = status;
}

/** Read u16 values from a vector into out (bounded); an odd byte left over is a malformed vector. */
function readU16List(r: ByteReader, out: number[], max: number, m: Flagged): void {
  while (r.remaining >= 2) {
    const v = r.u16();
    if (out.length < max) out.push(v);
    else {
      flag(m, TlsStatus.ok, 'tls_list_too_long');
      r.skip(r.remaining - (r.remaining & 1));
    }
  }
  if (r.remaining !== 0) flag(m, TlsStatus.malformed, 'tls_short_vector');
}

function readU8List(r: ByteReader, out: number[], max: number): void {
  while (r.remaining >= 1) {
    const v = r.u8();
    if (out.length < max) out.push(v);
  }
}

/** A vector with a 1- or 2-byte length prefix; a short one flags the message and yields what is there. */
function vec(r: ByteReader, lenBytes: 1 | 2, m: Flagged): ByteReader {
  const n = lenBytes === 1 ? r.u8() : r.u16();
  if (!r.ok) {
    flag(m, TlsStatus.truncated, 'tls_short_vector');
    return r.sub(0);
  }
  if (n > r.remaining) {
    flag(m, TlsStatus.malformed, 'tls_short_vector');
    return r.sub(r.remaining);
  }
  return r.sub(n);
}

/** SNI list (RFC 6066 §3): keep the first host_name. */
function parseSni(body: ByteReader, ch: ClientHello): void {
  const list = vec(body, 2, ch);
  while (list.remaining >= 3) {
    const type = list.u8();
    const name = vec(list, 2, ch);
    if (type === 0 && ch.sni === '') {
      ch.sni = latin1(name.buf, name.pos, name.end);
    }
  }
}

function parseAlpnList(body: ByteReader, out: string[], m: Flagged): void {
  const list = vec(body, 2, m);
  while (list.remaining >= 1) {
    const p = vec(list, 1, m);
    if (out.length < TLS_MAX_ALPN) out.push(latin1(p.buf, p.pos, p.end));
  }
}

/**
 * QUIC transport parameters (RFC 9000 §18.2): a sequence of (varint id, varint length, value). Drafts before 27
 * used 16-bit ids and lengths behind a 2-byte list length; those do not parse as varints and simply stop the list
 * (not an anomaly: the extension body is not ours to judge).
 */
function parseTransportParameters(body: ByteReader, out: number[]): void {
  while (body.remaining > 0) {
    const id = body.varint();
    const len = body.varint();
    if (!body.ok || !body.skip(len)) return;
    if (out.length < TLS_MAX_LIST) out.push(id);
  }
}

function parseClientExtension(type: number, body: ByteReader, ch: ClientHello): void {
  switch (type) {
    case Ext.serverName:
      // JA4 counts the extension's presence, even when it holds no host_name.
      ch.hasSni = true;
      parseSni(body, ch);
      break;
    case Ext.alpn:
      parseAlpnList(body, ch.alpn, ch);
      break;
    case Ext.supportedVersions:
      readU16List(vec(body, 1, ch), ch.supportedVersions, TLS_MAX_LIST, ch);
      break;
    case Ext.supportedGroups:
      readU16List(vec(body, 2, ch), ch.supportedGroups, TLS_MAX_LIST, ch);
      break;
    case Ext.ecPointFormats:
      readU8List(vec(body, 1, ch), ch.ecPointFormats, TLS_MAX_LIST);
      break;
    case Ext.signatureAlgorithms:
      readU16List(vec(body, 2, ch), ch.signatureAlgorithms, TLS_MAX_LIST, ch);
      break;
    case Ext.keyShare: {
      const list = vec(body, 2, ch);
      while (list.remaining >= 4) {
        const group = list.u16();
        vec(list, 2, ch);
        if (ch.keyShareGroups.length < TLS_MAX_LIST) ch.keyShareGroups.push(group);
      }
      break;
    }
    case Ext.pskKeyExchangeModes:
      readU8List(vec(body, 1, ch), ch.pskKeyExchangeModes, TLS_MAX_LIST);
      break;
    case Ext.preSharedKey:
      ch.hasPreSharedKey = true;
      break;
    case Ext.sessionTicket:
      ch.sessionTicketLength = body.remaining;
      break;
    case Ext.earlyData:
      ch.hasEarlyData = true;
      break;
    case Ext.encryptedClientHello:
      ch.hasEch = true;
      break;
    case Ext.quicTransportParameters:
    case Ext.quicTransportParametersDraft:
      parseTransportParameters(body, ch.quicTransportParameters);
      break;
  }
}

/**
 * ClientHello body (RFC 8446 §4.1.2 / RFC 5246 §7.4.1.2; DTLS adds a cookie, RFC 6347 §4.2.1). `r` is bounded to
 * the message body (after the 4-byte handshake header). A hello cut short keeps every field read before the cut.
 */
export function parseClientHello(r: ByteReader, dtls = false): ClientHello {
  const ch = newClientHello();
  ch.dtls = dtls;
  ch.legacyVersion = r.u16();
  r.skip(32);
  let fixedOverflow = r.peekU8(0) > r.remaining - 1;
  const sid = vec(r, 1, ch);
  ch.sessionId = sid.bytes(Math.min(sid.remaining, 32)).slice();
  if (dtls) vec(r, 1, ch);
  if (r.remaining < 2 || r.peekU16(0) > r.remaining - 2) fixedOverflow = true;
  const cs = vec(r, 2, ch);
  if ((cs.remaining & 1) !== 0) flag(ch, TlsStatus.malformed, 'tls_odd_cipher_length');
  while (cs.remaining >= 2) {
    const c = cs.u16();
    if (isGrease(c)) ch.grease = true;
    if (ch.ciphers.length < TLS_MAX_CIPHERS) ch.ciphers.push(c);
    else flag(ch, TlsStatus.ok, 'tls_too_many_ciphers');
  }
  if (r.remaining < 1 || r.peekU8(0) > r.remaining - 1) fixedOverflow = true;
  ch.compressionMethods = vec(r, 1, ch).remaining;
  // A session id, cipher or compression vector longer than the hello, or a hello ending inside them: tshark
  // writes no JA3 for it.
  if (fixedOverflow || !r.ok) ch.fixedPartMalformed = true;
  if (!r.ok) {
    flag(ch, TlsStatus.truncated, 'tls_short_vector');
    return ch;
  }
  // RFC 5246 §7.4.1.2: the extension block may be absent altogether (SSL 3.0 style hellos).
  if (r.remaining === 0) return ch;
  ch.hasExtensionBlock = true;
  if (r.remaining < 2 || r.peekU16(0) > r.remaining - 2) ch.extensionBlockMalformed = true;
  parseExtensionBlock(vec(r, 2, ch), ch);
  if (r.remaining > 0) flag(ch, TlsStatus.ok, 'tls_trailing_bytes');
  return ch;
}

function parseExtensionBlock(exts: ByteReader, ch: ClientHello): void {
  while (exts.remaining >= 4) {
    const type = exts.u16();
    const len = exts.u16();
    if (isGrease(type)) ch.grease = true;
    if (ch.extensions.length < TLS_MAX_EXTENSIONS) ch.extensions.push(type);
    else flag(ch, TlsStatus.ok, 'tls_too_many_extensions');
    if (len > exts.remaining) {
      // Mercury soft-fails an extension cut by the end of the data: keep what came before.
      flag(ch, TlsStatus.malformed, 'tls_short_vector');
      parseClientExtension(type, exts.sub(exts.remaining), ch);
      break;
    }
    const before = ch.status;
    parseClientExtension(type, exts.sub(len), ch);
    if (ch.status === TlsStatus.malformed && before !== TlsStatus.malformed) ch.extensionBodyMalformed = true;
  }
  if (exts.remaining > 0) flag(ch, TlsStatus.malformed, 'tls_short_vector');
  for (const v of ch.supportedVersions) if (isGrease(v)) ch.grease = true;
  for (const v of ch.supportedGroups) if (isGrease(v)) ch.grease = true;
  for (const v of ch.signatureAlgorithms) if (isGrease(v)) ch.grease = true;
  for (const v of ch.keyShareGroups) if (isGrease(v)) ch.grease = true;
}

/**
 * SSLv2-compatible CLIENT-HELLO (RFC 5246 Appendix E.2): `r` starts at msg_type (after the 2-byte record header).
 * Cipher specs are 3 bytes; those with a zero first byte are TLS suites, which is all JA3-style tools keep.
 */
export function parseSslv2ClientHello(r: ByteReader): ClientHello {
  const ch = newClientHello();
  ch.sslv2 = true;
  if (r.u8() !== 1) flag(ch, TlsStatus.malformed, 'tls_bad_record');
  ch.legacyVersion = r.u16();
  const specLen = r.u16();
  const sidLen = r.u16();
  const challengeLen = r.u16();
  if (!r.ok || specLen + sidLen + challengeLen > r.remaining) flag(ch, TlsStatus.truncated, 'tls_short_vector');
  const specs = r.sub(Math.min(specLen, r.remaining));
  if (specLen % 3 !== 0) flag(ch, TlsStatus.malformed, 'tls_odd_cipher_length');
  while (specs.remaining >= 3) {
    const hi = specs.u8();
    const c = specs.u16();
    if (hi === 0 && ch.ciphers.length < TLS_MAX_CIPHERS) ch.ciphers.push(c);
  }
  const sid = r.sub(Math.min(sidLen, r.remaining));
  ch.sessionId = sid.bytes(Math.min(sid.remaining, 32)).slice();
  r.skip(Math.min(challengeLen, r.remaining));
  if (r.remaining > 0) flag(ch, TlsStatus.ok, 'tls_trailing_bytes');
  return ch;
}

const HRR_RANDOM = [
  0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11,
  0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/** ServerHello body (RFC 8446 §4.1.3 / RFC 5246 §7.4.1.3). */
export function parseServerHello(r: ByteReader): ServerHello {
  const sh: ServerHello = {
    status: TlsStatus.ok,
    anomaly: '',
    legacyVersion: 0,
    selectedVersion: 0,
    sessionId: new Uint8Array(0),
    cipher: 0,
    compression: 0,
    extensions: [],
    alpn: '',
    keyShareGroup: -1,
    hasPreSharedKey: false,
    helloRetryRequest: false,
  };
  sh.legacyVersion = r.u16();
  sh.selectedVersion = sh.legacyVersion;
  let hrr = r.has(32);
  for (let i = 0; i < 32 && hrr; i++) if (r.peekU8(i) !== HRR_RANDOM[i]) hrr = false;
  sh.helloRetryRequest = hrr;
  r.skip(32);
  const sid = vec(r, 1, sh);
  sh.sessionId = sid.bytes(Math.min(sid.remaining, 32)).slice();
  sh.cipher = r.u16();
  sh.compression = r.u8();
  if (!r.ok) {
    flag(sh, TlsStatus.truncated, 'tls_short_vector');
    return sh;
  }
  if (r.remaining === 0) return sh;
  const exts = vec(r, 2, sh);
  while (exts.remaining >= 4) {
    const type = exts.u16();
    const len = exts.u16();
    if (sh.extensions.length < TLS_MAX_EXTENSIONS) sh.extensions.push(type);
    else flag(sh, TlsStatus.ok, 'tls_too_many_extensions');
    const body = exts.sub(Math.min(len, exts.remaining));
    if (len > body.remaining) flag(sh, TlsStatus.malformed, 'tls_short_vector');
    switch (type) {
      case Ext.supportedVersions:
        if (body.remaining >= 2) sh.selectedVersion = body.u16();
        break;
      case Ext.alpn: {
        const list: string[] = [];
        parseAlpnList(body, list, sh);
        sh.alpn = list[0] ?? '';
        break;
      }
      case Ext.keyShare:
        if (body.remaining >= 2) sh.keyShareGroup = body.u16();
        break;
      case Ext.preSharedKey:
        sh.hasPreSharedKey = true;
        break;
    }
  }
  if (exts.remaining > 0) flag(sh, TlsStatus.malformed, 'tls_short_vector');
  return sh;
}

export interface CertificateList {
  status: TlsStatusCode;
  anomaly: TlsAnomaly | '';
  /** Complete certificates in the message (counted even beyond TLS_MAX_CERTS). */
  count: number;
  /** DER views of the first TLS_MAX_CERTS certificates (alias the input: parse or copy before it changes). */
  ders: Uint8Array[];
}

/**
 * Certificate message (RFC 5246 §7.4.2; with `tls13`, RFC 8446 §4.4.2: request context and per-entry extensions).
 * A message cut short (buffer limit) yields the complete certificates before the cut, status truncated.
 */
export function parseCertificateList(r: ByteReader, tls13 = false): CertificateList {
  const out: CertificateList = { status: TlsStatus.ok, anomaly: '', count: 0, ders: [] };
  if (tls13) vec(r, 1, out);
  const listLen = r.u24();
  if (!r.ok) {
    flag(out, TlsStatus.truncated, 'tls_short_vector');
    return out;
  }
  if (listLen > r.remaining) flag(out, TlsStatus.truncated, 'tls_truncated_message');
  const list = r.sub(Math.min(listLen, r.remaining));
  while (list.remaining >= 3) {
    const len = list.u24();
    if (len > list.remaining) {
      flag(out, TlsStatus.truncated, 'tls_truncated_message');
      break;
    }
    const der = list.bytes(len);
    out.count++;
    if (out.ders.length < TLS_MAX_CERTS) out.ders.push(der);
    else if (out.anomaly === '') flag(out, TlsStatus.ok, 'tls_too_many_certificates');
    if (tls13) {
      const ext = vec(list, 2, out);
      if (!ext.ok) break;
    }
  }
  return out;
}

/**
 * Length in bits of the key-exchange value in a ClientKeyExchange (RFC 5246 §7.4.7; Joy's c_key_length): an ECDH
 * point has a 1-byte length (RFC 8422 §5.7), RSA EncryptedPreMasterSecret and DH Yc a 2-byte length; which one is
 * told apart by which prefix exactly fills the body (the two cannot both fit). SSL 3.0 RSA has no prefix.
 */
export function clientKeyExchangeBits(r: ByteReader): number {
  const n = r.remaining;
  if (n === 0) return 0;
  if (r.peekU8(0) === n - 1) return (n - 1) * 8;
  if (n >= 2 && r.peekU16(0) === n - 2) return (n - 2) * 8;
  return n * 8;
}

/**
 * Key size in bits announced by a ServerKeyExchange: ECDHE named curve → public point length (RFC 8422 §5.4,
 * curve_type 3), DHE → prime p length (RFC 5246 §7.4.3). 0 when the layout is neither.
 */
export function serverKeyExchangeBits(r: ByteReader): number {
  if (r.remaining >= 4 && r.peekU8(0) === 3) {
    const pointLen = r.peekU8(3);
    if (pointLen > 0 && 4 + pointLen <= r.remaining) return pointLen * 8;
  }
  const pLen = r.peekU16(0);
  if (pLen > 0 && 2 + pLen <= r.remaining) {
    // DH prime: count significant bits (leading zero bytes of a DER-ish integer do not count).
    let i = 0;
    while (i < pLen && r.peekU8(2 + i) === 0) i++;
    return (pLen - i) * 8;
  }
  return 0;
}

/** Name of a protocol version, e.g. 0x0303 → 'TLSv1.2', 0xfefd → 'DTLSv1.2'; unknown → hex. */
export function tlsVersionName(v: number): string {
  switch (v) {
    case 0x0002:
      return 'SSLv2';
    case 0x0300:
      return 'SSLv3';
    case 0x0301:
      return 'TLSv1.0';
    case 0x0302:
      return 'TLSv1.1';
    case 0x0303:
      return 'TLSv1.2';
    case 0x0304:
      return 'TLSv1.3';
    case 0xfeff:
      return 'DTLSv1.0';
    case 0xfefd:
      return 'DTLSv1.2';
    case 0xfefc:
      return 'DTLSv1.3';
    default:
      return `0x${v.toString(16).padStart(4, '0')}`;
  }
}

/** Highest non-GREASE supported_versions value, else the legacy version (RFC 8446 §4.2.1). */
export function clientMaxVersion(ch: ClientHello): number {
  let best = 0;
  for (const v of ch.supportedVersions) if (!isGrease(v) && v > best && (v >> 8 === 3 || best === 0)) best = v;
  return best !== 0 ? best : ch.legacyVersion;
}

/** Does this look like the first bytes of a TLS stream (record header) or an SSLv2-compatible ClientHello? */
export function looksLikeTls(buf: Uint8Array, off: number, len: number): boolean {
  if (len < 3) return false;
  const b0 = buf[off]!;
  const b1 = buf[off + 1]!;
  const b2 = buf[off + 2]!;
  if (b0 >= 20 && b0 <= 24) return b1 === 3 && b2 <= 4;
  // SSLv2 record header with the high bit set (2-byte header), msg_type CLIENT-HELLO, version 2 or 3.x.
  if ((b0 & 0x80) !== 0 && len >= 5) return b2 === 1 && (buf[off + 3] === 3 || buf[off + 3] === 0);
  return false;
}

/**
 * Stricter than looksLikeTls, for finding a TLS start inside a flow that began with other bytes: a handshake record
 * (RFC 8446 §5.1) whose first message is a ClientHello (type 1, length < 64 KiB) with a 3.x client_version.
 */
export function looksLikeClientHello(buf: Uint8Array, off: number, len: number): boolean {
  if (len < 11) return false;
  return (
    buf[off] === 22 &&
    buf[off + 1] === 3 &&
    buf[off + 2]! <= 4 &&
    buf[off + 5] === 1 &&
    buf[off + 6] === 0 &&
    buf[off + 9] === 3 &&
    buf[off + 10]! <= 4
  );
}

const PROXY_V2_SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];

/**
 * Length of a HAProxy PROXY protocol header at the start of a payload (v1 text line "PROXY ... \r\n" of at most
 * 107 bytes, or v2 binary: 12-byte signature + 4 + length), 0 when there is none. Load balancers prepend it to the
 * client's first bytes, so the ClientHello follows it in the same segment (ndpi/haproxy.pcap).
 */
export function proxyProtocolLength(buf: Uint8Array, off: number, len: number): number {
  // Called for every scanned payload packet: decide on the first byte before anything else, allocate nothing.
  const b0 = buf[off];
  if (b0 === 0x0d && len >= 16) {
    for (let i = 0; i < PROXY_V2_SIGNATURE.length; i++) if (buf[off + i] !== PROXY_V2_SIGNATURE[i]) return 0;
    const n = 16 + ((buf[off + 14]! << 8) | buf[off + 15]!);
    return n <= len ? n : 0;
  }
  if (b0 !== 0x50) return 0;
  if (len < 8 || buf[off] !== 0x50 || buf[off + 1] !== 0x52 || buf[off + 2] !== 0x4f || buf[off + 3] !== 0x58) return 0;
  if (buf[off + 4] !== 0x59 || buf[off + 5] !== 0x20) return 0;
  const max = Math.min(len, 107);
  for (let i = 6; i + 1 < max; i++) if (buf[off + i] === 0x0d && buf[off + i + 1] === 0x0a) return i + 2;
  return 0;
}

/** One direction of a TLS-over-TCP stream: in-order reassembly, record deframing, handshake message joining. */
export class TlsDirection {
  /** TCP: next expected sequence number once known. */
  seqKnown = false;
  nextSeq = 0;
  pendingSeq: number[] = [];
  pendingData: Uint8Array[] = [];
  /** Bytes held in pendingData (counted in the global budget). */
  private pendingBytes = 0;
  /** Bytes delivered in order so far. */
  streamBytes = 0;
  retransmittedSegments = 0;
  outOfOrderSegments = 0;

  /** Record framing: bytes of the current header, and body bytes still to come. */
  private readonly hdr = new Uint8Array(5);
  private hdrHave = 0;
  private recType = 0;
  private recLeft = 0;
  private sslv2 = false;
  private recLen = 0;
  /** The current record, although after ChangeCipherSpec, carries a plaintext hello (see startRecord). */
  private recPlain = false;
  private readonly probe = new Uint8Array(4);
  private probeHave = 4;
  /** Deframed handshake bytes not yet consumed, hs[0..hsLen). */
  hs: Uint8Array | null = null;
  hsLen = 0;
  /** Stop buffering handshake bytes (limit reached or failure). */
  hsStopped = false;
  /** A ChangeCipherSpec (or application data) was seen: later handshake records are encrypted. */
  encrypted = false;
  sawChangeCipherSpec = false;
  sawApplicationData = false;
  /** Lengths of the first TLS_RECORD_LENGTHS_KEPT records (header length field, bytes). */
  readonly recordLengths: number[] = [];
  records = 0;
  /** First plaintext alert (RFC 8446 §6): level and description, -1 when none. */
  alertLevel = -1;
  alertDescription = -1;
  private alertHave = 0;
  alertCount = 0;
  handshakeMessages = 0;
  /** No more useful bytes expected (failure, or handshake done and record lengths collected). */
  finished = false;
  failed = false;

  constructor(
    private readonly session: TlsSession,
    readonly dir: 0 | 1,
  ) {}

  /** One TCP segment. `seq` is the segment's sequence number; SYN consumes one sequence number (RFC 9293 §3.4). */
  /**
   * Set when the session starts after other bytes (STARTTLS, a payload before TLS): until the sequence is known, a
   * segment is taken as the stream start only if it opens a TLS record; earlier segments are ignored.
   */
  requireRecordStart = false;

  segment(buf: Uint8Array, off: number, len: number, seq: number, syn: boolean): void {
    if (this.finished) return;
    if (!this.seqKnown && this.requireRecordStart) {
      if (syn || len <= 0 || !looksLikeTls(buf, off, len)) return;
    }
    if (syn) {
      this.seqKnown = true;
      seq = (seq + 1) >>> 0;
      this.nextSeq = seq;
    }
    if (len <= 0) return;
    if (!this.seqKnown) {
      this.seqKnown = true;
      this.nextSeq = seq;
    }
    const d = (seq - this.nextSeq) | 0;
    if (d === 0) {
      this.inOrder(buf, off, len);
    } else if (d < 0) {
      if (d + len <= 0) {
        this.retransmittedSegments++;
        return;
      }
      this.inOrder(buf, off - d, len + d);
    } else {
      this.outOfOrderSegments++;
      if (d > TLS_TCP_WINDOW || this.pendingSeq.length >= TLS_TCP_MAX_PENDING) {
        this.fail('tls_tcp_window');
        return;
      }
      if (pendingBytesAllFlows + len > TLS_TCP_GLOBAL_PENDING_BYTES) {
        this.fail('tls_tcp_budget');
        return;
      }
      this.pendingSeq.push(seq);
      this.pendingData.push(buf.slice(off, off + len));
      this.pendingBytes += len;
      pendingBytesAllFlows += len;
      return;
    }
    this.drainPending();
  }

  /** The flow ended with segments still waiting for a gap to fill. */
  flush(): void {
    if (this.pendingSeq.length > 0 && !this.finished) this.fail('tls_tcp_gap');
  }

  private drainPending(): void {
    let progressed = true;
    while (progressed && this.pendingSeq.length > 0 && !this.finished) {
      progressed = false;
      for (let i = 0; i < this.pendingSeq.length; i++) {
        const d = (this.pendingSeq[i]! - this.nextSeq) | 0;
        if (d > 0) continue;
        const data = this.pendingData[i]!;
        this.pendingSeq.splice(i, 1);
        this.pendingData.splice(i, 1);
        this.pendingBytes -= data.length;
        pendingBytesAllFlows -= data.length;
        if (d + data.length > 0) this.inOrder(data, -d, data.length + d);
        progressed = true;
        break;
      }
    }
  }

  private inOrder(buf: Uint8Array, off: number, len: number): void {
    this.nextSeq = (this.nextSeq + len) >>> 0;
    // Content check on the stream's first bytes (a shorter first segment is left to the record-header check).
    if (this.streamBytes === 0 && len >= 3 && !looksLikeTls(buf, off, len)) {
      this.streamBytes += len;
      this.fail('tls_bad_record');
      return;
    }
    this.streamBytes += len;
    this.bytes(buf, off, len);
  }

  /** Feed in-order stream bytes (also used directly for DTLS-free tests of the record layer). */
  bytes(buf: Uint8Array, off: number, len: number): void {
    while (len > 0 && !this.finished) {
      if (this.recLeft === 0) {
        const n = Math.min(len, 5 - this.hdrHave);
        for (let i = 0; i < n; i++) this.hdr[this.hdrHave + i] = buf[off + i]!;
        this.hdrHave += n;
        off += n;
        len -= n;
        // SSLv2 2-byte header (RFC 5246 E.2): TLS content types never have the high bit set.
        if (this.records === 0 && (this.hdr[0]! & 0x80) !== 0) this.sslv2 = true;
        if (this.hdrHave < 5) continue;
        this.startRecord();
        if (this.finished) return;
        continue;
      }
      if (this.probeHave < 4) {
        // First bytes of a handshake record after ChangeCipherSpec: plaintext only if they frame a hello.
        while (this.probeHave < 4 && len > 0 && this.recLeft > 0) {
          this.probe[this.probeHave++] = buf[off++]!;
          len--;
          this.recLeft--;
        }
        if (this.probeHave < 4 && this.recLeft > 0) continue;
        this.probeHave = 4;
        const p = this.probe;
        const msgLen = (p[1]! << 16) | (p[2]! << 8) | p[3]!;
        if ((p[0] === HandshakeType.clientHello || p[0] === HandshakeType.serverHello) && msgLen + 4 === this.recLen) {
          this.recPlain = true;
          this.appendHandshake(p, 0, 4);
        }
        if (this.recLeft === 0) {
          this.endRecord();
          continue;
        }
      }
      const n = Math.min(len, this.recLeft);
      if ((this.recType === ContentType.handshake && (!this.encrypted || this.recPlain)) || this.sslv2) {
        this.appendHandshake(buf, off, n);
      } else if (this.recType === ContentType.alert && !this.encrypted) {
        for (let i = 0; i < n && this.alertHave < 2; i++, this.alertHave++) {
          if (this.alertHave === 0) this.alertLevel = buf[off + i]!;
          else this.alertDescription = buf[off + i]!;
        }
      }
      off += n;
      len -= n;
      this.recLeft -= n;
      if (this.recLeft === 0) this.endRecord();
    }
  }

  private startRecord(): void {
    const h = this.hdr;
    this.hdrHave = 0;
    if (this.sslv2) {
      const bodyLen = ((h[0]! & 0x7f) << 8) | h[1]!;
      this.records++;
      this.recordLengths.push(bodyLen);
      this.recType = ContentType.handshake;
      if (bodyLen < 3) {
        this.fail('tls_bad_record');
        return;
      }
      // The 3 header bytes after the length are the start of the SSLv2 body.
      this.appendHandshake(h, 2, 3);
      this.recLeft = bodyLen - 3;
      if (this.recLeft === 0) this.endRecord();
      return;
    }
    const type = h[0]!;
    const len = (h[3]! << 8) | h[4]!;
    if (type < 20 || type > 24 || h[1] !== 3) {
      this.fail('tls_bad_record');
      return;
    }
    if (len > TLS_MAX_RECORD_BODY) this.session.note('tls_record_too_long');
    this.records++;
    if (this.recordLengths.length < TLS_RECORD_LENGTHS_KEPT) this.recordLengths.push(len);
    if (this.records === 1) this.session.recordVersion[this.dir] = (h[1]! << 8) | h[2]!;
    this.recType = type;
    this.recLeft = len;
    this.recLen = len;
    this.recPlain = false;
    // After ChangeCipherSpec a handshake record is normally encrypted (Finished). tshark still dissects it when
    // its first bytes frame a whole ClientHello/ServerHello (a client whose HelloRetryRequest is not in the capture
    // sends CCS then its second ClientHello in plaintext, RFC 8446 §4.1.4 + Appendix D.4): probe 4 bytes.
    this.probeHave = type === ContentType.handshake && this.encrypted && len >= 4 ? 0 : 4;
    if (type === ContentType.alert) {
      this.alertCount++;
      if (this.alertCount === 1) this.alertHave = 0;
      else this.alertHave = 2;
    }
    if (len === 0) this.endRecord();
  }

  private endRecord(): void {
    if (this.sslv2) {
      this.sslv2 = false;
      if (this.hs !== null && this.hsLen > 0) {
        this.session.sslv2Hello(this.dir, new ByteReader(this.hs, 0, this.hsLen));
      }
      this.hsLen = 0;
      this.hsStopped = true;
      this.checkFinished();
      return;
    }
    if (this.recType === ContentType.changeCipherSpec) {
      this.sawChangeCipherSpec = true;
      // TLS 1.3 middlebox-compatibility CCS (RFC 8446 Appendix D.4) switches nothing: a second ClientHello after a
      // HelloRetryRequest still follows it in plaintext.
      if (!this.session.tls13Negotiated) this.encrypted = true;
    } else if (this.recType === ContentType.applicationData) {
      this.sawApplicationData = true;
      this.encrypted = true;
    }
    this.checkFinished();
  }

  private checkFinished(): void {
    if (this.recordLengths.length >= TLS_RECORD_LENGTHS_KEPT && (this.encrypted || this.hsStopped)) this.finish();
  }

  private finish(): void {
    this.finished = true;
    if (this.hs !== null) releaseHsBuffer(this.hs);
    this.hs = null;
    this.hsLen = 0;
    this.pendingSeq.length = 0;
    this.pendingData.length = 0;
    pendingBytesAllFlows -= this.pendingBytes;
    this.pendingBytes = 0;
  }

  fail(anomaly: TlsAnomaly): void {
    this.failed = true;
    this.session.note(anomaly);
    this.finish();
  }

  private appendHandshake(buf: Uint8Array, off: number, n: number): void {
    while (n > 0 && !this.hsStopped) {
      let hs = this.hs;
      const need = Math.min(this.hsLen + n, TLS_MAX_HANDSHAKE_BYTES);
      if (hs === null || need > hs.length) {
        let cap = hs === null ? HS_MIN_BYTES : hs.length;
        while (cap < need) cap *= 2;
        const next = takeHsBuffer(Math.min(cap, TLS_MAX_HANDSHAKE_BYTES));
        if (hs !== null) {
          next.set(hs.subarray(0, this.hsLen));
          releaseHsBuffer(hs);
        }
        hs = next;
        this.hs = next;
      }
      const fit = Math.min(n, hs.length - this.hsLen);
      hs.set(buf.subarray(off, off + fit), this.hsLen);
      this.hsLen += fit;
      off += fit;
      n -= fit;
      if (this.sslv2) {
        if (n > 0) this.session.note('tls_handshake_too_long');
        return;
      }
      this.drainMessages(n > 0 && this.hsLen === hs.length);
    }
  }

  /**
   * Dispatch every complete handshake message, then move the unconsumed tail to the front. `full` = the buffer is
   * at its limit with bytes still waiting: the incomplete message at the front is parsed as far as it goes (a
   * Certificate chain keeps its first complete certificates) and buffering stops.
   */
  private drainMessages(full: boolean): void {
    const hs = this.hs!;
    let pos = 0;
    while (this.hsLen - pos >= 4) {
      const type = hs[pos]!;
      const len = (hs[pos + 1]! << 16) | (hs[pos + 2]! << 8) | hs[pos + 3]!;
      if (4 + len > this.hsLen - pos) {
        if (full && pos === 0) {
          this.session.note('tls_handshake_too_long');
          this.handshakeMessages++;
          this.session.handshake(this.dir, type, new ByteReader(hs, 4, this.hsLen), true);
          this.stopHandshake();
          return;
        }
        break;
      }
      this.handshakeMessages++;
      this.session.handshake(this.dir, type, new ByteReader(hs, pos + 4, pos + 4 + len), false);
      pos += 4 + len;
      if (this.hsStopped || this.finished) return;
    }
    if (pos > 0) {
      hs.copyWithin(0, pos, this.hsLen);
      this.hsLen -= pos;
    } else if (full) {
      // Fewer than 4 bytes cannot fill a 64 KiB buffer; unreachable, kept as a guard against a stall.
      this.stopHandshake();
    }
  }

  /** The handshake needs nothing more from this direction: stop buffering handshake bytes. */
  stopHandshake(): void {
    this.hsStopped = true;
    if (this.hs !== null) releaseHsBuffer(this.hs);
    this.hs = null;
    this.hsLen = 0;
    this.checkFinished();
  }
}

/**
 * Per-flow TLS state machine over both TCP directions. Keeps the first ClientHello and ServerHello of the flow,
 * the server certificate chain (TLS ≤ 1.2, parsed with x509.ts), key-exchange sizes, alerts and record lengths.
 */
export class TlsSession {
  readonly dirs: [TlsDirection, TlsDirection];
  /** Direction that sent the ClientHello (-1 until seen). */
  clientDir: -1 | 0 | 1 = -1;
  clientHello: ClientHello | null = null;
  clientHellos = 0;
  serverHello: ServerHello | null = null;
  serverHellos = 0;
  /** Record version of each direction's first record. */
  readonly recordVersion = [0, 0];
  certificates: CertInfo[] = [];
  /** Complete certificates in the server's Certificate message, -1 when none was seen. */
  chainLength = -1;
  certificateStatus: TlsStatusCode = TlsStatus.ok;
  serverKeyBits = 0;
  clientKeyBits = 0;
  /** First anomaly and how many were noted. */
  anomaly: TlsAnomaly | '' = '';
  anomalies = 0;
  /** Capture timestamp used for x509 expiry (µs since epoch). */
  nowUs = 0;

  /** Every ClientHello of the flow in order, when constructed with `collectAllHellos` (reference checks). */
  readonly allClientHellos: ClientHello[] | null;

  constructor(opts: { collectAllHellos?: boolean } = {}) {
    this.dirs = [new TlsDirection(this, 0), new TlsDirection(this, 1)];
    this.allClientHellos = opts.collectAllHellos ? [] : null;
  }

  get done(): boolean {
    return this.dirs[0].finished && this.dirs[1].finished;
  }

  /** Count per anomaly code (allocated on the first anomaly only). */
  anomalyCounts: Map<TlsAnomaly, number> | null = null;

  note(a: TlsAnomaly): void {
    if (this.anomaly === '') this.anomaly = a;
    this.anomalies++;
    if (this.anomalyCounts === null) this.anomalyCounts = new Map();
    this.anomalyCounts.set(a, (this.anomalyCounts.get(a) ?? 0) + 1);
  }

  /** @internal called by TlsDirection for each complete (or truncated, when `cut`) handshake message. */
  handshake(dir: 0 | 1, type: number, r: ByteReader, cut: boolean): void {
    switch (type) {
      case HandshakeType.clientHello: {
        this.clientHellos++;
        if (this.clientHello !== null && this.allClientHellos === null) return;
        const ch = parseClientHello(r);
        ch.recordVersion = this.recordVersion[dir]!;
        if (cut) flag(ch, TlsStatus.truncated, 'tls_truncated_message');
        this.allClientHellos?.push(ch);
        if (this.clientHello !== null) return;
        if (ch.anomaly !== '') this.note(ch.anomaly);
        this.clientHello = ch;
        this.clientDir = dir;
        return;
      }
      case HandshakeType.serverHello: {
        this.serverHellos++;
        // Keep the first ServerHello, except that a real one replaces a HelloRetryRequest (RFC 8446 §4.1.4).
        if (this.serverHello !== null && !this.serverHello.helloRetryRequest) return;
        const sh = parseServerHello(r);
        if (sh.anomaly !== '') this.note(sh.anomaly);
        this.serverHello = sh;
        if (this.clientDir === -1) this.clientDir = dir === 0 ? 1 : 0;
        // TLS 1.3 (RFC 8446 §4.1.3): everything after the ServerHello is encrypted.
        if (sh.selectedVersion === 0x0304 && !sh.helloRetryRequest) {
          this.dirs[dir].stopHandshake();
          const client = this.dirs[dir === 0 ? 1 : 0];
          if (this.clientHello !== null) client.stopHandshake();
        }
        return;
      }
      case HandshakeType.certificate: {
        if (this.chainLength !== -1 || dir === this.clientDir) return;
        const list = parseCertificateList(r, false);
        this.chainLength = list.count;
        this.certificateStatus = list.status;
        if (list.anomaly !== '') this.note(list.anomaly);
        for (const der of list.ders) {
          const cert = parseCertificate(der, this.nowUs);
          if (cert.status !== 0) this.note('tls_bad_certificate');
          this.certificates.push(cert);
        }
        return;
      }
      case HandshakeType.serverKeyExchange:
        if (this.serverKeyBits === 0) this.serverKeyBits = serverKeyExchangeBits(r);
        return;
      case HandshakeType.clientKeyExchange:
        if (this.clientKeyBits === 0) this.clientKeyBits = clientKeyExchangeBits(r);
        // The client sends nothing of interest after this in TLS ≤ 1.2.
        this.dirs[dir].stopHandshake();
        return;
      case HandshakeType.serverHelloDone:
        this.dirs[dir].stopHandshake();
        return;
    }
  }

  /** @internal */
  sslv2Hello(dir: 0 | 1, r: ByteReader): void {
    this.clientHellos++;
    if (this.clientHello !== null) return;
    const ch = parseSslv2ClientHello(r);
    this.allClientHellos?.push(ch);
    if (ch.anomaly !== '') this.note(ch.anomaly);
    this.clientHello = ch;
    this.clientDir = dir;
  }

  /** The server selected TLS 1.3 (in a ServerHello or a HelloRetryRequest). */
  get tls13Negotiated(): boolean {
    return this.serverHello !== null && this.serverHello.selectedVersion === 0x0304;
  }

  /** Resumed session: TLS 1.3 PSK accepted, or TLS ≤ 1.2 server echoing the client's session id (RFC 5246 §7.4.1.3). */
  get resumed(): boolean {
    const sh = this.serverHello;
    const ch = this.clientHello;
    if (sh === null) return false;
    if (sh.hasPreSharedKey) return true;
    if (sh.selectedVersion === 0x0304 || ch === null) return false;
    if (sh.sessionId.length > 0 && sh.sessionId.length === ch.sessionId.length) {
      let same = true;
      for (let i = 0; i < sh.sessionId.length; i++) if (sh.sessionId[i] !== ch.sessionId[i]) same = false;
      if (same) return true;
    }
    // Ticket resumption (RFC 5077 §3.1): the server goes straight to ChangeCipherSpec with no Certificate.
    const server = this.dirs[this.clientDir === 0 ? 1 : 0];
    return ch.sessionTicketLength > 0 && server.sawChangeCipherSpec && this.chainLength === -1;
  }
}
