/** Undoes one patch. */
export type Restore = () => void;

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
type AnyFunction = (...args: any[]) => any;

const SKIP = new Set<string | symbol>(['length', 'name', 'prototype', 'arguments', 'caller']);

/**
 * Makes `wrapper` look like `original`: same `name` and `length`, and every own property of the original
 * copied over, symbols included. That keeps `util.promisify` working exactly as before: Node marks
 * `fs.read`, `fs.write` and `dns.lookup` with an internal "custom promisify args" symbol (so their
 * promisified forms resolve to `{ bytesRead, buffer }` / `{ address, family }`), and `fs.exists` with
 * `util.promisify.custom`.
 */
export function disguise<F extends AnyFunction>(original: F, wrapper: F): F {
  for (const key of Reflect.ownKeys(original)) {
    if (SKIP.has(key)) continue;
    const d = Object.getOwnPropertyDescriptor(original, key);
    if (d) Object.defineProperty(wrapper, key, d);
  }
  Object.defineProperty(wrapper, 'name', { value: original.name, configurable: true });
  Object.defineProperty(wrapper, 'length', { value: original.length, configurable: true });
  return wrapper;
}

/**
 * Replaces `target[key]` (a function) with `make(original)`, disguised as the original, keeping the
 * property's attributes. Does nothing when the property is not a writable/configurable function.
 * @returns a function restoring the original, or undefined when nothing was patched.
 */
export function patchMethod<T extends object>(target: T, key: string, make: (original: AnyFunction) => AnyFunction): Restore | undefined {
  const desc = Object.getOwnPropertyDescriptor(target, key);
  if (!desc || typeof desc.value !== 'function' || (!desc.writable && !desc.configurable)) return undefined;
  const original = desc.value as AnyFunction;
  const wrapped = disguise(original, make(original));
  Object.defineProperty(target, key, { ...desc, value: wrapped });
  return () => {
    const now = Object.getOwnPropertyDescriptor(target, key);
    if (now?.value === wrapped) Object.defineProperty(target, key, desc);
  };
}

/** Index of the last argument that is a function (the Node-style callback), or -1. */
export function callbackIndex(args: readonly unknown[]): number {
  for (let i = args.length - 1; i >= 0; i--) if (typeof args[i] === 'function') return i;
  return -1;
}
