// The attacking side of test/long/http-floods.test.ts, in its own process so that building and
// sending the bodies costs the server under test nothing. Reads one JSON argument:
// { url, method, headers, body: 'deep' | 'flat' | 'none', rounds, parallel, freshHeaders? }
// and prints { statuses: { [status]: count } } when done.
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';

const FIVE_MB = 5 * 1024 * 1024;
const spec = JSON.parse(process.argv[2]);

function flatArray() {
  const items = [];
  let bytes = 2;
  for (let i = 0; bytes < FIVE_MB - 100; i++) {
    const item = JSON.stringify({ id: i, name: `item-${i}`, tags: ['a', 'b'] });
    items.push(item);
    bytes += item.length + 1;
  }
  return Buffer.from(`[${items.join(',')}]`);
}

const body = spec.body === 'deep' ? Buffer.alloc(FIVE_MB, '[') : spec.body === 'flat' ? flatArray() : undefined;

function headersFor(i) {
  const headers = { ...spec.headers };
  if (spec.freshHeaders === 'forged-signature') {
    Object.assign(headers, {
      'webhook-id': `msg_${randomBytes(6).toString('hex')}`,
      'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
      'webhook-signature': `v1,${randomBytes(32).toString('base64')}`,
    });
  }
  if (spec.freshHeaders === 'bad-token') headers.authorization = `Bearer bad_${randomBytes(8).toString('hex')}_${i}`;
  if (body) Object.assign(headers, { 'content-type': 'application/json', 'content-length': String(body.length) });
  return headers;
}

function send(i) {
  return new Promise((resolve) => {
    const req = request(spec.url, { method: spec.method, headers: headersFor(i) }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', (error) => resolve(`error:${error.code}`));
    req.end(body);
  });
}

const statuses = {};
for (let round = 0; round < spec.rounds; round++) {
  const results = await Promise.all(Array.from({ length: spec.parallel }, (_, i) => send(round * spec.parallel + i)));
  for (const status of results) statuses[status] = (statuses[status] ?? 0) + 1;
}
console.log(JSON.stringify({ statuses }));
