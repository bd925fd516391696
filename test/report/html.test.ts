import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { escapeHtml, html, Markup, trustedSvg } from '../../src/report/html.ts';

test('escapeHtml replaces the five characters that can open markup or end an attribute', () => {
  assert.equal(
    escapeHtml(`<a href="x" title='y'>&</a>`),
    '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
  );
  assert.equal(escapeHtml('plain text é 日本'), 'plain text é 日本');
});

test('html`` escapes interpolations, keeps Markup and joins arrays', () => {
  const evil = '<script>alert(1)</script>';
  const out = html`<p title="${evil}">${evil}${[html`<b>${evil}</b>`, 'x<y']}${undefined}${null}${false}${0}</p>`;
  assert.ok(out instanceof Markup);
  assert.equal(
    out.html,
    '<p title="&lt;script&gt;alert(1)&lt;/script&gt;">&lt;script&gt;alert(1)&lt;/script&gt;<b>&lt;script&gt;alert(1)&lt;/script&gt;</b>x&lt;y0</p>',
  );
});

test('property: no interpolated string can produce a tag or close an attribute', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (s) => {
      const out = html`<td title="${s}">${s}</td>`.html;
      const inner = out.slice('<td title="'.length, -'</td>'.length);
      assert.ok(!/[<>"']/.test(inner.replace('">', '')), out);
    }),
  );
});

test('trustedSvg accepts vega output and refuses active content', () => {
  assert.ok(
    trustedSvg('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><g/></svg>'),
  );
  for (const bad of [
    '<svg><script>alert(1)</script></svg>',
    '<svg><a href="javascript:alert(1)"><text>x</text></a></svg>',
    '<svg onload="alert(1)"></svg>',
    '<svg><foreignObject><div/></foreignObject></svg>',
    '<div>not svg</div>',
  ]) {
    assert.throws(() => trustedSvg(bad), /active content/, bad);
  }
});
