// JPEG decoder (ITU T.81 / JFIF): baseline, extended sequential and progressive Huffman, 8-bit,
// greyscale or YCbCr/RGB, any integral sampling factors, restart markers, EXIF orientation.
// Output matches libjpeg-turbo's `djpeg` (islow IDCT, fancy upsampling) bit for bit on valid files.
// Truncated data is handled as libjpeg does: entropy-coded data that runs out decodes as zeros (grey)
// and a file cut after its first scan yields what was decoded; a file cut before that is refused.

import { ImageDecodeError } from "./image_decode_error.ts";
import type { RgbaImage } from "./rgba_image.ts";
import { readExifOrientation } from "./exif.ts";
import { buildHuffmanTable, type HuffmanTable } from "./jpeg_huffman.ts";
import { idctIslow } from "./jpeg_idct.ts";
import {
  decodeScan,
  type JpegComponent,
  type JpegFrame,
  type JpegScan,
  NATURAL_ORDER,
} from "./jpeg_scan.ts";
import { type JpegColorTransform, planesToRgba, type SamplePlane } from "./jpeg_color.ts";

/** Options for {@linkcode decodeJpeg}. */
export interface DecodeJpegOptions {
  /**
   * Chroma upsampling: `true` (default) is libjpeg's triangle filter ("fancy upsampling", what
   * `djpeg` does by default); `false` replicates samples like `djpeg -nosmooth`.
   */
  fancyUpsampling?: boolean;
  /** Rotate or flip the image as its EXIF orientation tag says (default `true`). */
  applyExifOrientation?: boolean;
}

/** Scans a file may hold: bounds the work a hostile file can cause (real files have under 20). */
const MAX_SCANS = 1000;
/** Blocks one MCU may hold (T.81 B.2.3, libjpeg's D_MAX_BLOCKS_IN_MCU). */
const MAX_BLOCKS_IN_MCU = 10;

function fail(message: string): never {
  throw new ImageDecodeError(`Cannot decode JPEG: ${message}`);
}

/** Runs an allocation, turning an out-of-memory RangeError into an ImageDecodeError. */
function allocate<T>(what: string, make: () => T): T {
  try {
    return make();
  } catch (e) {
    if (e instanceof RangeError) fail(`cannot allocate ${what}: ${e.message}`);
    throw e;
  }
}

const hex = (marker: number) => `0xFF${marker.toString(16).toUpperCase().padStart(2, "0")}`;

/**
 * Decodes a JPEG file to RGBA (alpha 255), with its EXIF orientation applied.
 *
 * Supported: baseline, extended sequential and progressive Huffman coding, 8-bit samples, 1
 * (greyscale) or 3 (YCbCr, or RGB per the Adobe APP14 transform flag) components, sampling factors
 * 1..4 in integral ratios, restart markers. Refused with an {@linkcode ImageDecodeError}: arithmetic
 * coding, lossless and hierarchical modes, 12-bit samples, CMYK/YCCK, images over `maxPixels`, and
 * any malformed header. Entropy-coded data that ends early decodes as zeros, as libjpeg does.
 *
 * @example
 * ```ts
 * const image = decodeJpeg(await Deno.readFile("photo.jpg"), 50_000_000);
 * console.log(image.width, image.height);
 * ```
 *
 * @param bytes the whole file
 * @param maxPixels the largest width * height accepted; checked before any image-sized allocation
 * @param options upsampling and orientation choices
 * @returns the decoded image
 * @throws ImageDecodeError naming the problem when the file cannot be decoded
 */
export function decodeJpeg(
  bytes: Uint8Array,
  maxPixels: number,
  options: DecodeJpegOptions = {},
): RgbaImage {
  if (!(maxPixels >= 0)) {
    throw new RangeError(
      `Cannot decode JPEG: maxPixels must be a non-negative number, got ${maxPixels}`,
    );
  }
  const n = bytes.length;
  if (n < 2 || bytes[0] !== 0xff || bytes[1] !== 0xd8) {
    const head = Array.from(bytes.subarray(0, 2), (b) => `0x${b.toString(16).padStart(2, "0")}`);
    fail(`not a JPEG file: it starts with [${head.join(", ")}] instead of the SOI marker 0xFFD8`);
  }
  const qTables: (Int16Array | undefined)[] = [];
  const dcTables: (HuffmanTable | undefined)[] = [];
  const acTables: (HuffmanTable | undefined)[] = [];
  let restartInterval = 0;
  let frame: ReturnType<typeof parseFrame> | null = null;
  let scans = 0;
  let sawJfif = false;
  let adobeTransform = -1;
  let orientation = 0;

  let pos = 2;
  for (;;) {
    while (pos < n && bytes[pos] !== 0xff) pos++; // extraneous bytes: libjpeg warns and skips
    while (pos < n && bytes[pos] === 0xff) pos++; // fill bytes
    if (pos >= n) break; // no EOI: accepted, as by libjpeg
    const marker = bytes[pos++];
    if (marker === 0xd9) break; // EOI
    if (marker === 0 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0xd8) fail(`second SOI marker at offset ${pos - 2}`);
    // A file cut after its first scan keeps what was decoded (libjpeg reads a fake EOI there);
    // cut inside the headers, it is refused.
    const cut = pos + 2 > n || pos + ((bytes[pos] << 8) | bytes[pos + 1]) > n;
    if (cut && scans > 0) break;
    if (pos + 2 > n) {
      fail(`truncated data: marker ${hex(marker)} at offset ${pos - 2} has no length`);
    }
    const len = (bytes[pos] << 8) | bytes[pos + 1];
    if (len < 2) fail(`marker ${hex(marker)} at offset ${pos - 2} has invalid length ${len}`);
    if (pos + len > n) {
      fail(
        `marker ${hex(marker)} at offset ${pos - 2} has length ${len}, past the end of the data ` +
          `(${n - pos} bytes left)`,
      );
    }
    const seg = bytes.subarray(pos + 2, pos + len);
    pos += len;

    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      const sof = marker - 0xc0;
      if (sof === 3) fail("lossless coding (SOF3) is not supported");
      if (sof >= 9) fail(`arithmetic coding (SOF${sof}) is not supported`);
      if (sof >= 5) fail(`hierarchical coding (SOF${sof}) is not supported`);
      if (frame) fail(`second frame header (SOF${sof}) at offset ${pos - len - 2}`);
      frame = parseFrame(seg, sof, maxPixels);
    } else if (marker === 0xc4) {
      parseHuffmanTables(seg, dcTables, acTables);
    } else if (marker === 0xdb) {
      parseQuantTables(seg, qTables);
    } else if (marker === 0xdd) {
      if (seg.length !== 2) fail(`restart interval (DRI) length ${len} is not 4`);
      restartInterval = (seg[0] << 8) | seg[1];
    } else if (marker === 0xda) {
      if (!frame) fail("scan (SOS) before the frame header (SOF)");
      if (++scans > MAX_SCANS) fail(`more than ${MAX_SCANS} scans`);
      const scan = parseScan(seg, frame, qTables, dcTables, acTables, restartInterval);
      pos = decodeScan(bytes, pos, frame, scan);
    } else if (marker === 0xe0) {
      if (
        seg.length >= 14 && seg[0] === 0x4a && seg[1] === 0x46 && seg[2] === 0x49 &&
        seg[3] === 0x46 && seg[4] === 0
      ) sawJfif = true;
    } else if (marker === 0xe1) {
      if (orientation === 0 && seg.length >= 6 && seg[0] === 0x45 && seg[1] === 0x78) {
        orientation = readExifOrientation(seg);
      }
    } else if (marker === 0xee) {
      if (
        seg.length >= 12 && seg[0] === 0x41 && seg[1] === 0x64 && seg[2] === 0x6f &&
        seg[3] === 0x62 && seg[4] === 0x65
      ) adobeTransform = seg[11];
    }
    // Other markers (APPn, COM, DNL, DAC, ...) are skipped.
  }
  if (!frame) fail("no frame header (SOF) before the end of the data");
  if (scans === 0) fail("no scan (SOS) before the end of the data");
  const f = frame;

  // Inverse DCT into one sample plane a component.
  const ws = new Int32Array(64);
  const zeroQt = new Int16Array(64);
  const planes: SamplePlane[] = f.comps.map((c) => {
    const stride = c.blocksPerLine * 8;
    const data = allocate("sample planes", () => new Uint8Array(stride * c.blocksPerColumn * 8));
    const qt = c.qt ?? zeroQt;
    for (let by = 0; by < c.blocksPerColumn; by++) {
      for (let bx = 0; bx < c.blocksPerLine; bx++) {
        idctIslow(
          c.coefs,
          (by * c.stride + bx) * 64,
          qt,
          data,
          by * 8 * stride + bx * 8,
          stride,
          ws,
        );
      }
    }
    return {
      data,
      stride,
      width: c.width,
      height: c.height,
      hr: f.maxH / c.h,
      vr: f.maxV / c.v,
    };
  });

  let transform: JpegColorTransform = "gray";
  if (f.comps.length === 3) {
    // libjpeg's guess (jdapimin.c): JFIF, then Adobe's transform flag, then component ids.
    const [a, b, c] = f.comps.map((k) => k.id);
    if (sawJfif) transform = "ycc";
    else if (adobeTransform >= 0) transform = adobeTransform === 0 ? "rgb" : "ycc";
    else transform = a === 0x52 && b === 0x47 && c === 0x42 ? "rgb" : "ycc";
  }
  const applyOrientation = options.applyExifOrientation ?? true;
  return allocate("the output image", () =>
    planesToRgba(
      planes,
      f.width,
      f.height,
      transform,
      options.fancyUpsampling ?? true,
      applyOrientation && orientation > 0 ? orientation : 1,
    ));
}

/** Parses SOF0/1/2, checks the size limit, and allocates coefficient storage. */
function parseFrame(seg: Uint8Array, sof: number, maxPixels: number) {
  if (seg.length < 6) fail(`frame header (SOF${sof}) is truncated: ${seg.length + 2} bytes`);
  const precision = seg[0];
  const height = (seg[1] << 8) | seg[2];
  const width = (seg[3] << 8) | seg[4];
  const nf = seg[5];
  if (precision !== 8) fail(`${precision}-bit sample precision is not supported (only 8-bit)`);
  if (nf === 4) fail("4 components (CMYK or YCCK) are not supported");
  if (nf !== 1 && nf !== 3) fail(`${nf} components are not supported (only 1 or 3)`);
  if (seg.length !== 6 + 3 * nf) {
    fail(`frame header (SOF${sof}) length ${seg.length + 2} does not match ${nf} components`);
  }
  if (width === 0 || height === 0) {
    fail(`image size ${width}x${height} is empty (DNL is not supported)`);
  }
  if (width * height > maxPixels) {
    fail(
      `image size ${width}x${height} (${width * height} pixels) exceeds the limit of ` +
        `${maxPixels} pixels`,
    );
  }
  const raw: { id: number; h: number; v: number; tq: number }[] = [];
  for (let i = 0; i < nf; i++) {
    const o = 6 + 3 * i;
    const c = { id: seg[o], h: seg[o + 1] >> 4, v: seg[o + 1] & 15, tq: seg[o + 2] };
    if (c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4) {
      fail(`component ${c.id} has invalid sampling factors ${c.h}x${c.v} (1..4 allowed)`);
    }
    if (c.tq > 3) fail(`component ${c.id} selects quantisation table ${c.tq} (0..3 allowed)`);
    if (raw.some((r) => r.id === c.id)) fail(`component id ${c.id} appears twice in the frame`);
    raw.push(c);
  }
  const maxH = Math.max(...raw.map((c) => c.h));
  const maxV = Math.max(...raw.map((c) => c.v));
  for (const c of raw) {
    if (maxH % c.h !== 0 || maxV % c.v !== 0) {
      fail(
        `component ${c.id} sampling factors ${c.h}x${c.v} do not divide the maximum ` +
          `${maxH}x${maxV} (fractional sampling is not supported)`,
      );
    }
  }
  const mcusPerLine = Math.ceil(width / (8 * maxH));
  const mcusPerColumn = Math.ceil(height / (8 * maxV));
  // Storage covers whole MCUs: at most 3 * (width + 31) * (height + 31) values. Checked anyway so
  // no allocation rests on an unchecked header value.
  let total = 0;
  for (const c of raw) total += mcusPerLine * c.h * mcusPerColumn * c.v * 64;
  const limit = 3 * (maxPixels + 32 * (width + height) + 1024);
  if (total > limit) fail(`coefficient storage of ${total} values exceeds the limit of ${limit}`);
  const comps: JpegComponent[] = raw.map((c) => {
    const cw = Math.ceil((width * c.h) / maxH);
    const ch = Math.ceil((height * c.v) / maxV);
    const stride = mcusPerLine * c.h;
    return {
      ...c,
      width: cw,
      height: ch,
      blocksPerLine: Math.ceil(cw / 8),
      blocksPerColumn: Math.ceil(ch / 8),
      stride,
      coefs: allocate(
        "coefficient storage",
        () => new Int16Array(stride * mcusPerColumn * c.v * 64),
      ),
      qt: null,
      dcPred: 0,
    };
  });
  return {
    progressive: sof === 2,
    width,
    height,
    maxH,
    maxV,
    mcusPerLine,
    mcusPerColumn,
    comps,
  };
}

/** Parses a DHT segment (one or more tables). */
function parseHuffmanTables(
  seg: Uint8Array,
  dc: (HuffmanTable | undefined)[],
  ac: (HuffmanTable | undefined)[],
): void {
  let o = 0;
  while (o < seg.length) {
    if (o + 17 > seg.length) fail("bad Huffman table: DHT segment is truncated");
    const tc = seg[o] >> 4;
    const th = seg[o] & 15;
    if (tc > 1 || th > 3) fail(`bad Huffman table: class ${tc} id ${th} is out of range`);
    const counts = seg.subarray(o + 1, o + 17);
    let total = 0;
    for (let i = 0; i < 16; i++) total += counts[i];
    o += 17;
    if (total > 256) {
      fail(`bad Huffman table ${tc ? "AC" : "DC"} ${th}: ${total} symbols exceed 256`);
    }
    if (o + total > seg.length) fail("bad Huffman table: DHT segment is truncated");
    const label = `${tc ? "AC" : "DC"} ${th}`;
    const table = buildHuffmanTable(counts, seg.subarray(o, o + total), tc === 0, label);
    (tc === 0 ? dc : ac)[th] = table;
    o += total;
  }
}

/** Parses a DQT segment (one or more tables) into natural-order 16-bit tables. */
function parseQuantTables(seg: Uint8Array, tables: (Int16Array | undefined)[]): void {
  let o = 0;
  while (o < seg.length) {
    const pq = seg[o] >> 4;
    const tq = seg[o] & 15;
    if (tq > 3) fail(`quantisation table id ${tq} is out of range (0..3)`);
    if (pq > 1) fail(`quantisation table ${tq} has invalid precision ${pq}`);
    const size = 1 + 64 * (pq + 1);
    if (o + size > seg.length) fail(`quantisation table ${tq}: DQT segment is truncated`);
    // Int16Array as libjpeg's 16-bit multiplier table: 16-bit entries above 32767 wrap alike.
    const t = new Int16Array(64);
    for (let k = 0; k < 64; k++) {
      t[NATURAL_ORDER[k]] = pq ? (seg[o + 1 + 2 * k] << 8) | seg[o + 2 + 2 * k] : seg[o + 1 + k];
    }
    tables[tq] = t;
    o += size;
  }
}

/** Parses an SOS segment, checks it against the frame and latches the tables it needs. */
function parseScan(
  seg: Uint8Array,
  frame: JpegFrame & { comps: JpegComponent[] },
  qTables: (Int16Array | undefined)[],
  dcTables: (HuffmanTable | undefined)[],
  acTables: (HuffmanTable | undefined)[],
  restartInterval: number,
): JpegScan {
  const ns = seg.length > 0 ? seg[0] : 0;
  if (ns < 1 || ns > 4 || seg.length !== 4 + 2 * ns) {
    fail(`scan header (SOS) length ${seg.length + 2} does not match ${ns} components`);
  }
  const components: JpegComponent[] = [];
  const dc: (HuffmanTable | undefined)[] = [];
  const ac: (HuffmanTable | undefined)[] = [];
  const ss = seg[1 + 2 * ns];
  const se = seg[2 + 2 * ns];
  const ah = seg[3 + 2 * ns] >> 4;
  const al = seg[3 + 2 * ns] & 15;
  if (frame.progressive) {
    const bad = ss === 0 ? se !== 0 : ss > se || se > 63 || ns !== 1;
    if (bad || (ah !== 0 && al !== ah - 1) || al > 13) {
      fail(
        `bad progressive scan parameters Ss=${ss} Se=${se} Ah=${ah} Al=${al} for ${ns} components`,
      );
    }
  }
  let blocks = 0;
  for (let i = 0; i < ns; i++) {
    const id = seg[1 + 2 * i];
    const td = seg[2 + 2 * i] >> 4;
    const ta = seg[2 + 2 * i] & 15;
    const c = frame.comps.find((k) => k.id === id);
    if (!c) fail(`scan names component ${id}, which the frame does not have`);
    if (components.includes(c)) fail(`scan names component ${id} twice`);
    if (!c.qt) {
      const q = qTables[c.tq];
      if (!q) fail(`missing quantisation table ${c.tq} for component ${id}`);
      c.qt = q;
    }
    const needDc = !frame.progressive || (ss === 0 && ah === 0);
    const needAc = !frame.progressive || ss > 0;
    if (needDc && !dcTables[td]) fail(`missing Huffman table DC ${td} for component ${id}`);
    if (needAc && !acTables[ta]) fail(`missing Huffman table AC ${ta} for component ${id}`);
    components.push(c);
    dc.push(dcTables[td]);
    ac.push(acTables[ta]);
    blocks += c.h * c.v;
  }
  if (ns > 1 && blocks > MAX_BLOCKS_IN_MCU) {
    fail(`scan MCU of ${blocks} blocks exceeds the limit of ${MAX_BLOCKS_IN_MCU}`);
  }
  return { components, dcTables: dc, acTables: ac, ss, se, ah, al, restartInterval };
}
