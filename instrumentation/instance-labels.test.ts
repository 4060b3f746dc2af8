import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { egress, opsProxy, trc } from '../semconv/index.ts';
import type { ContractSpec } from '../semconv/types.ts';
import { instanceLabelsForFamily, resolveInstanceLabels } from './instance-labels.ts';

describe('instance labels from the environment', () => {
  it('trc node_id comes from TRC_NODE_ID and is left off when unset or empty', () => {
    expect(resolveInstanceLabels(trc, { TRC_NODE_ID: 'node-7' })).toEqual({ node_id: 'node-7' });
    expect(resolveInstanceLabels(trc, {})).toEqual({});
    expect(resolveInstanceLabels(trc, { TRC_NODE_ID: '' })).toEqual({});
  });

  it('node_id goes on agent and edge families only', () => {
    const resolved = resolveInstanceLabels(trc, { TRC_NODE_ID: 'node-7' });
    expect(instanceLabelsForFamily(trc, 'trc_agent_heartbeat_total', resolved)).toEqual({ node_id: 'node-7' });
    expect(instanceLabelsForFamily(trc, 'trc_edge_routes_loaded', resolved)).toEqual({ node_id: 'node-7' });
    expect(instanceLabelsForFamily(trc, 'trc_http_requests_total', resolved)).toEqual({});
  });

  it('a contract reduced to families outside the scope (the preload\'s trc HTTP families) gets no node_id', () => {
    const httpOnly: ContractSpec = { ...trc, families: trc.families.filter((f) => f.name.startsWith('trc_http_')) };
    expect(resolveInstanceLabels(httpOnly, { TRC_NODE_ID: 'node-7' })).toEqual({});
  });

  it('unscoped labels keep their fallbacks: egress instance_id hostname-or-empty, ops-proxy node and pod', () => {
    const egressFallback = egress.instanceLabels[0]!.fallback;
    expect(resolveInstanceLabels(egress, {})).toEqual({ instance_id: egressFallback === 'hostname' ? hostname() : '' });
    expect(resolveInstanceLabels(egress, { OPENSANDBOX_EGRESS_INSTANCE_ID: 'sbx-1' })).toEqual({ instance_id: 'sbx-1' });
    const ops = resolveInstanceLabels(opsProxy, { NODE_NAME: 'n1', POD_NAME: 'p1' });
    expect(ops).toEqual({ node: 'n1', pod: 'p1' });
    expect(instanceLabelsForFamily(opsProxy, 'ops_proxy_clients_total', ops)).toEqual({ node: 'n1', pod: 'p1' });
  });
});
