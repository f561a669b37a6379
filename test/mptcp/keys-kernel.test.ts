/**
 * Our key derivations and HMACs against real Linux-kernel MPTCP (fixtures/kernel/*.pcap):
 *
 * - keyToken / keyIdsn of every MP_CAPABLE key equal tshark's mptcp.expected_token / mptcp.expected_idsn
 *   (skipped where tshark is missing);
 * - for every MP_JOIN exchange, joinHmac reproduces the truncated HMAC in the SYN/ACK (sent by the listener
 *   B: HMAC(Key-B + Key-A, R-B + R-A)) and the 160-bit HMAC in the third ACK (sent by A: HMAC(Key-A + Key-B,
 *   R-A + R-B)), RFC 8684 section 3.2;
 * - for every ADD_ADDR with an HMAC, addAddrHmac reproduces the kernel's (RFC 8684 section 3.4.1).
 *
 * Keys come from the MP_CAPABLE third ACK (both keys); the join SYN's token names its receiver's key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { addAddrHmac, joinHmac, keyIdsn, keyToken } from '../../src/mptcp/keys.js';
import { u64FromBigInt, u64ToDecimal, u64ToHex, type U64 } from '../../src/wire/u64.js';
import { readCapture } from '../../src/wire/pcap.js';
import { WireError } from '../../src/wire/errors.js';
import { decodeFrame } from '../../src/capture/decode.js';
import type { MptcpOption } from '../../src/wire/mptcp-option.js';
import { haveTshark, kernelFixtureFiles, KERNEL_FIXTURES, TSHARK_SKIP_REASON } from '../support/kernel-fixtures.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('fixtures: the kernel captures are there', () => {
  assert.ok(kernelFixtureFiles().length > 0, `no captures in ${KERNEL_FIXTURES}/`);
});

test('keyToken / keyIdsn equal tshark mptcp.expected_token / expected_idsn for every kernel key', { skip: haveTshark ? false : TSHARK_SKIP_REASON }, () => {
  let checked = 0;
  for (const file of kernelFixtureFiles()) {
    const r = spawnSync(
      'tshark',
      ['-r', file, '-o', 'tcp.analyze_sequence_numbers:TRUE', '-o', 'mptcp.analyze_mptcp:TRUE', '-Y', 'tcp.options.mptcp.sendkey',
        '-T', 'fields', '-E', 'occurrence=f', '-e', 'frame.number', '-e', 'tcp.options.mptcp.sendkey', '-e', 'mptcp.expected_token', '-e', 'mptcp.expected_idsn'],
      { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
    );
    assert.equal(r.status, 0, r.stderr);
    for (const line of r.stdout.split('\n')) {
      if (line.trim() === '') continue;
      const [frame, key, token, idsn] = line.split('\t');
      assert.ok(key && token && idsn, `${file} frame ${frame}: tshark printed ${JSON.stringify(line)}`);
      const k = u64FromBigInt(BigInt(key));
      assert.equal(keyToken(k), Number(token), `${file} frame ${frame}: token of key ${u64ToHex(k)}`);
      assert.equal(u64ToDecimal(keyIdsn(k)), idsn, `${file} frame ${frame}: IDSN of key ${u64ToHex(k)}`);
      checked++;
    }
  }
  assert.ok(checked > 0, 'no MP_CAPABLE keys in the fixtures');
});

interface Sent {
  readonly frame: number;
  readonly tuple: string;
  readonly reverse: string;
  readonly flags: number;
  readonly option: MptcpOption;
}

test('joinHmac and addAddrHmac reproduce the kernel HMACs of every MP_JOIN and ADD_ADDR in the fixtures', () => {
  const counts = { synAck: 0, ack: 0, addAddr: 0 };
  for (const file of kernelFixtureFiles()) {
    const capture = readCapture(readFileSync(file));
    assert.ok(!(capture instanceof WireError), `${file}: ${String(capture)}`);
    // Pass 1: every MPTCP option with its direction.
    const sent: Sent[] = [];
    for (const packet of capture.packets) {
      const d = decodeFrame(packet);
      if (d.kind !== 'tcp') continue;
      const a = `${d.src} ${d.segment.srcPort}`;
      const b = `${d.dst} ${d.segment.dstPort}`;
      for (const e of d.mptcp) if (e.kind === 'option') sent.push({ frame: d.frame, tuple: `${a} ${b}`, reverse: `${b} ${a}`, flags: d.segment.flags, option: e.option });
    }
    // Keys: the third ACK's MP_CAPABLE names both; each direction of a subflow gets (sender's, receiver's).
    const byToken = new Map<number, { key: U64; peer: U64 }>();
    const directionKeys = new Map<string, { sender: U64; receiver: U64 }>();
    for (const s of sent) {
      const o = s.option;
      if (o.subtype !== 'MP_CAPABLE' || !o.senderKey || !o.receiverKey) continue;
      byToken.set(keyToken(o.senderKey), { key: o.senderKey, peer: o.receiverKey });
      byToken.set(keyToken(o.receiverKey), { key: o.receiverKey, peer: o.senderKey });
      directionKeys.set(s.tuple, { sender: o.senderKey, receiver: o.receiverKey });
      directionKeys.set(s.reverse, { sender: o.receiverKey, receiver: o.senderKey });
    }
    // MP_JOIN: SYN (token of B, R-A) -> SYN/ACK (HMAC-B, R-B) -> ACK (HMAC-A).
    const joins = new Map<string, { keyA: U64; keyB: U64; nonceA: number; nonceB?: number }>();
    for (const s of sent) {
      const o = s.option;
      if (o.subtype !== 'MP_JOIN') continue;
      if (o.form === 'syn') {
        const b = byToken.get(o.token);
        assert.ok(b, `${file} frame ${s.frame}: MP_JOIN token ${o.token.toString(16)} matches no MP_CAPABLE key`);
        joins.set(s.tuple, { keyA: b.peer, keyB: b.key, nonceA: o.nonce });
        directionKeys.set(s.tuple, { sender: b.peer, receiver: b.key });
        directionKeys.set(s.reverse, { sender: b.key, receiver: b.peer });
      } else if (o.form === 'synack') {
        const j = joins.get(s.reverse);
        assert.ok(j, `${file} frame ${s.frame}: MP_JOIN SYN/ACK without its SYN`);
        j.nonceB = o.nonce;
        const expected = joinHmac(j.keyB, j.keyA, o.nonce, j.nonceA).subarray(0, 8);
        assert.equal(hex(o.hmac), hex(expected), `${file} frame ${s.frame}: SYN/ACK truncated HMAC`);
        counts.synAck++;
      } else {
        const j = joins.get(s.tuple);
        assert.ok(j && j.nonceB !== undefined, `${file} frame ${s.frame}: MP_JOIN ACK without SYN and SYN/ACK`);
        const expected = joinHmac(j.keyA, j.keyB, j.nonceA, j.nonceB).subarray(0, 20);
        assert.equal(hex(o.hmac), hex(expected), `${file} frame ${s.frame}: third ACK HMAC`);
        counts.ack++;
      }
    }
    // ADD_ADDR: HMAC keyed with (sender's key, receiver's key) over id, address, port.
    for (const s of sent) {
      const o = s.option;
      if (o.subtype !== 'ADD_ADDR' || !o.hmac) continue;
      const keys = directionKeys.get(s.tuple);
      assert.ok(keys, `${file} frame ${s.frame}: ADD_ADDR on a subflow whose keys were not captured`);
      const expected = addAddrHmac(keys.sender, keys.receiver, o.addressId, o.address, o.port);
      assert.equal(hex(o.hmac), hex(expected), `${file} frame ${s.frame}: ADD_ADDR HMAC`);
      counts.addAddr++;
    }
  }
  assert.ok(counts.synAck > 0 && counts.ack > 0, `no MP_JOIN exchange in the fixtures: ${JSON.stringify(counts)}`);
  assert.ok(counts.addAddr > 0, `no ADD_ADDR with an HMAC in the fixtures: ${JSON.stringify(counts)}`);
});
