/** Alert level thresholds of seed 003 ("0=none, 1=warning (80%), 2=critical (90%), 3=emergency (95%)"), in percent. */
export const ALERT_THRESHOLDS = { warning: 80, critical: 90, emergency: 95 } as const;

/** `podtrace_resource_alert_level` of a utilization in percent: 0 below 80, 1 from 80, 2 from 90, 3 from 95. */
export function alertLevel(utilizationPercent: number): 0 | 1 | 2 | 3 {
  if (utilizationPercent >= ALERT_THRESHOLDS.emergency) return 3;
  if (utilizationPercent >= ALERT_THRESHOLDS.critical) return 2;
  if (utilizationPercent >= ALERT_THRESHOLDS.warning) return 1;
  return 0;
}
