import { describe, expect, it } from 'vitest';
import { logLevelOf } from './logger.ts';

describe('log level', () => {
  it("understands OTel's OTEL_LOG_LEVEL values and pino's names; the project variable wins", () => {
    expect(logLevelOf({})).toEqual({ level: 'info' });
    expect(logLevelOf({ OTEL_LOG_LEVEL: 'NONE' })).toEqual({ level: 'silent' });
    expect(logLevelOf({ OTEL_LOG_LEVEL: 'verbose' })).toEqual({ level: 'trace' });
    expect(logLevelOf({ OTEL_LOG_LEVEL: 'ALL' })).toEqual({ level: 'trace' });
    expect(logLevelOf({ OTEL_LOG_LEVEL: 'Warn' })).toEqual({ level: 'warn' });
    expect(logLevelOf({ OTEL_LOG_LEVEL: 'debug', OTEL_CONTRACTS_LOG_LEVEL: 'error' })).toEqual({ level: 'error' });
  });

  it('an unknown value falls back to info and is named, never thrown', () => {
    expect(logLevelOf({ OTEL_LOG_LEVEL: 'chatty' })).toEqual({ level: 'info', unknown: 'chatty' });
  });
});
