import type { HotPath } from '../hot-path.ts';
import { DNS_QUERY_PATH } from './dns-query.ts';
import { EXPOSITION_PATH } from './exposition.ts';
import { HTTP_REQUEST_PATH } from './http-request.ts';
import { MASQUE_PATHS } from './masque-packet.ts';
import { PODTRACE_EVENT_PATH } from './podtrace-event.ts';
import { RECORDING_PATHS } from './recording.ts';

/** Every hot path of `npm run bench:instructions`, in table order. */
export const HOT_PATHS: readonly HotPath[] = [...RECORDING_PATHS, HTTP_REQUEST_PATH, EXPOSITION_PATH, DNS_QUERY_PATH, ...MASQUE_PATHS, PODTRACE_EVENT_PATH];
