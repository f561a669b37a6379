/** subflowInfo().endpoints (and a TCP connection's endpoints) print with text addresses, not raw bytes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { scenario } from '../../src/harness/scenario.js';

test('subflowInfo().endpoints: console.log, JSON.stringify and String() show text addresses; the fields stay bytes', () => {
  const s = scenario({
    seed: 3,
    up: 20_000,
    down: 0,
    paths: [{ config: { rateBitsPerSecond: 10e6, delayMicros: 2000 } }, { config: { rateBitsPerSecond: 10e6, delayMicros: 3000 } }],
    clientEndpoints: ['198.18.2.2 subflow'],
    serverLimits: 'subflows 2',
    clientLimits: 'subflows 2',
  });
  assert.ifError(s.finish());
  const infos = s.client.subflowInfo();
  assert.equal(infos.length, 2, 'the initial subflow and the join');
  for (const sf of infos) {
    const e = sf.endpoints;
    assert.ok(e.localAddress instanceof Uint8Array, 'the field is still the address bytes');
    const shown = inspect(sf, { depth: 4 });
    assert.doesNotMatch(shown, /Uint8Array|Buffer|<[0-9a-f]{2} /, shown);
    assert.match(shown, /localAddress: '198\.18\.[12]\.2'/);
    const json = JSON.parse(JSON.stringify(sf)) as { endpoints: Record<string, unknown> };
    assert.deepEqual(Object.keys(json.endpoints), ['localAddress', 'localPort', 'remoteAddress', 'remotePort']);
    assert.match(String(json.endpoints['remoteAddress']), /^198\.18\.[12]\.1$/);
    assert.equal(json.endpoints['localPort'], e.localPort);
    assert.match(String(e), /^198\.18\.[12]\.2:\d+ -> 198\.18\.[12]\.1:\d+$/);
  }
});
