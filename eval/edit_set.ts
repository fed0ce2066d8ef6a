// Reader for the held-out edit set written by `tools/scenes/generate.py eval`
// (tests/fixtures/scenes/eval/): index.jsonl, one scene per line, with its PNG image, one mask PNG
// per object, and an edit (source and target words, target caption, the ideal result and the mask
// of the edited object after the edit). Never trained on (stream 1).

import { decodeImage } from "../image/decode_image.ts";
import type { RgbaImage } from "../image/rgba_image.ts";
import type { Colour, Shape } from "./checker.ts";

/** What an edit changes. */
export type EditKind = "colour" | "shape" | "both";

/** One object of a scene, as the generator drew it. */
export interface SceneObject {
  shape: Shape;
  colour: Colour;
}

/** One scene of the edit set, with its images loaded. */
export interface EditScene {
  id: string;
  caption: string;
  image: RgbaImage;
  /** One mask per object, one byte a pixel (1 = object). */
  masks: Uint8Array[];
  objects: SceneObject[];
  edit: {
    kind: EditKind;
    /** Index of the edited object. */
    object: number;
    sourceWords: string[];
    targetWords: string[];
    targetCaption: string;
    /** The edited object as it should look. */
    target: SceneObject;
    /** Mask of the edited object after the ideal edit. */
    targetMask: Uint8Array;
    /** The ideal result (the generator's rendering of the target caption's scene). */
    targetImage: RgbaImage;
  };
}

interface IndexLine {
  id: string;
  width: number;
  height: number;
  caption: string;
  image: string;
  masks: string[];
  objects: { shape: Shape; colour: { name: Colour } }[];
  edit: {
    kind: EditKind;
    object: number;
    source_words: string[];
    target_words: string[];
    target_caption: string;
    target_image: string;
    target_mask: string;
    target_object: { shape: Shape; colour: { name: Colour } };
  };
}

/** The edit set's folder in this repository. */
export const EDIT_SET_DIR = new URL("../tests/fixtures/scenes/eval/", import.meta.url);

async function png(dir: URL, name: string): Promise<RgbaImage> {
  return decodeImage(await Deno.readFile(new URL(name, dir)));
}

/** A mask PNG (white = object) as one byte a pixel. */
function toMask(image: RgbaImage): Uint8Array {
  const out = new Uint8Array(image.width * image.height);
  for (let i = 0; i < out.length; i++) out[i] = image.data[4 * i] >= 128 ? 1 : 0;
  return out;
}

/** Reads the first `count` scenes (all by default) of the edit set in `dir`. */
export async function readEditSet(dir: URL = EDIT_SET_DIR, count = Infinity): Promise<EditScene[]> {
  const lines = (await Deno.readTextFile(new URL("index.jsonl", dir))).split("\n")
    .filter((l) => l.trim() !== "").slice(0, count);
  const scenes: EditScene[] = [];
  for (const line of lines) {
    const s: IndexLine = JSON.parse(line);
    const image = await png(dir, s.image);
    if (image.width !== s.width || image.height !== s.height) {
      throw new RangeError(
        `Cannot read scene '${s.id}': index says ${s.width}x${s.height}, image is ${image.width}x${image.height}`,
      );
    }
    const masks = await Promise.all(s.masks.map(async (m) => toMask(await png(dir, m))));
    const e = s.edit;
    scenes.push({
      id: s.id,
      caption: s.caption,
      image,
      masks,
      objects: s.objects.map((o) => ({ shape: o.shape, colour: o.colour.name })),
      edit: {
        kind: e.kind,
        object: e.object,
        sourceWords: e.source_words,
        targetWords: e.target_words,
        targetCaption: e.target_caption,
        target: { shape: e.target_object.shape, colour: e.target_object.colour.name },
        targetMask: toMask(await png(dir, e.target_mask)),
        targetImage: await png(dir, e.target_image),
      },
    });
  }
  return scenes;
}
