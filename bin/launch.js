#!/usr/bin/env node
// The `otel-contracts` command (package.json "bin"). An installed package runs the built CLI in dist/;
// a clone, which ships the TypeScript sources beside this file, runs them directly (Node >= 22.18 strips
// types; the repository pins Node 24, which `npx` and npm scripts put first on PATH), so a clone's
// `npx otel-contracts` never runs a stale build.
import { existsSync } from 'node:fs';

const source = new URL('./otel-contracts.ts', import.meta.url);
await import(existsSync(source) ? source.href : new URL('../dist/bin/otel-contracts.js', import.meta.url).href);
