/**
 * decodeFrame: the entry point. Resets the view, records the capture facts, and dispatches on the link type
 * (link.ts → ip.ts → tunnel.ts). Speed (bench/decode.ts): see the numbers recorded there.
 */
import { decodeLink } from './link.ts';
import type { PacketView } from './packet.ts';
import type { DecodeStatus } from './status.ts';

/**
 * Decode one frame into `view`. `buf[offset, offset + capLen)` holds the captured bytes (reads never leave it, nor
 * buf), `wireLen` is the original length, `tsUs` integral microseconds since the epoch, `linkType` the pcap
 * LINKTYPE_ value. Returns 'ok' when an IP packet was decoded, else the counter the frame belongs to.
 */
export function decodeFrame(
  view: PacketView,
  buf: Uint8Array,
  offset: number,
  capLen: number,
  wireLen: number,
  tsUs: number,
  linkType: number,
): DecodeStatus {
  view.clear();
  view.buf = buf;
  view.frameOffset = offset;
  view.capLen = capLen;
  view.wireLen = wireLen;
  view.tsUs = tsUs;
  view.linkType = linkType;
  view.truncated = capLen < wireLen;
  // Bad arguments (negative, NaN, past the buffer) become an empty frame rather than reads outside buf.
  if (!(Number.isInteger(offset) && offset >= 0 && capLen >= 0 && offset <= buf.length)) return 'truncated_link';
  const end = Math.min(offset + capLen, buf.length);
  return decodeLink(view, buf, offset, end, linkType);
}
