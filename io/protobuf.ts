// Minimal protobuf wire-format reader (proto2/proto3 binary encoding, developers.google.com
// "Encoding"): tags are varints (field << 3 | wire type); wire types 0 varint, 1 fixed64,
// 2 length-delimited, 5 fixed32. Groups (3, 4) are deprecated and refused. Enough for
// sentencepiece's ModelProto; the schema lives with the caller.

/** Thrown for malformed protobuf bytes; callers may catch it. */
export class ProtobufError extends Error {
  /** @param message what failed, naming the input and the byte offset */
  constructor(message: string) {
    super(message);
    this.name = "ProtobufError";
  }
}

/** Wire types that can appear in a tag. */
export const WireType = { VARINT: 0, FIXED64: 1, LEN: 2, FIXED32: 5 } as const;

/** A field tag: the field number and how its value is encoded. */
export interface ProtoTag {
  /** Field number, 1 or more. */
  field: number;
  /** 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32. */
  wireType: number;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Sequential reader over one message's bytes.
 * @example
 * ```ts
 * const r = new ProtoReader(new Uint8Array([0x08, 0x96, 0x01]), "example");
 * const tag = r.tag(); // { field: 1, wireType: 0 }
 * r.int32(); // 150
 * ```
 */
export class ProtoReader {
  #pos = 0;
  #lo = 0;
  #hi = 0;

  /**
   * @param bytes the message bytes (a view; not copied)
   * @param name what is being read, for error messages (a file name and message path)
   * @param base the offset of `bytes` in the outer input, so errors give absolute offsets
   */
  constructor(readonly bytes: Uint8Array, readonly name: string, readonly base = 0) {}

  /** Offset of the next unread byte inside `bytes`. */
  get pos(): number {
    return this.#pos;
  }

  /** True when every byte has been read. */
  get done(): boolean {
    return this.#pos >= this.bytes.length;
  }

  #fail(what: string, at = this.#pos): never {
    throw new ProtobufError(
      `Cannot parse protobuf "${this.name}": ${what} at byte ${this.base + at}`,
    );
  }

  /** Reads a varint into the low/high 32-bit halves. */
  #varint(): void {
    const start = this.#pos;
    let lo = 0, hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.#pos >= this.bytes.length) this.#fail("truncated varint", start);
      const b = this.bytes[this.#pos++];
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >>> 4;
      } else hi |= (b & 0x7f) << (7 * i - 32);
      if ((b & 0x80) === 0) {
        this.#lo = lo >>> 0;
        this.#hi = hi >>> 0;
        return;
      }
    }
    this.#fail("varint longer than 10 bytes", start);
  }

  /** Reads the next tag. @returns the field number and wire type */
  tag(): ProtoTag {
    const at = this.#pos;
    this.#varint();
    if (this.#hi !== 0) this.#fail("field number too large", at);
    const field = this.#lo >>> 3, wireType = this.#lo & 7;
    if (field === 0) this.#fail("field number 0", at);
    if (wireType !== 0 && wireType !== 1 && wireType !== 2 && wireType !== 5) {
      this.#fail(`unsupported wire type ${wireType} for field ${field}`, at);
    }
    return { field, wireType };
  }

  /** Reads a varint as int32 (negative values are sign-extended 10-byte varints). */
  int32(): number {
    this.#varint();
    return this.#lo | 0;
  }

  /** Reads a varint as uint32 (the low 32 bits). */
  uint32(): number {
    this.#varint();
    return this.#lo;
  }

  /** Reads a varint as a non-negative integer below 2^53. */
  uint53(): number {
    const at = this.#pos;
    this.#varint();
    if (this.#hi >= 0x200000) this.#fail("varint exceeds 2^53", at);
    return this.#hi * 0x100000000 + this.#lo;
  }

  /** Reads a varint as bool (any non-zero value is true). */
  bool(): boolean {
    this.#varint();
    return this.#lo !== 0 || this.#hi !== 0;
  }

  /** Reads a fixed32 little-endian IEEE float. */
  float(): number {
    const b = this.#take(4);
    return new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true);
  }

  /** Reads a length-delimited field's bytes (a view into the input). */
  bytesField(): Uint8Array {
    const at = this.#pos;
    const n = this.uint53();
    if (n > this.bytes.length - this.#pos) {
      this.#fail(`length ${n} exceeds the ${this.bytes.length - this.#pos} bytes left`, at);
    }
    return this.#take(n);
  }

  /** Reads a length-delimited UTF-8 string (invalid UTF-8 is an error). */
  string(): string {
    const at = this.#pos;
    const b = this.bytesField();
    try {
      return utf8.decode(b);
    } catch {
      this.#fail("invalid UTF-8 in a string field", at);
    }
  }

  /**
   * Reads a length-delimited sub-message.
   * @param name the field's name, appended to this reader's name for errors
   * @returns a reader over the sub-message
   */
  message(name: string): ProtoReader {
    const b = this.bytesField();
    return new ProtoReader(
      b,
      `${this.name}.${name}`,
      this.base + b.byteOffset - this.bytes.byteOffset,
    );
  }

  /** Skips a value of the given wire type. */
  skip(wireType: number): void {
    if (wireType === WireType.VARINT) this.#varint();
    else if (wireType === WireType.FIXED64) this.#take(8);
    else if (wireType === WireType.LEN) this.bytesField();
    else if (wireType === WireType.FIXED32) this.#take(4);
    else this.#fail(`cannot skip wire type ${wireType}`);
  }

  /**
   * Checks that a field has the wire type its schema says.
   * @param tag the tag just read
   * @param wireType the expected wire type
   * @param name the field's name for the message
   */
  expect(tag: ProtoTag, wireType: number, name: string): void {
    if (tag.wireType !== wireType) {
      this.#fail(
        `field ${tag.field} ("${name}") has wire type ${tag.wireType}, expected ${wireType}`,
      );
    }
  }

  #take(n: number): Uint8Array {
    if (n > this.bytes.length - this.#pos) {
      this.#fail(`truncated: need ${n} bytes, ${this.bytes.length - this.#pos} left`);
    }
    const b = this.bytes.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return b;
  }
}
