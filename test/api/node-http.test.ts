/**
 * Node's own modules on our sockets, unchanged: `http.request({ createConnection })`, an `http.Agent`,
 * `http.Server` fed our accepted sockets, `tls.connect({ socket })` and a TLS server socket (HTTPS over
 * MPTCP, with a self-signed certificate made in the test), `stream.pipeline`. On the emulated network,
 * two paths: bodies verified by SHA-256, both subflows carried data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { PassThrough } from 'node:stream';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { createEmulatedNetwork, createStack, MptcpAgent, MptcpHttpsAgent, type MptcpSocket, type Stack } from '../../src/index.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)))]).finally(() => clearTimeout(timer));
}

function twoPaths(): { client: Stack; server: Stack; close: () => Promise<void> } {
  const network = createEmulatedNetwork({ seed: 5 });
  const client = createStack({ name: 'web-client', network });
  const server = createStack({ name: 'web-server', network });
  network.link({ stack: client, address: '198.18.1.1/24' }, { stack: server, address: '198.18.1.2/24' }, { rateBitsPerSecond: 100e6, delayMicros: 2000 });
  network.link({ stack: client, address: '198.18.2.1/24' }, { stack: server, address: '198.18.2.2/24' }, { rateBitsPerSecond: 100e6, delayMicros: 4000 });
  client.addEndpoint('198.18.2.1 subflow');
  return { client, server, close: () => network.close() };
}

async function body(res: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test('http: Node http.Server on our accepted sockets, http.request({ createConnection }) and a keep-alive http.Agent, 2 MB bodies over two paths', async () => {
  const { client, server, close } = twoPaths();
  const payload = randomBytes(2 * 1024 * 1024);
  const web = http.createServer((req, res) => {
    if (req.method === 'POST') {
      const h = createHash('sha256');
      req.on('data', (c: Buffer) => h.update(c));
      req.on('end', () => res.end(h.digest('hex')));
      return;
    }
    res.setHeader('content-type', 'application/octet-stream');
    res.end(payload);
  });
  const sockets: MptcpSocket[] = [];
  server.createServer((socket) => {
    sockets.push(socket);
    web.emit('connection', socket);
  }).listen(80);
  try {
    // One request, its own connection.
    const res = await within(20_000, 'GET', new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get({ host: '198.18.1.2', port: 80, path: '/file', createConnection: (opts: { host: string; port: number }) => client.createConnection({ host: opts.host, port: opts.port }) } as http.RequestOptions, resolve).on('error', reject);
    }));
    assert.equal(res.statusCode, 200);
    assert.equal(sha(await within(20_000, 'body', body(res))), sha(payload));
    // An Agent whose connections are ours: keep-alive reuses one MPTCP connection for two requests.
    const agent = new MptcpAgent(client, { keepAlive: true, maxSockets: 1 });
    const post = await within(20_000, 'POST', new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request({ host: '198.18.1.2', port: 80, method: 'POST', path: '/hash', agent }, resolve).on('error', reject);
      req.end(payload);
    }));
    assert.equal((await body(post)).toString(), sha(payload));
    const again = await within(20_000, 'GET 2', new Promise<http.IncomingMessage>((resolve, reject) => http.get({ host: '198.18.1.2', port: 80, path: '/', agent }, resolve).on('error', reject)));
    assert.equal(sha(await body(again)), sha(payload));
    assert.equal(sockets.length, 2, 'the agent kept its connection alive for the second request');
    const s = sockets[1]!;
    assert.equal(s.isMptcp, true);
    assert.ok(s.subflows().length === 2 && s.subflows().every((f) => f.dataBytesSent > 0), JSON.stringify(s.subflows().map((f) => f.dataBytesSent)));
    agent.destroy();
  } finally {
    web.close();
    await within(10_000, 'close', close());
  }
});

const opensslSkip = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0 ? false : 'openssl is not installed (needed to make the test certificate)';

test('tls: an HTTPS GET over MPTCP (tls.connect({ socket }) / https with createConnection) against a TLS server socket on our stack; stream.pipeline', { skip: opensslSkip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), `mptcp-tls-${process.pid}-`));
  const { client, server, close } = twoPaths();
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=mptcp.test', '-addext', 'subjectAltName=DNS:mptcp.test'], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const credentials = { key: readFileSync(key), cert: readFileSync(cert) };
    const payload = randomBytes(1024 * 1024);
    const web = https.createServer(credentials, (_req, res) => res.end(payload));
    server.createServer((socket) => web.emit('connection', socket)).listen(443);
    // https.get over our socket, certificate verified against the test's own CA (the self-signed cert).
    const res = await within(20_000, 'HTTPS GET', new Promise<http.IncomingMessage>((resolve, reject) => {
      https
        .get({ host: '198.18.1.2', port: 443, servername: 'mptcp.test', ca: credentials.cert, path: '/', createConnection: (o: tls.ConnectionOptions) => tls.connect({ ...o, socket: client.connect({ host: '198.18.1.2', port: 443 }) }) } as https.RequestOptions, resolve)
        .on('error', reject);
    }));
    assert.equal(res.statusCode, 200);
    assert.equal((res.socket as tls.TLSSocket).authorized, true);
    assert.equal(sha(await within(20_000, 'body', body(res))), sha(payload));
    // The library's https.Agent: TLS over each MPTCP connection, SNI and verification as usual.
    const agent = new MptcpHttpsAgent(client, { ca: credentials.cert, servername: 'mptcp.test' });
    const viaAgent = await within(20_000, 'HTTPS GET (agent)', new Promise<http.IncomingMessage>((resolve, reject) => https.get({ host: '198.18.1.2', port: 443, path: '/', agent }, resolve).on('error', reject)));
    assert.equal((viaAgent.socket as tls.TLSSocket).authorized, true);
    assert.equal(sha(await within(20_000, 'body', body(viaAgent))), sha(payload));
    const wrongName = await within(20_000, 'HTTPS with a wrong name', new Promise<Error>((resolve) => https.get({ host: '198.18.1.2', port: 443, path: '/', agent: new MptcpHttpsAgent(client, { ca: credentials.cert, servername: 'other.test' }) }, () => resolve(new Error('connected'))).on('error', resolve)));
    assert.match(String((wrongName as NodeJS.ErrnoException).code), /ERR_TLS_CERT_ALTNAME_INVALID/, 'the certificate is really checked');
    agent.destroy();
    // tls.connect({ socket }) by hand, and stream.pipeline from the TLS stream into a hash.
    const raw = client.connect({ host: '198.18.1.2', port: 443 });
    const secure = tls.connect({ socket: raw, servername: 'mptcp.test', ca: credentials.cert });
    await within(10_000, 'TLS handshake', once(secure, 'secureConnect'));
    assert.equal(secure.authorized, true);
    secure.write('GET / HTTP/1.1\r\nHost: mptcp.test\r\nConnection: close\r\n\r\n');
    const collected: Buffer[] = [];
    const sink = new PassThrough();
    sink.on('data', (c: Buffer) => collected.push(c));
    await within(20_000, 'pipeline', pipeline(secure, sink));
    const text = Buffer.concat(collected);
    assert.match(text.subarray(0, 15).toString(), /^HTTP\/1\.1 200 /);
    assert.equal(sha(text.subarray(text.length - payload.length)), sha(payload));
    assert.equal(raw.isMptcp, true);
    web.close();
  } finally {
    await within(10_000, 'close', close());
    rmSync(dir, { recursive: true, force: true });
  }
});
