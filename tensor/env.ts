// The one place that reads environment variables (std: library code needs no permission beyond
// what a caller opts into; without --allow-env everything falls back to defaults).

function read(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no env permission
  }
}

/** Cache folder for autotune choices and prompt embeddings: $DIT4EDIT_CACHE_DIR or XDG's. */
export function cacheDir(): string | undefined {
  const own = read("DIT4EDIT_CACHE_DIR");
  if (own) return own;
  const xdg = read("XDG_CACHE_HOME");
  if (xdg) return `${xdg}/dit4edit`;
  const home = read("HOME");
  return home ? `${home}/.cache/dit4edit` : undefined;
}

/** True when DIT4EDIT_AUTOTUNE=1 asks kernels to time their variants (never in tests or CI). */
export function autotuneRequested(): boolean {
  return read("DIT4EDIT_AUTOTUNE") === "1" && read("CI") !== "true";
}
