/**
 * The kernel fixtures, read by our own decoder: (1) per file, the count of each MPTCP subtype equals what
 * tshark counted when the fixtures were captured (fixtures/kernel/manifest.json); (2) together the files
 * contain every feature the foundation issue requires of them (joins, ADD_ADDR and echo, RM_ADDR, MP_PRIO,
 * DATA_FIN, MP_FASTCLOSE, MP_TCPRST, IPv6, a checksum-enabled connection).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCapture } from '../../src/wire/pcap.js';
import { isWireError } from '../../src/wire/errors.js';
import { decodeFrame } from '../../src/capture/decode.js';
import { MpCapableFlag } from '../../src/wire/mptcp-option.js';

const dir = 'fixtures/kernel';
const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
  files: Record<string, { frames: number; subtypes: Record<string, { count: number }> }>;
};

const features = new Set<string>();

for (const [file, entry] of Object.entries(manifest.files)) {
  test(`fixture ${file}: our subtype counts equal tshark's (manifest)`, () => {
    const capture = readCapture(readFileSync(join(dir, file)));
    assert.ok(!isWireError(capture), String(capture));
    assert.equal(capture.packets.length, entry.frames);
    const counts: Record<string, number> = {};
    for (const packet of capture.packets) {
      const d = decodeFrame(packet);
      assert.equal(d.kind, 'tcp', `frame ${packet.frame} decodes to TCP`);
      if (d.kind !== 'tcp') continue;
      for (const m of d.mptcp) {
        assert.equal(m.kind, 'option', `frame ${packet.frame}: no malformed MPTCP option`);
        if (m.kind !== 'option') continue;
        const o = m.option;
        counts[o.subtype] = (counts[o.subtype] ?? 0) + 1;
        if (d.ipVersion === 6) features.add('IPv6');
        switch (o.subtype) {
          case 'MP_CAPABLE':
            if (o.flags & MpCapableFlag.A) features.add('checksum-enabled MP_CAPABLE');
            if (o.dataLength !== undefined) features.add(`MP_CAPABLE with data length (${m.length})`);
            break;
          case 'MP_JOIN':
            features.add(`MP_JOIN ${o.form}`);
            break;
          case 'DSS':
            if (o.dataFin) features.add('DATA_FIN');
            if (o.mapping?.checksum !== undefined) features.add('DSS with checksum');
            break;
          case 'ADD_ADDR':
            features.add(o.echo ? 'ADD_ADDR echo' : o.hmac ? 'ADD_ADDR with HMAC' : 'ADD_ADDR');
            if (o.port !== undefined) features.add('ADD_ADDR with port');
            if (o.address.length === 16) features.add('ADD_ADDR IPv6');
            break;
          case 'MP_TCPRST':
            features.add(`MP_TCPRST reason ${o.reason}`);
            break;
          default:
            features.add(o.subtype);
        }
      }
    }
    const expected = Object.fromEntries(Object.entries(entry.subtypes).map(([k, v]) => [k === 'REMOVE_ADDR' ? 'RM_ADDR' : k, v.count]));
    assert.deepEqual(counts, expected);
  });
}

test('the fixtures together contain every feature the foundation requires', () => {
  const required = [
    'MP_JOIN syn',
    'MP_JOIN synack',
    'MP_JOIN ack',
    'ADD_ADDR with HMAC',
    'ADD_ADDR echo',
    'ADD_ADDR with port',
    'ADD_ADDR IPv6',
    'RM_ADDR',
    'MP_PRIO',
    'DATA_FIN',
    'MP_FASTCLOSE',
    'MP_TCPRST reason 0',
    'MP_TCPRST reason 3',
    'IPv6',
    'checksum-enabled MP_CAPABLE',
    'MP_CAPABLE with data length (22)',
    'MP_CAPABLE with data length (24)',
    'DSS with checksum',
  ];
  assert.ok(Object.keys(manifest.files).length >= 9, 'fixtures present');
  assert.deepEqual(required.filter((f) => !features.has(f)), []);
});
