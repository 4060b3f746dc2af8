/**
 * Requirement levels of documented families, read from the seed documents (the registry has no field
 * for them yet): which families a document marks optional, which it makes conditional on a feature the
 * exposition cannot show, and which it ties to a mode or role the exposition does show. Every entry
 * quotes the document's words; a test finds each quote in its seed.
 *
 * A family that is not required is still checked in full when present ("reported when wrong, never
 * when absent").
 */

/** A condition read from the observed data. */
export type TieCondition =
  /** Holds when a sample of `family` with these labels has this value (the last one seen). */
  | { readonly kind: 'value'; readonly family: string; readonly labels: Readonly<Record<string, string>>; readonly value: number; readonly describe: string }
  /**
   * Holds unless the target shows the other role only: `marker` observed and none of the tied families.
   * (ops-proxy: a connecting-only peer exposes `ops_proxy_client_info` and no listening-side family.)
   */
  | { readonly kind: 'role'; readonly marker: string; readonly describe: string };

/** How far a document requires a family. */
export type RequirementLevel =
  /** Never required when absent: the document says "(optional)". */
  | 'optional'
  /** Required only under a condition the exposition cannot show ("If you classify commands"). */
  | 'conditional'
  /** Required when {@link FamilyRequirement.when} holds in the observed data. */
  | 'tied';

/** One entry: families (by name, or every family of a section) and their level. */
export interface FamilyRequirement {
  readonly contract: string;
  readonly families?: readonly string[];
  /** Sections (as the registry names them) whose every family the entry covers. */
  readonly sections?: readonly string[];
  readonly level: RequirementLevel;
  /** The document's words, quoted verbatim. */
  readonly quotes: readonly string[];
  readonly when?: TieCondition;
}

const OPS_PROXY_LISTENING_SECTIONS = ['Proxy traffic (listening peer side)', 'Tunnel / proxy-id (listening peer side)', 'Proxy / tunnel errors (listening peer side)'];
const OPS_PROXY_LISTENING_REGISTRY = ['ops_proxy_server_info', 'ops_proxy_clients_total', 'ops_proxy_clients_connected', 'ops_proxy_client_up', 'ops_proxy_client_registrations_total', 'ops_proxy_client_disconnects_total'];

/** Every requirement level that is not "required", from the five seeds. */
export const FAMILY_REQUIREMENTS: readonly FamilyRequirement[] = [
  { contract: 'egress', sections: ['5. Process / Runtime (optional)'], level: 'optional', quotes: ['## 5. Process / Runtime (optional)'] },
  {
    contract: 'egress',
    sections: ['3. nftables (Layer 2, dns+nft mode)'],
    level: 'tied',
    quotes: ['## 3. nftables (Layer 2, dns+nft mode)'],
    when: { kind: 'value', family: 'opensandbox_egress_enforcement_mode', labels: { mode: 'dns+nft' }, value: 1, describe: 'opensandbox_egress_enforcement_mode{mode="dns+nft"} is 1' },
  },
  { contract: 'trc', families: ['trc_commands_total', 'trc_command_duration_seconds'], level: 'conditional', quotes: ['If you classify commands:'] },
  { contract: 'trc', families: ['trc_projection_rebuilds_total'], level: 'conditional', quotes: ['(if you support rebuild action)'] },
  { contract: 'trc', sections: ['E) Node agent / Snapshots and backups (if agent executes)'], level: 'conditional', quotes: ['### Snapshots and backups (if agent executes)'] },
  { contract: 'ops-proxy', families: ['ops_proxy_client_info'], level: 'conditional', quotes: ['Present when peer is connecting to other peers.'] },
  {
    contract: 'ops-proxy',
    families: OPS_PROXY_LISTENING_REGISTRY,
    sections: OPS_PROXY_LISTENING_SECTIONS,
    level: 'tied',
    quotes: ['Present when peer is listening for connections.', 'in this listening peer instance', '(listening peer side)'],
    when: { kind: 'role', marker: 'ops_proxy_client_info', describe: 'the peer listens (it is not a connecting-only peer that exposes ops_proxy_client_info and no listening-side family)' },
  },
];
