import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import {
  ControlChannel,
  ControlClosedError,
  COOKIE_SIZE,
  cookiesEqual,
  cookieText,
  decodeParams,
  decodeResults,
  encodeParams,
  encodeResults,
  ExactReader,
  iperfNumber,
  IperfState,
  iperfStreamId,
  makeCookie,
  PerfProtocolError,
  type IperfParams,
} from '../../src/perf/iperf3-protocol.js';
import { formatBitrate, formatBytes, parseSize } from '../../src/perf/units.js';

test('cookie: 36 characters from [a-z2-7] and a NUL; compared like strcmp', () => {
  const c = makeCookie();
  assert.equal(c.length, COOKIE_SIZE);
  assert.equal(c[36], 0);
  assert.match(cookieText(c), /^[a-z2-7]{36}$/);
  const d = Buffer.from(c);
  assert.ok(cookiesEqual(c, d));
  d[5] = d[5] === 0x61 ? 0x62 : 0x61;
  assert.ok(!cookiesEqual(c, d));
  // bytes after the NUL do not matter
  const e = Buffer.from(c);
  assert.ok(cookiesEqual(c, Buffer.concat([e.subarray(0, 37)])));
  assert.equal(cookieText(makeCookie(() => 0)), 'a'.repeat(36));
});

test('state codes are iperf.h values', () => {
  assert.deepEqual(
    [IperfState.TEST_START, IperfState.TEST_RUNNING, IperfState.TEST_END, IperfState.PARAM_EXCHANGE, IperfState.CREATE_STREAMS],
    [1, 2, 4, 9, 10],
  );
  assert.deepEqual([IperfState.SERVER_TERMINATE, IperfState.CLIENT_TERMINATE, IperfState.EXCHANGE_RESULTS, IperfState.DISPLAY_RESULTS, IperfState.IPERF_DONE], [11, 12, 13, 14, 16]);
  assert.deepEqual([IperfState.ACCESS_DENIED, IperfState.SERVER_ERROR], [-1, -2]);
});

test('stream ids are numbered like iperf_add_stream: 1, 3, 4, 5', () => {
  assert.deepEqual([0, 1, 2, 3].map(iperfStreamId), [1, 3, 4, 5]);
});

test('parameters: what iperf 3.12 sends decodes, and ours encode field for field like it', () => {
  // Captured from `iperf3 -c ... -R -n 10M -P 2` (3.12).
  const wire = JSON.parse('{"tcp":true,"omit":0,"time":0,"num":10485760,"blockcount":0,"parallel":2,"reverse":true,"len":131072,"pacing_timer":1000,"client_version":"3.12"}') as Record<string, unknown>;
  const p = decodeParams(wire);
  assert.equal(p.protocol, 'tcp');
  assert.equal(p.time, 0);
  assert.equal(p.num, 10485760);
  assert.equal(p.parallel, 2);
  assert.equal(p.reverse, true);
  assert.equal(p.len, 131072);
  assert.equal(p.clientVersion, '3.12');
  assert.deepEqual(encodeParams(p), wire);
  const plain: IperfParams = { ...p, reverse: false, num: 0, time: 10, parallel: 1 };
  assert.deepEqual(Object.keys(encodeParams(plain)), ['tcp', 'omit', 'time', 'num', 'blockcount', 'parallel', 'len', 'pacing_timer', 'client_version']);
  // iperf3 defaults for missing fields; boolean keys count by presence
  const d = decodeParams({ udp: true, nodelay: true });
  assert.equal(d.protocol, 'udp');
  assert.equal(d.time, 10);
  assert.equal(d.parallel, 1);
  assert.equal(d.nodelay, true);
  assert.equal(d.reverse, false);
});

test('results: iperf 3.12 prints -1 as 18446744073709551615; decoded back to -1', () => {
  const text =
    '{"cpu_util_total":25.5,"cpu_util_user":0.75,"cpu_util_system":24.7,"sender_has_retransmits":18446744073709551615,"congestion_used":"bbr","streams":[{"id":1,"bytes":626589537,"retransmits":18446744073709551615,"jitter":0,"errors":0,"packets":0,"start_time":0,"end_time":1.048695}]}';
  const r = decodeResults(JSON.parse(text) as Record<string, unknown>);
  assert.equal(r.senderHasRetransmits, -1);
  assert.equal(r.streams[0]!.retransmits, -1);
  assert.equal(r.streams[0]!.bytes, 626589537);
  assert.equal(r.streams[0]!.endTime, 1.048695);
  assert.equal(r.congestionUsed, 'bbr');
  assert.equal(iperfNumber(2 ** 64 - 1), -1);
  assert.equal(iperfNumber(-1), -1);
  assert.equal(iperfNumber('3'), undefined);
  // round trip
  assert.deepEqual(decodeResults(encodeResults(r)), r);
  // mandatory fields, as iperf3's get_results
  assert.throws(() => decodeResults({ cpu_util_total: 1, cpu_util_user: 1, sender_has_retransmits: 0, streams: [] }), PerfProtocolError);
  assert.throws(() => decodeResults({ cpu_util_total: 1, cpu_util_user: 1, cpu_util_system: 1, sender_has_retransmits: 0 }), /streams/);
  assert.throws(
    () => decodeResults({ cpu_util_total: 1, cpu_util_user: 1, cpu_util_system: 1, sender_has_retransmits: 0, streams: [{ id: 1, bytes: 5 }] }),
    /retransmits/,
  );
});

test('control channel: state bytes and length-prefixed JSON, read across arbitrary chunking', async () => {
  const wire = new PassThrough();
  const writer = new ControlChannel(wire);
  const bytes: Buffer[] = [];
  wire.on('data', (b: Buffer) => bytes.push(b));
  await writer.writeState(IperfState.PARAM_EXCHANGE);
  await writer.writeJson({ a: 1, s: 'é' });
  await writer.writeState(IperfState.ACCESS_DENIED);
  await writer.writeServerError(13, 0);
  const all = Buffer.concat(bytes);
  assert.equal(all[0], 9);
  assert.equal(all.readUInt32BE(1), Buffer.byteLength('{"a":1,"s":"é"}'));
  assert.equal(all[all.length - 9], 0xfe);

  // feed it back one byte at a time
  const input = new PassThrough();
  const reader = new ControlChannel(input);
  const feeding = (async () => {
    for (const b of all) {
      input.write(Buffer.from([b]));
      await new Promise((r) => setImmediate(r));
    }
    input.end();
  })();
  assert.equal(await reader.readState(), 9);
  assert.deepEqual(await reader.readJson(), { a: 1, s: 'é' });
  assert.equal(await reader.readState(), -1);
  assert.equal(await reader.readState(), -2);
  assert.deepEqual(await reader.readServerError(), { code: 13, errno: 0 });
  await feeding;
  await assert.rejects(reader.readState(), ControlClosedError);
});

test('control channel: malformed JSON and a closed connection are protocol errors', async () => {
  const input = new PassThrough();
  const ch = new ControlChannel(input);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(3);
  input.write(Buffer.concat([head, Buffer.from('{x}')]));
  await assert.rejects(ch.readJson(), /malformed JSON/);
  const input2 = new PassThrough();
  const ch2 = new ControlChannel(input2);
  input2.write(Buffer.from([0, 0, 0, 10, 0x7b]));
  input2.end();
  await assert.rejects(ch2.readJson(), ControlClosedError);
});

test('ExactReader.detach returns what followed the bytes read (data after a cookie)', async () => {
  const input = new PassThrough();
  const r = new ExactReader(input);
  input.write(Buffer.concat([makeCookie(), Buffer.from('xyz')]));
  await new Promise((res) => setImmediate(res));
  assert.equal((await r.read(COOKIE_SIZE)).length, COOKIE_SIZE);
  assert.equal(r.detach().toString(), 'xyz');
});

test('sizes and iperf3 units', () => {
  assert.equal(parseSize('10'), 10);
  assert.equal(parseSize('10K'), 10240);
  assert.equal(parseSize('10M'), 10 * 1024 * 1024);
  assert.equal(parseSize('1.5m'), 1.5 * 1024 * 1024);
  assert.equal(parseSize('2G'), 2 * 1024 ** 3);
  assert.equal(parseSize('1T'), 1024 ** 4);
  for (const bad of ['', 'K', '-1', '1X', '1.2.3', '1e5', ' 1 0']) assert.equal(parseSize(bad), undefined, bad);
  assert.equal(formatBytes(0), '0.00 Bytes');
  assert.equal(formatBytes(720 * 1024 * 1024), ' 720 MBytes');
  assert.equal(formatBytes(1.46 * 1024 ** 3), '1.46 GBytes');
  assert.equal(formatBytes(31.1 * 1024 * 1024), '31.1 MBytes');
  assert.equal(formatBitrate(6.03e9), '6.03 Gbits/sec');
  assert.equal(formatBitrate(676e6), ' 676 Mbits/sec');
  assert.equal(formatBitrate(0), '0.00 bits/sec');
});
