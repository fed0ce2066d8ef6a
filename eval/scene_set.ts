// Reader for the raw scene dumps written by `tools/scenes/generate.py raw`: a gzip of, per scene,
// width*height*3 RGB bytes then width*height label bytes (0 = background, k+1 = object k), and a
// JSON index with each scene's byte offset, size and objects.

import type { RgbaImage } from "../image/rgba_image.ts";
import type { Colour, Shape } from "./checker.ts";

/** One scene of a raw dump: the image, its label map and the true colour and shape per object. */
export interface RawScene {
  image: RgbaImage;
  /** One byte a pixel: 0 background, k+1 object k. */
  labels: Uint8Array;
  objects: { colour: Colour; shape: Shape }[];
  /** Where the scene came from, e.g. "stream3:12" or "stream3:12:target". */
  source: string;
}

interface RawIndex {
  seed: number;
  stream: number;
  count: number;
  scenes: {
    offset: number;
    width: number;
    height: number;
    source: string;
    objects: { colour: Colour; shape: Shape }[];
  }[];
}

async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new DecompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Reads a raw dump (`dataPath`, gzip) and its JSON index. */
export async function readRawScenes(dataPath: string, indexPath: string): Promise<RawScene[]> {
  const index: RawIndex = JSON.parse(await Deno.readTextFile(indexPath));
  const raw = await gunzip(await Deno.readFile(dataPath));
  return index.scenes.map((s) => {
    const n = s.width * s.height;
    if (s.offset + 4 * n > raw.length) {
      throw new RangeError(
        `Cannot read scene '${s.source}': needs bytes up to ${
          s.offset + 4 * n
        }, the dump has ${raw.length}`,
      );
    }
    const rgb = raw.subarray(s.offset, s.offset + 3 * n);
    const data = new Uint8Array(4 * n);
    for (let i = 0; i < n; i++) {
      data[4 * i] = rgb[3 * i];
      data[4 * i + 1] = rgb[3 * i + 1];
      data[4 * i + 2] = rgb[3 * i + 2];
      data[4 * i + 3] = 255;
    }
    const labels = raw.slice(s.offset + 3 * n, s.offset + 4 * n);
    return {
      image: { width: s.width, height: s.height, data },
      labels,
      objects: s.objects,
      source: s.source,
    };
  });
}

/** The mask of object k of a scene, one byte a pixel. */
export function objectMask(scene: RawScene, k: number): Uint8Array {
  const out = new Uint8Array(scene.labels.length);
  for (let i = 0; i < out.length; i++) out[i] = scene.labels[i] === k + 1 ? 1 : 0;
  return out;
}
