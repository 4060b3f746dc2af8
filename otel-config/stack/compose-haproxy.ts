// The HAProxy of docker-compose.yml's cluster profile: the same generator as the native scaled topology,
// for the compose services' addresses. otel-config/cluster/haproxy.cfg is its output (a unit test keeps
// the two equal; regenerate with `node otel-config/stack/compose-haproxy.ts > otel-config/cluster/haproxy.cfg`).
import { fileURLToPath } from 'node:url';
import { renderHaproxyConfig } from './haproxy-config.ts';
import type { HaproxyConfigInput } from './haproxy-config.ts';

/** Two gateway services on the compose network, each OTLP on 4317/4318 and health on 13133, found through Docker's DNS. */
export const COMPOSE_HAPROXY: HaproxyConfigInput = {
  bindHost: '0.0.0.0',
  otlpGrpcPort: 4317,
  otlpHttpPort: 4318,
  monitorPort: 8404,
  gateways: [1, 2].map((n) => ({ name: `gateway-${n}`, host: `gateway-${n}`, grpcPort: 4317, httpPort: 4318, healthPort: 13133 })),
  dnsResolver: '127.0.0.11:53',
};

if (process.argv[1] === fileURLToPath(import.meta.url)) process.stdout.write(renderHaproxyConfig(COMPOSE_HAPROXY));
