// A preload floor for bench/preload.bench.ts (`--require` this file): subscribes to the two node:http
// diagnostics channels every HTTP metrics subscriber needs and times each request from start to finish,
// then records nothing. What node:http's events and the timing cost a request before any metrics work.
const diagnostics = require('node:diagnostics_channel');
const { performance } = require('node:perf_hooks');
const started = Symbol('start');
let seconds = 0; // summed so that the timing is real work, as a recorder would take it
diagnostics.subscribe('http.server.request.start', (m) => {
  m.request[started] = performance.now();
});
diagnostics.subscribe('http.server.response.finish', (m) => {
  const t0 = m.request[started];
  if (t0 !== undefined) seconds += (performance.now() - t0) / 1000;
});
