/**
 * SSH identification string ("banner") parser, RFC 4253 §4.2:
 *   SSH-protoversion-softwareversion SP comments CR LF
 * The line is at most 255 bytes including CR LF. A server may send other lines first (they do not start with
 * `SSH-`); a client may not, but we accept them from either side. A bare LF also ends the line: §4.2 notes that
 * older software sends it and asks implementations to accept it.
 *
 * Limits: at most `MAX_PRE_BANNER_LINES` lines before the banner and `MAX_SCAN_BYTES` bytes scanned; a banner
 * line longer than 255 bytes is reported (`ssh_banner_too_long`, status malformed) with its first 253 characters.
 * Allocation: the result object and its strings, once per direction of a flow.
 */
import { latin1 } from './reader.ts';

export type SshStatus = 'ok' | 'incomplete' | 'not_ssh' | 'malformed';

export const SSH_ANOMALIES = ['ssh_not_ssh', 'ssh_incomplete', 'ssh_banner_too_long', 'ssh_bad_banner'] as const;
export type SshAnomaly = (typeof SSH_ANOMALIES)[number] | '';

/** RFC 4253 §4.2: 255 bytes including CR LF. */
export const MAX_BANNER_BYTES = 255;
export const MAX_PRE_BANNER_LINES = 16;
/** Bytes scanned for the banner per direction (pre-banner lines included). */
export const MAX_SCAN_BYTES = 4096;

export interface SshBanner {
  status: SshStatus;
  anomaly: SshAnomaly;
  /** The identification line without CR LF ('' when none found). */
  banner: string;
  /** `2.0`, `1.99`, ... */
  protoVersion: string;
  /** `OpenSSH_8.9p1`, ... */
  softwareVersion: string;
  /** Text after the first space ('' when absent). */
  comments: string;
  /** Offset just past the banner's line end; -1 when not found. */
  end: number;
}

const SSH_DASH = [0x53, 0x53, 0x48, 0x2d]; // "SSH-"

/** True when buf[start, end) begins with `SSH-` (or with a shorter prefix of it, when fewer bytes are present). */
export function startsLikeSsh(buf: Uint8Array, start: number, end: number): boolean {
  const n = Math.min(4, Math.min(end, buf.length) - start);
  if (n <= 0) return false;
  for (let i = 0; i < n; i++) if (buf[start + i] !== SSH_DASH[i]) return false;
  return true;
}

function isSshAt(buf: Uint8Array, p: number, e: number): boolean {
  return p + 4 <= e && buf[p] === 0x53 && buf[p + 1] === 0x53 && buf[p + 2] === 0x48 && buf[p + 3] === 0x2d;
}

/** Printable US-ASCII, tab or CR (the start of a CR LF cut by a segment boundary) only. */
function isText(buf: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const c = buf[i]!;
    if ((c < 0x20 && c !== 0x09 && c !== 0x0d) || c > 0x7e) return false;
  }
  return true;
}

function newBanner(): SshBanner {
  return { status: 'ok', anomaly: '', banner: '', protoVersion: '', softwareVersion: '', comments: '', end: -1 };
}

function fill(b: SshBanner, buf: Uint8Array, s: number, e: number): void {
  b.banner = latin1(buf, s, e);
  // protoversion and softwareversion are printable US-ASCII without '-' or space (§4.2); comments follow a space.
  let p = s + 4;
  const pv = p;
  while (p < e && buf[p] !== 0x2d && buf[p] !== 0x20) p++;
  b.protoVersion = latin1(buf, pv, p);
  if (p >= e || buf[p] !== 0x2d || p === pv) {
    b.status = 'malformed';
    if (b.anomaly === '') b.anomaly = 'ssh_bad_banner';
    return;
  }
  p++;
  const sv = p;
  while (p < e && buf[p] !== 0x20) p++;
  b.softwareVersion = latin1(buf, sv, p);
  if (p < e) b.comments = latin1(buf, p + 1, e);
  if (b.softwareVersion === '') {
    b.status = 'malformed';
    if (b.anomaly === '') b.anomaly = 'ssh_bad_banner';
  }
}

/** Find and parse the identification line in buf[start, end). */
export function parseSshBanner(buf: Uint8Array, start = 0, end = buf.length): SshBanner {
  const b = newBanner();
  const e = Math.min(end, buf.length, Math.max(0, start) + MAX_SCAN_BYTES);
  let p = Math.max(0, start);
  for (let line = 0; line <= MAX_PRE_BANNER_LINES && p < e; line++) {
    const ssh = isSshAt(buf, p, e);
    let lf = p;
    const lookEnd = ssh ? Math.min(e, p + MAX_BANNER_BYTES) : e;
    while (lf < lookEnd && buf[lf] !== 0x0a) lf++;
    if (lf >= lookEnd) {
      if (ssh && lookEnd < e) {
        // No LF within 255 bytes: keep the first 253 characters (255 minus CR LF) and flag it.
        fill(b, buf, p, p + MAX_BANNER_BYTES - 2);
        b.status = 'malformed';
        b.anomaly = 'ssh_banner_too_long';
        return b;
      }
      // A pre-banner line may itself be cut by a segment boundary: printable text is worth waiting for.
      if (ssh || startsLikeSsh(buf, p, e) || line > 0 || isText(buf, p, lookEnd)) {
        b.status = 'incomplete';
        b.anomaly = 'ssh_incomplete';
      } else {
        b.status = 'not_ssh';
        b.anomaly = 'ssh_not_ssh';
      }
      return b;
    }
    const lineEnd = lf > p && buf[lf - 1] === 0x0d ? lf - 1 : lf;
    if (ssh) {
      fill(b, buf, p, lineEnd);
      b.end = lf + 1;
      return b;
    }
    // A first line that is not printable text is not an SSH pre-banner line: give up early on binary protocols.
    if (line === 0 && !isText(buf, p, lineEnd)) {
      b.status = 'not_ssh';
      b.anomaly = 'ssh_not_ssh';
      return b;
    }
    p = lf + 1;
  }
  if (p >= Math.min(end, buf.length)) {
    b.status = 'incomplete';
    b.anomaly = 'ssh_incomplete';
  } else {
    b.status = 'not_ssh';
    b.anomaly = 'ssh_not_ssh';
  }
  return b;
}
