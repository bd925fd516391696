/**
 * HTTP/1.x message-head parser (RFC 9112 §2–§5: start line, header fields, empty line). Detects HTTP by content,
 * not port: a request line starting with a known method (RFC 9110 §9, plus PATCH from RFC 5789) or a status line
 * starting with `HTTP/`.
 *
 * Limits it enforces: a line is at most `maxLineLength` bytes (longer → `http_line_too_long`, parsing stops), at
 * most `maxHeaders` header fields are kept (the rest are counted, `http_too_many_headers`), header values and the
 * URI are truncated to `maxValueLength` characters (the URI's full length is reported). A single LF ends a line as
 * well as CRLF (RFC 9112 §2.2 lets recipients accept it). Obsolete line folding (§5.2) continues the previous
 * field and is otherwise ignored.
 *
 * Header names go into a Map keyed by lower-case name (field names are case-insensitive, RFC 9110 §5.1), first
 * occurrence kept — never into a plain object, so a name like `__proto__` is just data.
 * Allocation: one result object, its Map and the decoded strings per head; the meter calls this once per
 * direction of a flow that looked like HTTP.
 */
import { latin1 } from './reader.ts';

export type HttpStatus = 'ok' | 'incomplete' | 'not_http' | 'malformed';
export type HttpKind = 'none' | 'request' | 'response';

export const HTTP_ANOMALIES = [
  'http_not_http',
  'http_incomplete',
  'http_line_too_long',
  'http_bad_start_line',
  'http_bad_header',
  'http_too_many_headers',
] as const;
export type HttpAnomaly = (typeof HTTP_ANOMALIES)[number] | '';

export interface HttpLimits {
  maxLineLength: number;
  maxHeaders: number;
  maxValueLength: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = { maxLineLength: 8192, maxHeaders: 64, maxValueLength: 256 };

export interface HttpHead {
  status: HttpStatus;
  anomaly: HttpAnomaly;
  kind: HttpKind;
  /** Request: method token; '' for a response. */
  method: string;
  /** Request target, truncated to maxValueLength characters. */
  uri: string;
  /** Request target length in bytes before truncation. */
  uriLength: number;
  /** `HTTP/1.1` etc. */
  version: string;
  /** Response status code, -1 for a request. */
  statusCode: number;
  reason: string;
  /** Lower-case field name → first value (trimmed, truncated). */
  headers: Map<string, string>;
  /** Header fields seen, including those beyond maxHeaders. */
  headerCount: number;
  /** Offset just past the empty line ending the head; -1 while incomplete. */
  headEnd: number;
}

/** Request methods recognised at the start of a flow (RFC 9110 §9.3, RFC 5789). */
const METHODS = ['GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE', 'PATCH'] as const;
const METHOD_BYTES = METHODS.map((m) => Uint8Array.from(m, (c) => c.charCodeAt(0)));
const HTTP_SLASH = Uint8Array.from('HTTP/', (c) => c.charCodeAt(0));
/**
 * 1 for each byte that starts a method or `HTTP/`: most directions of a capture are not HTTP, and their first byte
 * alone rules it out before the literal comparisons.
 */
const FIRST_BYTE = new Uint8Array(256);
for (const lit of [HTTP_SLASH, ...METHOD_BYTES]) FIRST_BYTE[lit[0]!] = 1;

function startsWith(buf: Uint8Array, start: number, end: number, lit: Uint8Array): boolean {
  if (end - start < lit.length) return false;
  for (let i = 0; i < lit.length; i++) if (buf[start + i] !== lit[i]) return false;
  return true;
}

/** What the first bytes of a direction say: `partial` when they are too few to tell but could start HTTP. */
export type HttpDetect = HttpKind | 'partial';

/** True when buf[start, end) is a prefix of `lit` (no more bytes than it, all equal). */
function isPrefixOf(buf: Uint8Array, start: number, end: number, lit: Uint8Array): boolean {
  if (end - start > lit.length) return false;
  for (let i = start; i < end; i++) if (buf[i] !== lit[i - start]) return false;
  return true;
}

/**
 * Cheap content check on the first bytes of a direction: 'request' when they begin with `<METHOD> `, 'response'
 * when with `HTTP/`, 'partial' when they are a proper prefix of one of those (a tiny first segment), else 'none'.
 * Allocates nothing.
 */
export function detectHttp(buf: Uint8Array, start: number, end: number): HttpDetect {
  const e = Math.min(end, buf.length);
  if (e <= start) return 'partial';
  if (FIRST_BYTE[buf[start]!] === 0) return 'none';
  if (startsWith(buf, start, e, HTTP_SLASH)) return 'response';
  for (const m of METHOD_BYTES) {
    if (startsWith(buf, start, e, m) && e - start > m.length)
      return buf[start + m.length] === 0x20 ? 'request' : 'none';
  }
  if (isPrefixOf(buf, start, e, HTTP_SLASH)) return 'partial';
  for (const m of METHOD_BYTES) if (isPrefixOf(buf, start, e, m)) return 'partial';
  return 'none';
}

/** RFC 9110 §5.6.2 token characters: 1 per byte value that is a tchar (a lookup instead of 14 comparisons). */
const TCHAR = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  TCHAR[c] =
    (c >= 0x30 && c <= 0x39) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    c === 0x21 ||
    (c >= 0x23 && c <= 0x27) ||
    c === 0x2a ||
    c === 0x2b ||
    c === 0x2d ||
    c === 0x2e ||
    c === 0x5e ||
    c === 0x5f ||
    c === 0x60 ||
    c === 0x7c ||
    c === 0x7e
      ? 1
      : 0;
}

function isTchar(c: number): boolean {
  return TCHAR[c] === 1;
}

/** A header name lower-cased (field names are tchar, ASCII), written as bytes and decoded once. */
const nameBytes = new Uint8Array(8192);
function lowerName(buf: Uint8Array, s: number, e: number): string {
  const n = e - s;
  if (n > nameBytes.length) return latin1(buf, s, e).toLowerCase();
  for (let i = 0; i < n; i++) {
    const c = buf[s + i]!;
    nameBytes[i] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
  }
  return latin1(nameBytes, 0, n);
}

/** The common version strings, shared instead of decoded per message. */
const HTTP11 = 'HTTP/1.1';
const HTTP10 = 'HTTP/1.0';
function versionString(buf: Uint8Array, p: number): string {
  // Caller checked isVersion: `HTTP/d.d` at p.
  if (buf[p + 5] === 0x31 && buf[p + 7] === 0x31) return HTTP11;
  if (buf[p + 5] === 0x31 && buf[p + 7] === 0x30) return HTTP10;
  return latin1(buf, p, p + 8);
}

/** A request method, the shared constant when it is one of METHODS. */
function methodString(buf: Uint8Array, s: number, e: number): string {
  for (let m = 0; m < METHOD_BYTES.length; m++) {
    const lit = METHOD_BYTES[m]!;
    if (lit.length === e - s && startsWith(buf, s, e, lit)) return METHODS[m]!;
  }
  return latin1(buf, s, e);
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

/** `HTTP/d.d` at [p, p+8). */
function isVersion(buf: Uint8Array, p: number, e: number): boolean {
  return (
    p + 8 <= e && startsWith(buf, p, e, HTTP_SLASH) && isDigit(buf[p + 5]) && buf[p + 6] === 0x2e && isDigit(buf[p + 7])
  );
}

function newHead(): HttpHead {
  return {
    status: 'ok',
    anomaly: '',
    kind: 'none',
    method: '',
    uri: '',
    uriLength: 0,
    version: '',
    statusCode: -1,
    reason: '',
    headers: new Map(),
    headerCount: 0,
    headEnd: -1,
  };
}

function fail(h: HttpHead, status: HttpStatus, a: Exclude<HttpAnomaly, ''>): HttpHead {
  if (h.anomaly === '') h.anomaly = a;
  h.status = status;
  return h;
}

/** Start line: returns false when it is not a valid request or status line. */
function parseStartLine(buf: Uint8Array, s: number, e: number, h: HttpHead, lim: HttpLimits): boolean {
  if (isVersion(buf, s, e)) {
    // status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4); some servers omit the SP.
    if (e - s < 12 || buf[s + 8] !== 0x20 || !isDigit(buf[s + 9]) || !isDigit(buf[s + 10]) || !isDigit(buf[s + 11]))
      return false;
    h.kind = 'response';
    h.version = versionString(buf, s);
    h.statusCode = (buf[s + 9]! - 48) * 100 + (buf[s + 10]! - 48) * 10 + (buf[s + 11]! - 48);
    const r = s + 12 < e && buf[s + 12] === 0x20 ? s + 13 : s + 12;
    h.reason = latin1(buf, r, Math.min(e, r + lim.maxValueLength));
    return true;
  }
  // request-line = method SP request-target SP HTTP-version (RFC 9112 §3).
  let p = s;
  while (p < e && p - s < 32 && isTchar(buf[p]!)) p++;
  if (p === s || p >= e || buf[p] !== 0x20) return false;
  const methodEnd = p;
  const uriStart = p + 1;
  let q = uriStart;
  while (q < e && buf[q] !== 0x20) q++;
  if (q === uriStart || q >= e || !isVersion(buf, q + 1, e) || q + 9 !== e) return false;
  h.kind = 'request';
  h.method = methodString(buf, s, methodEnd);
  h.uriLength = q - uriStart;
  h.uri = latin1(buf, uriStart, Math.min(q, uriStart + lim.maxValueLength));
  h.version = versionString(buf, q + 1);
  return true;
}

function isWs(c: number | undefined): boolean {
  return c === 0x20 || c === 0x09;
}

/**
 * Parse a message head in buf[start, end). Fields from every complete line are filled even when the head is
 * incomplete (status `incomplete`, the empty line not yet seen) or stopped by a limit (status `malformed`).
 * `valuesOf`: the (lower-case) header names whose values the caller reads; the others are kept with an empty
 * value, still counting toward maxHeaders. The HTTP meter reads four headers; decoding only those took mixed500's
 * all-meters run from 4.80 to 4.75 CPU-s (median of 5 interleaved runs).
 */
export function parseHttpHead(
  buf: Uint8Array,
  start = 0,
  end = buf.length,
  limits: HttpLimits = DEFAULT_HTTP_LIMITS,
  valuesOf?: ReadonlySet<string>,
): HttpHead {
  const h = newHead();
  const e = Math.min(end, buf.length);
  let p = Math.max(0, start);
  let line = 0;
  while (p < e) {
    // Find the end of this line, looking no further than maxLineLength bytes.
    const limitEnd = Math.min(e, p + limits.maxLineLength + 1);
    let lf = p;
    while (lf < limitEnd && buf[lf] !== 0x0a) lf++;
    if (lf >= limitEnd) {
      if (limitEnd < e || e - p > limits.maxLineLength) return fail(h, 'malformed', 'http_line_too_long');
      if (line === 0 && detectHttp(buf, p, e) === 'none') return fail(h, 'not_http', 'http_not_http');
      return fail(h, 'incomplete', 'http_incomplete');
    }
    const lineEnd = lf > p && buf[lf - 1] === 0x0d ? lf - 1 : lf;
    const next = lf + 1;
    if (line === 0) {
      if (!parseStartLine(buf, p, lineEnd, h, limits)) {
        return fail(h, detectHttp(buf, p, e) === 'none' ? 'not_http' : 'malformed', 'http_bad_start_line');
      }
    } else if (lineEnd === p) {
      h.headEnd = next;
      return h;
    } else if (isWs(buf[p])) {
      // obs-fold continuation (RFC 9112 §5.2): belongs to the previous field; nothing we keep needs it.
    } else {
      let c = p;
      while (c < lineEnd && isTchar(buf[c]!)) c++;
      if (c === p || c >= lineEnd || buf[c] !== 0x3a) {
        if (h.anomaly === '') h.anomaly = 'http_bad_header';
      } else {
        h.headerCount++;
        if (h.headers.size < limits.maxHeaders) {
          let vs = c + 1;
          let ve = lineEnd;
          while (vs < ve && isWs(buf[vs])) vs++;
          while (ve > vs && isWs(buf[ve - 1])) ve--;
          const name = lowerName(buf, p, c);
          if (!h.headers.has(name)) {
            const wanted = valuesOf === undefined || valuesOf.has(name);
            h.headers.set(name, wanted ? latin1(buf, vs, Math.min(ve, vs + limits.maxValueLength)) : '');
          }
        } else if (h.anomaly === '') h.anomaly = 'http_too_many_headers';
      }
    }
    line++;
    p = next;
  }
  if (line === 0 && detectHttp(buf, start, e) === 'none') return fail(h, 'not_http', 'http_not_http');
  return fail(h, 'incomplete', 'http_incomplete');
}
