// JPEG Huffman tables and the entropy-coded bit reader (ITU T.81 annex C and F.2.2), following
// libjpeg's jdhuff.c: byte stuffing, fill bytes, zero padding at a marker and its out-of-data flag.

import { ImageDecodeError } from "./image_decode_error.ts";

/** Number of bits resolved by one table lookup; longer codes take the slow path. */
const LOOKAHEAD = 9;

/** A Huffman decoding table built from a DHT segment (the jdhuff.c "derived table"). */
export interface HuffmanTable {
  /** For each `LOOKAHEAD`-bit prefix: `(codeLength << 8) | symbol`, or 0 when the code is longer. */
  lookup: Uint16Array;
  /** `maxCode[l]`: the largest code of length `l` (1..16), or -1 when there is none. */
  maxCode: Int32Array;
  /** `valOffset[l]`: index in `symbols` of the first code of length `l`, minus that code. */
  valOffset: Int32Array;
  /** Symbols in code order. */
  symbols: Uint8Array;
}

/**
 * Builds a decoding table from the 16 code-length counts and the symbols of a DHT segment.
 *
 * @param counts `counts[i]` is the number of codes of length `i + 1` (16 entries)
 * @param symbols the symbols in code order
 * @param isDc DC tables may only hold symbols 0..15 (magnitude categories)
 * @param label names the table in error messages, e.g. `"DC 0"`
 * @returns the table
 * @throws ImageDecodeError when the code lengths overflow the code space or a symbol is invalid
 */
export function buildHuffmanTable(
  counts: ArrayLike<number>,
  symbols: Uint8Array,
  isDc: boolean,
  label: string,
): HuffmanTable {
  const bad = (why: string) =>
    new ImageDecodeError(`Cannot decode JPEG: bad Huffman table ${label}: ${why}`);
  let total = 0;
  for (let i = 0; i < 16; i++) total += counts[i];
  if (total > 256) throw bad(`${total} symbols exceed 256`);
  if (total !== symbols.length) throw bad(`${total} codes but ${symbols.length} symbols`);
  if (isDc) {
    for (let i = 0; i < total; i++) {
      if (symbols[i] > 15) throw bad(`DC symbol ${symbols[i]} exceeds 15`);
    }
  }
  const lookup = new Uint16Array(1 << LOOKAHEAD);
  const maxCode = new Int32Array(18).fill(-1);
  const valOffset = new Int32Array(18);
  let code = 0;
  let p = 0;
  for (let len = 1; len <= 16; len++) {
    const n = counts[len - 1];
    valOffset[len] = p - code;
    for (let i = 0; i < n; i++, p++, code++) {
      if (len <= LOOKAHEAD) {
        const shift = LOOKAHEAD - len;
        const entry = (len << 8) | symbols[p];
        lookup.fill(entry, code << shift, (code + 1) << shift);
      }
    }
    if (n > 0) maxCode[len] = code - 1;
    // jdhuff.c: codes of length `len` must fit in `len` bits and none may be all ones.
    if (n > 0 && code >= 1 << len) throw bad(`code lengths overflow at length ${len}`);
    code <<= 1;
  }
  maxCode[17] = 0x7fffffff; // sentinel: the slow path always stops
  return { lookup, maxCode, valOffset, symbols: symbols.slice() };
}

/**
 * Reads bits from entropy-coded data, undoing 0xFF00 byte stuffing. At a marker (or the end of the
 * data) it feeds zero bits, as libjpeg does, and sets `exhausted` once a bit past the real data was
 * consumed.
 */
export class BitReader {
  /** The whole file. */
  readonly data: Uint8Array;
  /** Index of the next byte not yet loaded into the bit buffer. */
  pos: number;
  /** Bit buffer; the low `count` bits are valid. */
  buf = 0;
  /** Number of valid bits in `buf` (at most 32). */
  count = 0;
  /** How many of the low bits of `buf` are zero padding past the data. */
  pad = 0;
  /** Set when `pos` reached a marker or the end of the data. */
  atMarker = false;
  /** Set when a consumed bit was padding: the scan's data ran out. */
  exhausted = false;

  /**
   * @param data the file bytes
   * @param pos offset of the first entropy-coded byte
   */
  constructor(data: Uint8Array, pos: number) {
    this.data = data;
    this.pos = pos;
  }

  /** Loads bytes until more than 24 bits are buffered. */
  fill(): void {
    const data = this.data;
    while (this.count <= 24) {
      let byte = 0;
      if (!this.atMarker) {
        let p = this.pos;
        if (p >= data.length) {
          this.atMarker = true;
        } else {
          byte = data[p++];
          if (byte === 0xff) {
            while (p < data.length && data[p] === 0xff) p++; // fill bytes
            if (p < data.length && data[p] === 0) {
              p++;
            } else {
              // A marker: leave `pos` on its last 0xFF so the caller can read it.
              this.atMarker = true;
              this.pos = p - 1;
              byte = 0;
            }
          }
          if (!this.atMarker) this.pos = p;
        }
      }
      if (this.atMarker) this.pad += 8;
      this.buf = (this.buf << 8) | byte;
      this.count += 8;
    }
  }

  /** Drops `n` bits, which must be buffered. */
  skip(n: number): void {
    if (n > this.count - this.pad) this.exhausted = true;
    this.count -= n;
    if (this.pad > this.count) this.pad = this.count;
  }

  /** Reads `n` (0..16) bits as an unsigned number. */
  bits(n: number): number {
    if (n === 0) return 0;
    if (this.count < n) this.fill();
    const v = (this.buf >>> (this.count - n)) & ((1 << n) - 1);
    this.skip(n);
    return v;
  }

  /** Reads one bit. */
  bit(): number {
    if (this.count < 1) this.fill();
    const v = (this.buf >>> (this.count - 1)) & 1;
    this.skip(1);
    return v;
  }

  /** Reads `n` bits and sign-extends them as a JPEG magnitude value (F.2.2.1 EXTEND). */
  receiveExtend(n: number): number {
    if (n === 0) return 0;
    const v = this.bits(n);
    return v < 1 << (n - 1) ? v - (1 << n) + 1 : v;
  }

  /** Decodes one Huffman symbol; an invalid code yields 0, as libjpeg does. */
  decode(t: HuffmanTable): number {
    if (this.count < 16) this.fill();
    const e = t.lookup[(this.buf >>> (this.count - LOOKAHEAD)) & ((1 << LOOKAHEAD) - 1)];
    if (e !== 0) {
      this.skip(e >> 8);
      return e & 0xff;
    }
    const code16 = (this.buf >>> (this.count - 16)) & 0xffff;
    for (let len = LOOKAHEAD + 1; len <= 16; len++) {
      const c = code16 >>> (16 - len);
      if (c <= t.maxCode[len]) {
        this.skip(len);
        return t.symbols[t.valOffset[len] + c];
      }
    }
    this.skip(16);
    return 0;
  }

  /**
   * Handles a restart interval boundary: drops buffered bits, then skips to and over the next RSTn
   * marker. Any other marker is left in place (the data that follows is then treated as missing).
   */
  restart(): void {
    this.buf = 0;
    this.count = 0;
    this.pad = 0;
    this.exhausted = false;
    this.atMarker = false;
    const data = this.data;
    let p = this.pos;
    for (;;) {
      while (p < data.length && data[p] !== 0xff) p++;
      while (p + 1 < data.length && data[p + 1] === 0xff) p++;
      if (p + 1 >= data.length) {
        this.pos = data.length;
        return;
      }
      const m = data[p + 1];
      if (m === 0) {
        p += 2;
        continue;
      }
      this.pos = m >= 0xd0 && m <= 0xd7 ? p + 2 : p;
      return;
    }
  }
}
