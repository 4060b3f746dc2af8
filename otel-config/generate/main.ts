/**
 * Writes the dashboards, alert rules, rule tests and reference docs generated from the registry
 * (`semconv/*.yaml`) and the per-contract layouts (`otel-config/generate/layouts/`).
 *
 *   node otel-config/generate/main.ts          regenerate (npm run gen:dashboards)
 *   node otel-config/generate/main.ts --check  exit 1 when a checked-in file differs (npm test runs this)
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { generatedFiles, REPO_ROOT } from './outputs.ts';

/** Files under `root` whose content differs from what the generator makes (missing ones included). */
export function staleFiles(root: string = REPO_ROOT): string[] {
  return generatedFiles(root)
    .filter((f) => {
      const file = join(root, f.path);
      return !existsSync(file) || readFileSync(file, 'utf8') !== f.text;
    })
    .map((f) => f.path);
}

function main(): number {
  if (process.argv.includes('--check')) {
    const stale = staleFiles();
    if (stale.length) {
      console.error(`stale generated files:\n  ${stale.join('\n  ')}\nrun \`npm run gen:dashboards\` and commit the result`);
      return 1;
    }
    console.log(`checked ${generatedFiles().length} generated dashboards, rule files, rule tests and reference docs`);
    return 0;
  }
  const files = generatedFiles();
  let written = 0;
  for (const f of files) {
    const file = join(REPO_ROOT, f.path);
    if (existsSync(file) && readFileSync(file, 'utf8') === f.text) continue;
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, f.text);
    written++;
  }
  console.log(`generated ${files.length} files (${written} changed): dashboards, rule files, rule tests, reference docs`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main();
