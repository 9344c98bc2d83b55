// The bench's load generator, run by bench/run.mjs in its own process so that the client's event
// loop is not the api's competitor for the figures: autocannon, closed loop, `connections`
// connections, for `seconds`. Prints one JSON object on stdout:
//   { autocannon: <autocannon's result>, latency_ms: { p50, p99, max, samples } }
// latency_ms is computed from every response's own time (autocannon's histogram has 1 ms
// resolution, too coarse for sub-millisecond medians). Exits by itself: a watchdog ends it
// 30 s after the planned duration; SIGTERM or SIGINT ends the load early and still prints the
// result. An optional `rate` (requests/s over all connections, autocannon's overallRate) makes it
// an open load at that rate instead of a closed loop.
//
//   node bench/load.mjs '{"url":"http://127.0.0.1:3000/health/live","headers":{},"connections":32,"seconds":5}'

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon');

const {
  url,
  headers = {},
  connections = 32,
  seconds = 5,
  rate,
} = JSON.parse(process.argv[2] ?? '{}');
const target = new URL(url);
if (!['127.0.0.1', 'localhost', '[::1]'].includes(target.hostname)) {
  process.stderr.write(`load.mjs sends traffic to the loopback only, not ${target.hostname}\n`);
  process.exit(2);
}

const watchdog = setTimeout(
  () => {
    process.stderr.write(`load.mjs: autocannon did not finish within ${seconds + 30} s\n`);
    process.exit(3);
  },
  (seconds + 30) * 1000,
);
watchdog.unref();

const latencies = [];
const instance = autocannon(
  {
    url,
    headers,
    connections,
    duration: seconds,
    pipelining: 1,
    ...(rate === undefined ? {} : { overallRate: rate }),
  },
  (err, result) => {
    if (err) {
      process.stderr.write(`${err.stack ?? err}\n`);
      process.exit(1);
    }
    latencies.sort((a, b) => a - b);
    const q = (p) =>
      latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
    const round = (n) => Math.round(n * 100) / 100;
    const out = {
      autocannon: result,
      latency_ms: {
        p50: round(q(0.5)),
        p99: round(q(0.99)),
        max: round(latencies[latencies.length - 1] ?? 0),
        samples: latencies.length,
      },
    };
    process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(0));
  },
);
instance.on('response', (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => instance.stop());
