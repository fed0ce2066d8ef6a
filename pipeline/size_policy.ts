// The processing-size policy (SPEC §10): by default the model's native area at the input's aspect
// ratio, each side a multiple of vae_scale·patch (16 for the real models); the output is resized
// back to the input size by the caller.

/** Processing size for an input of `width`×`height` on a model of native side `native` pixels. */
export function processingSize(
  width: number,
  height: number,
  native: number,
  multiple: number,
  requested?: { width: number; height: number },
): { width: number; height: number } {
  if (requested) {
    for (const [name, v] of [["width", requested.width], ["height", requested.height]] as const) {
      if (!Number.isInteger(v) || v < multiple || v % multiple !== 0 || v > 8192) {
        throw new RangeError(
          `Cannot use size ${requested.width}x${requested.height}: ${name} ${v} must be a multiple of ${multiple} in [${multiple}, 8192]`,
        );
      }
    }
    return { ...requested };
  }
  const area = native * native, aspect = width / height;
  const snap = (v: number) => Math.max(multiple, Math.round(v / multiple) * multiple);
  return { width: snap(Math.sqrt(area * aspect)), height: snap(Math.sqrt(area / aspect)) };
}
