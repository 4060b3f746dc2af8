import { untraced } from '../runtime/untraced.ts';

/** The service-account file a Kubernetes pod sees its own namespace in. */
export const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/**
 * The `namespace` label of the podtrace resource families: `POD_NAMESPACE` (the downward API), else the
 * pod's service-account namespace file, else the empty string (the label is then left off). Outside Kubernetes there is no namespace,
 * and an empty value is what Prometheus treats as "label absent"; inventing `default` would claim a
 * namespace the process is not in. Never throws.
 */
export function resolveNamespace(env: NodeJS.ProcessEnv = process.env, serviceAccountFile = SERVICE_ACCOUNT_NAMESPACE): string {
  const fromEnv = env.POD_NAMESPACE?.trim();
  if (fromEnv) return fromEnv;
  try {
    return untraced.readFileSync(serviceAccountFile, 'utf8').trim();
  } catch {
    return '';
  }
}
