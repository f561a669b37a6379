/**
 * Bad input from the network (issue 4, "never a crash, a hang or lost data"): a hostile path rewrites the
 * MPTCP options of live segments of a two-subflow connection into random, well-formed MPTCP options (every
 * subtype: MP_CAPABLE, MP_JOIN, DSS with arbitrary mappings and DATA_ACKs, ADD_ADDR, RM_ADDR, MP_PRIO,
 * MP_FAIL, MP_FASTCLOSE, MP_TCPRST...), TCP checksum recomputed so only MPTCP sees it. Property: neither host
 * throws, neither sends an unbounded burst (the emulator bounds a turn), every connection ends (closed
 * cleanly or reset) within 120 s of virtual time, and when both ends report a clean close the data that
 * arrived is exactly the data that was sent (a reaction such as a fallback or a reset is allowed; silently
 * wrong data or a connection left hanging is not: a forged DATA_FIN once did that).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseIpPacket, emitIpHeader, ipHeaderLength, IpProtocol } from '../../src/wire/ip.js';
import { parseTcpSegment, emitTcpSegment, tcpHeaderLength, type TcpOption } from '../../src/wire/tcp.js';
import { isWireError } from '../../src/wire/errors.js';
import type { MptcpOption } from '../../src/wire/mptcp-option.js';
import { mptcpOptionArb } from '../support/arbitraries.js';
import { MB, scenario } from '../../src/harness/scenario.js';

/** Rewrites `bytes` with its MPTCP options replaced by `replacement` (if the result fits 40 option bytes). */
function withOptions(bytes: Uint8Array, replacement: MptcpOption): Uint8Array | undefined {
  const ip = parseIpPacket(bytes, { verifyChecksum: false });
  if (isWireError(ip) || ip.protocol !== IpProtocol.TCP) return undefined;
  const seg = parseTcpSegment(ip.payload);
  if (isWireError(seg)) return undefined;
  const options: TcpOption[] = seg.options.filter((o) => o.kind !== 'mptcp' && o.kind !== 'eol');
  options.push({ kind: 'mptcp', option: replacement });
  const repr = { srcPort: seg.srcPort, dstPort: seg.dstPort, seq: seg.seq, ack: seg.ack, flags: seg.flags, window: seg.window, options, payload: seg.payload };
  let tcpLength: number;
  try {
    tcpLength = tcpHeaderLength(options) + seg.payload.length;
  } catch {
    return undefined;
  }
  if (tcpLength - seg.payload.length > 60) return undefined;
  const out = new Uint8Array(ipHeaderLength(ip.src) + tcpLength);
  emitIpHeader({ src: ip.src, dst: ip.dst, protocol: IpProtocol.TCP, payloadLength: tcpLength }, out, 0);
  emitTcpSegment(repr, ip.src, ip.dst, out, ipHeaderLength(ip.src));
  return out;
}

test('property: random MPTCP options injected into a live two-subflow connection never crash, hang or corrupt delivered data', () => {
  const stats = { injected: 0, clean: 0, aborted: 0, open: 0, fallback: 0 };
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 1_000_000 }),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 400 }), fc.boolean(), mptcpOptionArb), { minLength: 1, maxLength: 6 }),
      (seed, injections) => {
        const s = scenario({
          seed,
          up: 1 * MB,
          down: 256 * 1024,
          paths: [{ config: { rateBitsPerSecond: 50e6, delayMicros: 2_000 } }, { config: { rateBitsPerSecond: 50e6, delayMicros: 3_000 } }],
          clientEndpoints: ['198.18.2.2 id 2 subflow'],
          clientLimits: 'subflows 2 add_addr_accepted 1',
          serverLimits: 'subflows 2 add_addr_accepted 1',
        });
        let index = 0;
        const plan = new Map(injections.map(([at, toServer, option]) => [at * 2 + (toServer ? 0 : 1), option]));
        const rewrite = (toServer: boolean) => (_now: number, bytes: Uint8Array) => {
          const option = plan.get(index++ * 2 + (toServer ? 0 : 1));
          const out = option === undefined ? undefined : withOptions(bytes, option);
          if (out !== undefined) stats.injected++;
          return out;
        };
        s.paths[0]!.forward.setTransform(rewrite(true));
        s.paths[0]!.backward.setTransform(rewrite(false));
        const thrown = s.finish(120_000_000);
        assert.equal(thrown, undefined, `the stack threw: ${thrown?.stack}`);
        // A clean close on both ends means every byte was delivered, and it must be the right bytes.
        if (s.up.closed && s.down.closed && s.up.closedError === undefined && s.down.closedError === undefined) {
          stats.clean++;
          assert.ok(s.up.intact(), `up: a clean close, so all of it and intact (${s.up.received} of ${s.up.data.length})`);
          assert.ok(s.down.intact(), `down: a clean close, so all of it and intact (${s.down.received} of ${s.down.data.length})`);
        } else if (s.up.closed && s.down.closed) stats.aborted++;
        else stats.open++;
        if (s.client.fallback) stats.fallback++;
      },
    ),
    { numRuns: 150, seed: 4684 },
  );
  console.log(`# ${stats.injected} options injected; ${stats.clean} runs closed cleanly with intact data, ${stats.aborted} ended in a reset or abort, ${stats.open} still open after 120 s, ${stats.fallback} fell back to TCP`);
  assert.ok(stats.injected > 150, 'the property injected options (not vacuous)');
  assert.ok(stats.clean > 0 && stats.aborted + stats.fallback > 0, 'both outcomes occurred: the injections mattered');
  assert.equal(stats.open, 0, 'no connection left hanging (e.g. by a forged DATA_FIN)');
});
