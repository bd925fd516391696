import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { latin1 } from '../../src/proto/reader.ts';

/** The definition: one char per byte, char code = byte value. */
function reference(buf: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = Math.max(0, start); i < Math.min(end, buf.length); i++) s += String.fromCharCode(buf[i]!);
  return s;
}

describe('latin1', () => {
  it('maps every byte to the char of the same code, short (concatenated) and long (built-in) ranges alike', () => {
    const all = Uint8Array.from({ length: 600 }, (_, i) => (i * 37 + 11) & 0xff);
    // A view that does not start at its buffer's first byte, as packet payloads never do.
    const view = all.subarray(5, 500);
    for (let start = 0; start < 60; start += 3) {
      for (let len = 0; len <= 40; len++) {
        assert.equal(latin1(view, start, start + len), reference(view, start, start + len), `${start}+${len}`);
      }
    }
    assert.equal(latin1(Uint8Array.of(0x00, 0x7f, 0x80, 0xe9, 0xff)), '\u0000\u007f\u0080\u00e9\u00ff');
  });

  it('clamps the range to the bytes present and gives an empty string for an empty or inverted range', () => {
    const b = Uint8Array.from({ length: 30 }, (_, i) => 0x61 + (i % 26));
    assert.equal(latin1(b, 10, 1000), reference(b, 10, 30));
    assert.equal(latin1(b, -5, 14), reference(b, 0, 14));
    assert.equal(latin1(b, 20, 5), '');
    assert.equal(latin1(b, 40, 50), '');
  });
});
