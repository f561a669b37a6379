// The proxy server's --allow rules (src/proxy/allow.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AllowList, AllowRuleError, parseAllowRule } from '../../src/proxy/allow.js';

test('rules: CIDR with and without ports, bare addresses, IPv6 in brackets', () => {
  const list = new AllowList(['127.0.0.0/8:80,443,8000-8999', '198.18.5.1', '[2001:2::/48]:22', '::1/128']);
  assert.equal(list.match('127.1.2.3', 443)?.text, '127.0.0.0/8:80,443,8000-8999');
  assert.equal(list.match('127.1.2.3', 8500)?.text, '127.0.0.0/8:80,443,8000-8999');
  assert.equal(list.match('127.1.2.3', 9000), undefined);
  assert.equal(list.match('128.0.0.1', 80), undefined);
  assert.equal(list.match('198.18.5.1', 1)?.text, '198.18.5.1');
  assert.equal(list.match('198.18.5.2', 1), undefined);
  assert.equal(list.match('2001:2:0:ffff::9', 22)?.text, '[2001:2::/48]:22');
  assert.equal(list.match('2001:2:0:ffff::9', 23), undefined);
  assert.equal(list.match('::1', 5)?.text, '::1/128');
  assert.equal(list.match('::ffff:127.0.0.1', 80)?.text, '127.0.0.0/8:80,443,8000-8999', 'IPv4-mapped checks as IPv4');
  assert.equal(list.match('not an address', 80), undefined);
  assert.equal(list.describe(), '127.0.0.0/8 ports 80,443,8000-8999; 198.18.5.1/32 any port; 2001:2::/48 ports 22; ::1/128 any port');
  assert.equal(new AllowList([]).match('127.0.0.1', 80), undefined, 'no rule: nothing allowed');
});

test('bad rules are errors naming the rule', () => {
  for (const bad of ['', 'x', '127.0.0.0/33', '127.0.0.1:0', '127.0.0.1:70000', '127.0.0.1:9-8', '[::1', '[::1]80', '10.0.0.0/8:a', '2001:2::1:80x']) {
    assert.throws(() => parseAllowRule(bad), (e: unknown) => e instanceof AllowRuleError && e.message.includes(`'${bad}'`), bad);
  }
});

test('property: parsing never throws anything but AllowRuleError', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), (s) => {
      try {
        parseAllowRule(s);
      } catch (e) {
        assert.ok(e instanceof AllowRuleError);
      }
    }),
    { numRuns: 3000 },
  );
});
