import { cardinalityRule } from './cardinality.ts';
import { requiredFamiliesRule } from './families.ts';
import { forbiddenLabelsRule } from './forbidden-labels.ts';
import { labelKeysRule } from './label-keys.ts';
import { labelValuesRule } from './label-values.ts';
import { pathTemplateRule } from './path-template.ts';
import type { Rule } from './rule.ts';
import { undocumentedFamiliesRule } from './undocumented-families.ts';

export type { Rule, RuleId, SeriesContext, FinishContext } from './rule.ts';
export { RULE_INFO, RULE_ORDER } from './rule.ts';
export { rawPathReason } from './path-template.ts';

/** A fresh set of every rule of the check (rules keep per-run state). */
export function createRules(): Rule[] {
  return [
    requiredFamiliesRule(),
    undocumentedFamiliesRule(),
    labelKeysRule(),
    forbiddenLabelsRule(),
    labelValuesRule(),
    pathTemplateRule(),
    cardinalityRule(),
  ];
}
