/**
 * The JSON of a policy body, parsed in steps so that a large body never holds the event loop for long.
 *
 * `JSON.parse` of a 10 000-rule body (0.6 MB) takes 2 to 5 ms in one piece, and of a body near the 8 MiB
 * cap tens of milliseconds, all of it time in which DNS answers wait. {@link parseJsonSteps} instead scans
 * the text once, in steps of {@link CHARS_PER_STEP} characters, to find the top-level `egress` array and
 * the commas between its elements; then it parses the document without the array's contents, and the
 * elements in batches of {@link ELEMENTS_PER_STEP} (`JSON.parse("[" + batch + "]")`), one batch per step.
 * The result equals `JSON.parse(raw)`. Whatever the scan cannot split with certainty (no top-level object,
 * `egress` written twice, brackets that do not match, a batch that does not parse) is parsed by one
 * `JSON.parse(raw)`, so malformed bodies get exactly the engine's error.
 */

/** Characters scanned between two yields. */
export const CHARS_PER_STEP = 32 * 1024;
/** Rules parsed by one `JSON.parse` between two yields. */
export const ELEMENTS_PER_STEP = 128;

/** Thrown by {@link parseJsonSteps} when the top-level `egress` array has more elements than allowed. */
export class TooManyElementsError extends Error {
  readonly limit: number;
  constructor(limit: number) {
    super(`more than ${limit} rules`);
    this.name = 'TooManyElementsError';
    this.limit = limit;
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** Where the top-level `egress` array is and where its elements are cut. */
interface ArrayLayout {
  /** Index of its `[` and of its `]`. */
  readonly open: number;
  readonly close: number;
  /** Index of every comma between two of its elements. */
  readonly commas: readonly number[];
}

/**
 * The steps of parsing `raw` as JSON (see the file's comment); yields between steps.
 * @param maxElements most elements the top-level `egress` array may have; more throws as soon as the scan
 *   counts them, before anything is parsed.
 * @returns what `JSON.parse(raw)` returns.
 * @throws SyntaxError as `JSON.parse(raw)` does; TooManyElementsError.
 */
export function* parseJsonSteps(raw: string, maxElements = Number.MAX_SAFE_INTEGER): Generator<void, unknown> {
  const layout = yield* scanSteps(raw, maxElements);
  if (layout === undefined) return JSON.parse(raw);
  let skeleton: Record<string, unknown>;
  try {
    skeleton = JSON.parse(raw.slice(0, layout.open + 1) + raw.slice(layout.close)) as Record<string, unknown>;
  } catch {
    return JSON.parse(raw);
  }
  const { open, close, commas } = layout;
  const elements: unknown[] = [];
  if (raw.slice(open + 1, close).trim() !== '') {
    // Element k lies between cut k-1 (or the `[`) and cut k (or the `]`).
    const cuts = [open, ...commas, close];
    for (let from = 0; from < cuts.length - 1; from += ELEMENTS_PER_STEP) {
      yield;
      const to = Math.min(from + ELEMENTS_PER_STEP, cuts.length - 1);
      let batch: unknown[];
      try {
        batch = JSON.parse(`[${raw.slice((cuts[from] as number) + 1, cuts[to] as number)}]`) as unknown[];
      } catch {
        return JSON.parse(raw);
      }
      for (const e of batch) elements.push(e);
    }
  }
  skeleton.egress = elements;
  return skeleton;
}

/**
 * Scans `raw` for the top-level object's `egress` array, {@link CHARS_PER_STEP} characters per step.
 * @returns its layout, or undefined when the text is not an object holding one such array exactly once
 *   with matching brackets (the caller then parses the whole text in one go).
 * @throws TooManyElementsError past `maxElements` elements.
 */
function* scanSteps(raw: string, maxElements: number): Generator<void, ArrayLayout | undefined> {
  const stack: number[] = [];
  let inString = false;
  let stringStart = -1;
  /** The last string closed at depth 1, with the index after its closing quote: a key when a colon follows. */
  let lastKey = '';
  let expectValueOfEgress = false;
  let open = -1;
  let close = -1;
  const commas: number[] = [];
  let nextYield = CHARS_PER_STEP;
  for (let i = 0; i < raw.length; i++) {
    if (i === nextYield) {
      nextYield += CHARS_PER_STEP;
      yield;
    }
    const c = raw.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) {
        inString = false;
        if (stack.length === 1) lastKey = raw.slice(stringStart, i + 1);
      }
      continue;
    }
    switch (c) {
      case QUOTE:
        inString = true;
        stringStart = i;
        break;
      case COLON:
        if (stack.length === 1) {
          expectValueOfEgress = decodeKey(lastKey) === 'egress';
          if (expectValueOfEgress && open >= 0) return undefined; // written twice: JSON.parse keeps the last
        }
        break;
      case OPEN_OBJECT:
      case OPEN_ARRAY:
        if (stack.length === 0 && (c !== OPEN_OBJECT || i !== firstNonSpace(raw))) return undefined;
        if (stack.length === 1 && expectValueOfEgress) {
          if (c !== OPEN_ARRAY) return undefined;
          open = i;
          expectValueOfEgress = false;
        }
        stack.push(c);
        break;
      case CLOSE_OBJECT:
      case CLOSE_ARRAY:
        if (stack.pop() !== (c === CLOSE_OBJECT ? OPEN_OBJECT : OPEN_ARRAY)) return undefined;
        if (stack.length === 1 && c === CLOSE_ARRAY && open >= 0 && close < 0) close = i;
        break;
      case COMMA:
        if (stack.length === 1) expectValueOfEgress = false;
        else if (stack.length === 2 && open >= 0 && close < 0) {
          commas.push(i);
          if (commas.length >= maxElements) throw new TooManyElementsError(maxElements);
        }
        break;
      default:
        if (stack.length === 1 && expectValueOfEgress && c > 0x20) expectValueOfEgress = false; // a scalar value
    }
  }
  if (inString || stack.length !== 0 || open < 0 || close < 0) return undefined;
  return { open, close, commas };
}

/** The index of the first character that is not JSON whitespace. */
function firstNonSpace(raw: string): number {
  let i = 0;
  while (i < raw.length && (raw.charCodeAt(i) === 0x20 || raw.charCodeAt(i) === 0x0a || raw.charCodeAt(i) === 0x0d || raw.charCodeAt(i) === 0x09)) i++;
  return i;
}

/** A key as JSON.parse reads it (escapes decoded), or '' when it does not parse. */
function decodeKey(quoted: string): string {
  if (!quoted.includes('\\')) return quoted.slice(1, -1);
  try {
    return String(JSON.parse(quoted));
  } catch {
    return '';
  }
}
