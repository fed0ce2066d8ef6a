// Accuracy of the checker on ground-truth scenes: colour and shape per object, once with the true
// mask and once by self-segmentation inside the true mask dilated by `regionRadius` pixels (what
// the edit benchmark does with the union of source and target masks).

import {
  classifyInRegion,
  classifyObject,
  type Colour,
  dilate,
  type Shape,
  SHAPES,
} from "./checker.ts";
import { objectMask, type RawScene } from "./scene_set.ts";

/** Counts and accuracies over a set of objects. */
export interface AccuracyReport {
  objects: number;
  colourTrueMask: number;
  shapeTrueMask: number;
  colourSegmented: number;
  shapeSegmented: number;
  /** Shape confusions with the true mask: "true->found" counts. */
  shapeConfusionTrueMask: Record<string, number>;
  shapeConfusionSegmented: Record<string, number>;
  colourConfusionSegmented: Record<string, number>;
  /** Up to 20 failures, for reading. */
  failures: {
    source: string;
    object: number;
    truth: string;
    trueMask: string;
    segmented: string;
  }[];
}

/** Runs the checker on every object of every scene. */
export function checkerAccuracy(scenes: RawScene[], regionRadius = 3): AccuracyReport {
  let n = 0, ct = 0, st = 0, cs = 0, ss = 0;
  const confT: Record<string, number> = {};
  const confS: Record<string, number> = {};
  const confC: Record<string, number> = {};
  const failures: AccuracyReport["failures"] = [];
  const bump = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);
  for (const sc of scenes) {
    const { width, height } = sc.image;
    sc.objects.forEach((truth, k) => {
      const mask = objectMask(sc, k);
      const a = classifyObject(sc.image, mask);
      const b = classifyInRegion(sc.image, dilate(mask, width, height, regionRadius));
      n++;
      const okCT = a.colour === truth.colour, okST = a.shape === truth.shape;
      const okCS = b.colour === truth.colour, okSS = b.shape === truth.shape;
      ct += okCT ? 1 : 0;
      st += okST ? 1 : 0;
      cs += okCS ? 1 : 0;
      ss += okSS ? 1 : 0;
      if (!okST) bump(confT, `${truth.shape}->${a.shape}`);
      if (!okSS) bump(confS, `${truth.shape}->${b.shape}`);
      if (!okCS) bump(confC, `${truth.colour}->${b.colour}`);
      if ((!okCT || !okST || !okCS || !okSS) && failures.length < 20) {
        failures.push({
          source: sc.source,
          object: k,
          truth: `${truth.colour} ${truth.shape}`,
          trueMask: `${a.colour} ${a.shape} (iou ${a.shapeResult.iou.toFixed(3)})`,
          segmented: `${b.colour} ${b.shape} (iou ${b.shapeResult.iou.toFixed(3)})`,
        });
      }
    });
  }
  return {
    objects: n,
    colourTrueMask: ct / n,
    shapeTrueMask: st / n,
    colourSegmented: cs / n,
    shapeSegmented: ss / n,
    shapeConfusionTrueMask: confT,
    shapeConfusionSegmented: confS,
    colourConfusionSegmented: confC,
    failures,
  };
}

export type { Colour, Shape };
export const SHAPE_NAMES = SHAPES;
