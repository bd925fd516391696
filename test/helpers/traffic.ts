/**
 * Generated traffic with a known answer for the learning tests: complete HTTP-like exchanges ("benign") and SYN
 * port scans answered by RST ("malicious") — separable by TCP flags alone.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { tcpFrame } from './packets.ts';
import { type WritePacket, writePcap } from './pcap-writer.ts';
import { at } from './run.ts';

/** `n` complete exchanges from `client` to `server`:80, 1 s apart, with varying request/response sizes. */
export function exchanges(client: string, server: string, n: number, t0: number): WritePacket[] {
  const out: WritePacket[] = [];
  for (let i = 0; i < n; i++) {
    const t = t0 + i;
    const sport = 40000 + i;
    const c = { src: client, dst: server, sport, dport: 80 };
    const s = { src: server, dst: client, sport: 80, dport: sport };
    const req = new Uint8Array(120 + ((i * 37) % 200)).fill(0x41);
    const resp = new Uint8Array(600 + ((i * 131) % 800)).fill(0x42);
    out.push(
      { tsUs: at(t), data: tcpFrame({ ...c, flags: 'S', seq: 1 }) },
      { tsUs: at(t + 0.01), data: tcpFrame({ ...s, flags: 'SA', seq: 100, ack: 2 }) },
      { tsUs: at(t + 0.02), data: tcpFrame({ ...c, flags: 'A', seq: 2, ack: 101 }) },
      { tsUs: at(t + 0.03), data: tcpFrame({ ...c, flags: 'PA', seq: 2, ack: 101, payload: req }) },
      { tsUs: at(t + 0.05), data: tcpFrame({ ...s, flags: 'PA', seq: 101, ack: 2 + req.length, payload: resp }) },
      { tsUs: at(t + 0.06), data: tcpFrame({ ...c, flags: 'FA', seq: 2 + req.length, ack: 101 + resp.length }) },
      { tsUs: at(t + 0.07), data: tcpFrame({ ...s, flags: 'FA', seq: 101 + resp.length, ack: 3 + req.length }) },
    );
  }
  return out;
}

/** A SYN scan of `n` ports of `target`, each SYN answered by RST-ACK (closed port). */
export function scan(scanner: string, target: string, n: number, t0: number, firstPort: number): WritePacket[] {
  const out: WritePacket[] = [];
  for (let i = 0; i < n; i++) {
    const dport = firstPort + i;
    out.push(
      {
        tsUs: at(t0 + i * 0.002),
        data: tcpFrame({ src: scanner, dst: target, sport: 55555, dport, flags: 'S', seq: 7 }),
      },
      {
        tsUs: at(t0 + i * 0.002 + 0.0005),
        data: tcpFrame({ src: target, dst: scanner, sport: dport, dport: 55555, flags: 'RA', seq: 0, ack: 8 }),
      },
    );
  }
  return out;
}

/**
 * The labelled training set of the learning tests, written into `dir`: benign-1/2.pcap (40 and 30 exchanges) and
 * malicious-1/2.pcap (scans of 60 and 50 ports).
 */
export function writeLabelledCaptures(dir: string): void {
  writeFileSync(path.join(dir, 'benign-1.pcap'), writePcap(exchanges('10.1.0.10', '10.1.0.1', 40, 0)));
  writeFileSync(path.join(dir, 'benign-2.pcap'), writePcap(exchanges('10.2.0.10', '10.2.0.1', 30, 100)));
  writeFileSync(path.join(dir, 'malicious-1.pcap'), writePcap(scan('10.9.0.99', '10.9.0.1', 60, 0, 1)));
  writeFileSync(path.join(dir, 'malicious-2.pcap'), writePcap(scan('10.8.0.99', '10.8.0.1', 50, 50, 2000)));
}

/** `flowsieve train` options for that set (run in `dir`): behaviour features, capture weighting, 20 rounds. */
export const TRAIN_ARGS: readonly string[] = [
  'train',
  '--label',
  'benign=benign-*.pcap',
  '--label',
  'malicious=malicious-*.pcap',
  '--features',
  'behaviour',
  '--weight-by',
  'capture',
  '--trees',
  '20',
  '--valid-fraction',
  '0',
];
