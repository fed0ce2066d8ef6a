// Entropy decoding of one JPEG scan into DCT coefficients: sequential Huffman (T.81 F.2.2) and
// progressive Huffman (G.2: DC/AC first and refinement scans, EOB runs), mirroring libjpeg's
// jdhuff.c and jdphuff.c, including its handling of data that runs out (the rest is left zero).

import { BitReader, type HuffmanTable } from "./jpeg_huffman.ts";

/** Zigzag index to natural (row-major) index, padded so runs past 63 land on 63 as in libjpeg. */
export const NATURAL_ORDER: Int32Array = new Int32Array([
  0,
  1,
  8,
  16,
  9,
  2,
  3,
  10,
  17,
  24,
  32,
  25,
  18,
  11,
  4,
  5,
  12,
  19,
  26,
  33,
  40,
  48,
  41,
  34,
  27,
  20,
  13,
  6,
  7,
  14,
  21,
  28,
  35,
  42,
  49,
  56,
  57,
  50,
  43,
  36,
  29,
  22,
  15,
  23,
  30,
  37,
  44,
  51,
  58,
  59,
  52,
  45,
  38,
  31,
  39,
  46,
  53,
  60,
  61,
  54,
  47,
  55,
  62,
  63,
  63,
  63,
  63,
  63,
  63,
  63,
  63,
  63,
  63,
  63,
  63,
  63,
  63,
  63,
  63,
  63,
]);

/** One image component of a frame and its coefficient storage. */
export interface JpegComponent {
  /** Component identifier from the frame header. */
  id: number;
  /** Horizontal sampling factor (1..4). */
  h: number;
  /** Vertical sampling factor (1..4). */
  v: number;
  /** Quantisation table selector. */
  tq: number;
  /** Width in samples: ceil(imageWidth * h / maxH). */
  width: number;
  /** Height in samples: ceil(imageHeight * v / maxV). */
  height: number;
  /** Blocks a row covering `width` (the extent of a non-interleaved scan). */
  blocksPerLine: number;
  /** Block rows covering `height`. */
  blocksPerColumn: number;
  /** Blocks a row in storage: MCUs a row times `h`. */
  stride: number;
  /** 64 coefficients a block, natural order, `stride` blocks a row, whole MCU rows. */
  coefs: Int16Array;
  /** Quantisation table (natural order) latched at the component's first scan. */
  qt: Int16Array | null;
  /** DC predictor while decoding a scan. */
  dcPred: number;
}

/** Frame geometry shared by all scans. */
export interface JpegFrame {
  /** Progressive (SOF2) rather than sequential (SOF0/SOF1). */
  progressive: boolean;
  /** MCUs a row for interleaved scans. */
  mcusPerLine: number;
  /** MCU rows for interleaved scans. */
  mcusPerColumn: number;
}

/** A scan header with its tables resolved. */
export interface JpegScan {
  /** Components in the scan, in scan order. */
  components: JpegComponent[];
  /** DC table for each scan component (unused by AC and refinement scans). */
  dcTables: (HuffmanTable | undefined)[];
  /** AC table for each scan component (unused by DC scans). */
  acTables: (HuffmanTable | undefined)[];
  /** Spectral selection start. */
  ss: number;
  /** Spectral selection end. */
  se: number;
  /** Successive approximation high bit (0 for a first scan). */
  ah: number;
  /** Successive approximation low bit (the point transform). */
  al: number;
  /** MCUs between restart markers, 0 for none. */
  restartInterval: number;
}

/**
 * Decodes the entropy-coded data of a scan that starts at `pos` into the components' coefficients.
 *
 * @param data the file bytes
 * @param pos offset just after the SOS segment
 * @param frame frame geometry
 * @param scan the parsed scan header
 * @returns offset of the 0xFF of the first marker after the scan other than RSTn (or the data
 *   length when there is none)
 */
export function decodeScan(
  data: Uint8Array,
  pos: number,
  frame: JpegFrame,
  scan: JpegScan,
): number {
  const r = new BitReader(data, pos);
  const comps = scan.components;
  const { ss, se, ah, al, dcTables, acTables } = scan;
  let eobrun = 0;

  const sequential = (i: number, coefs: Int16Array, off: number): void => {
    const c = comps[i];
    coefs.fill(0, off, off + 64);
    const s = r.decode(dcTables[i]!);
    c.dcPred = (c.dcPred + r.receiveExtend(s)) | 0;
    coefs[off] = c.dcPred;
    const ac = acTables[i]!;
    for (let k = 1; k < 64; k++) {
      const rs = r.decode(ac);
      const size = rs & 15;
      if (size !== 0) {
        k += rs >> 4;
        coefs[off + NATURAL_ORDER[k]] = r.receiveExtend(size);
      } else if (rs >> 4 === 15) {
        k += 15;
      } else {
        break;
      }
    }
  };

  const dcFirst = (i: number, coefs: Int16Array, off: number): void => {
    const c = comps[i];
    const s = r.decode(dcTables[i]!);
    c.dcPred = (c.dcPred + r.receiveExtend(s)) | 0;
    coefs[off] = c.dcPred << al;
  };

  const dcRefine = (_i: number, coefs: Int16Array, off: number): void => {
    if (r.bit()) coefs[off] |= 1 << al;
  };

  const acFirst = (i: number, coefs: Int16Array, off: number): void => {
    if (eobrun > 0) {
      eobrun--;
      return;
    }
    const ac = acTables[i]!;
    for (let k = ss; k <= se; k++) {
      const rs = r.decode(ac);
      const run = rs >> 4;
      const size = rs & 15;
      if (size !== 0) {
        k += run;
        coefs[off + NATURAL_ORDER[k]] = r.receiveExtend(size) << al;
      } else if (run === 15) {
        k += 15;
      } else {
        eobrun = (1 << run) - 1 + r.bits(run);
        break;
      }
    }
  };

  const acRefine = (i: number, coefs: Int16Array, off: number): void => {
    const p1 = 1 << al;
    const m1 = -1 << al;
    let k = ss;
    if (eobrun === 0) {
      const ac = acTables[i]!;
      for (; k <= se; k++) {
        const rs = r.decode(ac);
        let run = rs >> 4;
        let s = 0;
        if ((rs & 15) !== 0) {
          s = r.bit() ? p1 : m1;
        } else if (run !== 15) {
          eobrun = (1 << run) + r.bits(run);
          break;
        }
        // Skip `run` zero coefficients, appending correction bits to nonzero ones on the way.
        do {
          const z = off + NATURAL_ORDER[k];
          if (coefs[z] !== 0) {
            if (r.bit() && (coefs[z] & p1) === 0) coefs[z] += coefs[z] >= 0 ? p1 : m1;
          } else if (--run < 0) {
            break;
          }
          k++;
        } while (k <= se);
        if (s !== 0) coefs[off + NATURAL_ORDER[k]] = s;
      }
    }
    if (eobrun > 0) {
      for (; k <= se; k++) {
        const z = off + NATURAL_ORDER[k];
        if (coefs[z] !== 0 && r.bit() && (coefs[z] & p1) === 0) {
          coefs[z] += coefs[z] >= 0 ? p1 : m1;
        }
      }
      eobrun--;
    }
  };

  const decodeBlock = !frame.progressive
    ? sequential
    : ss === 0
    ? (ah === 0 ? dcFirst : dcRefine)
    : (ah === 0 ? acFirst : acRefine);

  for (const c of comps) c.dcPred = 0;
  const single = comps.length === 1;
  const c0 = comps[0];
  const mcuCount = single
    ? c0.blocksPerLine * c0.blocksPerColumn
    : frame.mcusPerLine * frame.mcusPerColumn;
  const ri = scan.restartInterval;
  for (let mcu = 0; mcu < mcuCount; mcu++) {
    if (ri > 0 && mcu > 0 && mcu % ri === 0) {
      r.restart();
      eobrun = 0;
      for (const c of comps) c.dcPred = 0;
    }
    if (r.exhausted) {
      // Out of data: libjpeg leaves the remaining blocks of the interval (or scan) untouched.
      if (ri === 0) break;
      mcu = (Math.floor(mcu / ri) + 1) * ri - 1;
      continue;
    }
    if (single) {
      const row = (mcu / c0.blocksPerLine) | 0;
      const col = mcu - row * c0.blocksPerLine;
      decodeBlock(0, c0.coefs, (row * c0.stride + col) * 64);
    } else {
      const mcuRow = (mcu / frame.mcusPerLine) | 0;
      const mcuCol = mcu - mcuRow * frame.mcusPerLine;
      for (let i = 0; i < comps.length; i++) {
        const c = comps[i];
        for (let y = 0; y < c.v; y++) {
          const rowBase = (mcuRow * c.v + y) * c.stride + mcuCol * c.h;
          for (let x = 0; x < c.h; x++) decodeBlock(i, c.coefs, (rowBase + x) * 64);
        }
      }
    }
  }
  return nextMarker(data, r.pos);
}

/** Offset of the next marker's 0xFF at or after `p`, skipping stuffed bytes and RSTn markers. */
function nextMarker(data: Uint8Array, p: number): number {
  const n = data.length;
  for (;;) {
    while (p < n && data[p] !== 0xff) p++;
    let q = p + 1;
    while (q < n && data[q] === 0xff) q++;
    if (q >= n) return n;
    const m = data[q];
    if (m !== 0 && (m < 0xd0 || m > 0xd7)) return q - 1;
    p = q + 1;
  }
}
