/**
 * DNS message parser (RFC 1035 §4.1; AAAA per RFC 3596; presentation format per RFC 1035 §5.1; IPv6 text per
 * RFC 5952 §4). Pure function over bytes: malformed input gives a status and one anomaly code, never a throw.
 *
 * Limits it enforces (each one a test in test/proto/dns.test.ts):
 * - a name is at most 255 wire octets and 127 labels (RFC 1035 §2.3.4), a label at most 63 octets (§4.1.4: the
 *   length byte's top bits 01/10 are reserved label types, rejected);
 * - compression (§4.1.4): a pointer must land inside the message, after the 12-byte header, and strictly before
 *   every position already visited for this name. A compressor only ever points at an earlier occurrence, so this
 *   accepts every well-formed message, and because jump targets strictly decrease a pointer loop cannot run forever;
 *   jumps are also capped at `MAX_POINTER_JUMPS`;
 * - at most `maxQuestions` questions and `maxAnswers` answer records are decoded; header counts that promise more
 *   records than the bytes hold end parsing with status `truncated` (anomaly `dns_short_record`).
 *
 * Allocation: one result object, its arrays and the decoded strings per call. The meter calls this only for
 * packets on DNS ports, a small share of traffic, and keeps nothing but the strings it outputs.
 * DNS over TCP (RFC 7766 §8, RFC 1035 §4.2.2) prefixes each message with a 2-byte length: `parseDnsTcp` reads it.
 */

import { latin1 } from './reader.ts';

export type DnsStatus = 'ok' | 'truncated' | 'malformed';

/** Closed list of anomaly codes (`<layer>_<what>`); the first one met is reported. */
export const DNS_ANOMALIES = [
  'dns_short_header',
  'dns_short_question',
  'dns_short_record',
  'dns_label_type',
  'dns_name_too_long',
  'dns_pointer_loop',
  'dns_pointer_range',
  'dns_rdata_length',
] as const;
export type DnsAnomaly = (typeof DNS_ANOMALIES)[number] | '';

/** RR TYPE values this parser decodes (RFC 1035 §3.2.2, RFC 3596 §2.1). */
export const DnsType = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28 } as const;

/** RCODE values used by the meter (RFC 1035 §4.1.1). */
export const DnsRcode = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** Wire limits from RFC 1035 §2.3.4. */
export const MAX_NAME_OCTETS = 255;
export const MAX_LABEL_OCTETS = 63;
/** A 255-octet name has at most 127 labels, so no valid name needs more jumps than that. */
export const MAX_POINTER_JUMPS = 127;
export const DNS_HEADER_LEN = 12;

export interface DnsLimits {
  /** Questions decoded (QDCOUNT is 1 in practice, RFC 9619). */
  maxQuestions: number;
  /** Answer-section records decoded; the rest are left unread (not an anomaly). */
  maxAnswers: number;
}

export const DEFAULT_DNS_LIMITS: DnsLimits = { maxQuestions: 4, maxAnswers: 32 };

export interface DnsQuestion {
  name: string;
  type: number;
  class: number;
}

export interface DnsRecord {
  name: string;
  type: number;
  class: number;
  /** Seconds (RFC 1035 §3.2.1: unsigned 32-bit; RFC 2181 §8 says values above 2^31-1 mean 0 — kept raw here). */
  ttl: number;
  /** Presentation form of the RDATA for A, AAAA, CNAME, NS, PTR, MX (exchange); '' for other types. */
  data: string;
  /** A records: the address as an unsigned 32-bit integer (same layout as PacketView.src[0]); else -1. */
  ipv4: number;
}

export interface DnsMessage {
  status: DnsStatus;
  anomaly: DnsAnomaly;
  id: number;
  /** QR bit: true for a response. */
  response: boolean;
  opcode: number;
  authoritative: boolean;
  truncatedFlag: boolean;
  recursionDesired: boolean;
  recursionAvailable: boolean;
  rcode: number;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  /** DNS over TCP only: the 2-byte length prefix; -1 for UDP. */
  tcpMessageLength: number;
}

function newMessage(): DnsMessage {
  return {
    status: 'ok',
    anomaly: '',
    id: 0,
    response: false,
    opcode: 0,
    authoritative: false,
    truncatedFlag: false,
    recursionDesired: false,
    recursionAvailable: false,
    rcode: 0,
    qdcount: 0,
    ancount: 0,
    nscount: 0,
    arcount: 0,
    questions: [],
    answers: [],
    tcpMessageLength: -1,
  };
}

/** Scratch results of readName (module-level so reading a name allocates only its string). */
let nameNext = 0;
let nameAnomaly: DnsAnomaly = '';

const ANOMALY_STATUS: Record<Exclude<DnsAnomaly, ''>, DnsStatus> = {
  dns_short_header: 'truncated',
  dns_short_question: 'truncated',
  dns_short_record: 'truncated',
  dns_label_type: 'malformed',
  dns_name_too_long: 'malformed',
  dns_pointer_loop: 'malformed',
  dns_pointer_range: 'malformed',
  dns_rdata_length: 'malformed',
};

/**
 * The name being read, in presentation form, as Latin-1 bytes: written byte by byte and decoded once at the end
 * (one flat string instead of a chain of one-character concatenations). A name has at most 255 wire octets and
 * each octet becomes at most 4 characters (`\DDD`), plus the dots.
 */
const nameText = new Uint8Array(4 * MAX_NAME_OCTETS + 128);

/** Append one label byte at `n` in RFC 1035 §5.1 presentation form: `.` and `\` escaped, non-printables as `\DDD`; returns the new length. */
function putLabelByte(out: Uint8Array, n: number, c: number): number {
  if (c > 0x20 && c < 0x7f && c !== 0x2e && c !== 0x5c) {
    out[n] = c;
    return n + 1;
  }
  out[n] = 0x5c;
  if (c === 0x2e || c === 0x5c) {
    out[n + 1] = c;
    return n + 2;
  }
  out[n + 1] = 0x30 + Math.floor(c / 100);
  out[n + 2] = 0x30 + (Math.floor(c / 10) % 10);
  out[n + 3] = 0x30 + (c % 10);
  return n + 4;
}

/**
 * Read a possibly compressed name starting at `pos` of the message spanning [base, end). Returns the name in
 * presentation form ('.' for the root), or null with `nameAnomaly` set. `nameNext` is the position just after
 * the name in the original stream (after the first pointer when compressed).
 */
function readName(buf: Uint8Array, base: number, end: number, pos: number): string | null {
  let p = pos;
  const out = nameText;
  let n = 0;
  let octets = 1; // the terminating root label
  let labels = 0;
  let jumps = 0;
  let lowest = pos; // every jump must land strictly below this
  nameNext = -1;
  nameAnomaly = '';
  for (;;) {
    if (p >= end) {
      nameAnomaly = 'dns_short_record';
      return null;
    }
    const len = buf[p]!;
    if (len === 0) {
      if (nameNext < 0) nameNext = p + 1;
      return labels === 0 ? '.' : latin1(out, 0, n);
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (p + 1 >= end) {
        nameAnomaly = 'dns_short_record';
        return null;
      }
      const target = base + (((len & 0x3f) << 8) | buf[p + 1]!);
      if (nameNext < 0) nameNext = p + 2;
      if (target < base + DNS_HEADER_LEN || target >= end) {
        nameAnomaly = 'dns_pointer_range';
        return null;
      }
      if (target >= lowest || ++jumps > MAX_POINTER_JUMPS) {
        nameAnomaly = 'dns_pointer_loop';
        return null;
      }
      lowest = target;
      p = target;
      continue;
    }
    if (kind !== 0) {
      // 0x40 (extended label, RFC 6891 §5 deprecated it) and 0x80 (reserved): the length cannot be trusted.
      nameAnomaly = 'dns_label_type';
      return null;
    }
    octets += len + 1;
    if (octets > MAX_NAME_OCTETS) {
      nameAnomaly = 'dns_name_too_long';
      return null;
    }
    if (p + 1 + len > end) {
      nameAnomaly = 'dns_short_record';
      return null;
    }
    if (labels > 0) out[n++] = 0x2e;
    for (let i = p + 1; i <= p + len; i++) n = putLabelByte(out, n, buf[i]!);
    labels++;
    p += 1 + len;
  }
}

/** RFC 5952 §4 text form of 16 address bytes at `off`: lower-case hex, leading zeros dropped, longest zero run (≥ 2 groups, first if tied) as `::`. */
export function formatIPv6Bytes(buf: Uint8Array, off: number): string {
  const g = [0, 0, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < 8; i++) g[i] = ((buf[off + 2 * i] ?? 0) << 8) | (buf[off + 2 * i + 1] ?? 0);
  return formatIPv6Groups(g);
}

/** Same text form from four big-endian 32-bit words (PacketView.src/dst layout). */
export function formatIPv6Words(w: ArrayLike<number>): string {
  const g = [0, 0, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < 4; i++) {
    const v = (w[i] ?? 0) >>> 0;
    g[2 * i] = v >>> 16;
    g[2 * i + 1] = v & 0xffff;
  }
  return formatIPv6Groups(g);
}

function formatIPv6Groups(g: number[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestStart = -1;
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      s += '::';
      i += bestLen - 1;
      continue;
    }
    if (s.length > 0 && !s.endsWith(':')) s += ':';
    s += g[i]!.toString(16);
  }
  return s;
}

/** Dotted-quad text of an unsigned 32-bit IPv4 address. */
export function formatIPv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}

function setAnomaly(msg: DnsMessage, a: Exclude<DnsAnomaly, ''>): void {
  if (msg.anomaly !== '') return;
  msg.anomaly = a;
  msg.status = ANOMALY_STATUS[a];
}

/**
 * Parse one DNS message occupying buf[start, end). Header fields are valid whenever the status is not
 * `dns_short_header`; questions and answers hold what was decoded before any anomaly.
 */
export function parseDns(
  buf: Uint8Array,
  start = 0,
  end = buf.length,
  limits: DnsLimits = DEFAULT_DNS_LIMITS,
): DnsMessage {
  const msg = newMessage();
  const e = Math.min(end, buf.length);
  const base = Math.max(0, start);
  if (e - base < DNS_HEADER_LEN) {
    setAnomaly(msg, 'dns_short_header');
    return msg;
  }
  const b = buf;
  msg.id = (b[base]! << 8) | b[base + 1]!;
  const f1 = b[base + 2]!;
  const f2 = b[base + 3]!;
  msg.response = (f1 & 0x80) !== 0;
  msg.opcode = (f1 >> 3) & 0x0f;
  msg.authoritative = (f1 & 0x04) !== 0;
  msg.truncatedFlag = (f1 & 0x02) !== 0;
  msg.recursionDesired = (f1 & 0x01) !== 0;
  msg.recursionAvailable = (f2 & 0x80) !== 0;
  msg.rcode = f2 & 0x0f;
  msg.qdcount = (b[base + 4]! << 8) | b[base + 5]!;
  msg.ancount = (b[base + 6]! << 8) | b[base + 7]!;
  msg.nscount = (b[base + 8]! << 8) | b[base + 9]!;
  msg.arcount = (b[base + 10]! << 8) | b[base + 11]!;

  let p = base + DNS_HEADER_LEN;
  /**
   * The first question's name. An answer's owner name is most often a bare pointer to it (0xc0 0x0c): that decodes
   * to the same string — a backward jump from after the question to offset 12, then the same labels within the
   * same message end — so it is taken from here instead of decoded again.
   */
  let firstName: string | null = null;
  // Questions (§4.1.2): every question is read to find where answers start, but only maxQuestions are kept.
  for (let i = 0; i < msg.qdcount; i++) {
    const name = readName(b, base, e, p);
    if (name === null) {
      setAnomaly(msg, nameAnomaly === 'dns_short_record' ? 'dns_short_question' : nameAnomaly || 'dns_short_question');
      return msg;
    }
    p = nameNext;
    if (i === 0) firstName = name;
    if (p + 4 > e) {
      setAnomaly(msg, 'dns_short_question');
      return msg;
    }
    if (msg.questions.length < limits.maxQuestions) {
      msg.questions.push({ name, type: (b[p]! << 8) | b[p + 1]!, class: (b[p + 2]! << 8) | b[p + 3]! });
    }
    p += 4;
  }
  // Answer section (§4.1.3).
  const n = Math.min(msg.ancount, limits.maxAnswers);
  for (let i = 0; i < n; i++) {
    let name: string | null;
    if (firstName !== null && p + 1 < e && b[p] === 0xc0 && b[p + 1] === DNS_HEADER_LEN) {
      name = firstName;
      nameNext = p + 2;
    } else name = readName(b, base, e, p);
    if (name === null) {
      setAnomaly(msg, nameAnomaly || 'dns_short_record');
      return msg;
    }
    p = nameNext;
    if (p + 10 > e) {
      setAnomaly(msg, 'dns_short_record');
      return msg;
    }
    const type = (b[p]! << 8) | b[p + 1]!;
    const klass = (b[p + 2]! << 8) | b[p + 3]!;
    const ttl = ((b[p + 4]! << 24) | (b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!) >>> 0;
    const rdlen = (b[p + 8]! << 8) | b[p + 9]!;
    const rd = p + 10;
    const rdEnd = rd + rdlen;
    if (rdEnd > e) {
      setAnomaly(msg, 'dns_short_record');
      return msg;
    }
    let data = '';
    let ipv4 = -1;
    if (type === DnsType.A) {
      if (rdlen === 4) {
        ipv4 = ((b[rd]! << 24) | (b[rd + 1]! << 16) | (b[rd + 2]! << 8) | b[rd + 3]!) >>> 0;
        data = formatIPv4(ipv4);
      } else setAnomaly(msg, 'dns_rdata_length');
    } else if (type === DnsType.AAAA) {
      if (rdlen === 16) data = formatIPv6Bytes(b, rd);
      else setAnomaly(msg, 'dns_rdata_length');
    } else if (type === DnsType.CNAME || type === DnsType.NS || type === DnsType.PTR || type === DnsType.MX) {
      // The target name may point anywhere earlier in the message, but its own labels must stay inside RDATA.
      const at = type === DnsType.MX ? rd + 2 : rd;
      const target = at <= rdEnd ? readName(b, base, rdEnd, at) : null;
      if (target === null) {
        if (nameAnomaly === 'dns_short_record' || nameAnomaly === '') setAnomaly(msg, 'dns_rdata_length');
        else setAnomaly(msg, nameAnomaly);
      } else data = target;
    }
    msg.answers.push({ name, type, class: klass, ttl, data, ipv4 });
    p = rdEnd;
  }
  return msg;
}

/**
 * DNS over TCP: a 2-byte length then the message (RFC 1035 §4.2.2). Parses the first message in buf[start, end);
 * a length beyond the bytes present parses the part present (records cut short give status `truncated`).
 * Returns null when fewer than 2 bytes are present; `tcpMessageLength` is the stated length, so the next message
 * starts at start + 2 + tcpMessageLength.
 */
export function parseDnsTcp(
  buf: Uint8Array,
  start = 0,
  end = buf.length,
  limits: DnsLimits = DEFAULT_DNS_LIMITS,
): DnsMessage | null {
  const e = Math.min(end, buf.length);
  if (start < 0 || e - start < 2) return null;
  const len = (buf[start]! << 8) | buf[start + 1]!;
  const msg = parseDns(buf, start + 2, Math.min(e, start + 2 + len), limits);
  msg.tcpMessageLength = len;
  return msg;
}
