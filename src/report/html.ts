/**
 * HTML building with escaping by default: `html\`...\`` escapes every interpolated value unless it is already
 * markup (`Markup`, from `html` itself or `trustedSvg`). Strings from traffic (SNI, HTTP headers, certificate
 * names, labels, file names) therefore cannot become markup by forgetting a call — they are text unless code
 * says otherwise. Escaping follows the HTML Standard's serialisation rules for text and attribute values
 * (§13.3 "Serialising HTML fragments"): `&`, `<`, `>`, `"` and `'` become character references.
 */

export class Markup {
  constructor(readonly html: string) {}
  toString(): string {
    return this.html;
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

function render(v: unknown): string {
  if (v instanceof Markup) return v.html;
  if (Array.isArray(v)) return v.map(render).join('');
  if (v === undefined || v === null || v === false) return '';
  return escapeHtml(String(v));
}

/** Tagged template: literal parts are trusted markup, interpolations are escaped (arrays are joined). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Markup {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new Markup(out);
}

/**
 * Vega's SVG output as markup. Vega escapes the text and attributes it writes (vega-scenegraph's markup
 * serialiser); this check is a second line: our specs never use hrefs, images or scripts, so an SVG that has
 * one means something went wrong, and we refuse it rather than embed it.
 */
export function trustedSvg(svg: string): Markup {
  if (!svg.startsWith('<svg') || /<script|<foreignObject|<iframe|\son[a-z]+\s*=|javascript:|href\s*=/i.test(svg)) {
    throw new Error('report: chart SVG contains active content; refusing to embed it');
  }
  return new Markup(svg);
}
