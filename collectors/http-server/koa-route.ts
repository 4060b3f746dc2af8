import Module from 'node:module';
import type { IncomingMessage } from 'node:http';

type Load = (request: string, parent: { filename?: string } | null | undefined, isMain: boolean) => unknown;
type ModuleWithLoad = typeof Module & { _load: Load };

/** koa's `lib/application.js`, which does `require('./context')`. */
const KOA_APPLICATION = /[\\/]koa[\\/]lib[\\/]application\.js$/;

/**
 * Makes koa-router's matched route visible at response time. `@koa/router` (and `koa-router`) sets
 * `ctx._matchedRoute` to the matched layer's path, prefixes included (`/orgs/:org/apps/:app`), but koa keeps
 * no link from the raw request to `ctx`. So when koa loads its context prototype (`require('./context')`
 * from `koa/lib/application.js`, also under an ESM `import Koa from 'koa'`), an accessor `_matchedRoute` is
 * defined on that prototype: it stores the value on the context as before and also on `ctx.req` under
 * `carrier`, where the HTTP server collector reads it. Reading `ctx._matchedRoute` gives what was set, as
 * without us.
 *
 * Wraps `Module._load` (as require-in-the-middle does); only requests of `./context` from koa's
 * application module are looked at, so other requires pay one string comparison.
 *
 * @returns a function removing the hook (prototypes already patched stay patched).
 */
export function hookKoaMatchedRoute(carrier: symbol): () => void {
  const M = Module as ModuleWithLoad;
  const original = M._load;
  if (typeof original !== 'function') return () => undefined;
  const wrapped: Load = function (this: unknown, request, parent, isMain) {
    const exports = original.call(this, request, parent, isMain);
    if (request === './context' && parent?.filename && KOA_APPLICATION.test(parent.filename)) {
      try {
        patchContextPrototype(exports, carrier);
      } catch {
        // leave koa as it is
      }
    }
    return exports;
  };
  M._load = wrapped;
  return () => {
    if (M._load === wrapped) M._load = original;
  };
}

/** Defines the `_matchedRoute` accessor on a koa context prototype (once). Exported for tests. */
export function patchContextPrototype(proto: unknown, carrier: symbol): void {
  if (!proto || typeof proto !== 'object' || Object.getOwnPropertyDescriptor(proto, '_matchedRoute')) return;
  const value = Symbol('koa._matchedRoute');
  Object.defineProperty(proto, '_matchedRoute', {
    configurable: true,
    enumerable: false,
    get(this: Record<symbol, unknown>) {
      return this[value];
    },
    set(this: Record<symbol, unknown> & { req?: IncomingMessage }, v: unknown) {
      this[value] = v;
      const req = this.req as (IncomingMessage & Record<symbol, unknown>) | undefined;
      if (req && typeof v === 'string') req[carrier] = v;
    },
  });
}
