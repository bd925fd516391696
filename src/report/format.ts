/** Number and time formatting for the page (plain text; the caller escapes). */

export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return '–';
  return Math.round(n).toLocaleString('en-US');
}

/** Decimal (SI) units: 1 kB = 1000 bytes, as capinfos and Wireshark's statistics print them. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '–';
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${Math.round(v)} B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[i]}`;
}

/** A duration in µs as the largest sensible unit ("1.25 s", "3 min 20 s", "2 d 4 h"). */
export function formatDurationUs(us: number): string {
  if (!Number.isFinite(us)) return '–';
  const a = Math.abs(us);
  if (a < 1000) return `${Math.round(us)} µs`;
  if (a < 1e6) return `${(us / 1000).toPrecision(3)} ms`;
  const s = us / 1e6;
  if (s < 60) return `${s.toPrecision(3)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.round((s % 86400) / 3600)} h`;
}

/** UTC timestamp from µs since the epoch, to the millisecond. */
export function formatTimeUs(us: number): string {
  if (!Number.isFinite(us)) return '–';
  const d = new Date(Math.floor(us / 1000));
  if (Number.isNaN(d.getTime())) return '–';
  return d.toISOString().replace('T', ' ').replace('Z', ' UTC');
}

/** A metric in [0, 1] with three decimals. */
export function formatMetric(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(3);
}

export function formatPercent(v: number, digits = 1): string {
  if (!Number.isFinite(v)) return '–';
  return `${(v * 100).toFixed(digits)}%`;
}

/** A feature value in its unit, compact. */
export function formatValue(v: number, unit: string): string {
  if (!Number.isFinite(v)) return '–';
  if (unit === 'µs') return formatDurationUs(v);
  if (unit === 'ms') return formatDurationUs(v * 1000);
  if (unit === 's') return formatDurationUs(v * 1e6);
  if (unit === 'bytes') return formatBytes(v);
  const abs = Math.abs(v);
  const text =
    abs !== 0 && (abs >= 1e6 || abs < 0.01)
      ? v.toExponential(2)
      : Number.isInteger(v)
        ? formatCount(v)
        : v.toPrecision(3);
  return unit === '' ? text : `${text} ${unit}`;
}
