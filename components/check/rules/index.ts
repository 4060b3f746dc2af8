import { bucketsRule } from './buckets.ts';
import { cardinalityRule } from './cardinality.ts';
import { consistencyRule } from './consistency.ts';
import { familyTypeRule } from './family-type.ts';
import { forbiddenLabelsRule } from './forbidden-labels.ts';
import { labelKeysRule } from './label-keys.ts';
import { labelValuesRule } from './label-values.ts';
import { otlpTranslationRule } from './otlp-translation.ts';
import { pathTemplateRule } from './path-template.ts';
import { presenceRule } from './presence.ts';
import type { Rule } from './rule.ts';
import { undocumentedFamiliesRule } from './undocumented-families.ts';
import { unitsRule } from './units.ts';
import { WrongValues } from './verdicts.ts';

export type { Listener, Rule, RuleId, SampleContext, SeriesContext, FinishContext } from './rule.ts';
export { RULE_INFO, RULE_ORDER } from './rule.ts';
export { rawPathReason } from './path-template.ts';
export { findRenames, renameHint, type RenameMatch, type RenameMatches } from './rename-hints.ts';

/**
 * A fresh set of every rule of the check (rules keep per-run state). Order matters: the value rules
 * mark a series wrong before the cardinality rule counts it, and the consistency rule marks values
 * wrong at the end before the cardinality rule's end.
 */
export function createRules(): Rule[] {
  const wrong = new WrongValues();
  return [
    presenceRule(),
    familyTypeRule(),
    undocumentedFamiliesRule(),
    otlpTranslationRule(),
    unitsRule(),
    bucketsRule(),
    labelKeysRule(),
    forbiddenLabelsRule(),
    labelValuesRule(),
    pathTemplateRule(),
    consistencyRule(wrong),
    cardinalityRule(wrong),
  ];
}
