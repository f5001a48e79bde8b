// A minimal MessagePack encoder for the scripts' settings (settings.ts): Redis decodes it with
// its built-in cmsgpack several times faster than cjson decodes the same values as JSON, and
// every relay script decodes its settings on every call. Covers what settings hold: numbers,
// strings, booleans, arrays and plain objects with string keys.

export type Packable = number | string | boolean | null | readonly Packable[] | { readonly [key: string]: Packable };

/** The MessagePack encoding of `value`. */
export function pack(value: Packable): Buffer {
  const out: Buffer[] = [];
  write(value, out);
  return Buffer.concat(out);
}

function write(value: Packable, out: Buffer[]): void {
  if (value === null) out.push(Buffer.from([0xc0]));
  else if (typeof value === 'boolean') out.push(Buffer.from([value ? 0xc3 : 0xc2]));
  else if (typeof value === 'number') writeNumber(value, out);
  else if (typeof value === 'string') writeString(value, out);
  else if (Array.isArray(value)) {
    const items = value as readonly Packable[];
    out.push(header(items.length, 0x90, 0xdc));
    for (const item of items) write(item, out);
  } else {
    const entries = Object.entries(value);
    out.push(header(entries.length, 0x80, 0xde));
    for (const [key, item] of entries) {
      writeString(key, out);
      write(item, out);
    }
  }
}

/** fix (up to 15 items) or 16-bit length header of an array or map. */
function header(length: number, fix: number, wide: number): Buffer {
  if (length < 16) return Buffer.from([fix | length]);
  if (length > 0xffff) throw new RangeError('msgpack: collection too long');
  const b = Buffer.alloc(3);
  b[0] = wide;
  b.writeUInt16BE(length, 1);
  return b;
}

function writeNumber(v: number, out: Buffer[]): void {
  if (Number.isInteger(v) && v >= 0 && v <= 0xffffffff) {
    if (v < 128) return void out.push(Buffer.from([v]));
    const b = Buffer.alloc(5);
    b[0] = 0xce;
    b.writeUInt32BE(v, 1);
    return void out.push(b);
  }
  if (Number.isInteger(v) && v < 0 && v >= -0x80000000) {
    const b = Buffer.alloc(5);
    b[0] = 0xd2;
    b.writeInt32BE(v, 1);
    return void out.push(b);
  }
  // Any other number (fractions, large integers, infinities) as a double: Lua's own number type.
  const b = Buffer.alloc(9);
  b[0] = 0xcb;
  b.writeDoubleBE(v, 1);
  out.push(b);
}

function writeString(s: string, out: Buffer[]): void {
  const bytes = Buffer.from(s, 'utf8');
  if (bytes.length < 32) out.push(Buffer.from([0xa0 | bytes.length]));
  else if (bytes.length < 0x100) out.push(Buffer.from([0xd9, bytes.length]));
  else if (bytes.length < 0x10000) {
    const b = Buffer.alloc(3);
    b[0] = 0xda;
    b.writeUInt16BE(bytes.length, 1);
    out.push(b);
  } else throw new RangeError('msgpack: string too long');
  out.push(bytes);
}
