/**
 * The proxy server's ruleset (`--allow CIDR[:PORTS]`): the only destinations it connects to. There is no
 * rule that opens everything by default; `0.0.0.0/0` and `::/0` must be written out.
 *
 * Grammar of one rule: `CIDR[:PORTS]` where CIDR is `ADDR/PREFIX` or a bare IPv4 address (/32), IPv6 in
 * brackets when ports follow (`[2001:2::/48]:443`, `[::1]:8080`; a bare `2001:2::/48` means every port),
 * and PORTS a comma-separated list of ports and ranges (`80,443,8000-8999`). Destinations are checked as
 * addresses after name resolution; an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is checked as IPv4.
 */
import { formatAddress, parseAddress, parseCidr } from '../wire/address.js';
import { prefixContains } from '../stack/routing.js';

/** One parsed `--allow` rule. */
export interface AllowRule {
  readonly address: Uint8Array;
  readonly prefixLength: number;
  /** Inclusive port ranges; empty: every port. */
  readonly ports: readonly (readonly [number, number])[];
  /** The rule as given, for messages. */
  readonly text: string;
}

/** A bad `--allow` rule; the message names it and says what was expected. */
export class AllowRuleError extends Error {}

function parsePorts(text: string, rule: string): [number, number][] {
  const out: [number, number][] = [];
  for (const part of text.split(',')) {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(part);
    const lo = m ? Number(m[1]) : NaN;
    const hi = m ? Number(m[2] ?? m[1]) : NaN;
    if (!(lo >= 1 && hi <= 65535 && lo <= hi)) throw new AllowRuleError(`bad --allow '${rule}': '${part}' is not a port 1-65535 or a range LOW-HIGH`);
    out.push([lo, hi]);
  }
  return out;
}

function parseNet(text: string, rule: string): { address: Uint8Array; prefixLength: number } {
  const cidr = text.includes('/') ? parseCidr(text) : undefined;
  const bare = text.includes('/') ? undefined : parseAddress(text);
  const net = cidr ?? (bare ? { address: bare, prefixLength: bare.length * 8 } : undefined);
  if (!net) throw new AllowRuleError(`bad --allow '${rule}': '${text}' is not an address or ADDR/PREFIX (expected CIDR[:PORTS], e.g. 127.0.0.0/8:80,443 or [2001:2::/48]:8000-8999)`);
  return net;
}

/** Parses one rule. Throws AllowRuleError. */
export function parseAllowRule(rule: string): AllowRule {
  let net: string;
  let ports: string | undefined;
  if (rule.startsWith('[')) {
    const close = rule.indexOf(']');
    if (close < 0) throw new AllowRuleError(`bad --allow '${rule}': no closing ']'`);
    net = rule.slice(1, close);
    const rest = rule.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) throw new AllowRuleError(`bad --allow '${rule}': expected ':PORTS' after ']'`);
    ports = rest === '' ? undefined : rest.slice(1);
  } else {
    const slash = rule.indexOf('/');
    if (slash >= 0) {
      // ADDR/PREFIX[:PORTS]: the prefix length has no colon, so a colon after it starts the ports.
      const colon = rule.indexOf(':', slash);
      net = colon < 0 ? rule : rule.slice(0, colon);
      ports = colon < 0 ? undefined : rule.slice(colon + 1);
    } else if ((rule.match(/:/g) ?? []).length === 1) {
      [net, ports] = rule.split(':') as [string, string];
    } else {
      net = rule;
    }
  }
  const { address, prefixLength } = parseNet(net, rule);
  return { address, prefixLength, ports: ports === undefined ? [] : parsePorts(ports, rule), text: rule };
}

/** `::ffff:a.b.c.d` as the 4 bytes of a.b.c.d; other addresses unchanged. */
export function unmapAddress(address: Uint8Array): Uint8Array {
  if (address.length !== 16) return address;
  for (let i = 0; i < 10; i++) if (address[i] !== 0) return address;
  if (address[10] !== 0xff || address[11] !== 0xff) return address;
  return address.subarray(12);
}

/** The rules of a server: `allows(address, port)` for a resolved destination. */
export class AllowList {
  readonly rules: readonly AllowRule[];

  constructor(rules: readonly (string | AllowRule)[]) {
    this.rules = rules.map((r) => (typeof r === 'string' ? parseAllowRule(r) : r));
  }

  /** The first rule that lets `address` (text or bytes) and `port` through, or undefined. */
  match(address: string | Uint8Array, port: number): AllowRule | undefined {
    const parsed = typeof address === 'string' ? parseAddress(address) : address;
    if (!parsed) return undefined;
    const ip = unmapAddress(parsed);
    return this.rules.find((r) => prefixContains(r.address, r.prefixLength, ip) && (r.ports.length === 0 || r.ports.some(([lo, hi]) => port >= lo && port <= hi)));
  }

  /** One line: "127.0.0.0/8 ports 80,443; ::1/128 any port". */
  describe(): string {
    return this.rules.map((r) => `${formatAddress(r.address)}/${r.prefixLength} ${r.ports.length === 0 ? 'any port' : `ports ${r.ports.map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}-${hi}`)).join(',')}`}`).join('; ');
  }
}
