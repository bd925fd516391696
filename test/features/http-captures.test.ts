/**
 * Reference check over real captures in ../shared: for every TCP flow, the HTTP meter's method, Host, URI,
 * User-Agent (first request) and status, Server, Content-Type (first response) equal what tshark decodes for the
 * first request and first response on that 5-tuple. tshark runs here, at test time; skips when it or ../shared
 * is absent. The captures include IPv6 and a 56-flow browsing session.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpMeter } from '../../src/features/http.ts';
import type { FlowRow } from '../../src/features/meter.ts';
import { runExtract } from '../../src/pipeline.ts';
import { HAS_SHARED, hasTshark, sharedPath, tsharkFields } from '../helpers/shared.ts';

const SKIP = !HAS_SHARED || !hasTshark();

const CAPTURES = [
  'pcaps/chrissanders-packets/http_google.pcapng',
  'pcaps/chrissanders-packets/http_post.pcapng',
  'pcaps/chrissanders-packets/http_ip4and6.pcapng',
  'pcaps/chrissanders-packets/http_dvwa_sqlinjection.pcapng',
  'pcaps/cisco-mercury/http_auth.pcap',
  'pcaps/debian-dpkt/http.pcap',
  'pcaps/foxio-ja4/http1.pcapng',
  'pcaps/foxio-ja4/http-empty-useragent.pcap',
  'pcaps/acandeias-intrusiondetection/BasicHTTPTraffic.pcap',
];

const endpoint = (ip: string, port: string | number) => `${ip}|${port}`;
const flowKey = (a: string, b: string) => (a < b ? `${a}#${b}` : `${b}#${a}`);

interface Expect {
  method?: string;
  host?: string;
  uri?: string;
  user_agent?: string;
  status?: number;
  server?: string;
  content_type?: string;
}

/** 5-tuple → fields of the first request and first response tshark decodes on it. */
function tsharkHttp(file: string): Map<string, Expect> {
  const rows = tsharkFields(file, 'http.request || http.response', [
    'ip.src',
    'ipv6.src',
    'ip.dst',
    'ipv6.dst',
    'tcp.srcport',
    'tcp.dstport',
    'http.request.method',
    'http.host',
    'http.request.uri',
    'http.user_agent',
    'http.response.code',
    'http.server',
    'http.content_type',
  ]);
  const m = new Map<string, Expect>();
  for (const row of rows) {
    const [s4, s6, d4, d6, sp, dp, method, host, uri, ua, code, server, ctype] = row;
    const k = flowKey(endpoint(s4 || s6!, sp!), endpoint(d4 || d6!, dp!));
    const e = m.get(k) ?? {};
    if (method && e.method === undefined) Object.assign(e, { method, host, uri, user_agent: ua });
    if (code && e.status === undefined) Object.assign(e, { status: Number(code), server, content_type: ctype });
    m.set(k, e);
  }
  return m;
}

describe('HTTP meter against tshark on real captures', { skip: SKIP }, () => {
  for (const rel of CAPTURES) {
    it(rel, async (t) => {
      const file = sharedPath(rel);
      const rows: FlowRow[] = [];
      await runExtract({ inputs: [file], meters: [new HttpMeter()], onFlow: (r) => rows.push(r) });
      const expected = tsharkHttp(file);
      const problems: string[] = [];
      let compared = 0;
      for (const r of rows) {
        if (r.protocol !== 6) continue;
        const k = flowKey(
          endpoint(r.src_ip as string, r.src_port as number),
          endpoint(r.dst_ip as string, r.dst_port as number),
        );
        const want = expected.get(k);
        const got = r.http as Record<string, unknown> | undefined;
        if (!want) {
          if (got) problems.push(`${k}: http ${JSON.stringify(got)} but tshark has none`);
          continue;
        }
        if (!got) {
          problems.push(`${k}: no http, tshark has ${JSON.stringify(want)}`);
          continue;
        }
        compared++;
        for (const [f, v] of Object.entries(want)) {
          const g = got[f] ?? '';
          if (v !== undefined && g !== v && !(f === 'uri' && String(v).startsWith(String(g)))) {
            problems.push(`${k}: ${f} ${JSON.stringify(g)} vs tshark ${JSON.stringify(v)}`);
          }
        }
      }
      assert.deepEqual(problems.slice(0, 10), []);
      assert.ok(compared > 0);
      t.diagnostic(`${compared} HTTP flows compared`);
    });
  }
});
