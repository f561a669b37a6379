/**
 * The host's attention sets (src/stack/attention.ts) against the scans they replace: a model table of
 * entries, each with some packets, deadlines and events to give, driven by random adds, removes, touches and
 * polls; the attention sets must serve output in the scan's order (round robin from the entry that sent
 * last, the cursor kept at its index on removal), events in table order, and the scan's earliest deadline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Attention, type AttentionSlots } from '../../src/stack/attention.js';

class Entry {
  readonly kind = 'k' as const;
  slots!: AttentionSlots<Entry>;
  packets = 0;
  events = 0;
  deadline: number | undefined;
  constructor(readonly name: number) {}
  readonly connection = { pollTimeout: () => this.deadline };
}

type Op =
  | { op: 'add' }
  | { op: 'remove'; at: number }
  | { op: 'give'; at: number; packets: number; events: number; deadline: number | undefined }
  | { op: 'transmit' }
  | { op: 'event' }
  | { op: 'timeout' };

const ops: fc.Arbitrary<Op> = fc.oneof(
  fc.constant({ op: 'add' as const }),
  fc.constant({ op: 'add' as const }),
  fc.record({ op: fc.constant('remove' as const), at: fc.nat(6) }),
  fc.record({ op: fc.constant('give' as const), at: fc.nat(6), packets: fc.nat(3), events: fc.nat(2), deadline: fc.option(fc.nat(100), { nil: undefined }) }),
  fc.constant({ op: 'transmit' as const }),
  fc.constant({ op: 'transmit' as const }),
  fc.constant({ op: 'event' as const }),
  fc.constant({ op: 'timeout' as const }),
);

test('attention sets (property): output, events and the earliest deadline in the order of the scans they replace', () => {
  fc.assert(
    fc.property(fc.array(ops, { maxLength: 150 }), (list) => {
      const att = new Attention<'k', Entry>(['k']);
      const entries: Entry[] = [];
      let cursor = 0; // the scan's cursor, an index
      let cursorEntry: Entry | undefined; // the attention side's, an entry
      let names = 0;
      for (const o of list) {
        if (o.op === 'add') {
          const e = new Entry(names++);
          entries.push(e);
          att.add(e);
        } else if (o.op === 'remove') {
          if (entries.length === 0) continue;
          const j = o.at % entries.length;
          const e = entries[j]!;
          att.remove(e);
          let c = cursorEntry === undefined ? 0 : entries.indexOf(cursorEntry);
          entries.splice(j, 1);
          if (cursor >= entries.length) cursor = 0;
          if (c >= entries.length) c = 0;
          cursorEntry = entries[c];
          att.moveCursor(cursorEntry?.slots.seq ?? att.nextSeq);
          assert.equal(c, cursor);
        } else if (o.op === 'give') {
          if (entries.length === 0) continue;
          const e = entries[o.at % entries.length]!;
          e.packets += o.packets;
          e.events += o.events;
          e.deadline = o.deadline;
          att.touch(e);
        } else if (o.op === 'transmit') {
          // The scan (the host's old pollTransmit), on a copy of the packet counts.
          let expected: Entry | undefined;
          for (let i = 0; i < entries.length; i++) {
            const idx = (cursor + i) % entries.length;
            if (entries[idx]!.packets > 0) {
              expected = entries[idx];
              cursor = idx;
              break;
            }
          }
          const got = att.nextPacket((e) => (e.packets > 0 ? e.packets-- : undefined));
          if (got) cursorEntry = got.entry;
          assert.equal(got?.entry, expected);
        } else if (o.op === 'event') {
          const expected = entries.find((e) => e.events > 0);
          let got: Entry | undefined;
          for (let e = att.firstEventCandidate('k'); e !== undefined; e = att.firstEventCandidate('k')) {
            if (e.events > 0) {
              e.events--;
              got = e;
              break;
            }
            att.noEvents(e);
          }
          assert.equal(got, expected);
        } else {
          let min: number | undefined;
          for (const e of entries) if (e.deadline !== undefined && (min === undefined || e.deadline < min)) min = e.deadline;
          assert.equal(att.nextDeadline(), min);
          if (min !== undefined) {
            const due = att.due(min);
            const expected = entries.filter((e) => e.deadline !== undefined && e.deadline <= min);
            assert.deepEqual(due.map((e) => e.name), expected.map((e) => e.name));
            for (const e of due) {
              e.deadline = undefined;
              att.touch(e);
            }
          }
        }
      }
    }),
    { numRuns: 500 },
  );
});

test('attention sets: removing an entry before the cursor moves the cursor to the next entry, as the index did', () => {
  const att = new Attention<'k', Entry>(['k']);
  const es = [0, 1, 2, 3].map((i) => new Entry(i));
  for (const e of es) att.add(e);
  es[1]!.packets = 5;
  es[2]!.packets = 5;
  att.touch(es[1]!);
  att.touch(es[2]!);
  const poll = (e: Entry): number | undefined => (e.packets > 0 ? e.packets-- : undefined);
  assert.equal(att.nextPacket(poll)?.entry, es[1], 'served from the start');
  assert.equal(att.nextPacket(poll)?.entry, es[1], 'the entry that sent is asked first again');
  att.remove(es[0]!); // [1, 2, 3] with the cursor index still 1: entry 2
  att.moveCursor(es[2]!.slots.seq);
  assert.equal(att.nextPacket(poll)?.entry, es[2]);
  es[2]!.packets = 0;
  assert.equal(att.nextPacket(poll)?.entry, es[1], 'round the table to entry 1');
  att.remove(es[3]!);
  att.remove(es[2]!);
  att.moveCursor(es[1]!.slots.seq);
  es[1]!.packets = 0;
  assert.equal(att.nextPacket(poll), undefined);
});
