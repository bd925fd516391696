/**
 * Shared by the src/decode tests: decode a crafted frame placed inside a larger buffer (so a read outside the
 * frame would see foreign bytes), and snapshot a view with offsets relative to the frame for comparisons.
 */
import { type DecodeStatus, decodeFrame, LinkType, PacketView } from '../../src/decode/index.ts';

/** Bytes placed before the frame in the test buffer. */
export const LEAD = 5;

export interface Decoded {
  status: DecodeStatus;
  view: PacketView;
}

const shared = new PacketView();

/**
 * Decode `frame` (all of it captured unless `capLen` says less; `wireLen` defaults to the frame length) from a
 * buffer with `fill` bytes around it. Offsets in the returned view are absolute; use rel() for frame-relative ones.
 */
export function decode(
  frame: Uint8Array,
  linkType: number = LinkType.ethernet,
  o: { capLen?: number; wireLen?: number; fill?: number; view?: PacketView } = {},
): Decoded {
  const capLen = o.capLen ?? frame.length;
  const buf = new Uint8Array(LEAD + frame.length + 16).fill(o.fill ?? 0xee);
  buf.set(frame.subarray(0, capLen), LEAD);
  const view = o.view ?? shared;
  const status = decodeFrame(view, buf, LEAD, capLen, o.wireLen ?? frame.length, 1_700_000_000_000_000, linkType);
  return { status, view };
}

/** Offset relative to the frame's first byte. */
export function rel(view: PacketView, absolute: number): number {
  return absolute - view.frameOffset;
}

/** IPv4 word (as stored in view.src[0]) from dotted text. */
export function v4(s: string): number {
  const p = s.split('.').map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

/**
 * Every field of the view, offsets relative to the frame, for deep equality between decodes. After a non-'ok'
 * status the offsets may be unset (0, which is not frame-relative), so they are left out.
 */
export function snapshot(view: PacketView, ok = true): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(view)) {
    if (k === 'buf' || k === 'frameOffset') continue;
    if (!ok && (k === 'l3Offset' || k === 'l4Offset' || k === 'payloadOffset')) continue;
    if (val instanceof Uint32Array) out[k] = [...val];
    else if (k === 'l3Offset' || k === 'l4Offset' || k === 'payloadOffset') out[k] = (val as number) - view.frameOffset;
    else out[k] = val;
  }
  return out;
}
