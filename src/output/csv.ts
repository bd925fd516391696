/**
 * CSV (RFC 4180): header line, comma separated, fields quoted when they hold a comma, quote or line break.
 * Missing/null values are empty fields; lists are joined with ';'. Strings from traffic that start with
 * = + - @ (and tab/CR) get a leading apostrophe so a spreadsheet shows them instead of evaluating them
 * (OWASP "CSV injection"); numbers are never altered.
 */
export function csvField(v: unknown): string {
  if (typeof v === 'number') {
    // Integers (most columns) take V8's fast small-integer path; NaN/Infinity are never written.
    if ((v | 0) === v) return `${v}`;
    return Number.isFinite(v) ? `${v}` : '';
  }
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v))
    return csvField(v.map((x) => (typeof x === 'object' && x !== null ? JSON.stringify(x) : String(x))).join(';'));
  let s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (s.length > 0 && '=+-@\t\r'.includes(s[0]!) && !/^-?\d/.test(s)) s = `'${s}`;
  if (NEEDS_QUOTES.test(s)) return `"${s.replace(/"/g, '""')}"`;
  return s;
}

const NEEDS_QUOTES = /[",\r\n]/;

export function csvLine(values: readonly unknown[]): string {
  let line = '';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) line += ',';
    line += csvField(values[i]);
  }
  return `${line}\n`;
}
