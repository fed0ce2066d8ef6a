// JSON files with errors that name the file and the position: V8 omits the position for some
// errors ("Unexpected token"), so a small grammar scan finds it in those cases.

/** Thrown by the scan with the offset of the first byte that breaks the JSON grammar. */
class JsonAt {
  constructor(readonly at: number) {}
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** Offset of the first grammar error in `s` (s.length for a premature end), or -1 if none. */
export function jsonErrorOffset(s: string): number {
  let i = 0;
  const ws = () => {
    while (i < s.length && (s[i] === " " || s[i] === "\t" || s[i] === "\n" || s[i] === "\r")) i++;
  };
  const expect = (c: string) => {
    if (s[i] !== c) throw new JsonAt(i);
    i++;
  };
  const str = () => {
    expect('"');
    for (;;) {
      if (i >= s.length) throw new JsonAt(i);
      const c = s.charCodeAt(i);
      if (c === 0x22) return void i++;
      if (c < 0x20) throw new JsonAt(i);
      if (c === 0x5c) {
        const e = s[i + 1];
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(s.slice(i + 2, i + 6))) throw new JsonAt(i);
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else throw new JsonAt(i);
      } else i++;
    }
  };
  const value = (): void => {
    ws();
    const c = s[i];
    if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      i++;
      ws();
      if (s[i] === close) return void i++;
      for (;;) {
        if (c === "{") {
          ws();
          str();
          ws();
          expect(":");
        }
        value();
        ws();
        if (s[i] === ",") i++;
        else return expect(close);
      }
    }
    if (c === '"') return str();
    for (const lit of ["true", "false", "null"]) {
      if (s.startsWith(lit, i)) return void (i += lit.length);
    }
    NUMBER.lastIndex = i;
    if (!NUMBER.test(s)) throw new JsonAt(i);
    i = NUMBER.lastIndex;
  };
  try {
    value();
    ws();
    return i < s.length ? i : -1;
  } catch (e) {
    if (e instanceof JsonAt) return e.at;
    return -1; // too deep for the scan: report without a position
  }
}

// Python's json module writes Infinity, -Infinity and NaN (diffusers' scheduler configs hold
// `"lambda_min_clipped": -Infinity`); outside strings they are quoted with a marker and revived.
const PY_CONSTANTS = new Map<string, number>([
  ["\u0000-Infinity", -Infinity],
  ["\u0000Infinity", Infinity],
  ["\u0000NaN", NaN],
]);

function pythonConstantsQuoted(text: string): string {
  if (!/Infinity|NaN/.test(text)) return text;
  let out = "", i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"') { // copy a whole string literal
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const word = ["-Infinity", "Infinity", "NaN"].find((w) => text.startsWith(w, i));
    if (word) {
      out += JSON.stringify(`\u0000${word}`);
      i += word.length;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

/**
 * Parses JSON text, throwing SyntaxError that names the file, the line, column and offset.
 * @param text the JSON text
 * @param name the file name for messages
 * @returns the parsed value
 * @example parseJsonText('{"a": 1}', "config.json")
 */
export function parseJsonText(text: string, name: string): unknown {
  try {
    return JSON.parse(
      pythonConstantsQuoted(text),
      (_k, v) => (typeof v === "string" ? PY_CONSTANTS.get(v) ?? v : v),
    );
  } catch (e) {
    const msg = (e as Error).message;
    let where = "";
    if (!/at position \d+/.test(msg)) {
      const at = jsonErrorOffset(text);
      if (at >= 0) {
        const before = text.slice(0, at).split("\n");
        const line = before.length, column = before[before.length - 1].length + 1;
        where = ` at position ${at} (line ${line} column ${column})`;
      }
    }
    throw new SyntaxError(`Cannot parse JSON file "${name}": ${msg}${where}`);
  }
}

/**
 * Reads and parses a JSON file; a missing file throws Deno.errors.NotFound naming it and `what`.
 * @param path the file
 * @param what what the file is for, e.g. "the pipeline's component list"
 * @returns the parsed value
 * @example await readJsonFile("model/model_index.json", "the pipeline's component list")
 */
export async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(`Cannot read ${what} at "${path}": no such file`);
    }
    throw e;
  }
  return parseJsonText(text, path);
}

/** True for a plain JSON object (not null, not an array). */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
