import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { trc } from '../../semconv/index.ts';
import { freePort } from '../../test/ports.ts';
import { check, writeExposition } from './test/written.ts';
import { ExpositionParser } from './exposition/parser.ts';
import type { LabelPair, ObservationSink, ObservedType } from './model.ts';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const s = createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}/metrics`;
}

function expectExit2(out: { code: number; json: { error?: { reason: string; line?: number } }; stderr: string }, reason: RegExp, line?: number): void {
  expect(out.code).toBe(2);
  expect(out.json.error?.reason).toMatch(reason);
  if (line !== undefined) expect(out.json.error?.line).toBe(line);
  expect(out.stderr).toMatch(reason);
}

describe('unparseable expositions exit 2 with the reason and line number', () => {
  const valid = '# HELP a_total A.\n# TYPE a_total counter\na_total{x="1"} 3\n';

  it('truncated: the last line has no newline', async () => {
    expectExit2(await check(`${valid}a_total{x="2"} 4`), /truncated input: the last line does not end with a newline/, 4);
  });

  it('cut mid-sample, even when a newline follows', async () => {
    expectExit2(await check(`${valid}a_total{x="2\n`), /not closed with a quote \(line cut short\?\)/, 4);
    expectExit2(await check(`${valid}a_total{x="2"}\n`), /has no value \(line cut short\?\)/, 4);
  });

  it('cut inside a histogram: +Inf buckets and _count lines do not pair up', async () => {
    const text = '# TYPE h_seconds histogram\nh_seconds_bucket{le="1"} 1\nh_seconds_bucket{le="+Inf"} 1\nh_seconds_sum 0.5\n';
    expectExit2(await check(text), /histogram h_seconds is incomplete: 1 series have a le="\+Inf" bucket but 0 have h_seconds_count/, 4);
  });

  it('duplicate HELP line for one family', async () => {
    expectExit2(await check(`${valid}# HELP a_total again\n`), /duplicate HELP line for a_total \(first at line 1\)/, 4);
  });

  it('duplicate TYPE line for one family', async () => {
    expectExit2(await check(`# TYPE a_total counter\n${valid}`), /duplicate TYPE line for a_total \(first at line 1\)/, 3);
  });

  it('TYPE after the family samples', async () => {
    expectExit2(await check('b 1\n# TYPE b gauge\n'), /TYPE line for b after its samples/, 2);
  });

  it.each([
    ['a bad name', '9abc 1\n', /expected a metric name/],
    ['a value that is not a number', 'a 1x\n', /value "1x" of a is not a number/],
    ['an unknown TYPE', '# TYPE a countr\n', /unknown TYPE "countr"/],
    ['a malformed TYPE line', '# TYPE a\n', /malformed TYPE line/],
    ['a bad escape', 'a{x="\\t"} 1\n', /invalid escape/],
    ['a duplicate label', 'a{x="1",x="2"} 1\n', /label x appears twice/],
    ['a bucket without le', '# TYPE h histogram\nh_bucket{x="1"} 1\n', /histogram bucket h_bucket without a valid le label/],
    ['text after the timestamp', 'a 1 1700000000000 extra\n', /unexpected text after the timestamp/],
  ])('malformed line: %s', async (_, text, reason) => {
    const out = await check(text);
    expectExit2(out, reason);
    expect(out.json.error?.line).toBeGreaterThan(0);
  });

  it('huge (100 MB streamed lazily): stops at the 64 MiB cap with exit 2 and a line number, with bounded heap', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const total = 100 * 1024 * 1024;
    let produced = 0;
    let peak = 0;
    gc();
    const baseline = process.memoryUsage().heapUsed;
    let nextSample = 0;
    async function* huge(): AsyncGenerator<Buffer> {
      yield Buffer.from('# HELP trc_huge_total Huge.\n# TYPE trc_huge_total counter\n');
      let i = 0;
      while (produced < total) {
        let s = '';
        for (let k = 0; k < 2000; k++, i++) s += `trc_huge_total{shard="${i % 16}",key="k${i}"} ${i}\n`;
        produced += s.length;
        if (produced >= nextSample) {
          // Retained heap (after a full GC) while the parser is mid-stream: its state, never the text.
          gc();
          peak = Math.max(peak, process.memoryUsage().heapUsed - baseline);
          nextSample += 8 * 1024 * 1024;
        }
        yield Buffer.from(s);
      }
    }
    const out = await check(Readable.from(huge()));
    expect(out.code).toBe(2);
    expect(out.json.error?.reason).toMatch(/exposition too large: more than 67108864 bytes \(64 MiB\)/);
    expect(out.json.error?.line).toBeGreaterThan(1_000_000);
    // Stopped early: nothing past the cap (plus one chunk) was asked of the generator.
    expect(produced).toBeLessThan(70 * 1024 * 1024);
    // A 64 MiB exposition held as text would be 64 MiB or more; the parser's state stays well under that.
    expect(peak).toBeLessThan(40 * 1024 * 1024);
  });
});

describe('unreadable targets exit 2', () => {
  it('an unreachable URL (a closed loopback port)', async () => {
    const port = await freePort(); // bound, then closed: nothing listens there
    expectExit2(await check(undefined, { target: `http://127.0.0.1:${port}/metrics`, timeout: 10 }), /cannot reach http:\/\/127\.0\.0\.1:\d+\/metrics \(ECONNREFUSED/);
  });

  it('a URL that never answers, bounded by --timeout', async () => {
    const url = await serve(() => {
      /* never answers */
    });
    expectExit2(await check(undefined, { target: url, timeout: 0.3 }), /no response from .* within 0.3 s/);
  });

  it('a URL whose body stops mid-way, bounded by --timeout, with the line reached', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
      res.write('# TYPE a gauge\na 1\n');
    });
    expectExit2(await check(undefined, { target: url, timeout: 0.5 }), /reading stopped after 2 lines: the body did not finish within 0.5 s/, 3);
  });

  it('a URL answering 404', async () => {
    const url = await serve((_req, res) => res.writeHead(404).end('nope'));
    expectExit2(await check(undefined, { target: url }), /answered HTTP 404/);
  });

  it('a URL answering OpenMetrics', async () => {
    const url = await serve((_req, res) => res.writeHead(200, { 'Content-Type': 'application/openmetrics-text; version=1.0.0' }).end('# EOF\n'));
    expectExit2(await check(undefined, { target: url }), /only the Prometheus text format 0.0.4/);
  });

  it('a missing file', async () => {
    expectExit2(await check(undefined, { target: '/nonexistent/metrics.txt' }), /no such file: \/nonexistent\/metrics.txt/);
  });

  it('an OTLP listen that receives nothing', async () => {
    const port = await freePort();
    expectExit2(await check(undefined, { otlpListen: `127.0.0.1:${port}`, duration: 0.2 }), /no OTLP push arrived .* set OTEL_EXPORTER_OTLP_ENDPOINT=http:\/\/127\.0\.0\.1:\d+/);
  });

  it.each([
    [{ contract: 'nope' }, /unknown contract "nope"/],
    [{ target: null }, /nothing to check/],
    [{ otlpListen: '127.0.0.1:4318', target: '-' }, /not both/],
    [{ otlpListen: 'localhost' }, /expected HOST:PORT/],
    [{ otlpListen: '0.0.0.0:4318', duration: 0.1 }, /non-loopback/],
    [{ timeout: -1 }, /--timeout "-1": expected a positive number of seconds/],
    [{ timeout: 'abc' }, /--timeout "abc": expected a positive number of seconds/],
  ])('bad usage %o', async (opts, reason) => {
    expectExit2(await check('', opts as Parameters<typeof check>[1]), reason);
  });
});

describe('streaming parser', () => {
  class Recorder {
    families = new Map<string, { type?: ObservedType; help?: string }>();
    series: [string, LabelPair[]][] = [];
    family(name: string, meta: { type?: ObservedType; help?: string }): void {
      this.families.set(name, { ...this.families.get(name), ...meta });
    }
    series_(name: string, labels: readonly LabelPair[]): void {
      this.series.push([name, [...labels]]);
    }
  }

  it('folds histogram and summary lines into one series each, unescapes values, accepts timestamps and blanks', () => {
    const rec = new Recorder();
    const sink: ObservationSink = { family: (n, m) => rec.family(n, m), series: (n, l) => rec.series_(n, l) };
    const p = new ExpositionParser(sink);
    const lines = [
      '# HELP h_seconds Latency\\nin seconds.',
      '# TYPE h_seconds histogram',
      'h_seconds_bucket{path="/a",le="0.5"} 1',
      'h_seconds_bucket{path="/a",le="+Inf"} 2',
      'h_seconds_sum{path="/a"} 1.5',
      'h_seconds_count{path="/a"} 2',
      '# TYPE s summary',
      's{quantile="0.99"} 3',
      's_count 1',
      '  # a comment',
      '',
      'g { msg = "say \\"hi\\"\\n" , } -Inf 1700000000000',
    ];
    lines.forEach((l, i) => p.line(l, i + 1));
    p.end();
    expect(rec.families.get('h_seconds')).toEqual({ type: 'histogram', help: 'Latency\nin seconds.' });
    expect(rec.families.get('g')).toEqual({ type: 'untyped' });
    expect(rec.series).toEqual([
      ['h_seconds', [['path', '/a']]],
      ['h_seconds', [['path', '/a']]],
      ['h_seconds', [['path', '/a']]],
      ['h_seconds', [['path', '/a']]],
      ['s', []],
      ['s', []],
      ['g', [['msg', 'say "hi"\n']]],
    ]);
  });

  it('a clean exposition read in 1-byte chunks parses the same as in one chunk', async () => {
    const text = writeExposition(trc);
    const oneChunk = await check(text);
    const bytes = Buffer.from(text);
    const tiny = await check(Readable.from((function* () { for (let i = 0; i < bytes.length; i++) yield bytes.subarray(i, i + 1); })()));
    expect(oneChunk.code).toBe(0);
    expect(tiny.code).toBe(0);
    expect(tiny.json.series).toBe(oneChunk.json.series);
  });
});
