import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { logFormatOf, logLevelOf } from './logger.ts';
import { REPO_ROOT } from '../test/processes.ts';

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

describe('log format', () => {
  it('pretty on a terminal, JSON otherwise; OTEL_CONTRACTS_LOG_FORMAT wins; an unknown value is named', () => {
    expect(logFormatOf({}, true)).toEqual({ format: 'pretty' });
    expect(logFormatOf({}, false)).toEqual({ format: 'json' });
    expect(logFormatOf({ OTEL_CONTRACTS_LOG_FORMAT: 'JSON' }, true)).toEqual({ format: 'json' });
    expect(logFormatOf({ OTEL_CONTRACTS_LOG_FORMAT: 'pretty' }, false)).toEqual({ format: 'pretty' });
    expect(logFormatOf({ OTEL_CONTRACTS_LOG_FORMAT: 'xml' }, true)).toEqual({ format: 'json', unknown: 'xml' });
  });

  it('a component run with OTEL_CONTRACTS_LOG_FORMAT=pretty writes readable lines; JSON lines carry an ISO 8601 time', () => {
    const script = "import { createLogger } from './instrumentation/logger.ts'; createLogger('demo').info({ port: 9464 }, 'listening');";
    const run = (format: string) => spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO_ROOT, env: { ...process.env, OTEL_CONTRACTS_LOG_FORMAT: format, NO_COLOR: '1' }, encoding: 'utf8' });
    const pretty = run('pretty');
    expect(pretty.status).toBe(0);
    expect(pretty.stderr).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(demo\): listening\n\s+port: 9464\n$/);
    const json = JSON.parse(run('json').stderr) as { time: string; msg: string; port: number };
    expect(json).toMatchObject({ msg: 'listening', port: 9464 });
    expect(new Date(json.time).toISOString()).toBe(json.time);
  });
});
