import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatCount } from '../../src/cli/common.ts';

test('formatCount groups digits as en-US toLocaleString does, for any integer and rounded fractions', () => {
  const cases = [0, 1, 12, 123, 1234, 12345, 123456, 1234567, 1e15, -7, -1234, -123456789, 999.5, 1000.49];
  let x = 0x2545f491;
  for (let i = 0; i < 500; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    cases.push(x % 10 ** (1 + (i % 12)), -(x % 10 ** (1 + (i % 9))));
  }
  // −0 prints as 0 (toLocaleString writes "-0").
  for (const n of cases) assert.equal(formatCount(n), (Math.round(n) || 0).toLocaleString('en-US'), String(n));
  assert.equal(formatCount(Number.NaN), 'NaN');
});
