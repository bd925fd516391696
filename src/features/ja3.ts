/**
 * JA3 and JA3S fingerprints (salesforce/ja3 README; our own code), matched to tshark 4.0's implementation
 * (epan/dissectors/packet-tls-utils.c), which is the project's reference:
 * - JA3 string: `SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats`, decimal values joined
 *   with '-'; the version is the hello's legacy client_version; GREASE values (RFC 8701) are dropped from ciphers,
 *   extensions and groups; an absent list is an empty field ("769,4-5,,," for a hello without extensions);
 *   a hello whose extension-block length is cut or too large ends after the ciphers ("769,4-5,"), as tshark's
 *   dissector stops there (ndpi/tls_invalid_reads.pcap, ndpi/tls_cipher_lens.pcap).
 * - JA3S string: `SSLVersion,Cipher,Extensions` of the ServerHello (legacy version, GREASE dropped likewise).
 * - The hash is the MD5 of the string, lower-case hex.
 */
import { createHash } from 'node:crypto';
import { type ClientHello, isGrease, type ServerHello } from '../proto/tls.ts';

function joinNoGrease(values: readonly number[]): string {
  let s = '';
  for (const v of values) {
    if (isGrease(v)) continue;
    s += s === '' ? `${v}` : `-${v}`;
  }
  return s;
}

export function ja3String(ch: ClientHello): string {
  // tshark stops the string after the ciphers when the extension block's length is unusable.
  if (ch.extensionBlockMalformed) return `${ch.legacyVersion},${joinNoGrease(ch.ciphers)},`;
  return `${ch.legacyVersion},${joinNoGrease(ch.ciphers)},${joinNoGrease(ch.extensions)},${joinNoGrease(ch.supportedGroups)},${ch.ecPointFormats.join('-')}`;
}

export function ja3sString(sh: ServerHello): string {
  return `${sh.legacyVersion},${sh.cipher},${joinNoGrease(sh.extensions)}`;
}

/**
 * Fingerprint strings repeat across flows (one client stack, many connections), and a node:crypto hash costs
 * microseconds of call overhead: remember recent digests (bounded; cleared when full).
 */
const MD5_CACHE_ENTRIES = 4096;
const md5Cache = new Map<string, string>();

export function md5Hex(s: string): string {
  let h = md5Cache.get(s);
  if (h === undefined) {
    h = createHash('md5').update(s, 'latin1').digest('hex');
    if (md5Cache.size >= MD5_CACHE_ENTRIES) md5Cache.clear();
    md5Cache.set(s, h);
  }
  return h;
}

/**
 * JA3 of a ClientHello: string and MD5. None (as tshark) for SSLv2-compatible hellos and for hellos whose dissection
 * tshark aborts inside an extension (ndpi/tls_invalid_reads.pcap frame 12: ALPN list longer than its extension)
 * or whose cipher/session-id/compression vector overruns the hello (ndpi/tls_cipher_lens.pcap frames 2, 3).
 */
export function ja3(ch: ClientHello): { ja3: string; ja3Full: string } | null {
  if (ch.sslv2 || ch.extensionBodyMalformed || ch.fixedPartMalformed) return null;
  const full = ja3String(ch);
  return { ja3: md5Hex(full), ja3Full: full };
}

export function ja3s(sh: ServerHello): { ja3s: string; ja3sFull: string } {
  const full = ja3sString(sh);
  return { ja3s: md5Hex(full), ja3sFull: full };
}
