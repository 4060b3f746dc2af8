import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Folder of the seed documents, kept in the repository (`docs/seeds/`) so a clone tests alone; `.ci/run`
 * checks that they are byte for byte the project's documents in `../shared/seeds/`.
 */
export const SEEDS_DIR = fileURLToPath(new URL('../../docs/seeds/', import.meta.url));

function read(file: string): string {
  return readFileSync(`${SEEDS_DIR}${file}`, 'utf8');
}

const uniq = (xs: Iterable<string>) => [...new Set(xs)].sort();

/**
 * The family names each seed document defines, read from the document's own layout (tables, bold
 * headings, bullet lists), so that the registries are checked against the text, not against themselves.
 */
export const seedFamilyNames: Record<string, () => string[]> = {
  egress: () => uniq([...read('000_1804d0b4eddf39f2.txt').matchAll(/^\| `(opensandbox_egress_[a-z0-9_]+)` \|/gm)].map((m) => m[1] as string)),
  'ops-proxy': () => uniq([...read('001_873f7e44fd0c3b59.txt').matchAll(/^- \*\*`(ops_proxy_[a-z0-9_]+)\{/gm)].map((m) => m[1] as string)),
  trc: () => {
    const text = read('002_319d91f4cc02c0ce.txt');
    const section = text.slice(text.indexOf('## Required metrics by component'), text.indexOf('## Tenant-facing metrics'));
    const lines = section.split('\n').filter((l) => l.startsWith('- `trc_') && !l.includes('is forbidden'));
    return uniq(lines.map((l) => (/`(trc_[a-z0-9_]+)/.exec(l)?.[1] as string).replace(/_bucket$/, '')));
  },
  podtrace: () => uniq([...read('003_d73f844c3a565732.txt').matchAll(/^\*\*`(podtrace_[a-z0-9_]+)`\*\*/gm)].map((m) => m[1] as string)),
  'masque-vpn': () => uniq([...read('004_e230dccd7de229b4.txt').matchAll(/^### (masque_vpn_[a-z0-9_]+)$/gm)].map((m) => m[1] as string)),
};
