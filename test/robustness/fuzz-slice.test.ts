/**
 * The CI slice of bench/fuzz.ts: same mutators and targets, fixed seeds, a few thousand executions.
 * - every direct parser target (test/fixtures-gen/targets.ts) on mutated and random bytes: no throw, and the same
 *   entry points still parse their valid seeds afterwards;
 * - mutated captures (pcap and pcapng built here, carrying TLS, DNS, QUIC, HTTP, SSH, tunnels) through the whole
 *   pipeline with all meters: no throw, accounting holds (runPipelineOnBytes throws AccountingError otherwise);
 * - randpkt output of every packet type it lists, when wireshark-common is installed.
 * Hangs: node:test's per-test timeout fails the run (the long fuzzer has a per-input watchdog instead).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseDns } from '../../src/proto/dns.ts';
import { parseHttpHead } from '../../src/proto/http.ts';
import { parseSshBanner } from '../../src/proto/ssh.ts';
import { parseCertificateUncached } from '../../src/proto/x509.ts';
import { dnsFrame, nestedTunnelFrame, T0_US, tcpConversation, vlanStackFrame } from '../fixtures-gen/hostile.ts';
import { mutateBytes, mutateCapture, Rng } from '../fixtures-gen/mutate.ts';
import { PARSER_TARGETS, runPipelineOnBytes, runPipelineOnStream } from '../fixtures-gen/targets.ts';
import { udpFrame } from '../helpers/packets.ts';
import { type WritePacket, writePcap, writePcapng } from '../helpers/pcap-writer.ts';
import {
  ascii,
  buildCertificate,
  buildInitial,
  certificateBody,
  clientHelloBody,
  concat,
  cryptoFrame,
  extAlpn,
  extSni,
  handshake,
  record,
  records,
  serverHelloBody,
} from '../helpers/tls-builder.ts';

const PARSER_EXECS_PER_TARGET = 400;
const PIPELINE_EXECS = 300;

test('direct parser fuzzing: mutated and random bytes never throw; valid seeds still parse', () => {
  const rng = new Rng(0x5eed);
  let execs = 0;
  for (const t of PARSER_TARGETS) {
    const seeds = t.seeds();
    for (let i = 0; i < PARSER_EXECS_PER_TARGET; i++) {
      const input = i % 10 === 0 ? rng.bytes(rng.int(300)) : mutateBytes(rng, rng.pick(seeds), rng.pick(seeds));
      assert.doesNotThrow(() => t.run(input, rng), `${t.name} threw on ${Buffer.from(input).toString('hex')}`);
      execs++;
    }
    for (const s of seeds) t.run(s, rng);
  }
  assert.equal(execs, PARSER_TARGETS.length * PARSER_EXECS_PER_TARGET);
  // The parsers are pure: after all that, valid input still yields the expected fields.
  const dns = parseDns(PARSER_TARGETS.find((t) => t.name === 'dns')!.seeds()[0]!);
  assert.equal(dns.anomaly, '');
  assert.equal(parseHttpHead(ascii('GET /x HTTP/1.1\r\nHost: a\r\n\r\n')).status, 'ok');
  assert.equal(parseSshBanner(ascii('SSH-2.0-OpenSSH_9.6\r\n')).status, 'ok');
  assert.equal(parseCertificateUncached(buildCertificate()).status, 0);
});

/** A small capture exercising every meter: TLS with a certificate, QUIC Initial, DNS, HTTP, SSH, tunnels, VLAN. */
function seedPackets(): WritePacket[] {
  const hello = record(22, handshake(1, clientHelloBody({ extensions: [extSni('seed.example'), extAlpn(['h2'])] })));
  const server = concat(
    record(22, handshake(2, serverHelloBody()), 0x0303),
    records(22, handshake(11, certificateBody([buildCertificate({ san: ['seed.example'] })]))),
  );
  const initial = buildInitial({
    dcid: new Uint8Array([8, 7, 6, 5, 4, 3, 2, 1]),
    frames: cryptoFrame(0, handshake(1, clientHelloBody({ extensions: [extSni('q.example')] }))),
    padTo: 1162,
  });
  const dns = PARSER_TARGETS.find((t) => t.name === 'dns')!.seeds()[0]!;
  let t = T0_US;
  const at = (data: Uint8Array): WritePacket => {
    t += 1000;
    return { tsUs: t, data };
  };
  return [
    ...tcpConversation(
      [
        [0, hello],
        [1, server],
      ],
      { t0Us: T0_US },
    ),
    ...tcpConversation(
      [
        [0, ascii('GET / HTTP/1.1\r\nHost: h\r\n\r\n')],
        [1, ascii('HTTP/1.1 200 OK\r\n\r\n')],
      ],
      {
        dport: 80,
        sport: 40001,
        t0Us: T0_US + 100,
      },
    ),
    ...tcpConversation(
      [
        [1, ascii('SSH-2.0-srv\r\n')],
        [0, ascii('SSH-2.0-cli\r\n')],
      ],
      {
        dport: 22,
        sport: 40002,
        t0Us: T0_US + 200,
      },
    ),
    at(udpFrame({ src: '10.0.0.7', dst: '10.0.0.8', sport: 50000, dport: 443, payload: initial })),
    at(dnsFrame(dns, 3)),
    at(nestedTunnelFrame(3)),
    at(vlanStackFrame(2)),
  ];
}

test('pipeline fuzzing: mutated pcap/pcapng captures never throw and keep the accounting', async () => {
  const packets = seedPackets();
  const seeds = [
    writePcap(packets),
    writePcap(packets, { nanoseconds: true, littleEndian: false }),
    writePcapng([{ interfaces: [{ linkType: 1 }], packets }]),
  ];
  // The unmutated seeds produce flows in every protocol group (else the slice would fuzz nothing useful).
  const rows: Record<string, unknown>[] = [];
  const clean = await runPipelineOnStream(
    (async function* () {
      yield seeds[0]!;
    })(),
    'seed.pcap',
    { onFlow: (r) => rows.push((r as { toJSON(): Record<string, unknown> }).toJSON()) },
  );
  assert.equal(clean.stats.packets_read, packets.length);
  const group = (g: string, k: string) => rows.map((r) => (r[g] as Record<string, unknown> | undefined)?.[k]);
  assert.ok(group('tls', 'sni').includes('seed.example'));
  assert.ok(group('quic', 'sni').includes('q.example'));
  assert.ok(group('dns', 'query').includes('www.example.com'));
  assert.ok(group('http', 'method').includes('GET'));
  assert.ok(group('ssh', 'server_software').includes('srv'));
  const rng = new Rng(0xf00d);
  let executed = 0;
  for (let i = 0; i < PIPELINE_EXECS; i++) {
    const input = mutateCapture(rng, rng.pick(seeds), rng.pick(seeds));
    await runPipelineOnBytes(input, `mutated-${i}.pcap`, rng);
    executed++;
  }
  assert.equal(executed, PIPELINE_EXECS);
});

const HAS_RANDPKT = spawnSync('randpkt', ['-h'], { stdio: 'ignore' }).error === undefined;

test('randpkt: every packet type through the pipeline', { skip: !HAS_RANDPKT && 'randpkt not installed' }, async () => {
  const help = spawnSync('randpkt', ['-h'], { encoding: 'utf8' });
  const types = [...`${help.stdout}${help.stderr}`.matchAll(/^\t(\S+)\s{2,}/gm)].map((m) => m[1]!);
  assert.ok(types.length >= 20, `randpkt lists ${types.length} types`);
  const dir = mkdtempSync(path.join(tmpdir(), 'flowsieve-randpkt-'));
  try {
    let packets = 0;
    for (const type of types) {
      const file = path.join(dir, `${type}.pcap`);
      execFileSync('randpkt', ['-b', '2000', '-c', '200', '-t', type, file], { stdio: 'ignore' });
      const run = await runPipelineOnBytes(readFileSync(file), `randpkt-${type}.pcap`, new Rng(packets));
      assert.equal(run.fileError, '', type);
      assert.equal(run.stats.packets_read, 200, type);
      packets += run.stats.packets_read;
    }
    assert.equal(packets, 200 * types.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
