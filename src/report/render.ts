/**
 * Vega-Lite spec → static SVG string, headless: `vega.View(..., { renderer: 'none' }).toSVG()` needs no canvas
 * package and no DOM. vega and vega-lite are imported on first use (about 1 s), so commands that never write a
 * report do not pay for them. Data is always inline (`data.values`); the view gets no loader, so rendering
 * cannot touch the network.
 */
import type { TopLevelSpec } from 'vega-lite';

/** Class colours used by every chart and by the page's CSS, so benign/malicious read the same everywhere. */
export const COLORS = {
  benign: '#2f6fbf',
  malicious: '#e0512f',
  neutral: '#7d8896',
  accent: '#1f2933',
  grid: '#e6eaef',
} as const;

/** Timeline score bands, low → high score (blue → red), and the colour of unscored flows. */
export const BAND_COLORS = ['#2c7bb6', '#7fb6db', '#f2c14e', '#ef8a3c', '#d7301f'] as const;

export const FONT_STACK = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';

const BASE_CONFIG = {
  // Per-mark ARIA labels cost ~150 bytes per drawn item (most of a scatter's size); each figure has a caption.
  aria: false,
  font: FONT_STACK,
  background: '#ffffff',
  padding: 6,
  view: { stroke: null },
  axis: {
    labelColor: '#4a5563',
    titleColor: '#2b3440',
    titleFontWeight: 600,
    labelFontSize: 11,
    titleFontSize: 11,
    gridColor: COLORS.grid,
    domainColor: '#a3adb8',
    tickColor: '#a3adb8',
    labelLimit: 220,
  },
  legend: { labelFontSize: 11, titleFontSize: 11, labelColor: '#4a5563', titleColor: '#2b3440', symbolStrokeWidth: 0 },
  title: {
    anchor: 'start',
    fontSize: 13,
    fontWeight: 600,
    color: '#1f2933',
    subtitleColor: '#5f6b7a',
    subtitleFontSize: 11,
    offset: 8,
  },
};

type VegaModules = { vega: typeof import('vega'); vl: typeof import('vega-lite') };
let modules: Promise<VegaModules> | undefined;

/**
 * Advance widths of ASCII 32..126 in 1/1000 em: Helvetica's, from Adobe's Core 14 AFM metrics (Arial shares
 * them). Without a canvas vega estimates every character at 0.8 em, which pads every axis and title by a
 * third and truncates labels early; vega-scenegraph lets a caller supply `textMetrics.width` (vl-convert does).
 */
const HELVETICA_WIDTHS = [
  278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556, 556,
  556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833,
  722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556,
  556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334,
  260, 334, 584,
];
/** Browsers may fall back to a wider sans (DejaVu Sans on Debian is ~15% wider): err 20% wide so text is never clipped. */
const WIDTH_MARGIN = 1.2;

export function textWidthPx(text: string, fontSize: number, bold: boolean): number {
  let w = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    w += c >= 32 && c <= 126 ? HELVETICA_WIDTHS[c - 32]! : 600;
  }
  return (w / 1000) * fontSize * WIDTH_MARGIN * (bold ? 1.07 : 1);
}

interface TextItem {
  fontSize?: number;
  fontWeight?: string | number;
  /** Truncation width (axis labelLimit...): vega draws longer text cut to it with an ellipsis. */
  limit?: number;
}

function loadVega(): Promise<VegaModules> {
  modules ??= Promise.all([import('vega'), import('vega-lite')]).then(([vega, vl]) => {
    const metrics = (vega as unknown as { textMetrics?: { width: (item: TextItem, text: unknown) => number } })
      .textMetrics;
    if (metrics) {
      metrics.width = (item, text) => {
        const weight = item.fontWeight;
        const bold =
          weight === 'bold' || (typeof weight === 'number' && weight >= 600) || weight === '600' || weight === '700';
        const w = textWidthPx(String(text ?? ''), item.fontSize ?? 11, bold);
        // vega's own estimator measures the truncated text; a replacement must too, or layout reserves room
        // for the full label (a 300-px SNI would widen its chart though only 150 px of it is drawn).
        const limit = item.limit ?? 0;
        return limit > 0 && w > limit ? limit : w;
      };
    }
    return { vega, vl };
  });
  return modules;
}

/** A Vega-Lite spec as the report builds it (plain data; `config` merged over the report's base config). */
export type ChartSpec = Record<string, unknown>;

/**
 * Render one spec to an SVG string. Vega-Lite compile warnings (e.g. a dropped empty field) go to `warnings`
 * instead of the console; errors throw.
 */
export async function renderSvg(spec: ChartSpec, warnings?: string[]): Promise<string> {
  const { vega, vl } = await loadVega();
  const note = (...args: unknown[]): void => {
    warnings?.push(args.map(String).join(' '));
  };
  const logger = {
    level(): number {
      return 2;
    },
    error(...args: unknown[]): never {
      throw new Error(`chart: ${args.map(String).join(' ')}`);
    },
    warn(...args: unknown[]) {
      note(...args);
      return logger;
    },
    info() {
      return logger;
    },
    debug() {
      return logger;
    },
  };
  const config = { ...BASE_CONFIG, ...((spec.config as object | undefined) ?? {}) };
  const full = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', ...spec, config } as TopLevelSpec;
  const compiled = vl.compile(full, { logger: logger as never }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Warn, logger: logger as never });
  try {
    return compactSvg(await view.toSVG());
  } finally {
    view.finalize();
  }
}

/** Geometry attributes whose numbers vega prints with full double precision. */
const GEOMETRY_ATTR = / (d|transform|x|y|x1|x2|y1|y2|width|height|cx|cy|r)="([^"]*)"/g;

/**
 * Round coordinates to 0.1 px: vega writes `translate(174.85919372655053,159.65596183795003)`, and in a
 * scatter that precision is half the file. Only geometry attributes are touched, never text, so labels such
 * as "0.973" keep every digit.
 */
export function compactSvg(svg: string): string {
  return svg.replace(GEOMETRY_ATTR, (_, name: string, value: string) => {
    const v = value.replace(/-?\d*\.\d{2,}(e-?\d+)?/g, (num) => {
      const r = Math.round(Number(num) * 10) / 10;
      return Object.is(r, -0) ? '0' : String(r);
    });
    return ` ${name}="${v}"`;
  });
}
