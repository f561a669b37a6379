#!/usr/bin/env python3
"""Kernel TCP peer for the interop tests (runs inside a test's network namespace).

  kernel_peer.py server ADDR PORT SEND_BYTES [--mptcp] [--nohash]
  kernel_peer.py client ADDR PORT SEND_BYTES [--mptcp] [--nohash]

--nohash skips hashing (benchmarks: the peer must not be the bottleneck); `seconds` is the time from
connection establishment to EOF. --abort-after BYTES: once BYTES were received, stop reading, wait a
moment (so unread data is queued) and close with SO_LINGER {1, 0}: an abortive close (for MPTCP, the kernel
sends MP_FASTCLOSE); the JSON line then has 'aborted': true. --hold-write: shut down writing only once the
peer's EOF has arrived (a receiver that half-closed at once would make a kernel MPTCP peer refuse joins).
--rate BYTES_PER_SECOND: the sender never gets ahead of that rate (a test that must act in mid-transfer on a
fast, idle machine, where an unpaced transfer of tens of MB ends in a fraction of a second). --keep-listening keeps the server's listening socket open after accept():
Linux receives MPTCP MP_JOIN SYNs on the listener, so joins need it.

One connection: sends SEND_BYTES (a sender thread, then shutdown(SHUT_WR)) while reading until EOF,
then prints one JSON line: bytes and SHA-256 of what it sent and received, the socket's `ss -tin` line
taken before close, and any error. Exits 0 on success. Bounded by a 120 s socket timeout.
"""
import hashlib, json, socket, struct, subprocess, sys, threading, time

IPPROTO_MPTCP = 262


class NoHash:
    def update(self, _b):
        pass

    def hexdigest(self):
        return ''


def pattern(total, out_hash):
    block = bytearray(hashlib.sha256(b'mptcp-ts interop').digest() * (65536 // 32))
    sent = 0
    i = 0
    while sent < total:
        block[0:8] = i.to_bytes(8, 'big')  # every 64 KiB block differs, so misordering is detected
        n = min(len(block), total - sent)
        chunk = bytes(block[:n])
        out_hash.update(chunk)
        yield chunk
        sent += n
        i += 1


def main():
    mode, addr, port, send_bytes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    proto = IPPROTO_MPTCP if '--mptcp' in sys.argv else 0
    family = socket.AF_INET6 if ':' in addr else socket.AF_INET
    result = {'mode': mode}
    if mode == 'server':
        ls = socket.socket(family, socket.SOCK_STREAM, proto)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((addr, port))
        ls.listen(1)
        print(json.dumps({'listening': port}), flush=True)
        ls.settimeout(120)
        s, peer = ls.accept()
        if '--keep-listening' not in sys.argv:
            ls.close()
    else:
        s = socket.socket(family, socket.SOCK_STREAM, proto)
        s.settimeout(120)
        try:
            s.connect((addr, port))
        except OSError as e:
            import errno
            print(json.dumps({'mode': mode, 'error': errno.errorcode.get(e.errno, str(e.errno))}), flush=True)
            sys.exit(1)
    s.settimeout(120)
    started = time.monotonic()
    hasher = NoHash if '--nohash' in sys.argv else hashlib.sha256
    sent_hash = hasher()
    sent = [0]
    send_error = [None]

    eof = threading.Event()

    rate = float(sys.argv[sys.argv.index('--rate') + 1]) if '--rate' in sys.argv else None

    def sender():
        try:
            for chunk in pattern(send_bytes, sent_hash):
                s.sendall(chunk)
                sent[0] += len(chunk)
                if rate is not None:
                    ahead = started + sent[0] / rate - time.monotonic()
                    if ahead > 0:
                        time.sleep(ahead)
            if '--hold-write' in sys.argv:
                eof.wait(125)  # a kernel MPTCP peer that has half-closed refuses joins: stay open until the peer is done
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            send_error[0] = str(e)

    t = threading.Thread(target=sender)
    t.start()
    recv_hash = hasher()
    received = 0
    recv_error = None
    abort_after = int(sys.argv[sys.argv.index('--abort-after') + 1]) if '--abort-after' in sys.argv else None
    if abort_after is not None:
        while received < abort_after:
            b = s.recv(min(1 << 20, abort_after - received))
            if not b:
                break
            recv_hash.update(b)
            received += len(b)
        time.sleep(0.3)
        local = s.getsockname()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        s.close()
        result.update({'received': received, 'aborted': True, 'seconds': time.monotonic() - started})
        print(json.dumps(result), flush=True)
        sys.exit(0)
    try:
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
            recv_hash.update(b)
            received += len(b)
    except OSError as e:
        recv_error = str(e)
    eof.set()
    t.join(130)
    seconds = time.monotonic() - started
    local = s.getsockname()
    ss = subprocess.run(['ss', '-tinH', 'sport', '= :%d' % local[1]], capture_output=True, text=True).stdout
    s.close()
    result.update({
        'sent': sent[0], 'sentSha256': sent_hash.hexdigest(),
        'received': received, 'receivedSha256': recv_hash.hexdigest(),
        'seconds': seconds, 'ss': ss, 'sendError': send_error[0], 'recvError': recv_error,
    })
    print(json.dumps(result), flush=True)
    sys.exit(0 if not send_error[0] and not recv_error else 1)


main()
