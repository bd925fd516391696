/**
 * Labels: which class each flow belongs to, from (in order of precedence)
 *  1. rules — `--label malicious=<path|glob>` (capture-level: every flow of a matching file) and a labels file
 *     with flow-level rules by file, address/CIDR, port and time range (the first matching rule wins, like
 *     Stratosphere's label rules and Joy's subnet labels);
 *  2. the table's own `Label` column (CICFlowMeter CSVs, or a labelled flowsieve table).
 * Binary mode maps every label that is not benign to `malicious`; benign names are listed in BENIGN_NAMES.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import * as z from 'zod';
import { InputError, parseCsv } from './table.ts';

/** Label names read as the benign class (case-insensitive): CIC uses BENIGN, Stratosphere/CTU use Normal. */
export const BENIGN_NAMES: ReadonlySet<string> = new Set(['benign', 'normal', 'legitimate', '0']);
export const BENIGN = 'benign';
export const MALICIOUS = 'malicious';

export function isBenignName(label: string): boolean {
  return BENIGN_NAMES.has(label.trim().toLowerCase());
}

/** Binary class name for a raw label. */
export function binaryLabel(label: string): string {
  return isBenignName(label) ? BENIGN : MALICIOUS;
}

/** One labelling rule; every present condition must hold. */
export interface LabelRule {
  label: string;
  /** Glob over the input path (matched against the full path and the base name). */
  file?: string;
  /** CIDR or single address; matches when either endpoint is inside. */
  address?: string;
  /** Port or `lo-hi` range; matches when either port is inside. */
  port?: string;
  /** Inclusive time range in µs since the epoch (ISO-8601 strings accepted in labels files). */
  startUs?: number;
  endUs?: number;
}

/** Facts about one flow a rule can test. */
export interface FlowFacts {
  file: string;
  srcIp: string | null;
  dstIp: string | null;
  srcPort: number;
  dstPort: number;
  timeUs: number;
}

const RuleJson = z
  .object({
    label: z.string().min(1),
    file: z.string().optional(),
    address: z.string().optional(),
    cidr: z.string().optional(),
    port: z.union([z.number(), z.string()]).optional(),
    start: z.union([z.number(), z.string()]).optional(),
    end: z.union([z.number(), z.string()]).optional(),
  })
  .strict();

function parseTimeUs(v: number | string | undefined, where: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (typeof v === 'number') return v;
  const n = Number(v);
  if (Number.isFinite(n)) return n;
  const ms = Date.parse(v);
  if (!Number.isFinite(ms)) throw new InputError('labels_bad_time', `${where}: cannot parse time ${JSON.stringify(v)}`);
  return ms * 1000;
}

/** Parse `class=<path|glob>` from `--label`. */
export function parseLabelOption(spec: string): LabelRule {
  const eq = spec.indexOf('=');
  if (eq <= 0 || eq === spec.length - 1) {
    throw new InputError(
      'label_bad_option',
      `--label ${spec}: expected <class>=<path|glob>, e.g. malicious=pcaps/*.pcap`,
    );
  }
  return { label: spec.slice(0, eq).trim(), file: spec.slice(eq + 1).trim() };
}

/** Read a labels file: JSON (array of rules or `{ "rules": [...] }`) or CSV with columns label,file,address,port,start,end. */
export function readLabelsFile(file: string): LabelRule[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new InputError('labels_unreadable', `${file}: cannot read labels file`);
  }
  let raw: unknown[];
  if (file.toLowerCase().endsWith('.json')) {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      throw new InputError('labels_bad_json', `${file}: not valid JSON`);
    }
    const arr = Array.isArray(v) ? v : (v as { rules?: unknown })?.rules;
    if (!Array.isArray(arr))
      throw new InputError('labels_bad_json', `${file}: expected an array of rules or {"rules": [...]}`);
    raw = arr;
  } else {
    const t = parseCsv(text, file);
    raw = [];
    for (let r = 0; r < t.nRows; r++) {
      const o: Record<string, string> = {};
      t.names.forEach((n, c) => {
        const v = t.cells[c]![r];
        // Other columns (sizes, hashes, notes in an inventory such as ../shared/pcaps/FILES.csv) are ignored.
        if (v !== null && v !== undefined && v !== '' && RULE_KEYS.has(n.toLowerCase())) o[n.toLowerCase()] = v;
      });
      raw.push(o);
    }
  }
  const rules: LabelRule[] = [];
  raw.forEach((o, i) => {
    const where = `${file}: rule ${i + 1}`;
    const p = RuleJson.safeParse(o);
    if (!p.success) throw new InputError('labels_bad_rule', `${where}: ${p.error.issues[0]?.message ?? 'invalid'}`);
    const r = p.data;
    const address = r.address ?? r.cidr;
    if (address !== undefined && parseCidr(address) === null) {
      throw new InputError('labels_bad_address', `${where}: bad address/CIDR ${JSON.stringify(address)}`);
    }
    const port = r.port === undefined ? undefined : String(r.port);
    if (port !== undefined && parsePortRange(port) === null) {
      throw new InputError('labels_bad_port', `${where}: bad port ${JSON.stringify(port)}`);
    }
    const rule: LabelRule = { label: r.label };
    if (r.file !== undefined) rule.file = r.file;
    if (address !== undefined) rule.address = address;
    if (port !== undefined) rule.port = port;
    const s = parseTimeUs(r.start, where);
    const e = parseTimeUs(r.end, where);
    if (s !== undefined) rule.startUs = s;
    if (e !== undefined) rule.endUs = e;
    // "unknown"/"mixed" say nothing about a flow: such rules are dropped rather than becoming a class.
    if (!NON_LABELS.has(rule.label.toLowerCase())) rules.push(rule);
  });
  return rules;
}

const RULE_KEYS = new Set(['label', 'file', 'address', 'cidr', 'port', 'start', 'end']);
const NON_LABELS = new Set(['unknown', 'mixed', '-', '']);

/** Glob → RegExp: `**` any path, `*` any run without `/`, `?` one char. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        re += '.*';
        i++;
        if (glob[i + 1] === '/') i++;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export function hasGlob(p: string): boolean {
  return /[*?]/.test(p);
}

/** Expand a path or glob to existing files, sorted. A literal path is returned as is (existence checked later). */
export function expandGlob(pattern: string): string[] {
  if (!hasGlob(pattern)) return [pattern];
  const parts = pattern.split('/');
  const firstWild = parts.findIndex(hasGlob);
  const base = parts.slice(0, firstWild).join('/') || (pattern.startsWith('/') ? '/' : '.');
  const re = globToRegExp(path.normalize(pattern));
  const out: string[] = [];
  const walk = (dir: string, depth: number): void => {
    if (depth > 16) return;
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const e of entries) {
      const full = path.join(dir, e);
      let st: ReturnType<typeof statSync>;
      try {
        st = statSync(full);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(full, depth + 1);
      else if (re.test(path.normalize(full))) out.push(full);
    }
  };
  walk(base, 0);
  return out.sort();
}

function fileMatches(glob: string, file: string): boolean {
  const norm = path.normalize(file);
  // A bare name (no directory part) matches the base name, so an inventory listing file names works as a rule set.
  if (!hasGlob(glob))
    return path.resolve(glob) === path.resolve(file) || (!glob.includes('/') && path.basename(norm) === glob);
  const re = globToRegExp(path.normalize(glob));
  return re.test(norm) || re.test(path.basename(norm)) || re.test(path.resolve(norm));
}

/** Parsed CIDR: family, network words, prefix length. */
interface Cidr {
  v6: boolean;
  words: number[];
  prefix: number;
}

function ipv4Words(s: string): number[] | null {
  const p = s.split('.');
  if (p.length !== 4) return null;
  let w = 0;
  for (const x of p) {
    if (!/^\d{1,3}$/.test(x)) return null;
    const v = Number(x);
    if (v > 255) return null;
    w = w * 256 + v;
  }
  return [w >>> 0];
}

function ipv6Words(s: string): number[] | null {
  // RFC 4291 §2.2 text forms, including `::` compression and a trailing dotted IPv4.
  let str = s;
  const lastColon = str.lastIndexOf(':');
  if (str.includes('.', lastColon)) {
    const v4 = ipv4Words(str.slice(lastColon + 1));
    if (!v4) return null;
    str = `${str.slice(0, lastColon + 1)}${((v4[0]! >>> 16) & 0xffff).toString(16)}:${(v4[0]! & 0xffff).toString(16)}`;
  }
  const halves = str.split('::');
  if (halves.length > 2) return null;
  const parse = (h: string): number[] | null => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  if (!head || !rest) return null;
  const groups = [...head];
  const fill = 8 - head.length - rest.length;
  if (halves.length === 2) {
    if (fill < 0) return null;
    for (let i = 0; i < fill; i++) groups.push(0);
  } else if (fill !== 0) return null;
  groups.push(...rest);
  if (groups.length !== 8) return null;
  const words: number[] = [];
  for (let i = 0; i < 8; i += 2) words.push(((groups[i]! << 16) | groups[i + 1]!) >>> 0);
  return words;
}

export function parseIp(s: string): { v6: boolean; words: number[] } | null {
  const t = s.trim();
  if (t.includes(':')) {
    const w = ipv6Words(t);
    return w ? { v6: true, words: w } : null;
  }
  const w = ipv4Words(t);
  return w ? { v6: false, words: w } : null;
}

export function parseCidr(s: string): Cidr | null {
  const [addr, len] = s.split('/');
  const ip = parseIp(addr ?? '');
  if (!ip) return null;
  const max = ip.v6 ? 128 : 32;
  const prefix = len === undefined ? max : Number(len);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return null;
  return { v6: ip.v6, words: ip.words, prefix };
}

export function cidrContains(c: Cidr, ipText: string): boolean {
  const ip = parseIp(ipText);
  if (!ip || ip.v6 !== c.v6) return false;
  let bits = c.prefix;
  for (let i = 0; i < c.words.length && bits > 0; i++) {
    const n = Math.min(32, bits);
    const mask = n === 32 ? 0xffffffff : ~(0xffffffff >>> n) >>> 0;
    if ((ip.words[i]! & mask) >>> 0 !== (c.words[i]! & mask) >>> 0) return false;
    bits -= n;
  }
  return true;
}

function parsePortRange(s: string): [number, number] | null {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(s.trim());
  if (!m) return null;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo > 65535 || hi > 65535 || hi < lo) return null;
  return [lo, hi];
}

interface CompiledRule {
  rule: LabelRule;
  cidr: Cidr | null;
  ports: [number, number] | null;
}

/** Compiled rules: `labelFor(facts)` returns the first matching rule's label or null. */
export class Labeler {
  private readonly compiled: CompiledRule[];

  constructor(rules: LabelRule[]) {
    this.compiled = rules.map((rule) => ({
      rule,
      cidr: rule.address === undefined ? null : parseCidr(rule.address),
      ports: rule.port === undefined ? null : parsePortRange(rule.port),
    }));
  }

  get size(): number {
    return this.compiled.length;
  }

  /** True when some rule could label every flow of this file (file-only rule). */
  coversFile(file: string): boolean {
    return this.compiled.some((c) => c.rule.file !== undefined && fileMatches(c.rule.file, file));
  }

  /** True when a rule tests per-flow facts (address, port or time). */
  get needsFlowFacts(): boolean {
    return this.compiled.some(
      (c) => c.cidr !== null || c.ports !== null || c.rule.startUs !== undefined || c.rule.endUs !== undefined,
    );
  }

  /** Rules that can apply to flows of `file` (file conditions decided once per file, not per flow). */
  private forFile(file: string): CompiledRule[] {
    let c = this.fileCache.get(file);
    if (!c) {
      c = this.compiled.filter((x) => x.rule.file === undefined || fileMatches(x.rule.file, file));
      this.fileCache.set(file, c);
    }
    return c;
  }

  private readonly fileCache = new Map<string, CompiledRule[]>();

  labelFor(f: FlowFacts): string | null {
    for (const c of this.forFile(f.file)) {
      const r = c.rule;
      if (
        c.cidr &&
        !((f.srcIp !== null && cidrContains(c.cidr, f.srcIp)) || (f.dstIp !== null && cidrContains(c.cidr, f.dstIp)))
      ) {
        continue;
      }
      if (c.ports) {
        const [lo, hi] = c.ports;
        if (!((f.srcPort >= lo && f.srcPort <= hi) || (f.dstPort >= lo && f.dstPort <= hi))) continue;
      }
      if (r.startUs !== undefined && !(f.timeUs >= r.startUs)) continue;
      if (r.endUs !== undefined && !(f.timeUs <= r.endUs)) continue;
      return r.label;
    }
    return null;
  }
}
