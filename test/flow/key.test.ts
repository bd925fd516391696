import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatAddress, formatIpv4, formatIpv6 } from '../../src/flow/key.ts';

describe('formatAddress', () => {
  it('gives the text of the address, cached or not', () => {
    assert.equal(formatAddress(4, [0x7f000001]), '127.0.0.1');
    assert.equal(formatAddress(4, [0x7f000001]), '127.0.0.1');
    // Same first word, other version: never the cached IPv4 text.
    assert.equal(formatAddress(6, [0x7f000001, 0, 0, 1]), '7f00:1::1');
    assert.equal(formatAddress(6, [0x20010db8, 0, 0, 1]), '2001:db8::1');
    // An IPv4 address ignores the words after its own (they belong to the other endpoint in a flow key).
    assert.equal(formatAddress(4, [0x0a000001, 5, 6, 7]), '10.0.0.1');
    assert.equal(formatAddress(4, [9, 0x0a000002, 1, 2], 1), '10.0.0.2');
  });

  it('equals formatIpv4/formatIpv6 over many addresses (the 4096-entry cache evicts and collides)', () => {
    const word = fc.integer({ min: 0, max: 0xffffffff });
    // Few distinct values per word, so addresses repeat and cache entries are both reused and replaced.
    const small = fc.constantFrom(0, 1, 0xffff, 0x7f000001, 0x20010db8, 0xffffffff);
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            version: fc.constantFrom(4, 6),
            words: fc.tuple(fc.oneof(word, small), fc.oneof(word, small), fc.oneof(word, small), fc.oneof(word, small)),
          }),
          { minLength: 1, maxLength: 6000 },
        ),
        (addresses) => {
          for (const { version, words } of addresses) {
            const expected = version === 6 ? formatIpv6(...words) : formatIpv4(words[0]);
            assert.equal(formatAddress(version, words), expected);
          }
        },
      ),
      { numRuns: 30 },
    );
  });
});
