import { basename } from 'node:path';

/** Source of the `process_name` label of the podtrace families (seed 003: "Name of the process generating the event"). */
export interface ProcessName {
  /** The current name; cheap (a cached string). */
  (): string;
  /** Stops the refresh timer. */
  stop(): void;
}

/** How often `process.title` is re-read, since an app may set it after start-up. */
const REFRESH_MS = 5_000;

/**
 * `OTEL_CONTRACTS_PROCESS_NAME` when set, else the base name of `process.title` (what `ps` shows; `node`
 * unless the app sets it), re-read every 5 s on an unref'd timer. Never throws; falls back to `node`.
 */
export function createProcessName(env: NodeJS.ProcessEnv = process.env): ProcessName {
  const configured = env.OTEL_CONTRACTS_PROCESS_NAME?.trim();
  let current = configured || fromTitle();
  let timer: NodeJS.Timeout | undefined;
  if (!configured) {
    timer = setInterval(() => {
      current = fromTitle();
    }, REFRESH_MS);
    timer.unref();
  }
  const get = (() => current) as ProcessName;
  get.stop = () => clearInterval(timer);
  return get;
}

function fromTitle(): string {
  try {
    const title = process.title.trim().split(/\s+/)[0] ?? '';
    return basename(title) || 'node';
  } catch {
    return 'node';
  }
}
