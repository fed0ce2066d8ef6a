// Explicit tensor lifetime: `scope(fn)` frees every tensor created inside except what it returns.

/** Anything with an explicit lifetime that scopes can track. */
export interface Disposable {
  /** Frees the resource; safe to call twice. */
  dispose(): void;
  /** True once disposed. */
  readonly disposed: boolean;
}

const stack: Set<Disposable>[] = [];

/** Registers a new tensor with the innermost open scope (called by the Tensor constructor). */
export function track(t: Disposable): void {
  stack[stack.length - 1]?.add(t);
}

/** Removes `t` from the innermost scope so it outlives it (e.g. weights built inside a scope). */
export function keep<T extends Disposable>(t: T): T {
  for (const s of stack) s.delete(t);
  return t;
}

function collect(value: unknown, out: Set<unknown>, depth = 0): void {
  if (value === null || typeof value !== "object" || depth > 4 || out.has(value)) return;
  out.add(value);
  if (Array.isArray(value)) { for (const v of value) collect(v, out, depth + 1); }
  else if (value instanceof Map) { for (const v of value.values()) collect(v, out, depth + 1); }
  else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, out, depth + 1);
  }
}

function close(own: Set<Disposable>, result: unknown): void {
  const i = stack.lastIndexOf(own);
  if (i >= 0) stack.splice(i, 1);
  const returned = new Set<unknown>();
  collect(result, returned);
  const parent = stack[stack.length - 1];
  for (const t of own) {
    if (returned.has(t)) parent?.add(t);
    else t.dispose();
  }
}

/**
 * Runs `fn` and disposes every tensor created while it runs, except those it returns (found in
 * the result itself, or in arrays, maps and plain objects up to 4 levels deep). An async `fn` is
 * awaited first; run async scopes one after another, not interleaved.
 *
 * @example
 * ```ts ignore
 * const y = scope(() => add(mul(x, w), b)); // the product is freed, y is kept
 * ```
 */
export function scope<T>(fn: () => T): T {
  const own = new Set<Disposable>();
  stack.push(own);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    close(own, undefined);
    throw e;
  }
  if (result instanceof Promise) {
    return result.then(
      (v) => (close(own, v), v),
      (e) => {
        close(own, undefined);
        throw e;
      },
    ) as T;
  }
  close(own, result);
  return result;
}
