/**
 * QUIC Initial packets → the client's TLS ClientHello: long header (RFC 9000 §17.2, §17.2.2), Initial secrets from
 * the client's Destination Connection ID (RFC 9001 §5.2; QUIC v2 salt and labels RFC 9369 §3.3; drafts 23–32 by
 * their salts), header protection (RFC 9001 §5.4, AES-128 ECB mask), AEAD_AES_128_GCM payload protection (RFC 9001
 * §5.3), frames PADDING/PING/ACK/CRYPTO/CONNECTION_CLOSE (RFC 9000 §19), CRYPTO data reassembled by offset across
 * packets and coalesced packets, then parsed with src/proto/tls.ts.
 *
 * Limits: QUIC_MAX_CRYPTO_BYTES (64 KiB) of CRYPTO stream per connection, QUIC_MAX_RANGES received ranges,
 * QUIC_MAX_PACKETS_PER_DATAGRAM coalesced packets, connection IDs ≤ 20 bytes (RFC 9000 §17.2). Nothing throws:
 * failures set `anomaly` (`quic_<what>`). Only node:crypto is used (a Node built-in, not an npm package).
 */
import { type Cipher, createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { ByteReader } from './reader.ts';
import { type ClientHello, parseClientHello } from './tls.ts';

export const QUIC_MAX_CRYPTO_BYTES = 65536;
/**
 * CRYPTO data is buffered only up to this far beyond the contiguous prefix. Clients do send a hello's frames out of
 * order (Chrome's chaos protection shuffles them within the hello, a few KiB), but a frame claiming offset 60,000
 * with nothing before it would otherwise pin a 64 KiB buffer per flow in a flood.
 */
export const QUIC_CRYPTO_REORDER_WINDOW = 16384;
export const QUIC_MAX_RANGES = 64;
export const QUIC_MAX_PACKETS_PER_DATAGRAM = 8;
export const QUIC_MAX_CID = 20;
/** Client datagrams inspected per flow before giving up on a hello (Initial flights are a few packets). */
export const QUIC_MAX_CLIENT_DATAGRAMS = 64;

export const QUIC_ANOMALIES = [
  'quic_short_header',
  'quic_bad_length',
  'quic_unknown_version',
  'quic_decrypt_failed',
  'quic_bad_frame',
  'quic_crypto_too_long',
  'quic_crypto_gap',
  'quic_too_many_ranges',
  'quic_bad_client_hello',
] as const;
export type QuicAnomaly = (typeof QUIC_ANOMALIES)[number];

export const QUIC_V1 = 0x00000001;
export const QUIC_V2 = 0x6b3343cf;

interface VersionParams {
  salt: Buffer;
  /** Label prefix for key/iv/hp: 'quic' (v1, drafts) or 'quicv2' (RFC 9369 §3.3.2). */
  labelPrefix: string;
  /** Long-header packet type value of Initial (v1: 0, v2: 1, RFC 9369 §3.2). */
  initialType: number;
}

// Initial salts are protocol constants: RFC 9001 §5.2 (v1, also used by drafts 33–34), RFC 9369 §3.3.1 (v2),
// draft-ietf-quic-tls-29/-23/-22 §5.2, and Google's TLS-based gQUIC T050/T051/Q050 as Wireshark decodes them.
const SALT_V1 = Buffer.from('38762cf7f55934b34d179ae6a4c80cadccbb7f0a', 'hex');
const SALT_V2 = Buffer.from('0dede3def700a6db819381be6e269dcbf9bd2ed9', 'hex');
const SALT_D29 = Buffer.from('afbfec289993d24c9e9786f19c6111e04390a899', 'hex');
const SALT_D23 = Buffer.from('c3eef712c72ebb5a11a7d2432bb46365bef9f502', 'hex');
const SALT_D22 = Buffer.from('7fbcdb0e7c66bbe9193a96cd21519ebd7a02644a', 'hex');
const SALT_T50 = Buffer.from('7ff579e5acd072915580304c43a2367c60488310', 'hex');
const SALT_T51 = Buffer.from('7a4edef4e7ccee5fa4506c19124fc8ccda6e033d', 'hex');

/** Draft number a version follows (0 when none): IETF 0xff0000NN, mvfst 0xfaceb001 (22), 0xfaceb002/00e (27). */
function draftOf(version: number): number {
  if (version >>> 8 === 0xff0000) return version & 0xff;
  if (version === 0xfaceb001) return 22;
  if (version === 0xfaceb002 || version === 0xfaceb00e) return 27;
  return 0;
}

/** Version → Initial protection parameters; undefined for versions we cannot decrypt (gQUIC Q0xx, unknown). */
export function quicVersionParams(version: number): VersionParams | undefined {
  if (version === QUIC_V1) return { salt: SALT_V1, labelPrefix: 'quic', initialType: 0 };
  if (version === QUIC_V2) return { salt: SALT_V2, labelPrefix: 'quicv2', initialType: 1 };
  if (version === 0x54303530) return { salt: SALT_T50, labelPrefix: 'quic', initialType: 0 };
  if (version === 0x54303531) return { salt: SALT_T51, labelPrefix: 'quic', initialType: 0 };
  // Reserved versions 0x?a?a?a?a (RFC 9000 §15) exercise version negotiation; Wireshark (and so the reference)
  // decrypts their Initials with the draft-29 salt.
  if ((version & 0x0f0f0f0f) === 0x0a0a0a0a) return { salt: SALT_D29, labelPrefix: 'quic', initialType: 0 };
  const d = draftOf(version);
  if (d === 0 || d < 17) return undefined;
  if (d <= 22) return { salt: SALT_D22, labelPrefix: 'quic', initialType: 0 };
  if (d <= 28) return { salt: SALT_D23, labelPrefix: 'quic', initialType: 0 };
  if (d <= 32) return { salt: SALT_D29, labelPrefix: 'quic', initialType: 0 };
  if (d <= 34) return { salt: SALT_V1, labelPrefix: 'quic', initialType: 0 };
  return undefined;
}

/** HKDF-Expand-Label (RFC 8446 §7.1) with an empty context, for outputs ≤ 32 bytes (one HMAC-SHA256 block). */
function expandLabel(secret: Buffer, label: string, length: number): Buffer {
  const full = `tls13 ${label}`;
  const info = Buffer.alloc(2 + 1 + full.length + 1 + 1);
  info.writeUInt16BE(length, 0);
  info[2] = full.length;
  info.write(full, 3, 'latin1');
  info[3 + full.length] = 0; // empty context
  info[4 + full.length] = 1; // HKDF-Expand block counter T(1)
  return createHmac('sha256', secret).update(info).digest().subarray(0, length);
}

export interface InitialKeys {
  key: Buffer;
  iv: Buffer;
  hp: Buffer;
  /**
   * The header-protection cipher (AES-128-ECB under `hp`), made at the first packet and reused: ECB keeps no state
   * between blocks, and making a cipher object cost more than the 16-byte encryption it does.
   */
  hpCipher?: Cipher;
}

/** Client (or server) Initial keys for a connection (RFC 9001 §5.2, RFC 9369 §3.3). */
export function initialKeys(
  version: number,
  dcid: Uint8Array,
  side: 'client' | 'server' = 'client',
): InitialKeys | undefined {
  const p = quicVersionParams(version);
  if (p === undefined) return undefined;
  const initialSecret = createHmac('sha256', p.salt).update(dcid).digest();
  const secret = expandLabel(initialSecret, side === 'client' ? 'client in' : 'server in', 32);
  return {
    key: expandLabel(secret, `${p.labelPrefix} key`, 16),
    iv: expandLabel(secret, `${p.labelPrefix} iv`, 12),
    hp: expandLabel(secret, `${p.labelPrefix} hp`, 16),
  };
}

/**
 * Client Initial keys by `${version}:${dcid hex}`, the most recent CLIENT_KEY_CACHE_SIZE: each derivation is five
 * HMAC objects of node:crypto. A connection's Initials share one DCID, and the same DCID comes back in another flow
 * when the client's port changes (NAT rebinding) or a capture holds the traffic more than once (mixed500.pcap).
 */
const clientKeyCache = new Map<string, InitialKeys | undefined>();
const CLIENT_KEY_CACHE_SIZE = 4096;

function cachedClientKeys(keyId: string, version: number, dcid: Uint8Array): InitialKeys | undefined {
  if (clientKeyCache.has(keyId)) return clientKeyCache.get(keyId);
  const keys = initialKeys(version, dcid, 'client');
  if (clientKeyCache.size >= CLIENT_KEY_CACHE_SIZE) clientKeyCache.delete(clientKeyCache.keys().next().value!);
  clientKeyCache.set(keyId, keys);
  return keys;
}

/** Fields of a long-header packet, offsets into the datagram buffer. */
export interface LongHeader {
  ok: boolean;
  anomaly: QuicAnomaly | '';
  version: number;
  type: number;
  dcid: Uint8Array;
  scid: Uint8Array;
  /** Offset of the (protected) packet number; `end` = pnOffset + Length field. */
  pnOffset: number;
  end: number;
}

/** Parse the unprotected part of a long header starting at `off` (RFC 9000 §17.2). */
export function parseLongHeader(buf: Uint8Array, off: number, end: number): LongHeader {
  const h: LongHeader = {
    ok: false,
    anomaly: '',
    version: 0,
    type: -1,
    dcid: new Uint8Array(0),
    scid: new Uint8Array(0),
    pnOffset: 0,
    end: 0,
  };
  const r = new ByteReader(buf, off, end);
  const first = r.u8();
  if ((first & 0x80) === 0) {
    h.anomaly = 'quic_short_header';
    return h;
  }
  h.version = r.u32();
  h.type = (first >> 4) & 3;
  const dcidLen = r.u8();
  if (dcidLen > QUIC_MAX_CID && h.version !== 0) {
    h.anomaly = 'quic_bad_length';
    return h;
  }
  h.dcid = r.bytes(dcidLen);
  const scidLen = r.u8();
  h.scid = r.bytes(Math.min(scidLen, QUIC_MAX_CID));
  if (!r.ok) {
    h.anomaly = 'quic_bad_length';
    return h;
  }
  const params = quicVersionParams(h.version);
  if (params === undefined) {
    h.anomaly = 'quic_unknown_version';
    return h;
  }
  if (h.type !== params.initialType) {
    // Not an Initial: only its Length is needed to skip it (Retry has none: it ends the datagram).
    const retryType = h.version === QUIC_V2 ? 0 : 3;
    if (h.type === retryType) {
      h.pnOffset = end;
      h.end = end;
      return h;
    }
  } else {
    const tokenLen = r.varint();
    r.skip(tokenLen);
  }
  const length = r.varint();
  if (!r.ok || length > r.remaining) {
    h.anomaly = 'quic_bad_length';
    return h;
  }
  h.pnOffset = r.pos;
  h.end = r.pos + length;
  h.ok = true;
  return h;
}

/**
 * Remove header protection and decrypt one Initial packet in place of a copy. Returns the plaintext frames or null
 * (authentication failure, short packet). `buf[off..h.end)` is the packet; the caller's buffer is not modified.
 */
export function decryptInitial(buf: Uint8Array, off: number, h: LongHeader, keys: InitialKeys): Uint8Array | null {
  const sampleAt = h.pnOffset + 4;
  if (sampleAt + 16 > h.end) return null;
  let ecb = keys.hpCipher;
  if (ecb === undefined) {
    ecb = createCipheriv('aes-128-ecb', keys.hp, null);
    ecb.setAutoPadding(false);
    keys.hpCipher = ecb;
  }
  const mask = ecb.update(buf.subarray(sampleAt, sampleAt + 16));
  const headerLen = h.pnOffset - off;
  const first = buf[off]! ^ (mask[0]! & 0x0f);
  const pnLen = (first & 3) + 1;
  const aad = Buffer.alloc(headerLen + pnLen);
  aad.set(buf.subarray(off, h.pnOffset + pnLen));
  aad[0] = first;
  let pn = 0;
  for (let i = 0; i < pnLen; i++) {
    const b = buf[h.pnOffset + i]! ^ mask[1 + i]!;
    aad[headerLen + i] = b;
    pn = pn * 256 + b;
  }
  const payloadStart = h.pnOffset + pnLen;
  if (h.end - payloadStart < 16) return null;
  // Nonce: IV XOR the packet number, left-padded to 12 bytes (RFC 9001 §5.3). Truncated numbers < 2^32 suffice here.
  const nonce = Buffer.from(keys.iv);
  for (let i = 0; i < 4; i++) nonce[11 - i] = nonce[11 - i]! ^ ((pn >>> (8 * i)) & 0xff);
  const gcm = createDecipheriv('aes-128-gcm', keys.key, nonce);
  gcm.setAAD(aad);
  gcm.setAuthTag(buf.subarray(h.end - 16, h.end));
  const plain = gcm.update(buf.subarray(payloadStart, h.end - 16));
  try {
    // node:crypto reports a bad tag only by throwing; it is caught here and turned into a status.
    gcm.final();
  } catch {
    return null;
  }
  return plain;
}

/** One QUIC connection's client Initial flight: CRYPTO stream assembly and ClientHello parse. */
export class QuicInitialSession {
  version = 0;
  /** Client's original Destination Connection ID (hex), which keys the Initial secrets. */
  dcidHex = '';
  scidHex = '';
  clientHello: ClientHello | null = null;
  /** Client Initial packets decrypted, and those that failed. */
  initialPackets = 0;
  decryptFailures = 0;
  anomaly: QuicAnomaly | '' = '';
  /** Nothing more to learn (hello parsed, or a fatal limit hit). */
  done = false;

  /** Every ClientHello (one per CRYPTO stream), when constructed with `collectAllHellos` (reference checks). */
  readonly allClientHellos: ClientHello[] | null;
  private helloParsed = false;
  /** Stream offset of the next handshake message to read. */
  private msgStart = 0;
  /** Client long-header datagrams seen; the session gives up after QUIC_MAX_CLIENT_DATAGRAMS without a hello. */
  datagrams = 0;

  constructor(opts: { collectAllHellos?: boolean } = {}) {
    this.allClientHellos = opts.collectAllHellos ? [] : null;
  }

  private keys: InitialKeys | undefined;
  private keysFor = '';
  private crypto: Uint8Array | null = null;
  /** Received CRYPTO ranges, sorted, merged: [start0, end0, start1, end1, ...]. */
  private readonly ranges: number[] = [];

  note(a: QuicAnomaly): void {
    if (this.anomaly === '') this.anomaly = a;
  }

  /** One UDP datagram from the client. Returns true when it held at least one QUIC long-header packet. */
  clientDatagram(buf: Uint8Array, off: number, len: number): boolean {
    const end = off + len;
    let pos = off;
    let any = false;
    if (++this.datagrams > QUIC_MAX_CLIENT_DATAGRAMS) this.done = true;
    for (let n = 0; n < QUIC_MAX_PACKETS_PER_DATAGRAM && pos < end && !this.done; n++) {
      // Coalesced packets (RFC 9000 §12.2); a short header or padding ends the walk.
      if ((buf[pos]! & 0xc0) !== 0xc0) break;
      const h = parseLongHeader(buf, pos, end);
      if (!h.ok) {
        if (h.anomaly !== '' && h.anomaly !== 'quic_unknown_version') this.note(h.anomaly);
        if (h.anomaly === 'quic_unknown_version' && this.version === 0) this.version = h.version;
        break;
      }
      any = true;
      const params = quicVersionParams(h.version)!;
      if (h.type === params.initialType) this.initial(buf, pos, h);
      pos = h.end;
    }
    return any;
  }

  private initial(buf: Uint8Array, off: number, h: LongHeader): void {
    if (this.version === 0) this.version = h.version;
    let dcid = '';
    for (const b of h.dcid) dcid += b.toString(16).padStart(2, '0');
    if (this.dcidHex === '') {
      this.dcidHex = dcid;
      for (const b of h.scid) this.scidHex += b.toString(16).padStart(2, '0');
    }
    // Keys come from the DCID of the client's first Initial and stay (RFC 9001 §5.2) even when the client switches
    // to the server's connection ID; after a Retry or for a new connection on the same ports they come from the
    // new DCID: try the current keys, then this packet's DCID.
    const keyId = `${h.version}:${dcid}`;
    let plain: Uint8Array | null = null;
    if (this.keys !== undefined) plain = decryptInitial(buf, off, h, this.keys);
    if (plain === null && this.keysFor !== keyId) {
      const keys = cachedClientKeys(keyId, h.version, h.dcid);
      if (keys !== undefined) plain = decryptInitial(buf, off, h, keys);
      if (plain !== null) {
        if (this.keys !== undefined) this.restartStream();
        this.keys = keys;
        this.keysFor = keyId;
      }
    }
    if (plain === null) {
      this.decryptFailures++;
      this.note('quic_decrypt_failed');
      return;
    }
    this.initialPackets++;
    this.frames(plain, h.version === 0x54303530 || h.version === 0x54303531);
  }

  /** A new Initial key set means a new CRYPTO stream (Retry, or another connection on the same 5-tuple). */
  private restartStream(): void {
    this.ranges.length = 0;
    this.msgStart = 0;
    this.helloParsed = false;
    if (this.allClientHellos === null && this.clientHello !== null) this.done = true;
  }

  /** Walk the frames of a decrypted Initial (RFC 9000 §19; only these types are allowed in Initial, §12.4). */
  private frames(p: Uint8Array, gquic: boolean): void {
    const r = new ByteReader(p);
    while (r.remaining > 0 && r.ok) {
      let type = r.varint();
      // Google's TLS-based gQUIC (T050/T051) numbers CRYPTO as 0x08, as Wireshark decodes it.
      if (gquic && type === 0x08) type = 0x06;
      switch (type) {
        case 0x00: // PADDING
        case 0x01: // PING
          break;
        case 0x02:
        case 0x03: {
          r.varint(); // largest acknowledged
          r.varint(); // ack delay
          const ranges = r.varint();
          r.varint(); // first range
          for (let i = 0; i < ranges && r.ok; i++) {
            r.varint();
            r.varint();
          }
          if (type === 0x03) {
            r.varint();
            r.varint();
            r.varint();
          }
          break;
        }
        case 0x06: {
          const offset = r.varint();
          const length = r.varint();
          const data = r.bytes(length);
          if (!r.ok) break;
          this.cryptoData(offset, data);
          if (this.done) return;
          break;
        }
        case 0x1c:
        case 0x1d: {
          r.varint();
          if (type === 0x1c) r.varint();
          r.skip(r.varint());
          break;
        }
        default:
          this.note('quic_bad_frame');
          return;
      }
    }
    if (!r.ok) this.note('quic_bad_frame');
  }

  private cryptoData(offset: number, data: Uint8Array): void {
    if (this.helloParsed) {
      if (this.allClientHellos === null) return;
      // Reference mode counts hellos as a packet dissector does: CRYPTO data from offset 0 again (a retransmitted
      // Initial) starts a new hello instance; later offsets may hold further messages (emix.pcap).
      if (offset === 0) this.restartStream();
    }
    const end = offset + data.length;
    if (end > QUIC_MAX_CRYPTO_BYTES) {
      this.note('quic_crypto_too_long');
      if (offset >= QUIC_MAX_CRYPTO_BYTES) return;
      data = data.subarray(0, QUIC_MAX_CRYPTO_BYTES - offset);
    }
    const contiguous = this.ranges[0] === 0 ? this.ranges[1]! : 0;
    if (offset > contiguous + QUIC_CRYPTO_REORDER_WINDOW) {
      this.note('quic_crypto_gap');
      return;
    }
    // Grow by powers of two up to the limit: a typical hello needs 2 KiB, not the full 64 KiB per flow.
    const need = offset + data.length;
    if (this.crypto === null || this.crypto.length < need) {
      let cap = this.crypto === null ? 2048 : this.crypto.length;
      while (cap < need) cap *= 2;
      const next = new Uint8Array(Math.min(cap, QUIC_MAX_CRYPTO_BYTES));
      if (this.crypto !== null) next.set(this.crypto);
      this.crypto = next;
    }
    this.crypto.set(data, offset);
    if (!this.addRange(offset, offset + data.length)) {
      this.note('quic_too_many_ranges');
      this.done = true;
      return;
    }
    // Contiguous bytes from offset 0: parse each complete handshake message (the first must be a ClientHello;
    // reference mode also reads ClientHellos that follow it in the same stream, as tshark does).
    const have = this.ranges[0] === 0 ? this.ranges[1]! : 0;
    const c = this.crypto;
    while (have - this.msgStart >= 4 && !this.done) {
      const at = this.msgStart;
      const type = c[at]!;
      const msgLen = (c[at + 1]! << 16) | (c[at + 2]! << 8) | c[at + 3]!;
      if ((at === 0 && type !== 1) || at + 4 + msgLen > QUIC_MAX_CRYPTO_BYTES) {
        this.note(type !== 1 ? 'quic_bad_client_hello' : 'quic_crypto_too_long');
        this.finishStream();
        this.msgStart = QUIC_MAX_CRYPTO_BYTES;
        return;
      }
      if (have < at + 4 + msgLen) return;
      this.msgStart = at + 4 + msgLen;
      if (type === 1) {
        const ch = parseClientHello(new ByteReader(c, at + 4, at + 4 + msgLen));
        this.allClientHellos?.push(ch);
        if (this.clientHello === null) this.clientHello = ch;
      }
      this.finishStream();
    }
  }

  private finishStream(): void {
    this.helloParsed = true;
    if (this.allClientHellos === null) {
      this.done = true;
      this.crypto = null;
    }
  }

  /** Insert [s, e) into the sorted, merged range list; false when the list would exceed QUIC_MAX_RANGES. */
  private addRange(s: number, e: number): boolean {
    const r = this.ranges;
    if (e <= s) return true;
    let i = 0;
    while (i < r.length && r[i + 1]! < s) i += 2;
    let j = i;
    while (j < r.length && r[j]! <= e) {
      s = Math.min(s, r[j]!);
      e = Math.max(e, r[j + 1]!);
      j += 2;
    }
    if (i === j && r.length >= QUIC_MAX_RANGES * 2) return false;
    r.splice(i, j - i, s, e);
    return true;
  }
}

/** Quick content check: a long-header packet with the fixed bit, of a version we can decrypt, typed Initial. */
export function looksLikeQuicInitial(buf: Uint8Array, off: number, len: number): boolean {
  if (len < 7) return false;
  const first = buf[off]!;
  if ((first & 0xc0) !== 0xc0) return false;
  const version = ((buf[off + 1]! << 24) | (buf[off + 2]! << 16) | (buf[off + 3]! << 8) | buf[off + 4]!) >>> 0;
  const p = quicVersionParams(version);
  return p !== undefined && ((first >> 4) & 3) === p.initialType;
}

/** A long-header packet with the fixed bit and a non-zero version (not a Version Negotiation), any version. */
export function looksLikeQuicLongHeader(buf: Uint8Array, off: number, len: number): boolean {
  if (len < 7 || (buf[off]! & 0xc0) !== 0xc0) return false;
  return (buf[off + 1]! | buf[off + 2]! | buf[off + 3]! | buf[off + 4]!) !== 0;
}
