/** Every contract's layout, by contract id. */
import type { ComponentContractId } from '../../../semconv/index.ts';
import type { ContractLayout } from '../layout.ts';
import { egressLayout } from './egress.ts';
import { masqueVpnLayout } from './masque-vpn.ts';
import { opsProxyLayout } from './ops-proxy.ts';
import { podtraceLayout } from './podtrace.ts';
import { trcLayout } from './trc.ts';

/** The layout of each of the five component contracts. */
export const layouts: Readonly<Record<ComponentContractId, ContractLayout>> = {
  egress: egressLayout,
  'ops-proxy': opsProxyLayout,
  trc: trcLayout,
  podtrace: podtraceLayout,
  'masque-vpn': masqueVpnLayout,
};
