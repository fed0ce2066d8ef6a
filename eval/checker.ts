// Deterministic colour and shape classifier for the objects of the synthetic scenes
// (tools/scenes/scenes.py). Colour: the median hue of an object's saturated pixels, snapped to the
// nearest named hue. Shape: the best intersection-over-union between the object's mask and each
// shape template stretched to the mask's bounding box. For edited images, whose object mask is
// unknown, `segmentObject` cuts the object out of a search region first.
//
// The scene generator's colour rule makes this reliable: objects are saturated (HSV saturation
// >= 0.75), backgrounds are not (<= 0.35), and the named object hues are >= 40 degrees apart.

import type { RgbaImage } from "../image/rgba_image.ts";

/** Object colour names and their centre hues in degrees (HSV), as in tools/scenes/scenes.py. */
export const COLOUR_HUES = {
  red: 0,
  yellow: 55,
  green: 120,
  cyan: 180,
  blue: 228,
  purple: 280,
  pink: 325,
} as const;

/** A named object colour. */
export type Colour = keyof typeof COLOUR_HUES;

/** Every object colour, in the generator's order. */
export const COLOURS: readonly Colour[] = Object.keys(COLOUR_HUES) as Colour[];

/** Shape names, in the generator's order. */
export const SHAPES = ["circle", "square", "triangle", "star", "heart", "cross"] as const;

/** A named shape. */
export type Shape = (typeof SHAPES)[number];

/** A per-pixel object mask: nonzero (or true) marks the object. */
export type Mask = Uint8Array | readonly boolean[];

/** Saturation at or above which a pixel counts as object colour. */
export const SATURATION_MIN = 0.42;
/** Value (brightness) at or above which a pixel's hue is trusted. */
export const VALUE_MIN = 0.2;

/** What `classifyColour` found. */
export interface ColourResult {
  /** The nearest named colour, or null when fewer than `minPixels` pixels are saturated. */
  colour: Colour | null;
  /** Median hue of the saturated pixels in degrees [0, 360), NaN when there are none. */
  hue: number;
  /** Circular distance in degrees from `hue` to the named colour's centre. */
  hueError: number;
  /** How many masked pixels were saturated enough to vote. */
  saturatedPixels: number;
  /** How many pixels the mask holds. */
  maskPixels: number;
}

/** What `classifyShape` found. */
export interface ShapeResult {
  /** The template with the highest IoU, or null for an empty mask. */
  shape: Shape | null;
  /** IoU of the winning template with the mask. */
  iou: number;
  /** IoU for every template. */
  scores: Record<Shape, number>;
  /** The mask's bounding box [x0, y0, x1, y1], inclusive; null for an empty mask. */
  box: [number, number, number, number] | null;
}

/** Colour and shape of one object. */
export interface ObjectResult {
  colour: Colour | null;
  shape: Shape | null;
  colourResult: ColourResult;
  shapeResult: ShapeResult;
}

/** `classifyInRegion`'s result: the object found and the mask it was classified from. */
export interface RegionResult extends ObjectResult {
  /** The segmented object, one byte a pixel (1 = object). */
  mask: Uint8Array;
  /** The segment's soft alpha map (see `segmentObjectSoft`). */
  alpha: Float32Array;
}

function isOn(mask: Mask, i: number): boolean {
  return mask instanceof Uint8Array ? mask[i] !== 0 : mask[i] === true;
}

function checkMask(image: { width: number; height: number }, mask: Mask): void {
  if (mask.length !== image.width * image.height) {
    throw new RangeError(
      `Cannot use mask: expected ${
        image.width * image.height
      } pixels for a ${image.width}x${image.height} image, found ${mask.length}`,
    );
  }
}

/** HSV of an 8-bit RGB triple: hue in degrees [0, 360), saturation and value in [0, 1]. */
export function rgbToHsv(r: number, g: number, b: number): [number, number, number] {
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const d = max - min;
  const v = max / 255;
  const s = max === 0 ? 0 : d / max;
  if (d === 0) return [0, s, v];
  let h: number;
  if (max === r) h = ((g - b) / d) % 6;
  else if (max === g) h = (b - r) / d + 2;
  else h = (r - g) / d + 4;
  h *= 60;
  if (h < 0) h += 360;
  return [h, s, v];
}

function hueDistance(a: number, b: number): number {
  const d = Math.abs(a - b) % 360;
  return d > 180 ? 360 - d : d;
}

/** The named colour whose centre hue is nearest to `hue` (degrees). */
export function nearestColour(hue: number): { colour: Colour; distance: number } {
  let best: Colour = COLOURS[0];
  let bestD = Infinity;
  for (const c of COLOURS) {
    const d = hueDistance(hue, COLOUR_HUES[c]);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return { colour: best, distance: bestD };
}

/** Median of hues on the circle: rotate so the circular mean sits at 180, take the plain median. */
function circularMedian(hues: number[]): number {
  let sx = 0;
  let sy = 0;
  for (const h of hues) {
    sx += Math.cos((h * Math.PI) / 180);
    sy += Math.sin((h * Math.PI) / 180);
  }
  const mean = (Math.atan2(sy, sx) * 180) / Math.PI;
  const shift = 180 - mean;
  const rotated = hues.map((h) => (((h + shift) % 360) + 360) % 360).sort((a, b) => a - b);
  const n = rotated.length;
  const med = n % 2 === 1 ? rotated[(n - 1) / 2] : (rotated[n / 2 - 1] + rotated[n / 2]) / 2;
  return (((med - shift) % 360) + 360) % 360;
}

/**
 * Colour of the masked pixels: the circular median hue of those with saturation >=
 * `SATURATION_MIN` and value >= `VALUE_MIN`, snapped to the nearest named hue.
 */
export function classifyColour(
  image: RgbaImage,
  mask: Mask,
  options: { minPixels?: number } = {},
): ColourResult {
  checkMask(image, mask);
  const minPixels = options.minPixels ?? 3;
  const hues: number[] = [];
  let maskPixels = 0;
  const d = image.data;
  for (let i = 0; i < image.width * image.height; i++) {
    if (!isOn(mask, i)) continue;
    maskPixels++;
    const [h, s, v] = rgbToHsv(d[4 * i], d[4 * i + 1], d[4 * i + 2]);
    if (s >= SATURATION_MIN && v >= VALUE_MIN) hues.push(h);
  }
  if (hues.length < minPixels || hues.length === 0) {
    return {
      colour: null,
      hue: NaN,
      hueError: NaN,
      saturatedPixels: hues.length,
      maskPixels,
    };
  }
  const hue = circularMedian(hues);
  const { colour, distance } = nearestColour(hue);
  return { colour, hue, hueError: distance, saturatedPixels: hues.length, maskPixels };
}

function normalise(points: [number, number][]): [number, number][] {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const [x, y] of points) {
    x0 = Math.min(x0, x);
    y0 = Math.min(y0, y);
    x1 = Math.max(x1, x);
    y1 = Math.max(y1, y);
  }
  return points.map(([x, y]) => [(x - x0) / (x1 - x0), (y - y0) / (y1 - y0)]);
}

const polygonCache = new Map<Shape, [number, number][]>();

/**
 * The shape as a polygon in the unit box (x right, y down) whose bounding box is exactly [0,1]^2;
 * the same vertices as `shape_polygon` in tools/scenes/scenes.py.
 */
export function shapePolygon(shape: Shape): [number, number][] {
  const hit = polygonCache.get(shape);
  if (hit) return hit;
  let pts: [number, number][];
  switch (shape) {
    case "circle":
      pts = Array.from({ length: 96 }, (_, k) => {
        const t = (k * 2 * Math.PI) / 96;
        return [Math.cos(t), Math.sin(t)] as [number, number];
      });
      break;
    case "square":
      pts = [[0, 0], [1, 0], [1, 1], [0, 1]];
      break;
    case "triangle":
      pts = [[0.5, 0], [1, 1], [0, 1]];
      break;
    case "star":
      pts = Array.from({ length: 10 }, (_, k) => {
        const r = k % 2 === 0 ? 1 : 0.5;
        const a = -Math.PI / 2 + (k * Math.PI) / 5;
        return [r * Math.cos(a), r * Math.sin(a)] as [number, number];
      });
      break;
    case "heart":
      pts = Array.from({ length: 96 }, (_, k) => {
        const t = (k * 2 * Math.PI) / 96;
        const x = 16 * Math.sin(t) ** 3;
        const y = -(13 * Math.cos(t) - 5 * Math.cos(2 * t) - 2 * Math.cos(3 * t) -
          Math.cos(4 * t));
        return [x, y] as [number, number];
      });
      break;
    case "cross": {
      const a = 1 / 3, b = 2 / 3;
      pts = [[a, 0], [b, 0], [b, a], [1, a], [1, b], [b, b], [b, 1], [a, 1], [a, b], [0, b], [
        0,
        a,
      ], [a, a]];
      break;
    }
    default:
      throw new RangeError(`Unknown shape '${shape}'`);
  }
  const out = normalise(pts);
  polygonCache.set(shape, out);
  return out;
}

/**
 * Rasterises a shape stretched over the box [x, x+w] x [y, y+h] (pixel edges) into a
 * `width` x `height` mask: a pixel is on when at least half of its 4x4 sub-samples fall inside the
 * polygon (even-odd rule, scanline fill).
 */
export function rasterizeShape(
  shape: Shape,
  box: { x: number; y: number; w: number; h: number },
  width: number,
  height: number,
): Uint8Array {
  const counts = rasterizeWindow(shape, box, [0, 0, width, height]);
  for (let i = 0; i < counts.length; i++) counts[i] = counts[i] >= SUBSAMPLES / 2 ? 1 : 0;
  return counts;
}

/**
 * Coverage counts (0..16 inside sub-samples per pixel) of a shape over the window
 * [x0, x1) x [y0, y1) only: a (x1-x0) x (y1-y0) array.
 */
function rasterizeWindow(
  shape: Shape,
  box: { x: number; y: number; w: number; h: number },
  win: [number, number, number, number],
): Uint8Array {
  const ss = 4;
  const [wx0, wy0, wx1, wy1] = win;
  const ww = wx1 - wx0;
  const unit = shapePolygon(shape);
  const px = new Float64Array(unit.length);
  const py = new Float64Array(unit.length);
  for (let k = 0; k < unit.length; k++) {
    px[k] = box.x + unit[k][0] * box.w;
    py[k] = box.y + unit[k][1] * box.h;
  }
  const counts = new Uint8Array(ww * (wy1 - wy0));
  const yStart = Math.max(wy0, Math.floor(box.y));
  const yEnd = Math.min(wy1, Math.ceil(box.y + box.h));
  const xs: number[] = [];
  for (let row = yStart; row < yEnd; row++) {
    for (let sy = 0; sy < ss; sy++) {
      const yc = row + (sy + 0.5) / ss;
      xs.length = 0;
      for (let k = 0; k < px.length; k++) {
        const k1 = k + 1 === px.length ? 0 : k + 1;
        const ay = py[k], by = py[k1];
        if ((ay <= yc) !== (by <= yc)) {
          xs.push(px[k] + ((yc - ay) / (by - ay)) * (px[k1] - px[k]));
        }
      }
      xs.sort((a, b) => a - b);
      const base = (row - wy0) * ww;
      for (let k = 0; k + 1 < xs.length; k += 2) {
        // sub-sample columns j with centre (j + 0.5) / ss in [xs[k], xs[k+1])
        const j0 = Math.max(wx0 * ss, Math.ceil(xs[k] * ss - 0.5));
        const j1 = Math.min(wx1 * ss - 1, Math.ceil(xs[k + 1] * ss - 0.5) - 1);
        for (let j = j0; j <= j1; j++) counts[base + ((j / ss) | 0) - wx0]++;
      }
    }
  }
  return counts;
}

/** Sub-samples per pixel in `rasterizeWindow` (4 x 4). */
const SUBSAMPLES = 16;

/** Bounding box [x0, y0, x1, y1] (inclusive) of a mask, or null when it is empty. */
export function maskBox(
  mask: Mask,
  width: number,
  height: number,
): [number, number, number, number] | null {
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!isOn(mask, y * width + x)) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return x1 < 0 ? null : [x0, y0, x1, y1];
}

/** Soft IoU of two same-sized maps with values in [0, 1]: sum of minima over sum of maxima. */
function softIou(a: Float32Array, b: Float32Array): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i], y = b[i];
    if (x < y) {
      inter += x;
      union += y;
    } else {
      inter += y;
      union += x;
    }
  }
  return union === 0 ? 0 : inter / union;
}

/** Separable Gaussian blur of a w x h map (edges clamped), in place. */
function gaussianBlur(map: Float32Array, w: number, h: number, sigma: number): void {
  const r = Math.max(1, Math.ceil(2.5 * sigma));
  const k = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  const tmp = new Float32Array(map.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let i = -r; i <= r; i++) {
        acc += k[i + r] * map[y * w + Math.min(w - 1, Math.max(0, x + i))];
      }
      tmp[y * w + x] = acc;
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let i = -r; i <= r; i++) {
        acc += k[i + r] * tmp[Math.min(h - 1, Math.max(0, y + i)) * w + x];
      }
      map[y * w + x] = acc;
    }
  }
}

/** Largest amount (pixels) a template's box edge may move out of, or into, the mask's box. */
const FIT_OUT = 2.5;
const FIT_IN = 1;

/**
 * Fits one template to an object map (0/1 for a mask, or a soft alpha map): the template starts
 * stretched over the map's box, then each box edge moves by +-1 and +-0.5 pixels while the IoU
 * improves (thin tips such as a triangle's apex fall below half coverage, so a mask's box is a
 * little smaller than its shape's). With `blur` = 0 the template is its coverage >= 0.5 (as the
 * generator's masks); with `blur` > 0 it is its coverage fraction blurred by a Gaussian of that
 * sigma (pixels), to compare with the soft alpha of a decoded image, and the IoU is soft.
 */
function fitTemplate(
  target: Float32Array,
  shape: Shape,
  box: [number, number, number, number],
  width: number,
  height: number,
  search: boolean,
  blur: number,
): number {
  const [x0, y0, x1, y1] = box;
  const m = blur > 0 ? 3 + Math.ceil(2.5 * blur) : 3;
  const win: [number, number, number, number] = [
    Math.max(0, x0 - m),
    Math.max(0, y0 - m),
    Math.min(width, x1 + m + 1),
    Math.min(height, y1 + m + 1),
  ];
  const ww = win[2] - win[0];
  const wh = win[3] - win[1];
  const t = new Float32Array(ww * wh);
  for (let y = win[1]; y < win[3]; y++) {
    for (let x = win[0]; x < win[2]; x++) t[(y - win[1]) * ww + x - win[0]] = target[y * width + x];
  }
  // edge offsets: left, top (positive = outwards), right, bottom
  const off = [0, 0, 0, 0];
  const tpl = new Float32Array(ww * wh);
  const score = (o: number[]) => {
    const b = {
      x: x0 - o[0],
      y: y0 - o[1],
      w: x1 - x0 + 1 + o[0] + o[2],
      h: y1 - y0 + 1 + o[1] + o[3],
    };
    const counts = rasterizeWindow(shape, b, win);
    if (blur > 0) {
      for (let i = 0; i < counts.length; i++) tpl[i] = counts[i] / SUBSAMPLES;
      gaussianBlur(tpl, ww, wh, blur);
    } else {
      for (let i = 0; i < counts.length; i++) tpl[i] = counts[i] >= SUBSAMPLES / 2 ? 1 : 0;
    }
    return softIou(t, tpl);
  };
  let best = score(off);
  if (!search) return best;
  for (const step of [1, 0.5]) {
    for (let round = 0; round < 4; round++) {
      let improved = false;
      for (let e = 0; e < 4; e++) {
        for (const d of [step, -step]) {
          const v = off[e] + d;
          if (v > FIT_OUT || v < -FIT_IN) continue;
          const trial = off.slice();
          trial[e] = v;
          const sc = score(trial);
          if (sc > best + 1e-12) {
            best = sc;
            off[e] = v;
            improved = true;
          }
        }
      }
      if (!improved) break;
    }
  }
  return best;
}

/** Templates whose unfitted IoU is this far below the best unfitted one are not fitted. */
const FIT_MARGIN = 0.15;

function bestShape(
  target: Float32Array,
  box: [number, number, number, number] | null,
  width: number,
  height: number,
  blur: number,
): ShapeResult {
  const scores = Object.fromEntries(SHAPES.map((s) => [s, 0])) as Record<Shape, number>;
  if (box === null) return { shape: null, iou: 0, scores, box };
  for (const s of SHAPES) scores[s] = fitTemplate(target, s, box, width, height, false, blur);
  const top = Math.max(...SHAPES.map((s) => scores[s]));
  let best: Shape = SHAPES[0];
  for (const s of SHAPES) {
    if (scores[s] >= top - FIT_MARGIN) {
      scores[s] = fitTemplate(target, s, box, width, height, true, blur);
    }
    if (scores[s] > scores[best]) best = s;
  }
  return { shape: best, iou: scores[best], scores, box };
}

/**
 * Shape of a mask: every template is stretched over the mask's bounding box; those within
 * `FIT_MARGIN` of the best IoU are then fitted (`fitTemplate`: edges nudged by up to a few pixels)
 * and the highest IoU wins. Templates not fitted report their unfitted IoU in `scores`. Shapes in
 * the scenes are upright, so no rotation is searched.
 */
export function classifyShape(mask: Mask, width: number, height: number): ShapeResult {
  checkMask({ width, height }, mask);
  const target = new Float32Array(width * height);
  for (let i = 0; i < target.length; i++) target[i] = isOn(mask, i) ? 1 : 0;
  return bestShape(target, maskBox(mask, width, height), width, height, 0);
}

/** Gaussian sigma (pixels) applied to templates compared with a decoded image's soft alpha. */
export const SOFT_BLUR = 0.7;

/**
 * Shape of a soft object map (alpha in [0, 1] per pixel, as `segmentObjectSoft` estimates): like
 * `classifyShape`, but the templates are blurred coverage maps and the IoU is soft, so tips and
 * notches that an autoencoder has smeared still count in proportion to what is left of them. The
 * box starts as the bounding box of alpha >= 0.5.
 */
export function classifyShapeSoft(
  alpha: Float32Array,
  width: number,
  height: number,
  blur = SOFT_BLUR,
): ShapeResult {
  checkMask({ width, height }, alpha as unknown as Uint8Array);
  const core = new Uint8Array(alpha.length);
  for (let i = 0; i < alpha.length; i++) core[i] = alpha[i] >= 0.5 ? 1 : 0;
  return bestShape(alpha, maskBox(core, width, height), width, height, blur);
}

/** Colour from the masked hue and shape from the mask itself (for a known object mask). */
export function classifyObject(image: RgbaImage, mask: Mask): ObjectResult {
  const colourResult = classifyColour(image, mask);
  const shapeResult = classifyShape(mask, image.width, image.height);
  return { colour: colourResult.colour, shape: shapeResult.shape, colourResult, shapeResult };
}

/** Grows a mask by `radius` pixels (square neighbourhood, Chebyshev distance). */
export function dilate(mask: Mask, width: number, height: number, radius: number): Uint8Array {
  const tmp = new Uint8Array(width * height);
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!isOn(mask, y * width + x)) continue;
      for (let dx = Math.max(0, x - radius); dx <= Math.min(width - 1, x + radius); dx++) {
        tmp[y * width + dx] = 1;
      }
    }
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!tmp[y * width + x]) continue;
      for (let dy = Math.max(0, y - radius); dy <= Math.min(height - 1, y + radius); dy++) {
        out[dy * width + x] = 1;
      }
    }
  }
  return out;
}

/** Options of `segmentObject`. */
export interface SegmentOptions {
  /** Width in pixels of the ring outside the region that samples the local background (3). */
  ring?: number;
  /** Minimum RGB distance (0..441) from every background sample for an object pixel (40). */
  minDistance?: number;
  /** Minimum saturation of an object pixel (`SATURATION_MIN`). */
  minSaturation?: number;
}

/** A segmented object: its mask (alpha >= 0.5) and its soft alpha map, both one value a pixel. */
export interface Segment {
  /** 1 = object: the largest 4-connected component of alpha >= 0.5, holes filled. */
  mask: Uint8Array;
  /** Estimated object coverage in [0, 1]; 0 away from the object and outside the region. */
  alpha: Float32Array;
}

/**
 * Cuts the object out of `region` (for example the union of the source and target object masks,
 * dilated by a few pixels): object pixels are saturated and differ by more than `minDistance`
 * from every colour in a ring of background just outside the region. The largest 4-connected
 * component is kept, its holes are filled, and its edge is refined to the pixels that are at
 * least half object colour (see `segmentObjectSoft`). Returns one byte a pixel (1 = object).
 */
export function segmentObject(
  image: RgbaImage,
  region: Mask,
  options: SegmentOptions = {},
): Uint8Array {
  return segmentObjectSoft(image, region, options).mask;
}

/**
 * `segmentObject` with the soft alpha map. Anti-aliased or blurred edges make a saturation cut
 * fatter or thinner than the object, so each pixel within 2 pixels of the saturated blob is
 * modelled as a mix p = a*o + (1-a)*b of the object colour o (per-channel median over the blob)
 * and the background sample b that explains it best; a pixel that no such mix explains (residual
 * over 48 in RGB, e.g. another object) gets a = 0. The mask keeps a >= 0.5, as the generator's
 * masks keep coverage >= 0.5.
 */
export function segmentObjectSoft(
  image: RgbaImage,
  region: Mask,
  options: SegmentOptions = {},
): Segment {
  checkMask(image, region);
  const { width, height, data } = image;
  const ringWidth = options.ring ?? 3;
  const minDist2 = (options.minDistance ?? 40) ** 2;
  const minSat = options.minSaturation ?? SATURATION_MIN;
  const n = width * height;
  const inRegion = new Uint8Array(n);
  for (let i = 0; i < n; i++) inRegion[i] = isOn(region, i) ? 1 : 0;
  const grown = dilate(inRegion, width, height, ringWidth);
  // background samples: distinct colours of the ring, quantised to 64 levels per channel
  const seen = new Set<number>();
  const bg: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!grown[i] || inRegion[i]) continue;
    const key = ((data[4 * i] >> 2) << 12) | ((data[4 * i + 1] >> 2) << 6) | (data[4 * i + 2] >> 2);
    if (seen.has(key)) continue;
    seen.add(key);
    bg.push(data[4 * i], data[4 * i + 1], data[4 * i + 2]);
  }
  const fg = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (!inRegion[i]) continue;
    const r = data[4 * i], g = data[4 * i + 1], b = data[4 * i + 2];
    const [, s, v] = rgbToHsv(r, g, b);
    if (s < minSat || v < VALUE_MIN) continue;
    let far = true;
    for (let k = 0; k < bg.length; k += 3) {
      const dr = r - bg[k], dg = g - bg[k + 1], db = b - bg[k + 2];
      if (dr * dr + dg * dg + db * db <= minDist2) {
        far = false;
        break;
      }
    }
    if (far) fg[i] = 1;
  }
  const blob = fillHoles(largestComponent(fg, width, height), width, height);
  const alpha = new Float32Array(n);
  const chans: number[][] = [[], [], []];
  for (let i = 0; i < n; i++) {
    if (!blob[i]) continue;
    for (let c = 0; c < 3; c++) chans[c].push(data[4 * i + c]);
  }
  if (chans[0].length === 0 || bg.length === 0) {
    for (let i = 0; i < n; i++) alpha[i] = blob[i];
    return { mask: blob, alpha };
  }
  const o = chans.map((v) => {
    v.sort((a, b) => a - b);
    return v[(v.length - 1) >> 1];
  });
  const near = dilate(blob, width, height, 2);
  const maxRes = 48 * 48;
  for (let i = 0; i < n; i++) {
    if (!near[i] || !inRegion[i]) continue;
    const p0 = data[4 * i], p1 = data[4 * i + 1], p2 = data[4 * i + 2];
    let bestRes = Infinity;
    let bestAlpha = 0;
    for (let k = 0; k < bg.length; k += 3) {
      const d0 = o[0] - bg[k], d1 = o[1] - bg[k + 1], d2 = o[2] - bg[k + 2];
      const q0 = p0 - bg[k], q1 = p1 - bg[k + 1], q2 = p2 - bg[k + 2];
      const dd = d0 * d0 + d1 * d1 + d2 * d2;
      if (dd === 0) continue;
      const a = Math.min(1, Math.max(0, (q0 * d0 + q1 * d1 + q2 * d2) / dd));
      const r0 = q0 - a * d0, r1 = q1 - a * d1, r2 = q2 - a * d2;
      const res = r0 * r0 + r1 * r1 + r2 * r2;
      if (res < bestRes) {
        bestRes = res;
        bestAlpha = a;
      }
    }
    alpha[i] = bestRes <= maxRes ? bestAlpha : 0;
  }
  const half = new Uint8Array(n);
  for (let i = 0; i < n; i++) half[i] = alpha[i] >= 0.5 ? 1 : 0;
  const mask = fillHoles(largestComponent(half, width, height), width, height);
  // keep alpha only around the kept component (drops other blobs), and 1 inside it
  const keep = dilate(mask, width, height, 2);
  for (let i = 0; i < n; i++) alpha[i] = mask[i] ? Math.max(alpha[i], 0.5) : keep[i] ? alpha[i] : 0;
  return { mask, alpha };
}

/** The largest 4-connected component of a mask (ties: the first found in row order). */
export function largestComponent(mask: Uint8Array, width: number, height: number): Uint8Array {
  const label = new Int32Array(width * height);
  const stack: number[] = [];
  let bestLabel = 0, bestSize = 0, next = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i] || label[i]) continue;
    next++;
    let size = 0;
    label[i] = next;
    stack.push(i);
    while (stack.length > 0) {
      const p = stack.pop()!;
      size++;
      const x = p % width, y = (p - x) / width;
      const nb = [
        x > 0 ? p - 1 : -1,
        x < width - 1 ? p + 1 : -1,
        y > 0 ? p - width : -1,
        y < height - 1 ? p + width : -1,
      ];
      for (const q of nb) {
        if (q >= 0 && mask[q] && !label[q]) {
          label[q] = next;
          stack.push(q);
        }
      }
    }
    if (size > bestSize) {
      bestSize = size;
      bestLabel = next;
    }
  }
  const out = new Uint8Array(mask.length);
  if (bestLabel === 0) return out;
  for (let i = 0; i < out.length; i++) out[i] = label[i] === bestLabel ? 1 : 0;
  return out;
}

/** Sets every off pixel not 4-connected to the image border. */
export function fillHoles(mask: Uint8Array, width: number, height: number): Uint8Array {
  const outside = new Uint8Array(mask.length);
  const stack: number[] = [];
  const push = (p: number) => {
    if (!mask[p] && !outside[p]) {
      outside[p] = 1;
      stack.push(p);
    }
  };
  for (let x = 0; x < width; x++) {
    push(x);
    push((height - 1) * width + x);
  }
  for (let y = 0; y < height; y++) {
    push(y * width);
    push(y * width + width - 1);
  }
  while (stack.length > 0) {
    const p = stack.pop()!;
    const x = p % width, y = (p - x) / width;
    if (x > 0) push(p - 1);
    if (x < width - 1) push(p + 1);
    if (y > 0) push(p - width);
    if (y < height - 1) push(p + width);
  }
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < out.length; i++) out[i] = outside[i] ? 0 : 1;
  return out;
}

/**
 * Classifies the object inside `region` of an image whose object mask is unknown (an edited
 * image): `segmentObjectSoft`, then colour from the segment's mask and shape from its soft alpha
 * (`classifyShapeSoft`, robust to edges an autoencoder has smeared).
 */
export function classifyInRegion(
  image: RgbaImage,
  region: Mask,
  options: SegmentOptions = {},
): RegionResult {
  const seg = segmentObjectSoft(image, region, options);
  const colourResult = classifyColour(image, seg.mask);
  const shapeResult = classifyShapeSoft(seg.alpha, image.width, image.height);
  return {
    colour: colourResult.colour,
    shape: shapeResult.shape,
    colourResult,
    shapeResult,
    mask: seg.mask,
    alpha: seg.alpha,
  };
}
