/**
 * Capture reader throughput: packets/s and MB/s of readCapture over files, with a callback that only sums caplen.
 *
 *   node --import tsx bench/capture-read.ts [--iterations N] [--header-walk] FILE...
 *
 * Default file: ../shared/pcaps/lab/loopback-mix.pcap. For a big one (write it outside the repo):
 *   bash ../shared/tools/make-big-pcap.sh --same-ips 100 /tmp/capbench/big.pcap ../shared/pcaps/lab/loopback-mix.pcap
 * --header-walk also times the bare pcap record-header loop over the file loaded in memory, reading headers with
 * DataView vs manual byte shifts (the choice documented in src/capture/parser.ts parsePcap).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { readCapture } from '../src/capture/index.ts';

const args = process.argv.slice(2);
let iterations = 5;
let headerWalk = false;
const files: string[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  if (a === '--iterations') iterations = Number(args[++i]);
  else if (a === '--header-walk') headerWalk = true;
  else files.push(a);
}
if (files.length === 0) files.push(path.resolve(import.meta.dirname, '../../shared/pcaps/lab/loopback-mix.pcap'));

for (const file of files) {
  let best = Number.POSITIVE_INFINITY;
  let packets = 0;
  let bytes = 0;
  for (let it = 0; it < iterations; it++) {
    let capBytes = 0;
    const t0 = process.hrtime.bigint();
    const s = await readCapture(file, (_buf, _off, capLen) => {
      capBytes += capLen;
    });
    const sec = Number(process.hrtime.bigint() - t0) / 1e9;
    packets = s.packetsDelivered;
    bytes = s.bytesRead;
    if (sec < best) best = sec;
    if (capBytes < 0) console.log(capBytes); // keep the callback's work observable
  }
  console.log(
    `${file}: ${packets} packets, ${(bytes / 1e6).toFixed(1)} MB, best of ${iterations}: ${(best * 1e3).toFixed(1)} ms = ` +
      `${(packets / best / 1e6).toFixed(2)} M packets/s, ${(bytes / best / 1e6).toFixed(0)} MB/s`,
  );
  if (headerWalk) walkHeaders(file, iterations);
}

/** Bare header walk (little-endian µs pcap only): DataView vs manual shifts, best of N, records/s. */
function walkHeaders(file: string, n: number): void {
  const buf = new Uint8Array(readFileSync(file));
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const le = dv.getUint32(0, true) === 0xa1b2c3d4;
  if (!le) {
    console.log('  header walk: only little-endian µs pcap supported');
    return;
  }
  const variants: [string, () => number][] = [
    [
      'DataView',
      () => {
        let pos = 24;
        let count = 0;
        let sum = 0;
        while (pos + 16 <= buf.length) {
          const capLen = dv.getUint32(pos + 8, true);
          sum += dv.getUint32(pos, true) * 1e6 + dv.getUint32(pos + 4, true) + dv.getUint32(pos + 12, true);
          pos += 16 + capLen;
          count++;
        }
        return count + (sum < 0 ? 1 : 0);
      },
    ],
    [
      'manual shifts',
      () => {
        let pos = 24;
        let count = 0;
        let sum = 0;
        const u32 = (p: number) => (buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24)) >>> 0;
        while (pos + 16 <= buf.length) {
          const capLen = u32(pos + 8);
          sum += u32(pos) * 1e6 + u32(pos + 4) + u32(pos + 12);
          pos += 16 + capLen;
          count++;
        }
        return count + (sum < 0 ? 1 : 0);
      },
    ],
  ];
  for (const [name, fn] of variants) {
    let best = Number.POSITIVE_INFINITY;
    let count = 0;
    for (let i = 0; i < Math.max(n, 20); i++) {
      const t0 = process.hrtime.bigint();
      count = fn();
      const sec = Number(process.hrtime.bigint() - t0) / 1e9;
      if (sec < best) best = sec;
    }
    console.log(`  header walk ${name}: ${count} records, ${(count / best / 1e6).toFixed(1)} M records/s`);
  }
}
