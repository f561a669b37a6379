/** Quick in-process goodput check (not a test): `node --import tsx test/tcp/throughput-check.ts [bytes]`. */
import { TcpConnection } from '../../src/tcp/connection.js';
import { A_ENDPOINTS, B_ENDPOINTS, toSegment } from './helpers.js';
const total = Number(process.argv[2] ?? 200_000_000);
const chunk = new Uint8Array(65536);
const a = TcpConnection.connect(0, A_ENDPOINTS, 1);
let b: TcpConnection | undefined;
let now = 0, written = 0, received = 0;
const qa: any[] = [], qb: any[] = [];
const t0 = performance.now();
let iter = 0;
while (received < total) {
  iter++;
  while (written < total) { const n = a.write(chunk.subarray(0, Math.min(chunk.length, total - written))); if (n === 0) break; written += n; }
  for (let r = a.pollTransmit(now); r; r = a.pollTransmit(now)) qb.push(toSegment(r));
  for (const s of qb) { if (!b) b = TcpConnection.accept(now, B_ENDPOINTS, 99, s); else b.handleSegment(now, s); }
  qb.length = 0;
  if (b) { for (let d = b.read(); d; d = b.read()) received += d.length; while (b.pollEvent()); 
    for (let r = b.pollTransmit(now); r; r = b.pollTransmit(now)) qa.push(toSegment(r)); }
  for (const s of qa) a.handleSegment(now, s);
  qa.length = 0;
  while (a.pollEvent());
  if (iter % 16 === 0) now += 1;
  if (iter > 1e8) throw new Error('stuck');
}
const dt = (performance.now() - t0) / 1000;
console.log(`${(total / 1e6).toFixed(0)} MB in ${dt.toFixed(2)} s: ${(total * 8 / dt / 1e9).toFixed(2)} Gbit/s, iters ${iter}`, a.info().segmentsSent, b!.info().segmentsSent);
