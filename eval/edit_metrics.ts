// Scores one edit of the edit set (issue 7): did the checker find the target colour and shape where
// the edited object is, how much of the background outside the objects survived, and how well the
// source branch reconstructed the input.

import type { RgbaImage } from "../image/rgba_image.ts";
import { classifyInRegion, type Colour, dilate, type Shape } from "./checker.ts";
import type { EditScene } from "./edit_set.ts";

/** Pixels the checker's search region reaches beyond the objects (as validated: radius 3). */
export const REGION_RADIUS = 3;

/** The score of one edit. */
export interface EditScore {
  /** What the checker found in the edited object's region. */
  found: { colour: Colour | null; shape: Shape | null };
  /** The target colour was found. */
  colourOk: boolean;
  /** The target shape was found. */
  shapeOk: boolean;
  /** Both: the edit succeeded. */
  success: boolean;
  /** Colour-only edits: the shape found is still the source shape; null for other kinds. */
  shapeKept: boolean | null;
  /** PSNR (dB) of the edited image against the input outside the union of the edited object's
   * source and target masks (another object, if any, counts as background). */
  backgroundPsnr: number;
  /** PSNR (dB) of the reconstruction against the input, whole image. */
  reconstructionPsnr: number;
}

/** PSNR in dB over the RGB channels of the pixels where `where` is nonzero (all when omitted). */
export function psnr(a: RgbaImage, b: RgbaImage, where?: Uint8Array): number {
  if (a.width !== b.width || a.height !== b.height) {
    throw new RangeError(
      `Cannot compare images of ${a.width}x${a.height} and ${b.width}x${b.height}`,
    );
  }
  let se = 0, count = 0;
  for (let i = 0; i < a.width * a.height; i++) {
    if (where && !where[i]) continue;
    for (let c = 0; c < 3; c++) {
      const d = a.data[4 * i + c] - b.data[4 * i + c];
      se += d * d;
    }
    count += 3;
  }
  if (count === 0) return NaN;
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255 * count) / se);
}

/** Scores an edit of `scene` given the edited image and the source branch's reconstruction. */
export function scoreEdit(
  scene: EditScene,
  edited: RgbaImage,
  reconstruction: RgbaImage,
): EditScore {
  const { width, height } = scene.image;
  const source = scene.masks[scene.edit.object], target = scene.edit.targetMask;
  const union = new Uint8Array(width * height);
  for (let i = 0; i < union.length; i++) union[i] = source[i] || target[i] ? 1 : 0;
  const region = dilate(union, width, height, REGION_RADIUS);
  const r = classifyInRegion(edited, region);
  const want = scene.edit.target;
  const colourOk = r.colour === want.colour, shapeOk = r.shape === want.shape;
  // the other object, if any, counts as background: it should survive the edit unchanged
  const background = union.map((u) => 1 - u);
  return {
    found: { colour: r.colour, shape: r.shape },
    colourOk,
    shapeOk,
    success: colourOk && shapeOk,
    shapeKept: scene.edit.kind === "colour"
      ? r.shape === scene.objects[scene.edit.object].shape
      : null,
    backgroundPsnr: psnr(edited, scene.image, background),
    reconstructionPsnr: psnr(reconstruction, scene.image),
  };
}
