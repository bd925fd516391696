/**
 * Reading fields out of flow rows of either shape: JSONL rows nest protocol groups (`row.tls.sni`), CSV and
 * Parquet rows are flat (`row.tls_sni`) — the rule of `flatName` in src/features/meter.ts. Every accessor
 * tolerates missing fields and wrong types (a report must render whatever subset of columns a file carries).
 */
import type { FlowRow } from '../features/meter.ts';
import { isBenignName } from '../ml/labels.ts';

export type { FlowRow };

/** The two classes the report overlays; rows with neither are counted but not plotted per class. */
export type FlowClass = 'benign' | 'malicious';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

type Getter = (row: Record<string, unknown>) => unknown;
const getters = new Map<string, Getter>();

/**
 * A compiled accessor for the column with flat name `name` (`tls_sni`): flat first, then nested — the part
 * before the first `_` names a group object and the rest is looked up inside it, recursively, so
 * `tls_cert_issuer` finds `row.tls.cert_issuer` and `row.tls.cert.issuer`. Own properties only, so inherited
 * members (`constructor`, `__proto__`) never resolve. Compiled once per name; used for columns read per
 * sampled row or per table row, not in the per-flow pass (see the literal accessors below).
 */
export function getter(name: string): Getter {
  let g = getters.get(name);
  if (g === undefined) {
    g = makeGetter(name);
    getters.set(name, g);
  }
  return g;
}

function makeGetter(name: string): Getter {
  // Names that Object.prototype also has (`constructor`, `__proto__`...) need an own-property check; for the
  // rest a plain read is already own-only on plain objects, and much faster than Object.hasOwn per access.
  const inherited = name in Object.prototype;
  const own: Getter = inherited ? (row) => (Object.hasOwn(row, name) ? row[name] : undefined) : (row) => row[name];
  const cut = name.indexOf('_');
  if (cut <= 0 || cut === name.length - 1) return own;
  const head = name.slice(0, cut);
  const headOwn = getter(head);
  const inner = getter(name.slice(cut + 1));
  return (row) => {
    const v = own(row);
    if (v !== undefined) return v;
    const group = headOwn(row);
    return typeof group === 'object' && group !== null && !Array.isArray(group)
      ? inner(group as Record<string, unknown>)
      : undefined;
  };
}

/** Value of the column with flat name `name` in either row shape (see `getter`). */
export function fieldOf(row: Record<string, unknown>, name: string): unknown {
  return getter(name)(row);
}

/** A finite number from a number or bigint (Parquet int64) or numeric string; NaN otherwise. */
export function toNumber(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? v : Number.NaN;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : Number.NaN;
  }
  return Number.NaN;
}

export function numField(row: FlowRow, name: string): number {
  return toNumber(fieldOf(row, name));
}

/** A non-empty display string for a scalar value, or undefined. */
export function strField(row: FlowRow, name: string): string | undefined {
  return toText(fieldOf(row, name));
}

export function toText(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return undefined;
}

/** First present string among alternative column names. */
export function firstText(row: FlowRow, names: readonly string[]): string | undefined {
  for (const n of names) {
    const s = strField(row, n);
    if (s !== undefined) return s;
  }
  return undefined;
}

/** Sum of two directional columns, or the bidirectional column, or NaN when neither is present. */
/*
 * The accessors below run a few dozen times per flow in the aggregator's single pass, so they read columns
 * with literal property names: each read site then stays monomorphic in V8, where one shared `row[name]`
 * site for every name goes megamorphic (a 200k-flow loop, machine under load: flowApplication 800 → 80 ns,
 * flowSni 325 → 150 ns per flow).
 * Each reads the flat column first (CSV/Parquet), then the nested group (JSONL). Plain property reads are
 * own-only here: none of these names exists on Object.prototype.
 */

function sumPair(f: number, b: number): number {
  return Number.isNaN(f) && Number.isNaN(b) ? Number.NaN : (Number.isNaN(f) ? 0 : f) + (Number.isNaN(b) ? 0 : b);
}

export function flowBytes(row: FlowRow): number {
  const v = sumPair(toNumber(row.fwd_bytes), toNumber(row.bwd_bytes));
  if (!Number.isNaN(v)) return v;
  const total = toNumber(row.bidirectional_bytes);
  return Number.isNaN(total) ? toNumber(row.bytes) : total;
}

export function flowPackets(row: FlowRow): number {
  const v = sumPair(toNumber(row.fwd_packets), toNumber(row.bwd_packets));
  if (!Number.isNaN(v)) return v;
  const total = toNumber(row.bidirectional_packets);
  return Number.isNaN(total) ? toNumber(row.packets) : total;
}

/** Flow start in µs since the epoch (NFStream-style `_ms` columns converted). */
export function flowStartUs(row: FlowRow): number {
  const us = toNumber(row.first_seen_us);
  if (!Number.isNaN(us)) return us;
  const ms = toNumber(row.bidirectional_first_seen_ms);
  return Number.isNaN(ms) ? Number.NaN : ms * 1000;
}

export function flowEndUs(row: FlowRow): number {
  const us = toNumber(row.last_seen_us);
  if (!Number.isNaN(us)) return us;
  const ms = toNumber(row.bidirectional_last_seen_ms);
  return Number.isNaN(ms) ? Number.NaN : ms * 1000;
}

export function flowDurationUs(row: FlowRow): number {
  const d = numField(row, 'duration_us');
  if (!Number.isNaN(d)) return d;
  const s = flowStartUs(row);
  const e = flowEndUs(row);
  return Number.isNaN(s) || Number.isNaN(e) ? Number.NaN : e - s;
}

/** Model score in [0, 1] (`p_malicious`, or `score`), NaN when the row is unscored. */
export function flowScore(row: FlowRow): number {
  let p = toNumber(row.p_malicious);
  if (Number.isNaN(p)) p = toNumber(row.score);
  if (Number.isNaN(p)) return Number.NaN;
  return Math.min(1, Math.max(0, p));
}

export function flowVerdict(row: FlowRow): FlowClass | undefined {
  const v = row.verdict;
  if (typeof v !== 'string') return undefined;
  const s = v.trim().toLowerCase();
  return s === 'malicious' ? 'malicious' : s === 'benign' ? 'benign' : undefined;
}

/** Label names that mean "not labelled" (CTU-13's Background flows are unlabelled, not benign). */
const UNLABELLED = new Set(['', '-', '?', 'unknown', 'unlabeled', 'unlabelled', 'background', 'none', 'null', 'nan']);

/** Raw label text, or undefined when the row carries none. CIC CSVs name the column `Label`. */
export function rawLabel(row: FlowRow): string | undefined {
  const v = row.label ?? row.Label;
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v ? 'malicious' : 'benign';
  const s = toText(v)?.trim();
  if (s === undefined || UNLABELLED.has(s.toLowerCase())) return undefined;
  return s;
}

/** Binary class of a raw label: benign names (BENIGN, Normal, 0...) per src/ml/labels.ts, anything else malicious. */
export function labelClass(label: string): FlowClass {
  return isBenignName(label) ? 'benign' : 'malicious';
}

/** IANA protocol numbers (https://www.iana.org/assignments/protocol-numbers) seen in flow captures. */
const IP_PROTOCOLS = new Map<number, string>([
  [1, 'ICMP'],
  [2, 'IGMP'],
  [6, 'TCP'],
  [17, 'UDP'],
  [41, 'IPv6-in-IP'],
  [47, 'GRE'],
  [50, 'ESP'],
  [51, 'AH'],
  [58, 'ICMPv6'],
  [89, 'OSPF'],
  [132, 'SCTP'],
]);

export function protocolName(row: FlowRow): string {
  const v = row.protocol;
  const n = toNumber(v);
  if (!Number.isNaN(n)) return IP_PROTOCOLS.get(n) ?? `IP proto ${n}`;
  return toText(v)?.toUpperCase() ?? 'unknown';
}

/** Services by well-known port (IANA service-names registry), used when no payload parser named the flow. */
const PORT_SERVICES = new Map<number, string>([
  [20, 'FTP-data'],
  [21, 'FTP'],
  [22, 'SSH'],
  [23, 'Telnet'],
  [25, 'SMTP'],
  [53, 'DNS'],
  [67, 'DHCP'],
  [68, 'DHCP'],
  [80, 'HTTP'],
  [88, 'Kerberos'],
  [110, 'POP3'],
  [123, 'NTP'],
  [137, 'NetBIOS'],
  [138, 'NetBIOS'],
  [139, 'NetBIOS'],
  [143, 'IMAP'],
  [161, 'SNMP'],
  [389, 'LDAP'],
  [443, 'HTTPS'],
  [445, 'SMB'],
  [465, 'SMTPS'],
  [514, 'Syslog'],
  [587, 'SMTP'],
  [636, 'LDAPS'],
  [853, 'DNS-over-TLS'],
  [993, 'IMAPS'],
  [995, 'POP3S'],
  [1900, 'SSDP'],
  [3306, 'MySQL'],
  [3389, 'RDP'],
  [5353, 'mDNS'],
  [5355, 'LLMNR'],
  [5432, 'PostgreSQL'],
  [6379, 'Redis'],
  [8080, 'HTTP-alt'],
  [8443, 'HTTPS-alt'],
]);

/** A nested protocol group object, or undefined (flat rows have none). */
function group(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null && v !== '';
}

/** Whether a nested group carries any value. */
function nonEmpty(g: Record<string, unknown>): boolean {
  for (const k in g) if (present(g[k])) return true;
  return false;
}

/**
 * Application of a flow: an explicit application column when the file has one (nDPI-style exports), else
 * the payload parser that recognised it (QUIC, TLS, HTTP, DNS), else the service of a well-known port, else
 * the transport protocol.
 */
export function flowApplication(row: FlowRow): string {
  const explicit = toText(row.application ?? row.application_name ?? row.app ?? row.ndpi_app);
  if (explicit !== undefined) return explicit;
  const quic = group(row.quic);
  if (quic ? nonEmpty(quic) : present(row.quic_version) || present(row.quic_sni)) return 'QUIC';
  const tls = group(row.tls);
  const isTls = tls
    ? nonEmpty(tls)
    : present(row.tls_version) ||
      present(row.tls_sni) ||
      present(row.tls_ja3) ||
      present(row.tls_ja4) ||
      present(row.tls_cipher);
  if (isTls) return toNumber(row.protocol) === 17 ? 'QUIC' : 'TLS';
  const http = group(row.http);
  if (
    http
      ? nonEmpty(http)
      : present(row.http_method) || present(row.http_host) || present(row.http_uri) || present(row.http_status)
  ) {
    return 'HTTP';
  }
  const dns = group(row.dns);
  if (
    dns
      ? nonEmpty(dns)
      : present(row.dns_qname) || present(row.dns_query) || present(row.dns_qtype) || present(row.dns_rcode)
  ) {
    return 'DNS';
  }
  const byPort = PORT_SERVICES.get(toNumber(row.dst_port)) ?? PORT_SERVICES.get(toNumber(row.src_port));
  if (byPort !== undefined) return byPort;
  return `other ${protocolName(row)}`;
}

/** The name a flow was addressed to: TLS/QUIC SNI, else HTTP Host, else the DNS query. */
export function flowSni(row: FlowRow): string | undefined {
  const tls = group(row.tls);
  const quic = group(row.quic);
  const http = group(row.http);
  const dns = group(row.dns);
  return (
    toText(row.tls_sni ?? tls?.sni) ??
    toText(row.tls_server_name ?? tls?.server_name) ??
    toText(row.quic_sni ?? quic?.sni) ??
    toText(row.http_host ?? http?.host) ??
    toText(row.dns_qname ?? dns?.qname ?? row.dns_query ?? dns?.query)
  );
}

/** TLS protocol versions (RFC 8446 §4.2.1 supported_versions codes; RFC 5246 Appendix E for older ones). */
const TLS_VERSIONS = new Map<number, string>([
  [0x0300, 'SSL 3.0'],
  [0x0301, 'TLS 1.0'],
  [0x0302, 'TLS 1.1'],
  [0x0303, 'TLS 1.2'],
  [0x0304, 'TLS 1.3'],
]);

/** Display name of a TLS version column, whether it holds a code (771, 0x0303, "0303") or a name. */
export function tlsVersionName(v: unknown): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number' || typeof v === 'bigint') {
    const n = Number(v);
    return TLS_VERSIONS.get(n) ?? `0x${n.toString(16).padStart(4, '0')}`;
  }
  const s = toText(v);
  if (s === undefined) return undefined;
  if (/^(0x)?[0-9a-f]{4}$/i.test(s)) {
    const n = Number.parseInt(s.replace(/^0x/i, ''), 16);
    return TLS_VERSIONS.get(n) ?? s;
  }
  return s;
}

/** Common cipher suites by IANA code (TLS Cipher Suites registry), for axis labels readers recognise. */
const CIPHER_NAMES = new Map<number, string>([
  [0x1301, 'TLS_AES_128_GCM_SHA256'],
  [0x1302, 'TLS_AES_256_GCM_SHA384'],
  [0x1303, 'TLS_CHACHA20_POLY1305_SHA256'],
  [0xc02b, 'ECDHE_ECDSA_AES_128_GCM_SHA256'],
  [0xc02c, 'ECDHE_ECDSA_AES_256_GCM_SHA384'],
  [0xc02f, 'ECDHE_RSA_AES_128_GCM_SHA256'],
  [0xc030, 'ECDHE_RSA_AES_256_GCM_SHA384'],
  [0xcca8, 'ECDHE_RSA_CHACHA20_POLY1305'],
  [0xcca9, 'ECDHE_ECDSA_CHACHA20_POLY1305'],
  [0xc013, 'ECDHE_RSA_AES_128_CBC_SHA'],
  [0xc014, 'ECDHE_RSA_AES_256_CBC_SHA'],
  [0x009c, 'RSA_AES_128_GCM_SHA256'],
  [0x009d, 'RSA_AES_256_GCM_SHA384'],
  [0x002f, 'RSA_AES_128_CBC_SHA'],
  [0x0035, 'RSA_AES_256_CBC_SHA'],
  [0x000a, 'RSA_3DES_EDE_CBC_SHA'],
  [0x0005, 'RSA_RC4_128_SHA'],
]);

export function cipherName(v: unknown): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number' || typeof v === 'bigint') {
    const n = Number(v);
    return CIPHER_NAMES.get(n) ?? `0x${n.toString(16).padStart(4, '0')}`;
  }
  const s = toText(v);
  if (s === undefined) return undefined;
  if (/^0x[0-9a-f]{1,4}$/i.test(s)) return CIPHER_NAMES.get(Number.parseInt(s.slice(2), 16)) ?? s;
  return s;
}

/** One explanation of a score, as classify writes it (string, or {feature, value, contribution}). */
export interface Reason {
  text: string;
  /** Signed contribution to the score when the model reported one. */
  contribution?: number;
}

/** Reasons of a flow: an array (JSONL/Parquet list) or a JSON-encoded / `;`-separated string (CSV). */
export function flowReasons(row: FlowRow): Reason[] {
  let v = fieldOf(row, 'reasons');
  if (typeof v === 'string') {
    const s = v.trim();
    if (s === '') return [];
    if (s.startsWith('[')) {
      try {
        v = JSON.parse(s);
      } catch {
        v = s.split(/\s*;\s*/);
      }
    } else {
      v = s.split(/\s*[;|]\s*/);
    }
  }
  if (!Array.isArray(v)) return [];
  const out: Reason[] = [];
  for (const item of v) {
    if (typeof item === 'string') {
      if (item !== '') out.push({ text: item });
    } else if (isPlainObject(item)) {
      const feature = toText(item.feature ?? item.name) ?? '?';
      const value = item.value;
      const contribution = toNumber(item.contribution ?? item.weight);
      let text = feature;
      if (value !== undefined && value !== null) text += ` = ${formatValue(value)}`;
      const r: Reason = { text };
      if (!Number.isNaN(contribution)) r.contribution = contribution;
      out.push(r);
    } else if (item !== null && item !== undefined) {
      out.push({ text: String(item) });
    }
  }
  return out;
}

function formatValue(v: unknown): string {
  const n = toNumber(v);
  if (!Number.isNaN(n) && typeof v !== 'string') return Number.isInteger(n) ? String(n) : n.toPrecision(4);
  return toText(v) ?? JSON.stringify(v) ?? '';
}

/**
 * Flatten a row into a Map of scalar columns with flat names (`tls_sni`). Arrays (SPLT sequences, reasons)
 * are skipped: they are not single features. A Map, because the names come from the file (house rule 14).
 */
export function flattenRow(row: Record<string, unknown>, prefix = '', out = new Map<string, number | string>()) {
  for (const key of Object.keys(row)) {
    const v = row[key];
    const name = prefix === '' ? key : `${prefix}_${key}`;
    if (isPlainObject(v)) {
      flattenRow(v, name, out);
    } else if (typeof v === 'number') {
      if (Number.isFinite(v)) out.set(name, v);
    } else if (typeof v === 'bigint') {
      out.set(name, Number(v));
    } else if (typeof v === 'string') {
      if (v !== '') out.set(name, v);
    } else if (typeof v === 'boolean') {
      out.set(name, v ? 1 : 0);
    }
  }
  return out;
}

/** Certificate validity period in days, from a validity column or the not-before/not-after pair. */
export function certValidityDays(row: FlowRow): number {
  for (const n of ['tls_cert_validity_days', 'tls_cert_lifetime_days', 'tls_validity_days']) {
    const d = numField(row, n);
    if (!Number.isNaN(d)) return d;
  }
  const before = timeMs(firstValue(row, ['tls_cert_not_before', 'tls_not_before', 'tls_cert_valid_from']));
  const after = timeMs(firstValue(row, ['tls_cert_not_after', 'tls_not_after', 'tls_cert_valid_to']));
  if (Number.isNaN(before) || Number.isNaN(after)) return Number.NaN;
  return (after - before) / 86_400_000;
}

function firstValue(row: FlowRow, names: readonly string[]): unknown {
  for (const n of names) {
    const v = fieldOf(row, n);
    if (v !== undefined && v !== null && v !== '') return v;
  }
  return undefined;
}

/**
 * Milliseconds since the epoch from a time value: ISO-8601 text, or a number whose magnitude tells its unit
 * (seconds before 1e11, milliseconds before 1e14, else microseconds — the flow columns' unit).
 */
function timeMs(v: unknown): number {
  if (typeof v === 'string' && !/^-?\d+(\.\d+)?$/.test(v)) return Date.parse(v);
  const n = toNumber(v);
  if (Number.isNaN(n)) return Number.NaN;
  const a = Math.abs(n);
  return a < 1e11 ? n * 1000 : a < 1e14 ? n : n / 1000;
}
