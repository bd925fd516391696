/**
 * A minimal WebAssembly binary writer: just the module sections and instructions that the inference kernel
 * (kernel.ts) uses, so the kernel is TypeScript that reads like its text format and no build step or checked-in
 * binary is needed. Encodings follow the WebAssembly core specification 2.0, §5 (binary format): LEB128 integers
 * (§5.2.2), sections (§5.5), and the 0xFD-prefixed vector (SIMD) instructions (§5.4.8).
 */

/** Value types (§5.3.1). */
export const I32 = 0x7f;
export const F64 = 0x7c;
export const V128 = 0x7b;
type ValType = typeof I32 | typeof F64 | typeof V128;

/** One-byte opcodes used by the kernel (§5.4). */
export const Op = {
  block: 0x02,
  loop: 0x03,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  f64Load: 0x2b,
  f64Store: 0x39,
  i32Store16: 0x3b,
  i32Const: 0x41,
  i32LtU: 0x49,
  i32GeU: 0x4f,
  i32Add: 0x6a,
  i32Mul: 0x6c,
  i32And: 0x71,
  i32Shl: 0x74,
  i32ShrU: 0x76,
  f64Add: 0xa0,
} as const;

/** SIMD opcodes, each written as 0xFD then the number as unsigned LEB128 (§5.4.8). */
export const Simd = {
  v128Load: 0,
  v128Store: 11,
  v128Const: 12,
  i8x16Swizzle: 14,
  i8x16Eq: 35,
  f32x4Ne: 66,
  f32x4Le: 69,
  v128And: 78,
  v128AndNot: 79,
  v128Or: 80,
  i8x16Bitmask: 100,
  i8x16NarrowI16x8S: 101,
  i8x16Add: 110,
  i8x16Sub: 113,
  i16x8NarrowI32x4S: 133,
} as const;

function uleb(n: number, out: number[]): void {
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
}

function sleb(n: number, out: number[]): void {
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

/** A function body under construction: locals, then instructions appended in stack-machine order. */
export class Fn {
  readonly code: number[] = [];
  private readonly locals: ValType[] = [];

  constructor(
    readonly name: string,
    readonly params: readonly ValType[],
  ) {}

  /** A new local of `type`; returns its index (parameters come first). */
  local(type: ValType): number {
    this.locals.push(type);
    return this.params.length + this.locals.length - 1;
  }

  op(...codes: number[]): this {
    this.code.push(...codes);
    return this;
  }

  simd(code: number): this {
    this.code.push(0xfd);
    uleb(code, this.code);
    return this;
  }

  get(i: number): this {
    this.code.push(Op.localGet);
    uleb(i, this.code);
    return this;
  }

  set(i: number): this {
    this.code.push(Op.localSet);
    uleb(i, this.code);
    return this;
  }

  tee(i: number): this {
    this.code.push(Op.localTee);
    uleb(i, this.code);
    return this;
  }

  i32(n: number): this {
    this.code.push(Op.i32Const);
    sleb(n | 0, this.code);
    return this;
  }

  /** A memory access (`op` one-byte, or `simd` when `isSimd`) with static `offset`; natural alignment `align`. */
  mem(op: number, offset: number, align: number, isSimd = false): this {
    if (isSimd) this.simd(op);
    else this.code.push(op);
    uleb(align, this.code);
    uleb(offset, this.code);
    return this;
  }

  /** v128.load / v128.store at address (on the stack) + offset. */
  v128Load(offset = 0): this {
    return this.mem(Simd.v128Load, offset, 4, true);
  }

  v128Store(offset = 0): this {
    return this.mem(Simd.v128Store, offset, 4, true);
  }

  v128Const(bytes: ArrayLike<number>): this {
    this.simd(Simd.v128Const);
    for (let i = 0; i < 16; i++) this.code.push((bytes[i] ?? 0) & 0xff);
    return this;
  }

  /**
   * `for (i = start; i < end; i += step) body` over i32 locals `i` and `end` (`start` already in `i`): a guard,
   * then a loop that tests at the bottom. Inside `body`, branch depth 0 is the loop, 1 the guard block.
   */
  forRange(i: number, end: number, step: number, body: () => void): this {
    this.op(Op.block, 0x40);
    this.get(i).get(end).op(Op.i32GeU, Op.brIf, 0);
    this.op(Op.loop, 0x40);
    body();
    this.get(i).i32(step).op(Op.i32Add).tee(i);
    this.get(end).op(Op.i32LtU, Op.brIf, 0);
    this.op(Op.end, Op.end);
    return this;
  }

  /** The body as the code section wants it: size, local declarations, instructions, end. */
  encode(): number[] {
    const body: number[] = [];
    uleb(this.locals.length, body);
    for (const t of this.locals) body.push(1, t);
    body.push(...this.code, Op.end);
    const out: number[] = [];
    uleb(body.length, out);
    out.push(...body);
    return out;
  }
}

function section(id: number, content: number[], out: number[]): void {
  out.push(id);
  uleb(content.length, out);
  out.push(...content);
}

function name(s: string, out: number[]): void {
  uleb(s.length, out);
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i));
}

/**
 * A module importing one memory as `env.memory` and exporting `fns` by name (no results: the kernel writes its
 * outputs to memory).
 */
export function wasmModule(fns: readonly Fn[]): Uint8Array {
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const types: number[] = [];
  uleb(fns.length, types);
  for (const f of fns) {
    types.push(0x60);
    uleb(f.params.length, types);
    types.push(...f.params, 0);
  }
  section(1, types, out);
  const imports: number[] = [1];
  name('env', imports);
  name('memory', imports);
  imports.push(0x02, 0x00, 1); // memory, limits without maximum, minimum 1 page
  section(2, imports, out);
  const funcs: number[] = [];
  uleb(fns.length, funcs);
  fns.forEach((_, i) => {
    uleb(i, funcs);
  });
  section(3, funcs, out);
  const exports: number[] = [];
  uleb(fns.length, exports);
  fns.forEach((f, i) => {
    name(f.name, exports);
    exports.push(0x00);
    uleb(i, exports);
  });
  section(7, exports, out);
  const code: number[] = [];
  uleb(fns.length, code);
  for (const f of fns) code.push(...f.encode());
  section(10, code, out);
  return Uint8Array.from(out);
}
