/**
 * One end of the dgram ceiling benchmark (bench/udp.ts), run as its own process (`node --import tsx
 * bench/udp-peer.ts ROLE`) so that, like the two `mptcp perf` processes it is compared with, each end has an
 * event loop and a core of its own. It has nothing else to do than move datagrams:
 * - `receive PAIRS SIZE`: binds PAIRS udp4 sockets on 127.0.0.2.., answers `{ ports }` on IPC, then counts
 *   the datagrams that arrive; `{ cmd: 'mark' }` answers `{ received, bytes, micros, cpu }` (counts so far, CPU microseconds used);
 * - `send PAIRS SIZE PORTS...`: PAIRS sockets on 127.0.0.1.., each connected to one receiver port, and
 *   sends SIZE-byte datagrams round the sockets, BATCH per event-loop turn (then setImmediate, so the
 *   loop still runs), one preallocated buffer for all (the kernel copies it); `{ cmd: 'mark' }` answers
 *   `{ sent, errors, micros, cpu }`, `{ cmd: 'stop' }` the same once it sends no more.
 * Both exit when the parent disconnects. Loopback only.
 */
import dgram from 'node:dgram';

const BATCH = 64;
const SOCKET_BUFFER = 4 << 20;

function micros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** CPU microseconds this process used (user + system, every thread). */
function cpu(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function send(msg: unknown): void {
  process.send?.(msg);
}

function open(address: string): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: SOCKET_BUFFER, sendBufferSize: SOCKET_BUFFER });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address, port: 0, exclusive: true }, () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

const [role, pairsText, sizeText, ...rest] = process.argv.slice(2);
const pairs = Number(pairsText);
const size = Number(sizeText);
if (!(pairs >= 1 && pairs <= 8) || !(size >= 1 && size <= 65_507) || (role !== 'receive' && role !== 'send')) {
  console.error('usage: udp-peer.ts receive|send PAIRS SIZE [PORTS...]');
  process.exit(2);
}
process.on('disconnect', () => process.exit(0));

if (role === 'receive') {
  let received = 0;
  let bytes = 0;
  const sockets = await Promise.all(Array.from({ length: pairs }, (_, i) => open(`127.0.0.${2 + i}`)));
  for (const s of sockets) {
    s.on('message', (m) => {
      received++;
      bytes += m.length;
    });
  }
  process.on('message', () => send({ received, bytes, micros: micros(), cpu: cpu() }));
  send({ ports: sockets.map((s) => s.address().port) });
} else {
  const ports = rest.map(Number);
  const sockets = await Promise.all(Array.from({ length: pairs }, (_, i) => open(`127.0.0.${20 + i}`)));
  await Promise.all(sockets.map((s, i) => new Promise<void>((resolve) => s.connect(ports[i]!, `127.0.0.${2 + i}`, resolve))));
  let sent = 0;
  let errors = 0;
  for (const s of sockets) s.on('error', () => errors++);
  const payload = Buffer.alloc(size, 0x5a);
  let stopped = false;
  const burst = (): void => {
    if (stopped) return;
    for (let i = 0; i < BATCH; i++) sockets[i % pairs]!.send(payload);
    sent += BATCH;
    setImmediate(burst);
  };
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'stop') stopped = true;
    send({ sent, errors, micros: micros(), cpu: cpu() });
  });
  send({ ready: true });
  setImmediate(burst);
}
