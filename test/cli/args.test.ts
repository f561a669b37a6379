/** parseCommandArgs: every bad argument list is a one-line UsageError in our words, never Node's parser's. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseCommandArgs, UsageError } from '../../src/cli/command.js';

const OPTIONS = {
  client: { type: 'string', short: 'c' },
  time: { type: 'string', short: 't' },
  reverse: { type: 'boolean', short: 'R' },
  json: { type: 'boolean', short: 'J' },
  link: { type: 'string', multiple: true },
} as const;

/** Phrases of node:util parseArgs' own messages. */
const NODE_WORDS = /ambiguous|argument missing|does not take an argument|Unknown option|place it at the end|Did you forget|To specify/;

test('parseCommandArgs: our messages for what parseArgs rejects', () => {
  const cases: Array<[string[], string]> = [
    [['-c'], 'option -c (--client) needs a value'],
    [['-c', '-t', '3'], "option -c (--client) needs a value, got the option '-t' (to give a value that starts with '-', write --client=-t)"],
    [['--link', '--json'], "option --link needs a value, got the option '--json' (to give a value that starts with '-', write --link=--json)"],
    [['--json=yes'], "option --json takes no value, got '--json=yes'"],
    [['--bogus'], "unknown option '--bogus'"],
    [['-x'], "unknown option '-x'"],
    [['-RJx'], "unknown option '-x' (in '-RJx')"],
  ];
  for (const [args, message] of cases) {
    assert.throws(() => parseCommandArgs(args, OPTIONS), (e: unknown) => e instanceof UsageError && e.message === message && e.exitCode === 2, args.join(' '));
  }
  // What parseArgs accepts still parses the same.
  const parsed = parseCommandArgs(['-Rt5', '--client=-x', '--link', 'a', '--link=b', '-', '--', '--json'], OPTIONS);
  assert.deepEqual({ ...parsed.values }, { reverse: true, time: '5', client: '-x', link: ['a', 'b'] });
  assert.deepEqual(parsed.positionals, ['-', '--json']);
});

test('parseCommandArgs never throws anything but a one-line UsageError free of Node parser words (property)', () => {
  const word = fc.oneof(
    fc.constantFrom('-c', '-t', '-R', '-J', '-RJ', '-Rt', '--client', '--time', '--json', '--reverse', '--link', '--', '-', '--json=1', '--client=', '-x', '--nope'),
    fc.string({ maxLength: 6 }),
  );
  fc.assert(
    fc.property(fc.array(word, { maxLength: 8 }), (args) => {
      try {
        parseCommandArgs(args, OPTIONS);
      } catch (e) {
        assert.ok(e instanceof UsageError, `not a UsageError: ${String(e)}`);
        assert.doesNotMatch(e.message, /\n/);
        assert.doesNotMatch(e.message, NODE_WORDS);
      }
    }),
    { numRuns: 2000 },
  );
});
