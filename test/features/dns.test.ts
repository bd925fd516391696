import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeFrame, PacketView } from '../../src/decode/index.ts';
import { addressKey, DnsMeter, Lru } from '../../src/features/dns.ts';
import type { FlowRow } from '../../src/features/meter.ts';
import { formatIPv6Words } from '../../src/proto/dns.ts';
import { ipv6Addr, tcpFrame, udpFrame } from '../helpers/packets.ts';

const pv = new PacketView();
function at(frame: Uint8Array, tsUs: number): PacketView {
  assert.equal(decodeFrame(pv, frame, 0, frame.length, frame.length, tsUs, 1), 'ok');
  return pv;
}

// ---- DNS message builders (RFC 1035 §4.1) ----
const u16 = (v: number) => [v >> 8, v & 0xff];
const u32 = (v: number) => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
function labels(name: string): number[] {
  const out: number[] = [];
  for (const l of name.split('.')) out.push(l.length, ...Array.from(l, (c) => c.charCodeAt(0)));
  out.push(0);
  return out;
}
function query(id: number, name: string, qtype = 1): Uint8Array {
  return Uint8Array.from([...u16(id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, ...labels(name), ...u16(qtype), 0, 1]);
}
/** Response to `name` with A answers (owner = pointer to the question) and an optional rcode. */
function response(
  id: number,
  name: string,
  answers: { a?: string; aaaa?: string; ttl: number }[],
  rcode = 0,
): Uint8Array {
  const b = [...u16(id), 0x81, 0x80 | rcode, 0, 1, ...u16(answers.length), 0, 0, 0, 0, ...labels(name), 0, 1, 0, 1];
  for (const x of answers) {
    if (x.a) b.push(0xc0, 12, 0, 1, 0, 1, ...u32(x.ttl), 0, 4, ...x.a.split('.').map(Number));
    else if (x.aaaa) b.push(0xc0, 12, 0, 28, 0, 1, ...u32(x.ttl), 0, 16, ...ipv6Addr(x.aaaa));
  }
  return Uint8Array.from(b);
}

const CLIENT = '192.168.1.10';
const RESOLVER = '192.168.1.1';

/** Drives a meter over flows by hand: slot per flow, first packet → onInit, every packet → onUpdate. */
class Driver {
  readonly m: DnsMeter;
  private next = 0;
  constructor(m = new DnsMeter()) {
    this.m = m;
    m.resize(64);
  }
  open(frame: Uint8Array, ts: number): number {
    const slot = this.next;
    this.next = (this.next + 1) % 64;
    this.m.onInit(slot, at(frame, ts));
    this.m.onUpdate(slot, pv, 0);
    return slot;
  }
  send(slot: number, frame: Uint8Array, ts: number, dir: 0 | 1): void {
    this.m.onUpdate(slot, at(frame, ts), dir);
  }
  close(slot: number): FlowRow {
    const row: FlowRow = {};
    this.m.onExpire(slot, row);
    return row;
  }
}

const dnsQ = (id: number, name: string, sport = 50000) =>
  udpFrame({ src: CLIENT, dst: RESOLVER, sport, dport: 53, payload: query(id, name) });
const dnsR = (payload: Uint8Array, dport = 50000) =>
  udpFrame({ src: RESOLVER, dst: CLIENT, sport: 53, dport, payload });

describe('DnsMeter: DNS flows', () => {
  it('records query, type, rcode, answers, TTLs and counts of a UDP exchange', () => {
    const d = new Driver();
    const s = d.open(dnsQ(1, 'www.example.com'), 1_000_000);
    d.send(
      s,
      dnsR(
        response(1, 'www.example.com', [
          { a: '93.184.216.34', ttl: 300 },
          { a: '93.184.216.35', ttl: 60 },
        ]),
      ),
      1_020_000,
      1,
    );
    const row = d.close(s);
    assert.deepEqual(row.dns, {
      query: 'www.example.com',
      qtype: 1,
      rcode: 0,
      answer_count: 2,
      answers: ['93.184.216.34', '93.184.216.35'],
      ttl_min: 60,
      ttl_max: 300,
      queries: 1,
      responses: 1,
      nxdomain: 0,
      anomaly: '',
    });
  });

  it('a query without response has null rcode and answers', () => {
    const d = new Driver();
    const s = d.open(dnsQ(2, 'lost.example'), 1);
    const dns = d.close(s).dns as Record<string, unknown>;
    assert.equal(dns.query, 'lost.example');
    assert.equal(dns.rcode, null);
    assert.equal(dns.answers, null);
    assert.equal(dns.ttl_min, null);
  });

  it('counts NXDOMAIN responses and records the first anomaly of malformed messages', () => {
    const d = new Driver();
    const s = d.open(dnsQ(3, 'nope.invalid'), 1);
    d.send(s, dnsR(response(3, 'nope.invalid', [], 3)), 2, 1);
    // A second response whose name is a self-pointer loop.
    const loop = Uint8Array.from([0, 4, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
    d.send(s, dnsR(loop), 3, 1);
    const dns = d.close(s).dns as Record<string, unknown>;
    assert.equal(dns.rcode, 3);
    assert.equal(dns.nxdomain, 1);
    assert.equal(dns.responses, 2);
    assert.equal(dns.anomaly, 'dns_pointer_loop');
    assert.equal(d.m.anomalies.get('dns_pointer_loop'), 1);
  });

  it('IP fragments: the first is parsed without a truncation anomaly, later ones are skipped', () => {
    const d = new Driver();
    const s = d.open(dnsQ(5, 'big.example'), 1);
    const full = response(5, 'big.example', [
      { a: '10.0.0.1', ttl: 1 },
      { a: '10.0.0.2', ttl: 1 },
    ]);
    // First fragment: the response cut after the first answer, more-fragments set (as decode reports it).
    at(dnsR(full.subarray(0, full.length - 16)), 2);
    pv.moreFragments = true;
    d.m.onUpdate(s, pv, 1);
    // A later fragment: its bytes are the rest of the datagram, not a message start.
    at(dnsR(Uint8Array.of(0xc0, 0x0c, 0xc0, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)), 3);
    pv.fragOffset = 1480;
    d.m.onUpdate(s, pv, 1);
    const dns = d.close(s).dns as Record<string, unknown>;
    assert.equal(dns.responses, 1);
    assert.equal(dns.anomaly, '');
    assert.deepEqual(dns.answers, ['10.0.0.1']);
  });

  it('a non-DNS flow gets no dns group', () => {
    const d = new Driver();
    const s = d.open(
      udpFrame({ src: CLIENT, dst: '8.8.4.4', sport: 4000, dport: 123, payload: new Uint8Array(48) }),
      1,
    );
    assert.equal(d.close(s).dns, undefined);
  });

  it('DNS over TCP: a message split over segments, and two messages in one segment', () => {
    const d = new Driver();
    const C = { src: CLIENT, dst: RESOLVER, sport: 41000, dport: 53 };
    const S = { src: RESOLVER, dst: CLIENT, sport: 53, dport: 41000 };
    const s = d.open(tcpFrame({ ...C, flags: 'S', seq: 99 }), 1);
    d.send(s, tcpFrame({ ...S, flags: 'SA', seq: 499, ack: 100 }), 2, 1);
    const q1 = query(10, 'a.example');
    const q2 = query(11, 'b.example');
    // Both queries in one segment, each with its 2-byte length.
    d.send(
      s,
      tcpFrame({
        ...C,
        flags: 'PA',
        seq: 100,
        payload: Uint8Array.from([...u16(q1.length), ...q1, ...u16(q2.length), ...q2]),
      }),
      3,
      0,
    );
    const r1 = response(10, 'a.example', [{ a: '10.1.1.1', ttl: 5 }]);
    const framed = Uint8Array.from([...u16(r1.length), ...r1]);
    // The response split after 7 bytes; the first part retransmitted once.
    d.send(s, tcpFrame({ ...S, flags: 'PA', seq: 500, payload: framed.subarray(0, 7) }), 4, 1);
    d.send(s, tcpFrame({ ...S, flags: 'PA', seq: 500, payload: framed.subarray(0, 7) }), 5, 1);
    d.send(s, tcpFrame({ ...S, flags: 'PA', seq: 507, payload: framed.subarray(7) }), 6, 1);
    const dns = d.close(s).dns as Record<string, unknown>;
    assert.equal(dns.query, 'a.example');
    assert.equal(dns.queries, 2);
    assert.equal(dns.responses, 1);
    assert.deepEqual(dns.answers, ['10.1.1.1']);
  });

  it('property: DNS over TCP gives the same result for any segmentation of the byte stream', () => {
    const q1 = query(10, 'a.example');
    const r1 = response(10, 'a.example', [{ a: '10.1.1.1', ttl: 5 }]);
    const r2 = response(11, 'b.example', [], 3);
    const stream = Uint8Array.from([...u16(r1.length), ...r1, ...u16(r2.length), ...r2]);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 10 }), (at) => {
        const d = new Driver();
        const C = { src: CLIENT, dst: RESOLVER, sport: 41000, dport: 53 };
        const S = { src: RESOLVER, dst: CLIENT, sport: 53, dport: 41000, flags: 'PA' };
        const s = d.open(
          tcpFrame({ ...C, flags: 'PA', seq: 1, payload: Uint8Array.from([...u16(q1.length), ...q1]) }),
          1,
        );
        const bounds = [0, ...[...at].sort((a, b) => a - b), stream.length];
        for (let i = 1; i < bounds.length; i++) {
          d.send(
            s,
            tcpFrame({ ...S, seq: 1000 + bounds[i - 1]!, payload: stream.subarray(bounds[i - 1]!, bounds[i]!) }),
            2 + i,
            1,
          );
        }
        const dns = d.close(s).dns as Record<string, unknown>;
        assert.equal(dns.responses, 2);
        assert.equal(dns.nxdomain, 1);
        assert.deepEqual(dns.answers, ['10.1.1.1']);
      }),
      { numRuns: 300 },
    );
  });

  it('property: random payloads on port 53 never throw', () => {
    const d = new Driver();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (payload, tcp) => {
        const f = tcp
          ? tcpFrame({ src: CLIENT, dst: RESOLVER, sport: 1, dport: 53, flags: 'PA', seq: 5, payload })
          : udpFrame({ src: CLIENT, dst: RESOLVER, sport: 1, dport: 53, payload });
        const s = d.open(f, 1);
        d.close(s);
      }),
      { numRuns: 500 },
    );
  });

  it('DNS over TCP: a sequence gap stops that direction', () => {
    const d = new Driver();
    const S = { src: RESOLVER, dst: CLIENT, sport: 53, dport: 41001 };
    const s = d.open(tcpFrame({ src: CLIENT, dst: RESOLVER, sport: 41001, dport: 53, flags: 'S', seq: 1 }), 1);
    const r1 = response(10, 'a.example', [{ a: '10.1.1.1', ttl: 5 }]);
    const framed = Uint8Array.from([...u16(r1.length), ...r1]);
    d.send(s, tcpFrame({ ...S, flags: 'PA', seq: 500, payload: framed.subarray(0, 7) }), 4, 1);
    d.send(s, tcpFrame({ ...S, flags: 'PA', seq: 510, payload: framed.subarray(10) }), 6, 1);
    assert.equal(d.close(s).dns, undefined);
  });
});

describe('DnsMeter: context joined to later flows', () => {
  it('a flow to a resolved address gets the name, its age, and the client counters', () => {
    const d = new Driver();
    const q = d.open(dnsQ(1, 'evil.example'), 10_000_000);
    d.send(q, dnsR(response(1, 'evil.example', [{ a: '203.0.113.7', ttl: 30 }])), 10_050_000, 1);
    const nx = d.open(dnsQ(2, 'dga1.example', 50001), 11_000_000);
    d.send(nx, dnsR(response(2, 'dga1.example', [], 3), 50001), 11_010_000, 1);
    // HTTPS flow from the client to the resolved address 2 s after the first query.
    const t = d.open(tcpFrame({ src: CLIENT, dst: '203.0.113.7', sport: 40000, dport: 443, flags: 'S' }), 12_000_000);
    const row = d.close(t);
    assert.deepEqual(row.dns_context, {
      name: 'evil.example',
      age_us: 1_950_000,
      client_queries: 2,
      client_nxdomain: 1,
      client_queries_per_s: 1,
    });
    assert.equal(row.dns, undefined);
  });

  it('the latest resolution before the flow wins; a flow before any resolution gets none', () => {
    const d = new Driver();
    const early = d.open(tcpFrame({ src: '10.9.9.9', dst: '198.51.100.1', sport: 1, dport: 80, flags: 'S' }), 1);
    const q = d.open(dnsQ(1, 'first.example'), 2);
    d.send(q, dnsR(response(1, 'first.example', [{ a: '198.51.100.1', ttl: 30 }])), 3, 1);
    const q2 = d.open(dnsQ(2, 'second.example', 50002), 4);
    d.send(q2, dnsR(response(2, 'second.example', [{ a: '198.51.100.1', ttl: 30 }]), 50002), 5, 1);
    const later = d.open(tcpFrame({ src: '10.9.9.9', dst: '198.51.100.1', sport: 2, dport: 80, flags: 'S' }), 6);
    assert.equal(d.close(early).dns_context, undefined);
    assert.equal((d.close(later).dns_context as Record<string, unknown>).name, 'second.example');
  });

  it('looks up the server by direction when the first packet comes from dst, and joins IPv6 by AAAA', () => {
    const d = new Driver();
    const c6 = 'fd00::10';
    const r6 = 'fd00::1';
    const q = d.open(udpFrame({ src: c6, dst: r6, sport: 5555, dport: 53, payload: query(1, 'v6.example', 28) }), 1);
    d.send(
      q,
      udpFrame({
        src: r6,
        dst: c6,
        sport: 53,
        dport: 5555,
        payload: response(1, 'v6.example', [{ aaaa: '2001:db8::0:0:1', ttl: 9 }]),
      }),
      2,
      1,
    );
    // A flow whose first packet the table attributed to dst (dir 1): the server is that packet's source.
    const slot = 40;
    const first = at(tcpFrame({ src: '2001:db8::1', dst: c6, sport: 443, dport: 40000, flags: 'SA' }), 3);
    assert.equal(d.m.onInit(slot, first, first.tsUs, 1), false, 'not DNS: no packet needed after the context');
    const ctx = d.close(slot).dns_context as Record<string, unknown>;
    assert.equal(ctx.name, 'v6.example');
    assert.equal(ctx.client_queries, 1);
  });

  it('mDNS is parsed but does not feed the context', () => {
    const d = new Driver();
    const m = d.open(
      udpFrame({
        src: '192.168.1.20',
        dst: '224.0.0.251',
        sport: 5353,
        dport: 5353,
        payload: response(0, 'printer.local', [{ a: '192.168.1.20', ttl: 120 }]),
      }),
      1,
    );
    assert.equal((d.close(m).dns as Record<string, unknown>).query, 'printer.local');
    const t = d.open(tcpFrame({ src: CLIENT, dst: '192.168.1.20', sport: 1, dport: 631, flags: 'S' }), 2);
    assert.equal(d.close(t).dns_context, undefined);
    assert.deepEqual(d.m.contextSizes, { addresses: 0, clients: 0 });
  });

  it('the address map is a bounded LRU', () => {
    const d = new Driver(new DnsMeter({ maxAddresses: 3 }));
    const q = d.open(dnsQ(1, 'many.example'), 1);
    const answers = [1, 2, 3, 4, 5].map((i) => ({ a: `10.0.0.${i}`, ttl: 1 }));
    d.send(q, dnsR(response(1, 'many.example', answers)), 2, 1);
    assert.equal(d.m.contextSizes.addresses, 3);
    const old = d.open(tcpFrame({ src: CLIENT, dst: '10.0.0.1', sport: 1, dport: 80, flags: 'S' }), 3);
    const kept = d.open(tcpFrame({ src: CLIENT, dst: '10.0.0.5', sport: 1, dport: 80, flags: 'S' }), 3);
    assert.equal((d.close(old).dns_context as Record<string, unknown>).name, null);
    assert.equal((d.close(kept).dns_context as Record<string, unknown>).name, 'many.example');
    d.m.resetContext();
    assert.deepEqual(d.m.contextSizes, { addresses: 0, clients: 0 });
  });

  it('a lookup or a new resolution makes an address the most recent: the least recently used one is evicted', () => {
    const d = new Driver(new DnsMeter({ maxAddresses: 3 }));
    const resolve = (id: number, name: string, last: number, ts: number) => {
      const q = d.open(dnsQ(id, name), ts);
      d.send(q, dnsR(response(id, name, [{ a: `10.0.0.${last}`, ttl: 1 }])), ts + 1, 1);
      d.close(q);
    };
    const nameOf = (last: number, ts: number) => {
      const f = d.open(tcpFrame({ src: CLIENT, dst: `10.0.0.${last}`, sport: 1, dport: 80, flags: 'S' }), ts);
      return (d.close(f).dns_context as Record<string, unknown>).name;
    };
    resolve(1, 'one.example', 1, 10);
    resolve(2, 'two.example', 2, 20);
    resolve(3, 'three.example', 3, 30);
    assert.equal(nameOf(1, 40), 'one.example'); // recency (least first): 2, 3, 1
    resolve(4, 'four.example', 4, 50); // evicts .2: 3, 1, 4
    assert.equal(nameOf(2, 51), null);
    assert.equal(nameOf(1, 52), 'one.example'); // 3, 4, 1
    resolve(5, 'three-again.example', 3, 60); // .3 re-resolved: 4, 1, 3
    resolve(6, 'six.example', 6, 70); // evicts .4: 1, 3, 6
    assert.equal(nameOf(4, 80), null);
    assert.equal(nameOf(3, 81), 'three-again.example');
    assert.equal(nameOf(1, 82), 'one.example');
    assert.equal(nameOf(6, 83), 'six.example');
    assert.equal(d.m.contextSizes.addresses, 3);
  });

  it('declares every column it writes', () => {
    const d = new Driver();
    const q = d.open(dnsQ(1, 'x.example'), 1);
    d.send(q, dnsR(response(1, 'x.example', [{ a: '10.0.0.1', ttl: 1 }])), 2, 1);
    const row = d.close(q);
    const t = d.open(tcpFrame({ src: CLIENT, dst: '10.0.0.1', sport: 1, dport: 80, flags: 'S' }), 3);
    Object.assign(row, d.close(t));
    const written = Object.entries(row).flatMap(([g, v]) => Object.keys(v as object).map((k) => `${g}.${k}`));
    assert.deepEqual(written.sort(), DnsMeter.columns.map((c) => `${c.group}.${c.key}`).sort());
  });
});

describe('addressKey', () => {
  it('gives the RFC 5952 text of IPv6 addresses, also when they repeat and alternate (the two-entry cache)', () => {
    // Three addresses in the order a, b, a, c, b, zero, a: every lookup after the first two hits or refills the cache.
    const words = (s: string) => {
      const b = ipv6Addr(s);
      const w = new Uint32Array(4);
      for (let i = 0; i < 4; i++)
        w[i] = ((b[4 * i]! << 24) | (b[4 * i + 1]! << 16) | (b[4 * i + 2]! << 8) | b[4 * i + 3]!) >>> 0;
      return w;
    };
    const seq = ['2001:db8::1', 'fe80::1:2', '2001:db8::1', '::1', 'fe80::1:2', '::', '2001:db8::1'];
    for (const a of seq) assert.equal(addressKey(6, words(a)), formatIPv6Words(words(a)), a);
    assert.equal(addressKey(6, words('::')), '::');
    // IPv4: the 32-bit number.
    assert.equal(addressKey(4, new Uint32Array([0x0a000001, 0, 0, 0])), 0x0a000001);
  });
});

describe('Lru (the context maps)', () => {
  it('agrees with a Map-ordered reference LRU over random IPv4 and IPv6 keys, gets, updates and evictions', () => {
    // Reference: a Map's insertion order as recency (delete + set on every use), evicting the first key.
    class Reference<V> {
      readonly map = new Map<number | string, V>();
      constructor(readonly max: number) {}
      get(k: number | string): V | undefined {
        const v = this.map.get(k);
        if (v !== undefined) {
          this.map.delete(k);
          this.map.set(k, v);
        }
        return v;
      }
      set(k: number | string, v: V): void {
        this.map.delete(k);
        this.map.set(k, v);
        if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
      }
    }
    let x = 12345;
    const rand = (n: number): number => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % n;
    };
    for (const max of [1, 7, 300]) {
      const lru = new Lru<number>(max);
      const ref = new Reference<number>(max);
      // A small key space (many hits, updates and evictions), IPv4 keys spread over the whole 32-bit range.
      const keyOf = (r: number): number | string =>
        r % 5 === 0 ? `2001:db8::${r.toString(16)}` : Math.imul(r + 1, 0x9e3779b1) >>> 0;
      for (let step = 0; step < 20000; step++) {
        const k = keyOf(rand(3 * max + 5));
        if (rand(3) === 0) {
          lru.set(k, step);
          ref.set(k, step);
        } else assert.equal(lru.get(k), ref.get(k), `max ${max} step ${step}`);
        assert.equal(lru.size, ref.map.size);
      }
      for (const k of ref.map.keys()) assert.equal(lru.get(k), ref.map.get(k));
      lru.clear();
      assert.equal(lru.size, 0);
      assert.equal(lru.get(keyOf(1)), undefined);
    }
  });
});
