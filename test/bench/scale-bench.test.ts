/**
 * bench/scale.ts's timeout-heavy run (issue 13) runs and reports its field: with the peer silent, the
 * connections' retransmission timeouts really fire (the run throws if fewer than one per connection did, or
 * if any data is still unacknowledged once the peer is back). No timing is asserted: the figure is CPU time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentPeer } from '../../bench/scale.js';
import { establishAll, manyConnections } from '../support/many-connections.js';

test('bench scale: the silent-peer run fires retransmission timeouts on every connection and reports CPU per 1,000 expiries', () => {
  const m = manyConnections(20);
  assert.ok(establishAll(m));
  const [r, ...rest] = silentPeer(m);
  assert.equal(rest.length, 0);
  assert.equal(r!.name, 'scale.silent peer: CPU per 1,000 connection timer expiries N=20');
  assert.equal(r!.unit, 'ms');
  assert.ok(r!.value > 0 && Number.isFinite(r!.value), `value ${r!.value}`);
  const m2 = /that run: (\d+) expiries \([\d.]+ per connection; (\d+) subflow RTOs\)/.exec(r!.note ?? '');
  assert.ok(m2, r!.note);
  assert.ok(Number(m2[2]) >= 20 * 5, `${m2[2]} RTOs for 20 silent connections in 15 s virtual`);
  assert.ok(Number(m2[1]) >= Number(m2[2]) / 2, `${m2[1]} expiries for ${m2[2]} RTOs`);
  for (const c of m.clients) assert.equal(c.state, 'ESTABLISHED');
});
