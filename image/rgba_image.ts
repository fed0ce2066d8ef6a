// The one in-memory image form shared by the codecs, the resizer, the pipeline and the CLI.

/** An 8-bit RGBA image: `data` is row-major, 4 bytes a pixel, not premultiplied. */
export interface RgbaImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** `width * height * 4` bytes: R, G, B, A for each pixel, row by row. */
  data: Uint8Array;
}
