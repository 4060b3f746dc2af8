import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../instrumentation/config.ts';
import { readTrcAgentConfig } from './config.ts';

describe('trc-agent flags', () => {
  it('defaults: / as the one mount, no pool, caches or interfaces, 10 %, 127.0.0.1:18097, 30 s and 5 s', () => {
    expect(readTrcAgentConfig([])).toEqual({
      mounts: ['/'],
      volumePool: undefined,
      caches: [],
      wgInterfaces: [],
      pressureFreePct: 10,
      metrics: { host: '127.0.0.1', port: 18097 },
      cacheIntervalMs: 30_000,
      wgIntervalMs: 5_000,
    });
  });

  it('every flag, repeated where it repeats; paths made absolute', () => {
    const cfg = readTrcAgentConfig([
      '--mount', '/', '--mount', '/var/lib/trc/', '--volume-pool', 'pool',
      '--cache', 'oci=/c/oci', '--cache', 'rootdisks=/c/rd', '--cache', 'tmp=/c/tmp',
      '--wg-interface', 'wg0', '--wg-interface', 'trc-overlay',
      '--disk-pressure-free-pct', '12.5', '--metrics', '[::1]:9999', '--cache-interval', '0.25', '--wg-interval', '1',
    ]);
    expect(cfg).toEqual({
      mounts: ['/', '/var/lib/trc'],
      volumePool: `${process.cwd()}/pool`,
      caches: [
        { kind: 'oci', dir: '/c/oci' },
        { kind: 'rootdisks', dir: '/c/rd' },
        { kind: 'tmp', dir: '/c/tmp' },
      ],
      wgInterfaces: ['wg0', 'trc-overlay'],
      pressureFreePct: 12.5,
      metrics: { host: '::1', port: 9999 },
      cacheIntervalMs: 250,
      wgIntervalMs: 1000,
    });
  });

  it.each([
    [['--mount', '/a', '--mount', '/a/'], /--mount: "\/a" is given twice/],
    [Array.from({ length: 17 }, (_, i) => ['--mount', `/m${i}`]).flat(), /17 given; at most 16/],
    [['--cache', 'images=/x'], /--cache "images=\/x": expected KIND=DIR with KIND one of oci, rootdisks, tmp/],
    [['--cache', '/x'], /expected KIND=DIR/],
    [['--cache', 'oci=/x', '--cache', 'oci=/y'], /kind "oci" is given twice/],
    [['--cache', 'oci='], /--cache oci "": expected a path/],
    [['--wg-interface', 'all'], /--wg-interface "all": expected an interface name/],
    [['--wg-interface', 'a-name-longer-than-15'], /expected an interface name/],
    [['--wg-interface', 'wg/0'], /expected an interface name/],
    [['--wg-interface', 'wg0', '--wg-interface', 'wg0'], /"wg0" is given twice/],
    [['--disk-pressure-free-pct', '101'], /--disk-pressure-free-pct "101": expected a number from 0 to 100/],
    [['--disk-pressure-free-pct', 'ten'], /expected a number/],
    [['--cache-interval', '0'], /--cache-interval "0": expected a number from 0.05/],
    [['--wg-interval', ''], /--wg-interval "": expected a number/],
  ])('refuses %j', (argv, message) => {
    expect(() => readTrcAgentConfig(argv)).toThrow(ConfigError);
    expect(() => readTrcAgentConfig(argv)).toThrow(message);
  });

  it('refuses a --metrics address beyond what listen allows, unknown flags and extra arguments', () => {
    expect(() => readTrcAgentConfig(['--metrics', 'example.com:1'])).toThrow(/--metrics "example.com:1": the host must be an IP address or localhost/);
    expect(() => readTrcAgentConfig(['--mounts', '/'])).toThrow(CommanderError);
    expect(() => readTrcAgentConfig(['/'])).toThrow(CommanderError);
  });
});
