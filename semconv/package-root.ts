import { createRequire } from 'node:module';
import { dirname } from 'node:path';

/**
 * The installed package's root directory (where its package.json is): the repository in a checkout,
 * `node_modules/otel-contracts` when installed. Found by the package's self-reference, so it is the
 * same from the TypeScript sources and from the compiled `dist/`. Shipped data files (registries,
 * collector and Prometheus configuration) are read relative to it.
 */
export const PACKAGE_ROOT = dirname(createRequire(import.meta.url).resolve('otel-contracts/package.json'));
