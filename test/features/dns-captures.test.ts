/**
 * Reference check over real captures in ../shared: the DNS meter's query name for every DNS flow equals the first
 * query name tshark decodes for that flow's 5-tuple (tshark is run here, at test time, so nothing is hand-copied),
 * and the DNS context joins HTTP flows to the names their servers were resolved from.
 * Skips when ../shared or tshark is absent.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DnsMeter } from '../../src/features/dns.ts';
import { HttpMeter } from '../../src/features/http.ts';
import type { FlowRow } from '../../src/features/meter.ts';
import { runExtract } from '../../src/pipeline.ts';
import { HAS_SHARED, hasTshark, sharedPath, tsharkFields } from '../helpers/shared.ts';

const SKIP = !HAS_SHARED || !hasTshark();

const CAPTURES = [
  'pcaps/chrissanders-packets/dns.pcap',
  'pcaps/chrissanders-packets/dns_tcp.pcapng',
  'pcaps/chrissanders-packets/dns_axfr.pcapng',
  'pcaps/chrissanders-packets/dns_lab.pcapng',
  'pcaps/chrissanders-packets/dns_isp_hijack.pcapng',
  'pcaps/acandeias-intrusiondetection/dns-tunnel.pcap',
  'pcaps/acandeias-intrusiondetection/normal/dns/alexa-top500-txt.pcap',
  'pcaps/debian-gopacket/pcap/test_dns.pcap',
  'pcaps/debian-dpkt/dns_icmp.pcap',
  'pcaps/cisco-mercury/mdns_capture.pcap',
];

const endpoint = (ip: string, port: string | number) => `${ip}|${port}`;
const flowKey = (a: string, b: string) => (a < b ? `${a}#${b}` : `${b}#${a}`);

/** 5-tuple (unordered endpoints + protocol) → query names in frame order, from tshark. */
function tsharkQueries(file: string): Map<string, string[]> {
  const rows = tsharkFields(file, '(dns || mdns) && !icmp', [
    'ip.src',
    'ipv6.src',
    'ip.dst',
    'ipv6.dst',
    'udp.srcport',
    'tcp.srcport',
    'udp.dstport',
    'tcp.dstport',
    'dns.qry.name',
  ]);
  const m = new Map<string, string[]>();
  for (const row of rows) {
    const [s4, s6, d4, d6, us, ts, ud, td, name] = row;
    if (!name) continue;
    const proto = us ? 17 : 6;
    const k = `${proto}:${flowKey(endpoint(s4 || s6!, us || ts!), endpoint(d4 || d6!, ud || td!))}`;
    const list = m.get(k) ?? [];
    list.push(name);
    m.set(k, list);
  }
  return m;
}

describe('DNS meter against tshark on real captures', { skip: SKIP }, () => {
  for (const rel of CAPTURES) {
    it(rel, async (t) => {
      const file = sharedPath(rel);
      const rows: FlowRow[] = [];
      await runExtract({ inputs: [file], meters: [new DnsMeter()], onFlow: (r) => rows.push(r) });
      const expected = tsharkQueries(file);
      const firstFlowSeen = new Set<string>();
      let compared = 0;
      const problems: string[] = [];
      rows.sort((a, b) => (a.flow_id as number) - (b.flow_id as number));
      for (const r of rows) {
        const dns = r.dns as { query: string | null } | undefined;
        const k = `${r.protocol}:${flowKey(endpoint(r.src_ip as string, r.src_port as number), endpoint(r.dst_ip as string, r.dst_port as number))}`;
        const names = expected.get(k);
        if (!dns || dns.query === null) {
          if (names && !firstFlowSeen.has(k)) problems.push(`${k}: no query, tshark has ${names[0]}`);
          firstFlowSeen.add(k);
          continue;
        }
        if (!names) {
          problems.push(`${k}: query ${dns.query} but tshark has none`);
          continue;
        }
        const want = firstFlowSeen.has(k) ? names : names.slice(0, 1);
        if (!want.includes(dns.query)) problems.push(`${k}: ${dns.query} not in ${want.slice(0, 3).join(',')}`);
        firstFlowSeen.add(k);
        compared++;
      }
      assert.deepEqual(problems.slice(0, 10), []);
      // Every 5-tuple tshark saw a query on was compared.
      assert.equal(firstFlowSeen.size >= expected.size, true);
      assert.ok(compared > 0);
      t.diagnostic(`${compared} DNS flows compared, ${expected.size} tshark 5-tuples`);
    });
  }
});

describe('DNS context on a malware capture', { skip: !HAS_SHARED }, () => {
  it('HTTP flows carry the name their server was resolved from, equal to their Host header', async () => {
    const rows: FlowRow[] = [];
    const file = sharedPath('pcaps/unit42-emotet/Example-1-2021-01-06-Emotet-infection.pcap');
    await runExtract({ inputs: [file], meters: [new DnsMeter(), new HttpMeter()], onFlow: (r) => rows.push(r) });
    const http = rows.filter((r) => (r.http as { host?: string } | undefined)?.host);
    const joined = http.filter((r) => (r.dns_context as { name?: string } | undefined)?.name);
    const same = joined.filter(
      (r) =>
        (r.dns_context as { name: string }).name.toLowerCase() ===
        (r.http as { host: string }).host.replace(/:\d+$/, '').toLowerCase(),
    );
    assert.ok(http.length >= 5, `${http.length} HTTP flows`);
    assert.ok(joined.length >= 4, `${joined.length} joined`);
    assert.equal(same.length, joined.length);
  });
});
