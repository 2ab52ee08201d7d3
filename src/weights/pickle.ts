/**
 * A restricted unpickler: a data-only interpreter for Python's pickle format (protocols 0-5). It never runs code.
 * Globals are resolved by the caller's allowlist (`findGlobal`): a name it does not know is refused with an error
 * naming it (`os.system`, `builtins.eval`, `__builtin__.exec`...), before anything is built. Opcodes that instantiate
 * arbitrary classes (INST, OBJ, NEWOBJ, NEWOBJ_EX) and the extension registry (EXT1/2/4) are refused outright.
 *
 * Values: Python int/float -> number (bigint when beyond 2^53), str -> string, bytes -> Buffer, None -> null,
 * list -> array, tuple -> frozen array, dict -> Map, set -> Set; allowed globals -> PickleGlobal.
 */

export class PickleSecurityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PickleSecurityError';
  }
}

export class PickleFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PickleFormatError';
  }
}

/** An allowlisted Python global: REDUCE calls `call(args)`; BUILD on its results is handled by `build` when given. */
export interface PickleGlobal {
  readonly qualifiedName: string;
  call?(args: readonly unknown[]): unknown;
}

export interface UnpickleOptions {
  /** Returns the allowed global or null (the unpickler then refuses the checkpoint). */
  findGlobal(module: string, name: string): PickleGlobal | null;
  /** BINPERSID / PERSID: turns a persistent id into a value (torch storages). */
  persistentLoad?(pid: unknown): unknown;
  /** What the source is called in errors. */
  source: string;
}

const MARK = Symbol('mark');

function toNumber(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function decodeLong(b: Buffer): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
  return toNumber(v);
}

/** Unpickles one pickle starting at `offset`; returns the value and the offset just after its STOP opcode. */
export function unpickle(buf: Buffer, opts: UnpickleOptions, offset = 0): { value: unknown; end: number } {
  let pos = offset;
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  const fail = (msg: string): never => {
    throw new PickleFormatError(`${opts.source}: bad pickle at byte ${pos}: ${msg}`);
  };
  const need = (n: number) => {
    if (pos + n > buf.length) fail('unexpected end of data');
  };
  const u8 = () => (need(1), buf[pos++]!);
  const u16 = () => (need(2), (pos += 2), buf.readUInt16LE(pos - 2));
  const u32 = () => (need(4), (pos += 4), buf.readUInt32LE(pos - 4));
  const i32 = () => (need(4), (pos += 4), buf.readInt32LE(pos - 4));
  const u64 = () => {
    need(8);
    pos += 8;
    const v = buf.readBigUInt64LE(pos - 8);
    if (v > BigInt(buf.length)) fail(`length ${v} beyond the data`);
    return Number(v);
  };
  const bytes = (n: number) => (need(n), (pos += n), buf.subarray(pos - n, pos));
  const line = () => {
    const nl = buf.indexOf(0x0a, pos);
    if (nl < 0) fail('unterminated text line');
    const s = buf.toString('latin1', pos, nl);
    pos = nl + 1;
    return s;
  };
  const pop = () => (stack.length === 0 ? fail('stack underflow') : stack.pop());
  const top = () => (stack.length === 0 ? fail('stack underflow') : stack[stack.length - 1]);
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) fail('no MARK');
    return stack.splice(m!);
  };
  const global = (module: string, name: string): PickleGlobal => {
    const g = opts.findGlobal(module, name);
    if (!g) throw new PickleSecurityError(`${opts.source}: refused to load: the pickle asks for the Python global '${module}.${name}', which is not a tensor, storage or ordered dict (only weights are read; no code from a checkpoint is run)`);
    return g;
  };
  const setItems = (target: unknown, items: unknown[]) => {
    if (!(target instanceof Map)) fail('SETITEM(S) on a non-dict');
    for (let i = 0; i + 1 < items.length; i += 2) (target as Map<unknown, unknown>).set(items[i], items[i + 1]);
  };
  const refuse = (what: string): never => {
    throw new PickleSecurityError(`${opts.source}: refused to load: the pickle uses ${what}, which can run code (only weights are read)`);
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: bytes(8); break; // FRAME
      case 0x2e: return { value: pop(), end: pos }; // STOP
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push(Object.freeze([])); break; // EMPTY_TUPLE
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x8a: stack.push(decodeLong(bytes(u8()))); break; // LONG1
      case 0x8b: stack.push(decodeLong(bytes(u32()))); break; // LONG4
      case 0x49: { const s = line(); stack.push(s === '01' ? true : s === '00' ? false : toNumber(BigInt(s))); break; } // INT
      case 0x4c: stack.push(toNumber(BigInt(line().replace(/L$/, '')))); break; // LONG
      case 0x47: need(8); stack.push(buf.readDoubleBE(pos)); pos += 8; break; // BINFLOAT
      case 0x46: stack.push(Number(line())); break; // FLOAT
      case 0x58: stack.push(bytes(u32()).toString('utf8')); break; // BINUNICODE
      case 0x8c: stack.push(bytes(u8()).toString('utf8')); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(bytes(u64()).toString('utf8')); break; // BINUNICODE8
      case 0x56: stack.push(line()); break; // UNICODE (raw-unicode-escape; ASCII in practice)
      case 0x54: stack.push(Buffer.from(bytes(u32()))); break; // BINSTRING
      case 0x55: stack.push(Buffer.from(bytes(u8()))); break; // SHORT_BINSTRING
      case 0x42: stack.push(Buffer.from(bytes(u32()))); break; // BINBYTES
      case 0x43: stack.push(Buffer.from(bytes(u8()))); break; // SHORT_BINBYTES
      case 0x8e: stack.push(Buffer.from(bytes(u64()))); break; // BINBYTES8
      case 0x96: stack.push(Buffer.from(bytes(u64()))); break; // BYTEARRAY8
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x70: memo.set(Number(line()), top()); break; // PUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: case 0x6a: case 0x67: { // BINGET, LONG_BINGET, GET
        const k = op === 0x68 ? u8() : op === 0x6a ? u32() : Number(line());
        if (!memo.has(k)) fail(`memo key ${k} not found`);
        stack.push(memo.get(k));
        break;
      }
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x74: stack.push(Object.freeze(popMark())); break; // TUPLE
      case 0x85: stack.push(Object.freeze([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push(Object.freeze([a, b])); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push(Object.freeze([a, b, c])); break; } // TUPLE3
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x64: { const items = popMark(); const m = new Map(); setItems(m, items); stack.push(m); break; } // DICT
      case 0x61: { const v = pop(); const l = top(); if (!Array.isArray(l) || Object.isFrozen(l)) fail('APPEND to a non-list'); (l as unknown[]).push(v); break; } // APPEND
      case 0x65: { const items = popMark(); const l = top(); if (!Array.isArray(l) || Object.isFrozen(l)) fail('APPENDS to a non-list'); (l as unknown[]).push(...items); break; } // APPENDS
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x90: { const items = popMark(); const s = top(); if (!(s instanceof Set)) fail('ADDITEMS to a non-set'); for (const i of items) (s as Set<unknown>).add(i); break; } // ADDITEMS
      case 0x91: stack.push(new Set(popMark())); break; // FROZENSET
      case 0x63: { const module = line(); const name = line(); stack.push(global(module, name)); break; } // GLOBAL
      case 0x93: { const name = pop(); const module = pop(); if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings'); stack.push(global(module as string, name as string)); break; } // STACK_GLOBAL
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop() as PickleGlobal;
        if (!fn || typeof fn !== 'object' || typeof fn.call !== 'function') refuse(`REDUCE on ${fn && typeof fn === 'object' && 'qualifiedName' in fn ? fn.qualifiedName : 'a non-callable value'}`);
        if (!Array.isArray(args)) fail('REDUCE arguments are not a tuple');
        stack.push(fn.call!(args as unknown[]));
        break;
      }
      case 0x62: { // BUILD: state for an ordered dict (its _metadata attribute) or a tensor (requires_grad etc.) carries no weights
        const state = pop();
        const obj = top();
        if (obj === null || typeof obj !== 'object' || state === null || typeof state !== 'object') fail('BUILD on a plain value');
        break;
      }
      case 0x51: { if (!opts.persistentLoad) fail('persistent id without a loader'); stack.push(opts.persistentLoad!(pop())); break; } // BINPERSID
      case 0x50: { if (!opts.persistentLoad) fail('persistent id without a loader'); stack.push(opts.persistentLoad!(line())); break; } // PERSID
      case 0x69: refuse('INST (instantiate a class)'); break;
      case 0x6f: refuse('OBJ (instantiate a class)'); break;
      case 0x81: refuse('NEWOBJ (instantiate a class)'); break;
      case 0x92: refuse('NEWOBJ_EX (instantiate a class)'); break;
      case 0x82: case 0x83: case 0x84: refuse('the copyreg extension registry (EXT1/2/4)'); break;
      default: fail(`unsupported opcode 0x${op.toString(16)}`);
    }
  }
}
