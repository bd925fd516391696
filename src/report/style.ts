/** The page's stylesheet: system fonts only (the file must render offline), class colours shared with the charts. */
import { COLORS, FONT_STACK } from './render.ts';

export const STYLESHEET = `
:root {
  --benign: ${COLORS.benign};
  --malicious: ${COLORS.malicious};
  --neutral: ${COLORS.neutral};
  --ink: #1f2933;
  --ink-soft: #52606d;
  --ink-faint: #7b8794;
  --line: #e4e7eb;
  --paper: #ffffff;
  --canvas: #f3f5f8;
  --head: #17212e;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--canvas); color: var(--ink); font: 14px/1.5 ${FONT_STACK}; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 12px; }
header.top { background: var(--head); color: #e8edf3; padding: 22px 32px 0; }
header.top .brand { font-size: 12px; letter-spacing: .12em; text-transform: uppercase; color: #9fb3c8; font-weight: 600; }
header.top h1 { margin: 4px 0 6px; font-size: 24px; font-weight: 650; color: #ffffff; overflow-wrap: anywhere; }
header.top .meta { margin: 0; color: #b6c2cf; font-size: 13px; overflow-wrap: anywhere; }
nav.sections { display: flex; flex-wrap: wrap; gap: 4px; margin-top: 16px; }
nav.sections a { color: #d9e2ec; text-decoration: none; padding: 8px 12px; border-radius: 6px 6px 0 0; font-size: 13px; font-weight: 500; }
nav.sections a:hover { background: rgba(255,255,255,.08); }
main { max-width: 1240px; margin: 0 auto; padding: 8px 24px 40px; }
section.report-section { background: var(--paper); border: 1px solid var(--line); border-radius: 10px; margin: 22px 0; padding: 20px 24px 24px; box-shadow: 0 1px 2px rgba(16,24,40,.04); }
section.report-section > h2 { margin: 0 0 4px; font-size: 19px; font-weight: 650; }
section.report-section > p.lead { margin: 0 0 16px; color: var(--ink-soft); max-width: 900px; }
h3 { font-size: 14px; margin: 22px 0 8px; color: var(--ink); font-weight: 650; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 12px; margin: 8px 0 6px; }
.tile { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; background: #fbfcfd; }
.tile .value { font-size: 22px; font-weight: 650; font-variant-numeric: tabular-nums; line-height: 1.2; }
.tile .label { color: var(--ink-soft); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; margin-top: 2px; }
.tile .sub { color: var(--ink-faint); font-size: 12px; margin-top: 2px; overflow-wrap: anywhere; }
.tile.alert .value { color: var(--malicious); }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 14px 18px; align-items: start; }
.grid.two { grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); }
figure.chart { margin: 0; padding: 10px 10px 6px; border: 1px solid var(--line); border-radius: 8px; background: #fff; min-width: 0; }
figure.chart svg { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figure.chart figcaption { color: var(--ink-soft); font-size: 12px; padding: 4px 4px 2px; }
figure.chart.wide { grid-column: 1 / -1; }
.legend { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; margin: 4px 0 14px; color: var(--ink-soft); font-size: 13px; }
.chip { display: inline-flex; align-items: center; gap: 6px; font-weight: 600; color: var(--ink); }
.chip::before { content: ""; width: 12px; height: 12px; border-radius: 3px; background: var(--neutral); }
.chip.benign::before { background: var(--benign); }
.chip.malicious::before { background: var(--malicious); }
.note { color: var(--ink-soft); font-size: 13px; margin: 6px 0 12px; }
.empty { color: var(--ink-soft); background: #f7f9fb; border: 1px dashed #cbd2d9; border-radius: 8px; padding: 14px 16px; margin: 8px 0; }
.table-wrap { overflow-x: auto; border: 1px solid var(--line); border-radius: 8px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { padding: 7px 10px; text-align: left; vertical-align: top; border-bottom: 1px solid #eef1f4; }
thead th { position: sticky; top: 0; background: #f7f9fb; color: var(--ink-soft); font-weight: 600; font-size: 12px; text-transform: uppercase; letter-spacing: .03em; white-space: nowrap; }
tbody tr:nth-child(even) { background: #fbfcfd; }
tbody tr:hover { background: #f1f5fa; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.key { overflow-wrap: break-word; word-break: normal; max-width: 380px; }
.tables { display: grid; grid-template-columns: repeat(auto-fill, minmax(460px, 1fr)); gap: 14px 18px; align-items: start; }
.tables h3 { margin-top: 10px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; background: #e9edf2; color: var(--ink-soft); white-space: nowrap; }
.badge.malicious { background: #fde6df; color: #a8321a; }
.badge.benign { background: #e1ecf9; color: #1f4f8f; }
.score { display: flex; align-items: center; gap: 8px; min-width: 110px; }
.score .bar { flex: 0 0 56px; height: 8px; background: #edf0f3; border-radius: 4px; overflow: hidden; }
.score .bar span { display: block; height: 100%; border-radius: 4px; }
.score b { font-variant-numeric: tabular-nums; font-weight: 650; }
.tuple { white-space: nowrap; }
.tuple .arrow { color: var(--ink-faint); padding: 0 4px; }
.badges { display: flex; flex-wrap: wrap; gap: 4px; margin-top: 5px; }
.clip { display: block; max-width: 300px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.clip.sni { font-weight: 600; }
.clip.sub { color: var(--ink-soft); font-size: 12px; }
.fp { display: block; max-width: 300px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; color: var(--ink-faint); font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 11px; }
td.identity { min-width: 200px; }
ul.reasons { margin: 0; padding-left: 16px; min-width: 170px; max-width: 340px; }
ul.reasons li { overflow-wrap: break-word; }
.contrib { font-variant-numeric: tabular-nums; font-size: 12px; color: var(--ink-faint); }
.contrib.up { color: #b33a1c; }
.contrib.down { color: #2a5f9e; }
.check { font-weight: 600; }
.check.ok { color: #23773a; }
.check.bad { color: #b33a1c; }
footer { color: var(--ink-faint); font-size: 12px; text-align: center; padding: 0 24px 28px; }
@media print {
  body { background: #fff; }
  header.top { background: #fff; color: var(--ink); }
  header.top h1 { color: var(--ink); }
  nav.sections { display: none; }
  section.report-section { break-inside: avoid-page; box-shadow: none; }
}
`;
