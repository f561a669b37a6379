/**
 * The ceiling of a Node process moving 64 KB super-packets through a TUN device with offload and nothing
 * else to do (issue 13's fallback target): a minimal TCP endpoint in JavaScript against the kernel's, so
 * that what is measured is the device, the addon, the event loop and the kernel's side, not a TCP stack.
 *
 * - send: after a handshake, one shared 64 KB payload is written again and again behind a 40-byte header
 *   template (seq and lengths patched, checksum left to the kernel: NEEDS_CSUM, gso_type TCPV4), as many as
 *   the kernel's window allows, all of a turn in one writev; the kernel's ACKs (read from the device) only
 *   move the window. No retransmission: the link is a local device that loses nothing while the window is
 *   respected (a loss would stall the run, which then fails by its time limit).
 * - receive: a kernel client connects to a listener that answers the SYN, takes in-order data (super-packets
 *   whole) and sends one pure ACK per device read batch, with a 64 MB window; out-of-order data is dropped
 *   with a duplicate ACK (the kernel retransmits).
 *
 * Both use the kernel peer program of the other TUN benchmarks (test/support/kernel_peer.py --nohash), whose
 * `seconds` (establishment to EOF) give the rate, as for our stack.
 */
import { KERNEL_PEER, jsonLines, kernelSkipReason, within } from '../test/support/kernel.js';
import { Topology } from '../src/io/netns.js';
import type { TunDevice } from '../src/io/tun.js';
import { fillTcpChecksum, tcpLayout, VNET_HDR_SIZE, VNET_F_NEEDS_CSUM, VnetGso } from '../src/io/tun-offload.js';
import { emitIpHeader, IpProtocol } from '../src/wire/ip.js';
import { foldSum } from '../src/wire/checksum.js';
import { emitTcpSegment, TcpFlags, type TcpOption } from '../src/wire/tcp.js';

const OURS = new Uint8Array([198, 18, 0, 2]);
const KERNEL = new Uint8Array([198, 18, 0, 1]);
const PORT = 5201;
const MSS = 1448;
/** Payload of each super-packet: 45 segments of 1448 bytes, 65,160 bytes (+ 40 of headers < 65,535). */
const SUPER = 45 * MSS;
const WSCALE = 10;

/** One TUN device with offload in a fresh namespace holding the kernel's address 198.18.0.1/24. */
function deviceInNamespace(topology: Topology, onPackets: (packets: Uint8Array[]) => void): { tun: TunDevice; namespace: ReturnType<Topology['addNamespace']> } {
  const namespace = topology.addNamespace('ceil');
  const tun = topology.createTun({ offload: true });
  if (!tun.offload) throw new Error(`TUN offload refused: ${tun.offloadError ?? 'unknown reason'}`);
  tun.onPackets = (buffers) => onPackets(buffers.map((b) => b.subarray(VNET_HDR_SIZE)));
  topology.moveToNamespace(tun, namespace);
  namespace.addAddress(tun.name, '198.18.0.1/24');
  namespace.ip('link', 'set', tun.name, 'txqueuelen', '10000');
  namespace.linkUp(tun.name);
  return { tun, namespace };
}

const NO_VNET = new Uint8Array(VNET_HDR_SIZE);

/** A control segment (SYN, ACK, FIN) with its checksum computed, written at once. */
function control(tun: TunDevice, srcPort: number, dstPort: number, seq: number, ack: number, flags: number, options: TcpOption[] = []): void {
  const tcpLength = 20 + (options.length > 0 ? 8 : 0);
  const bytes = new Uint8Array(20 + tcpLength);
  emitIpHeader({ src: OURS, dst: KERNEL, protocol: IpProtocol.TCP, payloadLength: tcpLength }, bytes, 0);
  emitTcpSegment({ srcPort, dstPort, seq, ack, flags, window: 0xffff, options, payload: new Uint8Array(0) }, OURS, KERNEL, bytes, 20, false);
  fillTcpChecksum(bytes, tcpLayout(bytes)!);
  tun.writev([bytes], new Uint32Array([1]), 1, NO_VNET);
}

function u32(p: Uint8Array, at: number): number {
  return ((p[at]! << 24) | (p[at + 1]! << 16) | (p[at + 2]! << 8) | p[at + 3]!) >>> 0;
}

/** Gbit/s of the minimal sender: `bytes` to a kernel server. */
export async function ceilingSend(bytes: number): Promise<number> {
  const topology = Topology.create();
  try {
    const localPort = 40000;
    const iss = 1000;
    let una = iss + 1;
    let nxt = iss + 1;
    let window = 0;
    let peerScale = 0;
    let rcvNxt = 0;
    let established = false;
    let finSent = false;
    let sent = 0;
    const payload = new Uint8Array(SUPER).fill(0x61);
    // Per batch: up to 64 super-packets, each its header and the shared payload.
    const headers = Array.from({ length: 64 }, () => new Uint8Array(40));
    const vnet = new Uint8Array(64 * VNET_HDR_SIZE);
    const counts = new Uint32Array(64).fill(2);
    const parts: Uint8Array[] = [];
    let tunRef: TunDevice | undefined;
    const fill = (): void => {
      const tun = tunRef!;
      let n = 0;
      parts.length = 0;
      while (n < 64 && sent < bytes) {
        const length = Math.min(SUPER, bytes - sent, window - ((nxt - una) >>> 0));
        if (length < Math.min(MSS, bytes - sent)) break; // the window is full
        const h = headers[n]!;
        emitIpHeader({ src: OURS, dst: KERNEL, protocol: IpProtocol.TCP, payloadLength: 20 + length }, h, 0);
        emitTcpSegment({ srcPort: localPort, dstPort: PORT, seq: nxt, ack: rcvNxt, flags: TcpFlags.ACK, window: 0xffff, options: [], payload: new Uint8Array(0) }, OURS, KERNEL, h, 20, false);
        // The partial checksum: the pseudo-header sum over the whole TCP length (not complemented).
        const folded = foldSum(0xc612 + 0x0002 + 0xc612 + 0x0001 + IpProtocol.TCP + 20 + length);
        h[36] = folded >>> 8;
        h[37] = folded & 0xff;
        const v = n * VNET_HDR_SIZE;
        vnet.set([VNET_F_NEEDS_CSUM, length > MSS ? VnetGso.TCPV4 : VnetGso.NONE, 40, 0, MSS & 0xff, MSS >> 8, 20, 0, 16, 0], v);
        parts.push(h, length === SUPER ? payload : payload.subarray(0, length));
        nxt = (nxt + length) >>> 0;
        sent += length;
        n++;
      }
      if (n > 0) tun.writev(parts, counts, n, vnet);
      if (sent === bytes && una === nxt && !finSent) {
        finSent = true;
        control(tun, localPort, PORT, nxt, rcvNxt, TcpFlags.ACK | TcpFlags.FIN);
      }
    };
    const { tun, namespace } = deviceInNamespace(topology, (packets) => {
      for (const p of packets) {
        if (p.length < 40 || p[9] !== IpProtocol.TCP) continue;
        const flags = p[33]!;
        if (!established && flags & TcpFlags.SYN) {
          // SYN-ACK: its window scale option (kind 3) if any.
          for (let o = 40; o < 20 + (p[32]! >> 4) * 4; ) {
            const kind = p[o]!;
            if (kind === 0) break;
            if (kind === 1) {
              o++;
              continue;
            }
            if (kind === 3) peerScale = p[o + 2]!;
            o += p[o + 1]! || 1;
          }
          rcvNxt = (u32(p, 24) + 1) >>> 0;
          una = u32(p, 28);
          window = (p[34]! << 8) | p[35]!; // never scaled in a SYN
          established = true;
          control(tun, localPort, PORT, nxt, rcvNxt, TcpFlags.ACK);
          continue;
        }
        if (flags & TcpFlags.ACK) {
          const ack = u32(p, 28);
          if (((ack - una) >>> 0) <= ((nxt - una) >>> 0)) una = ack;
          window = ((p[34]! << 8) | p[35]!) * 2 ** peerScale;
        }
        if (flags & TcpFlags.FIN) {
          rcvNxt = (u32(p, 24) + 1) >>> 0;
          control(tun, localPort, PORT, nxt, rcvNxt, TcpFlags.ACK);
        }
      }
      if (established) fill();
    });
    tunRef = tun;
    const out = jsonLines(namespace.spawn('python3', [KERNEL_PEER, 'server', '198.18.0.1', String(PORT), '0', '--nohash']));
    await out.next(10_000);
    control(tun, localPort, PORT, iss, 0, TcpFlags.SYN, [{ kind: 'mss', mss: 1460 }, { kind: 'windowScale', shift: WSCALE }, { kind: 'nop' }]);
    const r = await within(120_000, 'ceiling send', out.next(120_000));
    if (r['received'] !== bytes) throw new Error(`ceiling send: the kernel received ${String(r['received'])} of ${bytes}`);
    return (bytes * 8) / Number(r['seconds']) / 1e9;
  } finally {
    topology.dispose();
  }
}

/** Gbit/s of the minimal receiver: `bytes` from a kernel client. */
export async function ceilingReceive(bytes: number): Promise<number> {
  const topology = Topology.create();
  try {
    const iss = 5000;
    let remotePort = 0;
    let rcvNxt = 0;
    let nxt = iss;
    let received = 0;
    let finished = false;
    let tunRef: TunDevice | undefined;
    const { tun, namespace } = deviceInNamespace(topology, (packets) => {
      const t = tunRef!;
      let ackDue = false;
      for (const p of packets) {
        if (p.length < 40 || p[9] !== IpProtocol.TCP) continue;
        const headerLength = 20 + (p[32]! >> 4) * 4;
        const flags = p[33]!;
        if (flags & TcpFlags.SYN) {
          remotePort = (p[20]! << 8) | p[21]!;
          rcvNxt = (u32(p, 24) + 1) >>> 0;
          control(t, PORT, remotePort, nxt, rcvNxt, TcpFlags.SYN | TcpFlags.ACK, [{ kind: 'mss', mss: 1460 }, { kind: 'windowScale', shift: WSCALE }, { kind: 'nop' }]);
          nxt = (nxt + 1) >>> 0;
          continue;
        }
        const length = p.length - headerLength;
        if (u32(p, 24) !== rcvNxt) {
          ackDue = true; // out of order or a retransmission: a duplicate ACK
          continue;
        }
        if (length > 0) {
          rcvNxt = (rcvNxt + length) >>> 0;
          received += length;
          ackDue = true;
        }
        if (flags & TcpFlags.FIN && !finished) {
          finished = true;
          rcvNxt = (rcvNxt + 1) >>> 0;
          control(t, PORT, remotePort, nxt, rcvNxt, TcpFlags.ACK | TcpFlags.FIN);
          nxt = (nxt + 1) >>> 0;
          ackDue = false;
        }
      }
      if (ackDue) control(t, PORT, remotePort, nxt, rcvNxt, TcpFlags.ACK);
    });
    tunRef = tun;
    const out = jsonLines(namespace.spawn('python3', [KERNEL_PEER, 'client', '198.18.0.2', String(PORT), String(bytes), '--nohash']));
    const r = await within(120_000, 'ceiling receive', out.next(120_000));
    if (received !== bytes || r['sent'] !== bytes) throw new Error(`ceiling receive: received ${received} of ${bytes}`);
    return (bytes * 8) / Number(r['seconds']) / 1e9;
  } finally {
    topology.dispose();
  }
}

/** Why the ceiling cannot be measured here, or false. */
export function ceilingSkipReason(): string | false {
  return kernelSkipReason();
}
