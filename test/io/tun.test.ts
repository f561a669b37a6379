// TUN devices and real-kernel topologies. The acceptance test: a Linux MPTCP client in a network namespace
// sends its SYN through a TUN device this process created; we check its MP_CAPABLE and refuse it with a
// RST/ACK that the kernel must accept (ECONNREFUSED).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { DEFAULT_TUN_ADDON_PATH, TunDevice, tunAvailable } from '../../src/io/tun.js';
import { isTestAddress, listTestNamespaces, rootNetnsAvailable, Topology } from '../../src/io/netns.js';
import { emitIpHeader, ipHeaderLength, IpProtocol, parseIpPacket } from '../../src/wire/ip.js';
import { emitTcpSegment, parseTcpSegment, TcpFlags, TcpOptionKind, type TcpSegment } from '../../src/wire/tcp.js';
import { MpCapableFlag, type MpCapableOption } from '../../src/wire/mptcp-option.js';
import { formatAddress, parseAddress } from '../../src/wire/address.js';
import { WireError } from '../../src/wire/errors.js';

/** Why the real-kernel tests cannot run here, or false when they can. */
function kernelSkipReason(): string | false {
  const netns = rootNetnsAvailable();
  if (!netns.ok) return netns.reason;
  const tun = tunAvailable();
  if (!tun.ok) return tun.reason;
  return false;
}
const skip = kernelSkipReason();

function address(text: string): Uint8Array {
  const bytes = parseAddress(text);
  assert.ok(bytes, text);
  return bytes;
}

test('tunAvailable: a missing addon is reported with a clear reason', () => {
  const missing = '/nonexistent/build/Release/tun.node';
  const result = tunAvailable({ addonPath: missing });
  assert.equal(result.ok, false);
  assert.ok(!result.ok);
  if (process.platform === 'linux') {
    assert.match(result.reason, /TUN addon not built/);
    assert.ok(result.reason.includes(missing), result.reason);
  }
  assert.throws(() => TunDevice.open('mtnever', { addonPath: missing }), { message: result.reason });
});

/** Why the addon itself cannot be loaded here, or false when it can. */
function addonSkipReason(): string | false {
  const result = tunAvailable({ addonPath: DEFAULT_TUN_ADDON_PATH });
  return !result.ok && /addon|Linux-only/.test(result.reason) ? result.reason : false;
}

test('tunAvailable: a missing clone device is reported', { skip: addonSkipReason() }, () => {
  const result = tunAvailable({ devicePath: '/nonexistent/net/tun' });
  assert.deepEqual(result, {
    ok: false,
    reason: '/nonexistent/net/tun is missing (load the tun kernel module, or give the container the device)',
  });
});

test('isTestAddress: only 198.18.0.0/15 and 2001:2::/48', () => {
  for (const ok of ['198.18.0.1', '198.19.255.254', '2001:2::1', '2001:2:0:ffff::1']) assert.ok(isTestAddress(address(ok)), ok);
  for (const bad of ['198.20.0.1', '10.0.0.1', '127.0.0.1', '2001:2:1::1', '2001:db8::1', '::1']) {
    assert.ok(!isTestAddress(address(bad)), bad);
  }
});

test('netns: a TUN device moved into a namespace carries packets both ways', { skip, timeout: 20_000 }, async (t) => {
  const topology = Topology.create();
  t.after(() => topology.dispose());
  const peer = topology.addNamespace('echo');
  const received: Buffer[] = [];
  let wake: (() => void) | undefined;
  const device = topology.createTun({
    onPackets: (packets) => {
      received.push(...packets);
      wake?.();
    },
  });
  assert.match(device.name, new RegExp(`^mt${process.pid}x\\d+$`));
  assert.ok(device.fd >= 0);
  // MTU by ioctl works while the device is still in our namespace.
  device.setMtu(1400);
  assert.equal(device.getMtu(), 1400);
  topology.moveToNamespace(device, peer);
  peer.setSysctl('net.ipv6.conf.all.disable_ipv6', 0);
  peer.addAddress(device.name, '198.18.0.1/24');
  peer.addAddress(device.name, '2001:2::1/64');
  assert.throws(() => peer.addAddress(device.name, '10.1.2.3/24'), /outside 198\.18\.0\.0\/15 and 2001:2::\/48/);
  peer.linkUp(device.name);
  assert.match(peer.ip('-br', 'addr', 'show', 'dev', device.name), /198\.18\.0\.1\/24 .*2001:2::1\/64/);
  assert.match(peer.ip('link', 'show', 'dev', device.name), /mtu 1400/);

  // The kernel in the namespace sends a UDP datagram to 198.18.0.2 (our side): it must come out of the fd.
  const sender = `import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'hello tun', ('198.18.0.2', 9999))`;
  const sent = await peer.run('python3', ['-c', sender], { timeoutMs: 10_000 });
  assert.equal(sent.code, 0, sent.stderr);
  const isOurDatagram = (p: Buffer): boolean => {
    const ip = parseIpPacket(p);
    return !(ip instanceof WireError) && ip.protocol === IpProtocol.UDP && formatAddress(ip.dst) === '198.18.0.2';
  };
  while (!received.some(isOurDatagram)) {
    await new Promise<void>((resolve) => (wake = resolve));
  }
  const datagram = parseIpPacket(received.find(isOurDatagram)!);
  assert.ok(!(datagram instanceof WireError));
  assert.equal(formatAddress(datagram.src), '198.18.0.1');
  assert.equal(Buffer.from(datagram.payload.subarray(8)).toString(), 'hello tun');

  // And a packet we write (ICMP echo request from 198.18.0.2) reaches the kernel, which answers it.
  const echo = new Uint8Array(20 + 8 + 4);
  emitIpHeader({ src: address('198.18.0.2'), dst: address('198.18.0.1'), protocol: IpProtocol.ICMP, payloadLength: 12 }, echo, 0);
  echo.set([8, 0, 0, 0, 0x12, 0x34, 0, 1, 0x70, 0x69, 0x6e, 0x67], 20);
  let sum = 0;
  for (let i = 20; i < echo.length; i += 2) sum += (echo[i]! << 8) | echo[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const checksum = ~sum & 0xffff;
  echo[22] = checksum >> 8;
  echo[23] = checksum & 0xff;
  assert.equal(device.write(echo), true);
  const isEchoReply = (p: Buffer): boolean => {
    const ip = parseIpPacket(p);
    return !(ip instanceof WireError) && ip.protocol === IpProtocol.ICMP && ip.payload[0] === 0 && ip.payload[4] === 0x12;
  };
  while (!received.some(isEchoReply)) {
    await new Promise<void>((resolve) => (wake = resolve));
  }
});

/** The kernel client: an IPPROTO_MPTCP (262) socket connecting with a timeout; prints the outcome. */
const MPTCP_CLIENT = `
import errno, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
s.settimeout(5.0)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    print("CONNECTED")
except socket.timeout:
    print("TIMEOUT")
except OSError as e:
    print(errno.errorcode.get(e.errno, "errno %s" % e.errno))
`;

/** The raw MPTCP option bytes (kind 30) in a TCP header's options area, if any. */
function rawMptcpOption(tcpBytes: Uint8Array): Uint8Array | undefined {
  const headerLength = (tcpBytes[12]! >> 4) * 4;
  for (let i = 20; i < headerLength; ) {
    const kind = tcpBytes[i]!;
    if (kind === TcpOptionKind.EOL) break;
    if (kind === TcpOptionKind.NOP) {
      i++;
      continue;
    }
    const length = tcpBytes[i + 1]!;
    if (length < 2) break;
    if (kind === TcpOptionKind.MPTCP) return tcpBytes.subarray(i, i + length);
    i += length;
  }
  return undefined;
}

test(
  'kernel MPTCP client: its SYN carries MP_CAPABLE v1 (flag H, 4-byte form); our RST/ACK makes connect() fail with ECONNREFUSED',
  { skip, timeout: 30_000 },
  async (t) => {
    const ourAddress = address('198.18.0.2');
    const port = 20_000 + (process.pid % 10_000);
    const topology = Topology.create();
    t.after(() => topology.dispose());
    const peer = topology.addNamespace('mptcp-client');

    const syns: { segment: TcpSegment; tcpBytes: Uint8Array; src: Uint8Array }[] = [];
    let ignored = 0;
    const device = topology.createTun({
      onPackets: (packets) => {
        for (const packet of packets) {
          const ip = parseIpPacket(packet, { verifyChecksum: true });
          // Router solicitations, MLD and anything else that is not TCP to us is not part of this test.
          if (ip instanceof WireError || ip.protocol !== IpProtocol.TCP || ip.src.length !== 4) {
            ignored++;
            continue;
          }
          const segment = parseTcpSegment(ip.payload, ip);
          if (segment instanceof WireError) throw new Error(`the kernel sent a TCP segment we cannot parse: ${segment}`);
          if ((segment.flags & (TcpFlags.SYN | TcpFlags.ACK)) !== TcpFlags.SYN || segment.dstPort !== port) continue;
          syns.push({ segment, tcpBytes: Uint8Array.from(ip.payload), src: Uint8Array.from(ip.src) });

          // RST/ACK as a closed port answers a SYN (RFC 9293 section 3.10.7.1): seq 0, ack = SYN seq + 1.
          const rst = new Uint8Array(ipHeaderLength(ourAddress) + 20);
          const ipLength = emitIpHeader(
            { src: ourAddress, dst: ip.src, protocol: IpProtocol.TCP, payloadLength: 20 },
            rst,
            0,
          );
          emitTcpSegment(
            {
              srcPort: segment.dstPort,
              dstPort: segment.srcPort,
              seq: 0,
              ack: (segment.seq + 1) >>> 0,
              flags: TcpFlags.RST | TcpFlags.ACK,
              window: 0,
              options: [],
              payload: new Uint8Array(0),
            },
            ourAddress,
            ip.src,
            rst,
            ipLength,
          );
          assert.equal(device.write(rst), true, 'the TUN queue accepted the RST');
        }
      },
    });
    topology.moveToNamespace(device, peer);
    peer.setSysctl('net.mptcp.enabled', 1);
    peer.addAddress(device.name, '198.18.0.1/24');
    peer.linkUp(device.name);

    const client = await peer.run('python3', ['-c', MPTCP_CLIENT, formatAddress(ourAddress), String(port)], {
      timeoutMs: 10_000,
    });
    assert.equal(client.timedOut, false, 'the client finished in time');
    assert.equal(client.code, 0, `client failed: ${client.stderr}`);

    assert.ok(syns.length >= 1, `no SYN to port ${port} arrived (${ignored} other packets ignored)`);
    const { segment, tcpBytes, src } = syns[0]!;
    assert.equal(formatAddress(src), '198.18.0.1');
    const mptcp = segment.options.find((o) => o.kind === 'mptcp');
    assert.ok(mptcp && mptcp.kind === 'mptcp', 'the SYN carries an MPTCP option');
    const option = mptcp.option as MpCapableOption;
    assert.equal(option.subtype, 'MP_CAPABLE');
    assert.equal(option.version, 1);
    assert.equal(option.flags & MpCapableFlag.H, MpCapableFlag.H, 'flag H (HMAC-SHA256) is set');
    assert.equal(option.senderKey, undefined, 'a v1 SYN carries no key');
    const raw = rawMptcpOption(tcpBytes);
    assert.ok(raw, 'MPTCP option present in the raw header');
    assert.equal(raw.length, 4, 'the MP_CAPABLE SYN form is 4 bytes long');
    assert.deepEqual([...raw.subarray(0, 3)], [30, 4, 0x01], 'kind 30, length 4, subtype 0 / version 1');

    // The kernel accepted our RST/ACK (checksum, addresses, ports, ack number all right): connection refused.
    assert.equal(client.stdout.trim(), 'ECONNREFUSED', `client: ${client.stdout}${client.stderr}`);
    assert.equal(syns.length, 1, 'no SYN retransmission: the first RST was accepted');
  },
);

test('no leftovers: no namespace or TUN device of this process remains', { skip }, () => {
  const namespaces = listTestNamespaces().filter((name) => name.startsWith(`mptcpts-${process.pid}-`));
  assert.deepEqual(namespaces, []);
  const links = spawnSync('ip', ['-br', 'link'], { encoding: 'utf8' }).stdout;
  assert.ok(!links.includes(`mt${process.pid}x`), links);
});
