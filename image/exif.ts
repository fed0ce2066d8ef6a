// Reads the EXIF orientation tag (0x0112) from a JPEG APP1 "Exif\0\0" payload (EXIF 2.32 / TIFF 6.0
// header and IFD0, either byte order). Parsing is bounded by the payload and never throws: a
// malformed block counts as "no orientation".

/** Orientation tag in IFD0. */
const TAG_ORIENTATION = 0x0112;

/**
 * Returns the EXIF orientation (1..8) stored in an APP1 segment payload, or 1 when the payload is not
 * EXIF, is malformed, or has no valid orientation.
 *
 * 1 is as stored; 2 mirrors left-right; 3 rotates 180 degrees; 4 mirrors top-bottom; 5 transposes;
 * 6 rotates 90 degrees clockwise; 7 transverses; 8 rotates 90 degrees counter-clockwise.
 *
 * @param app1 the APP1 segment payload (after the length field)
 * @returns the orientation, 1..8
 */
export function readExifOrientation(app1: Uint8Array): number {
  // "Exif\0\0" then the TIFF header: byte order, 42, offset of IFD0.
  if (app1.length < 6 + 8) return 1;
  if (
    app1[0] !== 0x45 || app1[1] !== 0x78 || app1[2] !== 0x69 || app1[3] !== 0x66 ||
    app1[4] !== 0 || app1[5] !== 0
  ) return 1;
  const t = app1.subarray(6);
  let little: boolean;
  if (t[0] === 0x49 && t[1] === 0x49) little = true;
  else if (t[0] === 0x4d && t[1] === 0x4d) little = false;
  else return 1;
  const u16 = (o: number) => little ? t[o] | (t[o + 1] << 8) : (t[o] << 8) | t[o + 1];
  const u32 = (o: number) =>
    little
      ? (t[o] | (t[o + 1] << 8) | (t[o + 2] << 16) | (t[o + 3] << 24)) >>> 0
      : ((t[o] << 24) | (t[o + 1] << 16) | (t[o + 2] << 8) | t[o + 3]) >>> 0;
  if (u16(2) !== 42) return 1;
  const ifd = u32(4);
  if (ifd < 8 || ifd > t.length - 2) return 1;
  const entries = Math.min(u16(ifd), Math.floor((t.length - ifd - 2) / 12));
  for (let i = 0; i < entries; i++) {
    const e = ifd + 2 + 12 * i;
    if (u16(e) !== TAG_ORIENTATION) continue;
    const type = u16(e + 2);
    const count = u32(e + 4);
    if (count < 1) return 1;
    // SHORT as the standard says; LONG tolerated. Either sits in the first bytes of the value field.
    const value = type === 3 ? u16(e + 8) : type === 4 ? u32(e + 8) : 0;
    return value >= 1 && value <= 8 ? value : 1;
  }
  return 1;
}
