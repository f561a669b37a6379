/**
 * src/capture as a library: `readFrames` / `FrameReader` give the frames `mptcp decode` prints, a truncated
 * file gives the frames before the cut and the error, and `summarizeFrames` is the `--summary` report.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeCapture, FrameReader, frameJson, readFrames, summarizeFrames } from '../../src/capture/index.js';
import { isWireError, type WireError } from '../../src/wire/errors.js';

const FIXTURE = 'fixtures/kernel/join.pcap';

function printed(bytes: Uint8Array, summary: boolean): { out: string; error: WireError | undefined } {
  let out = '';
  const error = decodeCapture(bytes, { json: true, summary, filterMptcp: false }, (t) => (out += t));
  return { out, error };
}

test('readFrames gives every frame that decode --json prints, in order', () => {
  const bytes = readFileSync(FIXTURE);
  const { frames, error } = readFrames(bytes);
  assert.equal(error, undefined);
  assert.ok(frames.length > 10);
  const first = frames[0]!.timestampMicros;
  const lines = frames.map((f) => JSON.stringify(frameJson(f, first)) + '\n').join('');
  assert.equal(lines, printed(bytes, false).out);
});

test('FrameReader reads one frame at a time, and a file cut short ends with the WireError after the frames before it', () => {
  const bytes = readFileSync(FIXTURE);
  const cut = bytes.subarray(0, Math.floor(bytes.length / 2));
  const reader = FrameReader.open(cut);
  assert.ok(!isWireError(reader));
  let n = 0;
  let last: WireError | undefined;
  for (let f = reader.next(); f !== undefined; f = reader.next()) {
    if (isWireError(f)) {
      last = f;
      break;
    }
    n++;
  }
  const { frames, error } = readFrames(cut);
  assert.equal(frames.length, n);
  assert.ok(isWireError(last) && isWireError(error));
  assert.equal(error.message, last.message);
  assert.equal(printed(cut, false).error?.message, error.message);
  assert.ok(isWireError(FrameReader.open(new Uint8Array(8))), 'not a capture');
});

test('summarizeFrames is the report decode --summary --json prints', () => {
  const bytes = readFileSync(FIXTURE);
  const report = summarizeFrames(readFrames(bytes).frames);
  assert.equal(report.connections.length, 1);
  assert.equal(report.connections.map((c) => JSON.stringify(c) + '\n').join(''), printed(bytes, true).out);
});
