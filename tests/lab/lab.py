#!/usr/bin/env python3
"""vvvexplain lab: reproduce OpenSSH client failure modes against a REAL sshd
on 127.0.0.1 and record what the real clients print, as fixture transcripts.

    sudo python3 tests/lab/lab.py                 # all scenarios -> rules/<cause>/fixtures/
    sudo python3 tests/lab/lab.py --list
    sudo python3 tests/lab/lab.py port-closed ok/ssh-vvv --out /tmp/fx
    sudo python3 tests/lab/lab.py --big-transfer /tmp/big.log --size-mb 64
    sudo python3 tests/lab/lab.py --big-transfer /tmp/real.log --size-mb 140 --buffer-bytes 2048

Everything talks to 127.0.0.1 only (the DNS scenario runs inside a private
network namespace that only has `lo`).  See tests/lab/README.md.
"""
import argparse
import os
import pwd
import re
import select
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SSHD = "/usr/sbin/sshd"
DROPBEAR = "/usr/sbin/dropbear"         # Debian's dropbear-bin (bookworm: 2022.83)
SFTP_SERVER = "/usr/lib/openssh/sftp-server"
CLIENT = "vvvlab"
CHOME = "/home/" + CLIENT
CLIENT_TIMEOUT = 30
HOST = "127.0.0.1"

# server-side accounts: name -> login shell
ACCOUNTS = {
    "vvvlab": "/bin/bash",          # client user; also logs in to itself
    "vvvnologin": "/usr/sbin/nologin",
    "vvvsftp": "/bin/bash",         # Match User -> ForceCommand internal-sftp
    "vvvchroot": "/bin/bash",       # Match User -> ChrootDirectory (bad owner)
    "vvvbashrc": "/bin/bash",       # ~/.bashrc prints text unconditionally
    "vvvnoshell": "/bin/no-such-shell",   # its login shell is not installed
    "vvvexpired": "/bin/bash",      # chage -E 0: the account has expired
    "vvvpwchange": "/bin/bash",     # chage -d 0: the password must be changed at the next login
    "vvvlocked": "/bin/bash",       # usermod -L: the password field starts with '!'
}
# chage options per account (shadow expiry; sshd checks it, with PAM through pam_unix's account)
CHAGE = {"vvvexpired": ["-E", "0"], "vvvpwchange": ["-d", "0"]}

# The password account of the live tests (tests/terminal.rs), for Dropbear's password logins.
PASSWORD_USER, PASSWORD = "vvvlive", "live-Pa55word"

DEFAULT_CONFIG = "Host *\n    BatchMode yes\n"
MANGLES = {
    "no-final-newline": lambda b: b.rstrip(b"\n"),
    "crlf": lambda b: b.replace(b"\n", b"\r\n"),
    "truncated": lambda b: b[:len(b) // 2] + b[-40:],
}
SMALL_FILE = "hello from the vvvexplain lab\n" * 8
SFTP_BATCH = "put localfile.txt upload.txt\nget upload.txt download.txt\n"

# ---------------------------------------------------------------- processes

STARTED = []            # Popen objects we started (sshd, helpers)
STOPPED_PIDS = set()    # pids we SIGSTOPped (must SIGCONT before exit)
LISTENERS = []          # in-process listener objects (have .stop())


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def ppid_map():
    m = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                s = f.read().decode("latin-1")
            # comm may contain spaces/parens: ppid is 2nd field after last ')'
            rest = s[s.rindex(")") + 2:].split()
            m[int(d)] = int(rest[1])
        except (OSError, ValueError, IndexError):
            pass
    return m


def descendants(pid):
    """All processes below pid (pgrep -P, recursively)."""
    m = ppid_map()
    kids = {}
    for p, pp in m.items():
        kids.setdefault(pp, []).append(p)
    out, todo = [], [pid]
    while todo:
        for c in kids.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("latin-1")
    except OSError:
        return ""


def sig(pid, s):
    try:
        os.kill(pid, s)
    except ProcessLookupError:
        pass


def stop_popen(p, grace=2.0):
    """Stop a process we started, and everything it started, by PID."""
    if p.poll() is None:
        kids = descendants(p.pid)
        for k in kids:
            sig(k, signal.SIGCONT)
        sig(p.pid, signal.SIGTERM)
        try:
            p.wait(grace)
        except subprocess.TimeoutExpired:
            sig(p.pid, signal.SIGKILL)
            p.wait()
        for k in kids:
            sig(k, signal.SIGKILL)
    if p in STARTED:
        STARTED.remove(p)


def cleanup_all():
    for pid in list(STOPPED_PIDS):
        sig(pid, signal.SIGCONT)
        sig(pid, signal.SIGKILL)
    STOPPED_PIDS.clear()
    for lst in list(LISTENERS):
        lst.stop()
    for p in list(STARTED):
        stop_popen(p)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)


# ---------------------------------------------------------------- listeners

class Listener:
    """A tiny loopback TCP server in a thread, one behaviour per instance."""

    def __init__(self, port, behaviour, backlog=16, accept=True):
        self.port = port
        self.behaviour = behaviour
        self.stopped = threading.Event()
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.s.bind((HOST, port))
        self.s.listen(backlog)
        self.s.settimeout(0.2)
        self.conns = []
        self.extra = []
        self.t = None
        if accept:
            self.t = threading.Thread(target=self.loop, daemon=True)
            self.t.start()
        LISTENERS.append(self)

    def loop(self):
        while not self.stopped.is_set():
            try:
                c, _ = self.s.accept()
            except (socket.timeout, OSError):
                continue
            self.conns.append(c)
            threading.Thread(target=self.handle, args=(c,), daemon=True).start()

    def handle(self, c):
        try:
            self.behaviour(self, c)
        except OSError:
            pass

    def stop(self):
        self.stopped.set()
        for c in self.conns + self.extra:
            try:
                c.close()
            except OSError:
                pass
        try:
            self.s.close()
        except OSError:
            pass
        if self.t:
            self.t.join(2)
        if self in LISTENERS:
            LISTENERS.remove(self)


def read_line(c, timeout=3.0):
    c.settimeout(timeout)
    buf = b""
    try:
        while b"\n" not in buf:
            d = c.recv(4096)
            if not d:
                break
            buf += d
    except socket.timeout:
        pass
    return buf


def rst_close(c):
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


def b_http(lst, c):
    read_line(c)
    body = b"<html><head><title>400 Bad Request</title></head><body>400 Bad Request</body></html>\r\n"
    c.sendall(b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Type: text/html\r\n"
              b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
    c.shutdown(socket.SHUT_WR)
    time.sleep(0.2)
    c.close()


def b_silent(lst, c):
    c.settimeout(0.2)
    while not lst.stopped.is_set():
        try:
            if not c.recv(4096):
                break
        except socket.timeout:
            continue
    c.close()


def b_reset(lst, c):
    read_line(c)
    rst_close(c)


def b_close(lst, c):
    read_line(c)
    c.close()


def b_reset_during_kex(lst, c):
    c.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian\r\n")
    buf = read_line(c)
    rest = buf.split(b"\n", 1)[1] if b"\n" in buf else b""
    c.settimeout(3)
    try:
        while len(rest) < 4 or len(rest) < 4 + struct.unpack(">I", rest[:4])[0]:
            d = c.recv(65536)
            if not d:
                break
            rest += d
    except socket.timeout:
        pass
    time.sleep(0.05)
    rst_close(c)


def b_flip_relay(lst, c):
    """Relay to the sshd on lst.target, flipping one bit of the server's stream at byte
    lst.flip_at (well past the key exchange): the client's MAC check fails on that packet, as it
    does behind a faulty NIC, VPN or middlebox. With lst.flip_up_at, the client's stream instead:
    sshd's check fails."""
    up = socket.create_connection((HOST, lst.target))
    lst.extra.append(up)

    def pump(src, dst, flip_at):
        seen = 0
        try:
            while True:
                d = src.recv(65536)
                if not d:
                    break
                if flip_at is not None and seen <= flip_at < seen + len(d):
                    i = flip_at - seen
                    d = d[:i] + bytes([d[i] ^ 0x01]) + d[i + 1:]
                seen += len(d)
                dst.sendall(d)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    up_at = getattr(lst, "flip_up_at", None)
    t = threading.Thread(target=pump, args=(c, up, up_at), daemon=True)
    t.start()
    pump(up, c, None if up_at is not None else lst.flip_at)
    t.join(2)


def full_backlog_listener(port):
    """listen(0), never accept, pre-filled so further SYNs are dropped."""
    lst = Listener(port, None, backlog=0, accept=False)
    for _ in range(8):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setblocking(False)
        c.connect_ex((HOST, port))
        lst.extra.append(c)
        _, w, _ = select.select([], [c], [], 0.3)
        if not w:
            break           # this SYN was dropped: the queue is full
    return lst



# ------------------------------------------------ fake "old" SSH server
# A minimal SSH-2 server that, like OpenSSH < 7.2, sends no SSH_MSG_EXT_INFO
# (no server-sig-algs). A 9.2 client with an RSA key then finds no signature
# algorithm it may use ("send_pubkey_test: no mutual signature algorithm").
# Only needed for auth-no-mutual-signature: a real 9.2 sshd always advertises
# rsa-sha2-256/512 in server-sig-algs. kex: diffie-hellman-group-exchange-sha256
# (group from /etc/ssh/moduli), host key rsa-sha2-256, cipher
# chacha20-poly1305@openssh.com, all in stdlib Python.

import base64
import datetime
import hashlib

OLD_BANNER = b"SSH-2.0-OpenSSH_6.6.1p1 Ubuntu-2ubuntu2.13"


def _u32(n):
    return struct.pack(">I", n)


def _str(b):
    if isinstance(b, str):
        b = b.encode()
    return _u32(len(b)) + b


def _mpint(n):
    if n == 0:
        return _u32(0)
    b = n.to_bytes((n.bit_length() + 8) // 8, "big")
    return _str(b)


class _Reader:
    def __init__(self, b):
        self.b, self.i = b, 0

    def byte(self):
        self.i += 1
        return self.b[self.i - 1]

    def u32(self):
        self.i += 4
        return struct.unpack(">I", self.b[self.i - 4:self.i])[0]

    def str(self):
        n = self.u32()
        self.i += n
        return self.b[self.i - n:self.i]

    def mpint(self):
        return int.from_bytes(self.str(), "big", signed=True)


def load_openssh_rsa(path):
    txt = Path(path).read_text()
    body = "".join(ln for ln in txt.splitlines() if not ln.startswith("-----"))
    r = _Reader(base64.b64decode(body))
    assert r.b.startswith(b"openssh-key-v1\0")
    r.i = len(b"openssh-key-v1\0")
    assert r.str() == b"none"
    r.str(), r.str(), r.u32()
    pub = r.str()
    pr = _Reader(r.str())
    pr.u32(), pr.u32()
    assert pr.str() == b"ssh-rsa"
    n, e, d = pr.mpint(), pr.mpint(), pr.mpint()
    return pub, n, e, d


_DIGESTINFO = {"sha1": bytes.fromhex("3021300906052b0e03021a05000414"),
               "sha256": bytes.fromhex("3031300d060960864801650304020105000420")}


def _emsa(data, n, hname):
    k = (n.bit_length() + 7) // 8
    t = _DIGESTINFO[hname] + hashlib.new(hname, data).digest()
    return int.from_bytes(b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t, "big"), k


def _chacha_block(key, counter, nonce8):
    def rotl(v, c):
        return ((v << c) & 0xffffffff) | (v >> (32 - c))

    st = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574] + \
        list(struct.unpack("<8I", key)) + [counter & 0xffffffff, counter >> 32] + \
        list(struct.unpack("<2I", nonce8))
    x = st[:]

    def qr(a, b, c, d):
        x[a] = (x[a] + x[b]) & 0xffffffff; x[d] = rotl(x[d] ^ x[a], 16)
        x[c] = (x[c] + x[d]) & 0xffffffff; x[b] = rotl(x[b] ^ x[c], 12)
        x[a] = (x[a] + x[b]) & 0xffffffff; x[d] = rotl(x[d] ^ x[a], 8)
        x[c] = (x[c] + x[d]) & 0xffffffff; x[b] = rotl(x[b] ^ x[c], 7)

    for _ in range(10):
        qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15)
        qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14)
    return struct.pack("<16I", *[(x[i] + st[i]) & 0xffffffff for i in range(16)])


def _chacha_xor(key, seq, counter, data):
    nonce = struct.pack(">Q", seq)
    out = bytearray()
    for i in range(0, len(data), 64):
        ks = _chacha_block(key, counter + i // 64, nonce)
        out += bytes(a ^ b for a, b in zip(data[i:i + 64], ks))
    return bytes(out)


def _poly1305(key, msg):
    r = int.from_bytes(key[:16], "little") & 0x0ffffffc0ffffffc0ffffffc0fffffff
    s = int.from_bytes(key[16:32], "little")
    p, acc = (1 << 130) - 5, 0
    for i in range(0, len(msg), 16):
        acc = ((acc + int.from_bytes(msg[i:i + 16] + b"\x01", "little")) * r) % p
    return ((acc + s) & ((1 << 128) - 1)).to_bytes(16, "little")


class _Conn:
    def __init__(self, c):
        self.c, self.buf = c, b""
        self.seq_in = self.seq_out = 0
        self.k_in = self.k_out = None

    def recv_exact(self, n):
        while len(self.buf) < n:
            d = self.c.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_line(self):
        while b"\n" not in self.buf:
            d = self.c.recv(4096)
            if not d:
                raise EOFError
            self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r")

    def send(self, payload):
        bs = 8
        pad = bs - ((1 + len(payload) + (0 if self.k_out else 4)) % bs)
        if pad < 4:
            pad += bs
        body = bytes([pad]) + payload + os.urandom(pad)
        if self.k_out is None:
            self.c.sendall(_u32(len(body)) + body)
        else:
            main, hdr = self.k_out[:32], self.k_out[32:]
            elen = _chacha_xor(hdr, self.seq_out, 0, _u32(len(body)))
            ebody = _chacha_xor(main, self.seq_out, 1, body)
            pk = _chacha_block(main, 0, struct.pack(">Q", self.seq_out))[:32]
            self.c.sendall(elen + ebody + _poly1305(pk, elen + ebody))
        self.seq_out = (self.seq_out + 1) & 0xffffffff

    def recv(self):
        if self.k_in is None:
            n = struct.unpack(">I", self.recv_exact(4))[0]
            body = self.recv_exact(n)
        else:
            main, hdr = self.k_in[:32], self.k_in[32:]
            elen = self.recv_exact(4)
            n = struct.unpack(">I", _chacha_xor(hdr, self.seq_in, 0, elen))[0]
            ebody = self.recv_exact(n)
            tag = self.recv_exact(16)
            pk = _chacha_block(main, 0, struct.pack(">Q", self.seq_in))[:32]
            if _poly1305(pk, elen + ebody) != tag:
                raise EOFError("bad MAC")
            body = _chacha_xor(main, self.seq_in, 1, ebody)
        self.seq_in = (self.seq_in + 1) & 0xffffffff
        return body[1:len(body) - body[0]]


def _pick_group(lo, want, hi):
    best = None
    for ln in Path("/etc/ssh/moduli").read_text().splitlines():
        f = ln.split()
        if len(f) != 7 or ln.startswith("#"):
            continue
        bits = int(f[4]) + 1
        if lo <= bits <= hi and (best is None or abs(bits - want) < abs(best[0] - want)):
            best = (bits, int(f[6], 16), int(f[5]))
    return best[1], best[2]


def b_old_server(lst, c):
    """Serve one connection as an SSH server without EXT_INFO (see above)."""
    c.settimeout(20)
    hk_pub, hk_n, hk_e, hk_d = lst.hostkey
    x = _Conn(c)
    try:
        c.sendall(OLD_BANNER + b"\r\n")
        v_c = x.recv_line()
        i_s = bytes([20]) + os.urandom(16) + b"".join(_str(s) for s in [
            "diffie-hellman-group-exchange-sha256", "rsa-sha2-256",
            "chacha20-poly1305@openssh.com", "chacha20-poly1305@openssh.com",
            "hmac-sha2-256", "hmac-sha2-256", "none", "none", "", ""]) + b"\0" + _u32(0)
        x.send(i_s)
        i_c = x.recv()
        m = _Reader(x.recv())
        assert m.byte() == 34                       # KEX_DH_GEX_REQUEST
        lo, want, hi = m.u32(), m.u32(), m.u32()
        p, g = _pick_group(lo, want, hi)
        x.send(bytes([31]) + _mpint(p) + _mpint(g))  # KEX_DH_GEX_GROUP
        m = _Reader(x.recv())
        assert m.byte() == 32                       # KEX_DH_GEX_INIT
        e = m.mpint()
        y = int.from_bytes(os.urandom(64), "big")
        f = pow(g, y, p)
        k = pow(e, y, p)
        h = hashlib.sha256(_str(v_c) + _str(OLD_BANNER) + _str(i_c) + _str(i_s) + _str(hk_pub) +
                           _u32(lo) + _u32(want) + _u32(hi) + _mpint(p) + _mpint(g) +
                           _mpint(e) + _mpint(f) + _mpint(k)).digest()
        em, klen = _emsa(h, hk_n, "sha256")
        sig = pow(em, hk_d, hk_n).to_bytes(klen, "big")
        x.send(bytes([33]) + _str(hk_pub) + _mpint(f) + _str(_str("rsa-sha2-256") + _str(sig)))
        x.send(bytes([21]))                         # NEWKEYS
        assert x.recv()[0] == 21

        def kd(letter):
            k1 = hashlib.sha256(_mpint(k) + h + letter + h).digest()
            return k1 + hashlib.sha256(_mpint(k) + h + k1).digest()

        x.k_out, x.k_in = kd(b"D"), kd(b"C")
        authorized = lst.authorized_rsa            # (blob, n, e)
        chan = None
        while True:
            msg = x.recv()
            t, m = msg[0], _Reader(msg[1:])
            if t == 1:                              # DISCONNECT
                break
            if t == 5:                              # SERVICE_REQUEST
                x.send(bytes([6]) + _str(m.str()))
            elif t == 50:                           # USERAUTH_REQUEST
                user, service, method = m.str(), m.str(), m.str()
                if method == b"publickey":
                    has_sig, alg, blob = m.byte(), m.str(), m.str()
                    if blob == authorized[0] and alg == b"ssh-rsa":
                        if not has_sig:
                            x.send(bytes([60]) + _str(alg) + _str(blob))   # PK_OK
                            continue
                        sr = _Reader(m.str())
                        salg, sbytes = sr.str(), sr.str()
                        signed = _str(h) + bytes([50]) + _str(user) + _str(service) + \
                            _str(method) + b"\x01" + _str(alg) + _str(blob)
                        em, _ = _emsa(signed, authorized[1], "sha1")
                        if salg == b"ssh-rsa" and \
                                pow(int.from_bytes(sbytes, "big"), authorized[2], authorized[1]) == em:
                            x.send(bytes([52]))                           # SUCCESS
                            continue
                x.send(bytes([51]) + _str("publickey") + b"\0")         # FAILURE
            elif t == 90:                           # CHANNEL_OPEN
                m.str()
                chan = m.u32()
                x.send(bytes([91]) + _u32(chan) + _u32(0) + _u32(2 << 20) + _u32(32768))
            elif t == 98:                           # CHANNEL_REQUEST
                m.u32()
                rtype, want_reply = m.str(), m.byte()
                if rtype == b"exec":
                    x.send(bytes([99]) + _u32(chan))
                    x.send(bytes([98]) + _u32(chan) + _str("exit-status") + b"\0" + _u32(0))
                    x.send(bytes([96]) + _u32(chan))
                    x.send(bytes([97]) + _u32(chan))
                elif want_reply:
                    x.send(bytes([100]) + _u32(chan))
            elif t == 80:                           # GLOBAL_REQUEST
                m.str()
                if m.byte():
                    x.send(bytes([82]))
            elif t == 97:                           # CHANNEL_CLOSE
                pass
    except (EOFError, OSError, AssertionError):
        pass
    finally:
        c.close()


def b_inetd(lst, c):
    """Hand the connection to `sshd -i`, as systemd's ssh.socket (Debian, Ubuntu) or inetd do:
    an sshd that cannot start fails on each connection instead of refusing to listen."""
    with open(lst.log, "ab") as log:
        p = subprocess.Popen(lst.inetd_cmd, stdin=c.fileno(), stdout=c.fileno(), stderr=log,
                             start_new_session=True)
        lst.procs.append(p)
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            pass            # stopped with the listener
    c.close()


LISTENER_KINDS = {
    "http": b_http,
    "silent": b_silent,
    "reset": b_reset,
    "close": b_close,
    "reset-during-kex": b_reset_during_kex,
    "old-server": b_old_server,
    "flip-relay": b_flip_relay,
    "inetd": b_inetd,
}

def beside_helper(helper, ready, inner):
    """Shell lines that start a Python helper (`helper`: its script and arguments) in the
    namespace, wait up to 5 s for its `ready` file, run the client and end the helper, exiting
    with the client's status."""
    return (f"python3 {helper} & HELPER=$!\n"
            f"for i in $(seq 100); do [ -e {ready} ] && break; sleep 0.05; done\n"
            f"{shlex.join(inner)}\nrc=$?\nkill $HELPER\nexit $rc\n")


# ---------------------------------------------------------------- scenarios

SCENARIOS = []


def S(cause, fixture, phase, cmd, **kw):
    """cmd: list; placeholders {p} {p2} {p3} (ports) {t} (temp dir)."""
    sc = dict(cause=cause, fixture=fixture, phase=phase, cmd=cmd,
              name=f"{cause}/{fixture}")
    sc.update(kw)
    SCENARIOS.append(sc)


PORTS = {}


def port(cause):
    if cause not in PORTS:
        PORTS[cause] = 22200 + 10 * len(PORTS)
    return PORTS[cause]


def ssh(*a):
    return ["ssh", *a]


U = f"{CLIENT}@{HOST}"

# ---- ok
P = port("ok")
S("ok", "ssh-vvv", "success", ssh("-vvv", "-p", "{p}", U, "true"), sshd=[],
  expect=r"Exit status 0")
S("ok", "ssh-v", "success", ssh("-v", "-p", "{p}", U, "echo", "hi"), sshd=[],
  expect=r"^hi\r?$")
S("ok", "sftp-vvv", "success", ["sftp", "-vvv", "-b", "batch.txt", "-P", "{p}", U], sshd=[],
  expect=r"download\.txt")
S("ok", "scp-vvv", "success", ["scp", "-vvv", "-P", "{p}", "localfile.txt", U + ":upload.txt"],
  sshd=[], expect=r"Exit status 0|Transferred")
S("ok", "scp-vvv-legacy", "success", ["scp", "-O", "-vvv", "-P", "{p}", "localfile.txt", U + ":upload.txt"],
  sshd=[], expect=r"Exit status 0|Transferred")
S("ok", "ssh-vvv-exit-status", "success", ssh("-vvv", "-p", "{p}", U, "exit 3"), sshd=[],
  expect=r"Exit status 3")
S("ok", "ssh-vvv-proxyjump", "success",
  ssh("-vvv", "-J", U + ":{p}", "-p", "{p2}", U, "true"),
  sshd=["AllowTcpForwarding yes"], sshd2=[], expect=r"Exit status 0")

# ---- network / banner level
for fx, cmd in [("ssh-vvv", ssh("-vvv", "-p", "{p}", U, "true")),
                ("ssh-v", ssh("-v", "-p", "{p}", U, "true")),
                ("sftp-vvv", ["sftp", "-vvv", "-P", "{p}", U])]:
    port("port-closed")
    S("port-closed", fx, "connect", cmd, expect=r"Connection refused")
# ConnectionAttempts: ssh tries again in the same run; each attempt is a connection of its own
S("port-closed", "ssh-v-attempts", "connect",
  ssh("-v", "-o", "ConnectionAttempts=3", "-p", "{p}", U, "true"), expect=r"Trying again")

port("connect-timeout")
S("connect-timeout", "ssh-vvv", "connect",
  ssh("-vvv", "-o", "ConnectTimeout=3", "-p", "{p}", U, "true"),
  listener="full-backlog", expect=r"timed out")

port("dns-failure")
S("dns-failure", "ssh-vvv", "resolve", ssh("-vvv", "nosuchhost.invalid"),
  netns="nxdomain", expect=r"Could not resolve hostname")
S("dns-failure", "ssh-vvv-nonet", "resolve", ssh("-vvv", "nosuchhost.invalid"),
  netns="nonet", expect=r"Could not resolve hostname")

port("not-ssh-service")
S("not-ssh-service", "ssh-vvv", "banner", ssh("-vvv", "-p", "{p}", U, "true"),
  listener="http", expect=r"kex_exchange_identification|invalid")

port("banner-timeout")
S("banner-timeout", "ssh-vvv", "banner",
  ssh("-vvv", "-o", "ConnectTimeout=3", "-p", "{p}", U, "true"),
  listener="silent", expect=r"timed out")

for fx, cmd in [("ssh-vvv", ssh("-vvv", "-p", "{p}", U, "true")),
                ("ssh-v", ssh("-v", "-p", "{p}", U, "true")),
                ("sftp-vvv", ["sftp", "-vvv", "-P", "{p}", U])]:
    port("reset-before-banner")
    S("reset-before-banner", fx, "banner", cmd, listener="reset",
      expect=r"reset by peer")

port("closed-before-banner")
S("closed-before-banner", "ssh-vvv", "banner", ssh("-vvv", "-p", "{p}", U, "true"),
  listener="close", expect=r"Connection closed by remote host")

port("reset-during-kex")
S("reset-during-kex", "ssh-vvv", "kex", ssh("-vvv", "-p", "{p}", U, "true"),
  listener="reset-during-kex", expect=r"reset by")

port("maxstartups")
S("maxstartups", "ssh-vvv", "banner", ssh("-vvv", "-p", "{p}", U, "true"),
  sshd=["MaxStartups 1:100:1"], hold=2,
  expect=r"kex_exchange_identification|reset by peer")

# ---- kex
port("kex-no-common-kex")
for fx, cmd in [("ssh-vvv", ssh("-vvv", "-p", "{p}", U, "true")),
                ("ssh-v", ssh("-v", "-p", "{p}", U, "true")),
                ("sftp-vvv", ["sftp", "-vvv", "-P", "{p}", U])]:
    S("kex-no-common-kex", fx, "kex", cmd, sshd=["KexAlgorithms diffie-hellman-group1-sha1"],
      expect=r"no matching key exchange method")
S("kex-no-common-kex", "ssh-vvv-fixed", "success",
  ssh("-vvv", "-oKexAlgorithms=+diffie-hellman-group1-sha1", "-p", "{p}", U, "true"),
  sshd=["KexAlgorithms diffie-hellman-group1-sha1"], expect=r"Exit status 0")

port("kex-no-common-cipher")
S("kex-no-common-cipher", "ssh-vvv", "kex", ssh("-vvv", "-p", "{p}", U, "true"),
  sshd=["Ciphers aes128-cbc"], expect=r"no matching cipher")
S("kex-no-common-cipher", "ssh-vvv-fixed", "success",
  ssh("-vvv", "-oCiphers=+aes128-cbc", "-p", "{p}", U, "true"),
  sshd=["Ciphers aes128-cbc"], expect=r"Exit status 0")

port("kex-no-common-mac")
S("kex-no-common-mac", "ssh-vvv", "kex", ssh("-vvv", "-p", "{p}", U, "true"),
  sshd=["Ciphers aes128-ctr", "MACs hmac-md5"], expect=r"no matching MAC")
S("kex-no-common-mac", "ssh-vvv-fixed", "success",
  ssh("-vvv", "-oMACs=+hmac-md5", "-p", "{p}", U, "true"),
  sshd=["Ciphers aes128-ctr", "MACs hmac-md5"], expect=r"Exit status 0")

port("kex-no-common-hostkey")
S("kex-no-common-hostkey", "ssh-vvv", "kex", ssh("-vvv", "-p", "{p}", U, "true"),
  sshd=["HostKey {t}/keys/host_rsa", "HostKeyAlgorithms ssh-rsa"],
  expect=r"no matching host key type")
S("kex-no-common-hostkey", "ssh-vvv-fixed", "success",
  ssh("-vvv", "-oHostKeyAlgorithms=+ssh-rsa", "-p", "{p}", U, "true"),
  sshd=["HostKey {t}/keys/host_rsa", "HostKeyAlgorithms ssh-rsa"], expect=r"Exit status 0")

# ---- host key
port("hostkey-changed")
for fx, cmd in [("ssh-vvv", ssh("-vvv", "-p", "{p}", U, "true")),
                ("ssh-v", ssh("-v", "-p", "{p}", U, "true")),
                ("sftp-vvv", ["sftp", "-vvv", "-P", "{p}", U])]:
    S("hostkey-changed", fx, "hostkey", cmd, sshd=[], known="changed",
      expect=r"REMOTE HOST IDENTIFICATION HAS CHANGED")

port("hostkey-unknown")
S("hostkey-unknown", "ssh-vvv", "hostkey",
  ssh("-vvv", "-o", "StrictHostKeyChecking=yes", "-p", "{p}", U, "true"),
  sshd=[], known="empty", expect=r"Host key verification failed")

# ---- client-side config
port("client-config-perms")
S("client-config-perms", "ssh-vvv", "config", ssh("-vvv", "-p", "{p}", U, "true"),
  sshd=[], modes={".ssh/config": 0o666}, expect=r"Bad owner or permissions")

port("key-file-perms")
S("key-file-perms", "ssh-vvv", "auth", ssh("-vvv", "-p", "{p}", U, "true"),
  sshd=[], modes={".ssh/id_ed25519": 0o644}, expect=r"UNPROTECTED PRIVATE KEY FILE")

# ---- auth
port("auth-key-rejected")
for fx, cmd in [("ssh-vvv", ssh("-vvv", "-p", "{p}", U, "true")),
                ("ssh-v", ssh("-v", "-p", "{p}", U, "true")),
                ("sftp-vvv", ["sftp", "-vvv", "-P", "{p}", U])]:
    S("auth-key-rejected", fx, "auth", cmd, sshd=["AuthenticationMethods publickey"],
      authorized=["stranger"], expect=r"Permission denied \(publickey\)")

port("auth-no-methods-left")
S("auth-no-methods-left", "ssh-vvv", "auth", ssh("-vvv", "-p", "{p}", U, "true"),
  sshd=["AuthenticationMethods publickey"], keys={},
  expect=r"Permission denied \(publickey\)")

port("auth-too-many-failures")
S("auth-too-many-failures", "ssh-vvv", "auth",
  ssh("-vvv", "-i", "~/.ssh/id_work", "-i", "~/.ssh/id_github", "-i", "~/.ssh/id_old",
      "-i", "~/.ssh/id_backup", "-p", "{p}", U, "true"),
  sshd=["MaxAuthTries 2"],
  keys={"id_work": "wrong1", "id_github": "wrong2", "id_old": "wrong3", "id_backup": "wrong4"},
  expect=r"Too many authentication failures")

port("auth-sigalg-rejected-by-server")
S("auth-sigalg-rejected-by-server", "ssh-vvv", "auth", ssh("-vvv", "-p", "{p}", U, "true"),
  sshd=["PubkeyAcceptedAlgorithms ssh-rsa"], keys={"id_rsa": "client_rsa"},
  authorized=["client_rsa"], expect=r"Permission denied")
S("auth-sigalg-rejected-by-server", "ssh-vvv-fixed", "success",
  ssh("-vvv", "-oPubkeyAcceptedAlgorithms=ssh-rsa", "-p", "{p}", U, "true"),
  sshd=["PubkeyAcceptedAlgorithms ssh-rsa"], keys={"id_rsa": "client_rsa"},
  authorized=["client_rsa"], expect=r"Exit status 0")

port("auth-no-mutual-signature")
S("auth-no-mutual-signature", "ssh-vvv", "auth", ssh("-vvv", "-p", "{p}", U, "true"),
  listener="old-server", keys={"id_rsa": "client_rsa"}, expect=r"no mutual signature")
S("auth-no-mutual-signature", "ssh-vvv-fixed", "success",
  ssh("-vvv", "-oPubkeyAcceptedAlgorithms=+ssh-rsa", "-p", "{p}", U, "true"),
  listener="old-server", keys={"id_rsa": "client_rsa"}, expect=r"Exit status 0")

port("auth-user-denied")
S("auth-user-denied", "ssh-vvv", "auth", ssh("-vvv", "-p", "{p}", U, "true"),
  sshd=["DenyUsers vvvlab"], expect=r"Permission denied")

port("root-login-denied")
S("root-login-denied", "ssh-vvv", "auth", ssh("-vvv", "-p", "{p}", "root@127.0.0.1", "true"),
  sshd=["PermitRootLogin no", "StrictModes no"],
  match=["Match User root", "    AuthorizedKeysFile {t}/root_authorized_keys"],
  expect=r"Permission denied")

port("authorized-keys-perms")
S("authorized-keys-perms", "ssh-vvv", "auth", ssh("-vvv", "-p", "{p}", U, "true"),
  sshd=["StrictModes yes"], modes={".ssh/authorized_keys": 0o666},
  expect=r"Permission denied")

# ---- channel / session / sftp
port("channel-open-prohibited")
S("channel-open-prohibited", "ssh-vvv", "channel",
  ssh("-vvv", "-p", "{p}", "-W", "127.0.0.1:{p2}", U),
  sshd=["AllowTcpForwarding no"], expect=r"administratively prohibited")
S("channel-open-prohibited", "ssh-vvv-L", "channel",
  ssh("-vvv", "-p", "{p}", "-L", "{p3}:127.0.0.1:{p2}", U,
      "bash -c 'exec 3<>/dev/tcp/127.0.0.1/{p3}; sleep 1'"),
  sshd=["AllowTcpForwarding no"], expect=r"administratively prohibited")

port("chroot-perms")
S("chroot-perms", "sftp-vvv", "session", ["sftp", "-vvv", "-P", "{p}", "vvvchroot@127.0.0.1"],
  sshd=[], match=["Match User vvvchroot", "    ChrootDirectory /home/vvvchroot",
                  "    ForceCommand internal-sftp"],
  expect=r"Broken pipe|Connection closed")

port("sftp-subsystem-missing")
S("sftp-subsystem-missing", "sftp-vvv", "channel", ["sftp", "-vvv", "-P", "{p}", U],
  sshd=[], drop=["Subsystem"], expect=r"subsystem request failed")

port("sftp-server-path-wrong")
S("sftp-server-path-wrong", "sftp-vvv", "sftp", ["sftp", "-vvv", "-P", "{p}", U],
  sshd=["Subsystem sftp /usr/lib/openssh/no-such-sftp-server"],
  expect=r"Exit status 127")

port("shell-prints-output")
S("shell-prints-output", "sftp-vvv", "sftp", ["sftp", "-vvv", "-P", "{p}", "vvvbashrc@127.0.0.1"],
  sshd=["Subsystem sftp " + SFTP_SERVER], expect=r"message too long")
S("shell-prints-output", "scp-vvv", "sftp",
  ["scp", "-vvv", "-P", "{p}", "localfile.txt", "vvvbashrc@127.0.0.1:upload.txt"],
  sshd=["Subsystem sftp " + SFTP_SERVER], expect=r"message too long")

port("nologin-shell")
S("nologin-shell", "ssh-vvv", "session", ssh("-vvv", "-p", "{p}", "vvvnologin@127.0.0.1"),
  sshd=[], expect=r"currently not available")

port("sftp-only-account")
S("sftp-only-account", "ssh-vvv", "session", ssh("-vvv", "-p", "{p}", "vvvsftp@127.0.0.1"),
  sshd=[], match=["Match User vvvsftp", "    ForceCommand internal-sftp"],
  expect=r"sftp connections only")

port("remote-closed-mid-session")
S("remote-closed-mid-session", "ssh-vvv", "disconnect", ssh("-vvv", "-p", "{p}", U, "sleep 30"),
  sshd=[], during=("signal", signal.SIGKILL, 2.0), expect=r"closed by remote host|closed by")

port("keepalive-timeout")
S("keepalive-timeout", "ssh-vvv", "disconnect",
  ssh("-vvv", "-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=2", "-p", "{p}", U, "sleep 30"),
  sshd=[], during=("signal", signal.SIGSTOP, 2.0), expect=r"not responding")

port("proxycommand-failed")
S("proxycommand-failed", "ssh-vvv", "connect",
  ssh("-vvv", "-o", "ProxyCommand=/nonexistent/proxy %h %p", "-p", "{p}", U, "true"),
  expect=r"No such file or directory|not found")
S("proxycommand-failed", "ssh-vvv-refused", "connect",
  ssh("-vvv", "-o", "ProxyCommand=bash -c 'exec 3<>/dev/tcp/127.0.0.1/1 && {{ cat <&3 & cat >&3; }}'",
      "-p", "{p}", U, "true"),
  expect=r"Connection refused")

port("jump-host-target-failed")
S("jump-host-target-failed", "ssh-vvv", "connect",
  ssh("-vvv", "-J", U + ":{p}", "-p", "{p2}", U, "true"),
  sshd=["AllowTcpForwarding yes"], expect=r"stdio forwarding failed|open failed")

# ---- timing: recorded with arrival times, as `ts` or VS Code Remote-SSH put them
port("slow-auth-server")
S("slow-auth-server", "ssh-vvv-timed", "success", ssh("-vvv", "-p", "{p}", U, "true"),
  sshd=["AuthorizedKeysFile none",
        'AuthorizedKeysCommand /bin/sh -c "sleep 3; cat /home/%u/.ssh/authorized_keys"',
        "AuthorizedKeysCommandUser root"],
  timestamps=True, expect=r"Exit status 0")

# ---- causes of issue #16 (ports after the ones above, so older fixtures keep theirs)
port("key-invalid-format")
for fx, how, cmd in [
        ("ssh-vvv", "no-final-newline", ssh("-vvv", "-p", "{p}", U, "true")),
        ("ssh-v", "no-final-newline", ssh("-v", "-p", "{p}", U, "true")),
        ("ssh-vvv-crlf", "crlf", ssh("-vvv", "-p", "{p}", U, "true")),
        ("ssh-vvv-truncated", "truncated", ssh("-vvv", "-p", "{p}", U, "true"))]:
    S("key-invalid-format", fx, "auth", cmd, sshd=[], mangle={".ssh/id_ed25519": how},
      expect=r"Load key .*(invalid format|libcrypto)")
# a public key given as -i (the private one is elsewhere), mode 0600 so permissions are not the issue
S("key-invalid-format", "sftp-vvv", "auth", ["sftp", "-vvv", "-P", "{p}", U], sshd=[],
  mangle={".ssh/id_ed25519": "no-final-newline"}, expect=r"Load key .*(invalid format|libcrypto)")
S("key-invalid-format", "ssh-vvv-ppk", "auth",
  ssh("-vvv", "-i", "~/.ssh/server.ppk", "-o", "IdentitiesOnly=yes", "-p", "{p}", U, "true"),
  sshd=[], files={".ssh/server.ppk": "client_ppk"}, needs="puttygen",
  expect=r"Load key .*(invalid format|libcrypto)")
S("key-invalid-format", "ssh-vvv-public-key-as-i", "auth",
  ssh("-vvv", "-i", "~/.ssh/id_ed25519.pub", "-o", "IdentitiesOnly=yes", "-p", "{p}", U, "true"),
  sshd=[], modes={".ssh/id_ed25519.pub": 0o600}, expect=r"Load key .*(invalid format|libcrypto)")

port("key-passphrase-no-prompt")
for fx, cmd in [("ssh-vvv", ssh("-vvv", "-p", "{p}", U, "true")),
                ("ssh-v", ssh("-v", "-p", "{p}", U, "true")),
                ("git-ssh-vvv", ["/usr/local/bin/git", "ls-remote", "ssh://" + U + ":{p}/srv/repo.git"])]:
    S("key-passphrase-no-prompt", fx, "auth", cmd, sshd=[], keys={"id_ed25519": "client_pass"},
      authorized=["client_pass"], env=["GIT_SSH_COMMAND=ssh -vvv"] if fx.startswith("git") else [],
      expect=r"did not send a packet|Permission denied")

# BatchMode off, but no terminal to ask on (a cron job, a service, an IDE's background task)
S("key-passphrase-no-prompt", "ssh-vvv-no-tty", "auth", ssh("-vvv", "-p", "{p}", U, "true"), sshd=[],
  keys={"id_ed25519": "client_pass"}, authorized=["client_pass"], config="Host *\n    BatchMode no\n",
  expect=r"read_passphrase|Permission denied")

port("agent-unreachable")
# the only key is "in the agent", but SSH_AUTH_SOCK names a socket nobody listens on
S("agent-unreachable", "ssh-vvv", "auth", ssh("-vvv", "-p", "{p}", U, "true"),
  sshd=[], keys={}, env=["SSH_AUTH_SOCK={t}/no-agent.sock"],
  expect=r"ssh_get_authentication_socket|Error connecting to agent")
S("agent-unreachable", "ssh-v-stale-socket", "auth", ssh("-v", "-p", "{p}", U, "true"),
  sshd=[], keys={}, env=["SSH_AUTH_SOCK={t}/stale-agent.sock"],
  expect=r"ssh_get_authentication_socket|Error connecting to agent")

port("agent-refused-signing")
# ssh-add -c: the agent must confirm each use with ssh-askpass, which is not installed
S("agent-refused-signing", "ssh-vvv", "auth", ssh("-vvv", "-p", "{p}", U, "true"),
  sshd=[], keys={}, agent=("client_ed25519", ["-c"]), expect=r"agent refused operation")

port("user-cert-invalid")
for fx, key in [("ssh-vvv-expired", "cert_expired"), ("ssh-vvv-principal", "cert_principal")]:
    S("user-cert-invalid", fx, "auth", ssh("-vvv", "-p", "{p}", U, "true"),
      sshd=["TrustedUserCAKeys {t}/keys/user_ca.pub"], keys={"id_ed25519": key},
      authorized=["stranger"], expect=r"Permission denied")
S("user-cert-invalid", "ssh-vvv-good", "success", ssh("-vvv", "-p", "{p}", U, "true"),
  sshd=["TrustedUserCAKeys {t}/keys/user_ca.pub"], keys={"id_ed25519": "cert_good"},
  authorized=["stranger"], expect=r"Exit status 0")

port("corrupted-mac")
# A relay on {p} to the sshd on {p2} flips one bit of the session's data (a remote command's
# output, sent to /dev/null as a backup pipe would consume it): the client's MAC check fails.
for fx, opts in [("ssh-vvv", []), ("ssh-vvv-aes-hmac", ["-o Ciphers=aes128-ctr -o MACs=hmac-sha2-256"])]:
    S("corrupted-mac", fx, "session",
      ["sh", "-c", " ".join(["ssh -vvv", *opts, "-p {p}", U, "'seq 200000' >/dev/null"])],
      sshd2=[], listener="flip-relay", flip_at=40000,
      expect=r"Corrupted MAC|message authentication code")

# The same on the way up (an upload): sshd's MAC check fails, and sshd logs it.
S("corrupted-mac", "ssh-vvv-upload", "session",
  ["sh", "-c", "seq 200000 | ssh -vvv -p {p} " + U + " 'cat >/dev/null'"],
  sshd2=[], listener="flip-relay", flip_up_at=40000,
  expect=r"Corrupted MAC|message authentication code|Connection (closed|reset)|Broken pipe")

port("hostkey-unverifiable-batch")
S("hostkey-unverifiable-batch", "ssh-vvv", "hostkey", ssh("-vvv", "-p", "{p}", U, "true"),
  sshd=[], known="empty", expect=r"Host key verification failed")
S("hostkey-unverifiable-batch", "ssh-v", "hostkey", ssh("-v", "-p", "{p}", U, "true"),
  sshd=[], known="empty", expect=r"Host key verification failed")
# what a CI job's first git fetch from a new host prints
S("hostkey-unverifiable-batch", "git-ssh-vvv", "hostkey",
  ["/usr/local/bin/git", "ls-remote", "ssh://" + U + ":{p}/srv/repo.git"],
  sshd=[], known="empty", env=["GIT_SSH_COMMAND=ssh -vvv"], expect=r"Host key verification failed")

port("waiting-for-user")
# an IDE's askpass that never answers: the log stops at the password method, ssh is killed
for fx, cmd in [("hidden-prompt-ssh-vvv", ssh("-vvv", "-p", "{p}", U, "true")),
                ("hidden-prompt-ssh-v", ssh("-v", "-p", "{p}", U, "true"))]:
    S("waiting-for-user", fx, "auth", cmd, sshd=["PasswordAuthentication yes"],
      authorized=["stranger"], config="Host *\n    BatchMode no\n", timeout=6,
      env=["SSH_ASKPASS={t}/askpass-hang", "SSH_ASKPASS_REQUIRE=force", "DISPLAY=:0"],
      expect=r"Next authentication method: password")

port("remote-command-failed")
S("remote-command-failed", "ssh-vvv", "session", ssh("-vvv", "-p", "{p}", U, "no-such-command"),
  sshd=[], expect=r"Exit status 127")
S("remote-command-failed", "ssh-v", "session", ssh("-v", "-p", "{p}", U, "no-such-command"),
  sshd=[], expect=r"Exit status 127")
S("remote-command-failed", "git-ssh-vvv", "session",
  ["/usr/local/bin/git", "ls-remote", "ssh://" + U + ":{p}/srv/no-such-repo.git"],
  sshd=[], env=["GIT_SSH_COMMAND=ssh -vvv"], expect=r"does not appear to be a git repository")

port("ipv6-tried-first")
# dualstack.test is ::1 and 127.0.0.1; nothing listens on ::1, so ssh's first (IPv6) attempt is
# refused. 127.0.0.1 then either never answers (full backlog) or is the real sshd (-fallback).
S("ipv6-tried-first", "ssh-vvv", "connect",
  ssh("-vvv", "-o", "ConnectTimeout=3", "-p", "{p}", "vvvlab@dualstack.test", "true"),
  netns="dual-stack", listener="full-backlog", expect=r"connect to address ::1")
S("ipv6-tried-first", "ssh-vvv-fallback", "success",
  ssh("-vvv", "-p", "{p}", "vvvlab@dualstack.test", "true"),
  netns="dual-stack", sshd=[], known="none", config="Host *\n    BatchMode yes\n    StrictHostKeyChecking accept-new\n",
  expect=r"connect to address ::1")

port("sshd-no-hostkeys")
# sshd started per connection (ssh.socket, inetd) with no host key it can load
S("sshd-no-hostkeys", "ssh-vvv", "banner", ssh("-vvv", "-p", "{p}", U, "true"),
  listener="inetd", inetd=["HostKey {t}/no-such-host-key"], expect=r"Connection (closed|reset)")

port("sshd-privsep-failed")
# the same, in a container whose /run has no sshd directory
S("sshd-privsep-failed", "ssh-vvv", "banner", ssh("-vvv", "-p", "{p}", U, "true"),
  listener="inetd", inetd=[], inetd_wrap="no-privsep-dir", expect=r"Connection (closed|reset)")

port("name-resolves-to-proxy")
# git.example.test resolves to a TUN-mode proxy's fake IP (198.18.0.0/15), whose relay closes
for fx, v in [("ssh-vvv", "-vvv"), ("ssh-v", "-v")]:
    S("name-resolves-to-proxy", fx, "banner",
      ssh(v, "-o", "ConnectTimeout=5", "-p", "{p}", "git@git.example.test", "true"),
      netns="fake-ip", known="none", expect=r"198\.18\.0\.8")

# A git host's account: a forced command stands in for its shell and prints what GitHub does
# (its texts verbatim), through the real sshd and the real client.
GITHUB_NO_SHELL = ('command="printf \'%s\\n\' \\"Hi vvvlab! You\'ve successfully authenticated, '
                   'but GitHub does not provide shell access.\\" >&2; exit 1",no-pty ')
port("git-host-no-shell")
for fx, v in [("ssh-vvv-forced-command", "-vvv"), ("ssh-v-forced-command", "-v")]:
    S("git-host-no-shell", fx, "success", ssh(v, "-T", "-p", "{p}", U),
      sshd=[], ak_options=GITHUB_NO_SHELL, expect=r"does not provide shell access")

port("git-repo-access-denied")
S("git-repo-access-denied", "git-ssh-vvv-forced-command", "session",
  ["/usr/local/bin/git", "ls-remote", "ssh://" + U + ":{p}/someone/private-repo.git"],
  sshd=[], env=["GIT_SSH_COMMAND=ssh -vvv"],
  ak_options='command="echo \'ERROR: Repository not found.\' >&2; exit 1",no-pty ',
  expect=r"Repository not found")

# ---- Dropbear instead of sshd: its own log (`-E`, stderr) is kept as <fixture>.sshd.log
DB_KNOWN = ["dropbear_host_ed25519"]
DB_PASSWORD = ("Host *\n    BatchMode no\n    PreferredAuthentications publickey,password\n"
               "    NumberOfPasswordPrompts 3\n")
DB_WRONG_PASSWORD = ["SSH_ASKPASS={t}/askpass-wrong", "SSH_ASKPASS_REQUIRE=force", "DISPLAY=:0"]
PW_U = f"{PASSWORD_USER}@{HOST}"
S("ok", "dropbear-ssh-vvv", "success", ssh("-vvv", "-p", "{p}", U, "true"), dropbear=[],
  host_keys=DB_KNOWN, needs=DROPBEAR, expect=r"Exit status 0")
S("auth-key-rejected", "dropbear-ssh-vvv", "auth", ssh("-vvv", "-p", "{p}", U, "true"),
  dropbear=["-s"], authorized=["stranger"], host_keys=DB_KNOWN, needs=DROPBEAR,
  expect=r"Permission denied \(publickey\)")
S("auth-unknown-user", "dropbear-ssh-vvv-nonexistent-user", "auth",
  ssh("-vvv", "-p", "{p}", "vvvnosuchuser@" + HOST, "true"), dropbear=[], host_keys=DB_KNOWN,
  needs=DROPBEAR, expect=r"Permission denied")
# -G: logins only for members of a group (sshd's AllowGroups)
S("auth-user-denied", "dropbear-ssh-vvv-group", "auth", ssh("-vvv", "-p", "{p}", U, "true"),
  dropbear=["-G", "root"], host_keys=DB_KNOWN, needs=DROPBEAR, expect=r"Permission denied")
# a login shell not in /etc/shells (vvvnologin's /usr/sbin/nologin): Dropbear refuses the account
S("user-shell-missing", "dropbear-ssh-vvv-invalid-shell", "auth",
  ssh("-vvv", "-p", "{p}", "vvvnologin@" + HOST, "true"), dropbear=[], host_keys=DB_KNOWN,
  needs=DROPBEAR, expect=r"Permission denied")
S("root-login-denied", "dropbear-ssh-vvv", "auth",
  ssh("-vvv", "-p", "{p}", "root@" + HOST, "true"), dropbear=["-w"], host_keys=DB_KNOWN,
  needs=DROPBEAR, expect=r"Permission denied")
S("authorized-keys-perms", "dropbear-ssh-vvv", "auth", ssh("-vvv", "-p", "{p}", U, "true"),
  dropbear=[], modes={".ssh/authorized_keys": 0o666}, host_keys=DB_KNOWN, needs=DROPBEAR,
  expect=r"Permission denied")
S("ok", "dropbear-ssh-vvv-password", "success", ssh("-vvv", "-p", "{p}", PW_U, "true"),
  dropbear=[], host_keys=DB_KNOWN, config=DB_PASSWORD,
  env=["SSH_ASKPASS={t}/askpass-right", "SSH_ASKPASS_REQUIRE=force", "DISPLAY=:0"],
  needs=DROPBEAR, expect=r"Exit status 0")
# wrong passwords (an askpass that answers wrong) until -T 2, Dropbear's MaxAuthTries, hangs up
S("auth-too-many-failures", "dropbear-ssh-vvv-password", "auth",
  ssh("-vvv", "-p", "{p}", PW_U, "true"), dropbear=["-T", "2"], host_keys=DB_KNOWN,
  config=DB_PASSWORD, env=DB_WRONG_PASSWORD, needs=DROPBEAR, expect=r"Connection closed")
# ---- the server's log decides (issue #17): client logs the same as a refused key
port("auth-unknown-user")
S("auth-unknown-user", "ssh-vvv", "auth", ssh("-vvv", "-p", "{p}", "vvvnobody@127.0.0.1", "true"),
  sshd=[], expect=r"Permission denied")

port("user-shell-missing")
S("user-shell-missing", "ssh-vvv", "auth", ssh("-vvv", "-p", "{p}", "vvvnoshell@127.0.0.1", "true"),
  sshd=[], expect=r"Permission denied")

port("account-expired")
# with PAM (pam_unix's account check) and without (sshd reads the shadow entry itself)
S("account-expired", "ssh-vvv", "auth", ssh("-vvv", "-p", "{p}", "vvvexpired@127.0.0.1", "true"),
  sshd=["UsePAM yes"], syslog=True, expect=r"Your account has expired")
S("account-expired", "ssh-vvv-nopam", "auth",
  ssh("-vvv", "-p", "{p}", "vvvexpired@127.0.0.1", "true"),
  sshd=[], expect=r"Permission denied")

port("password-expired")
# the key is accepted, then PAM says the password must change, and there is no terminal for it
# (without PAM, sshd lets a key login through with an expired password)
S("password-expired", "ssh-vvv", "session", ssh("-vvv", "-p", "{p}", "vvvpwchange@127.0.0.1", "true"),
  sshd=["UsePAM yes"], syslog=True, expect=r"change your password|no TTY")

port("account-locked")
# a locked password ('!'): without PAM sshd refuses the account for keys too
S("account-locked", "ssh-vvv", "auth", ssh("-vvv", "-p", "{p}", "vvvlocked@127.0.0.1", "true"),
  sshd=[], expect=r"Permission denied")

# ---------------------------------------------------------------- lab


class SyslogCapture:
    """A syslog daemon for one scenario: a datagram socket at /dev/log (where none exists) that
    keeps what sshd sends it. A `syslog=True` scenario runs sshd without `-e`, so sshd and the PAM
    modules it loads (pam_unix writes to syslog, never to sshd's stderr) log there, each line with
    sshd's process id; the lab writes them as rsyslog writes /var/log/auth.log."""

    def __init__(self):
        self.path = "/dev/log"
        self.lines = []
        self.s = None
        if os.path.exists(self.path):
            log("syslog capture: /dev/log exists, PAM lines go to the system's syslog")
            return
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.s.bind(self.path)
        os.chmod(self.path, 0o666)
        self.s.settimeout(0.2)
        self.stopped = threading.Event()
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()
        LISTENERS.append(self)

    def loop(self):
        while not self.stopped.is_set():
            try:
                self.lines.append(self.s.recv(8192).rstrip(b"\0\n") + b"\n")
            except socket.timeout:
                continue
            except OSError:
                return

    def auth_log(self):
        """sshd's datagrams as auth.log lines: `<PRI>` dropped, the host name after the time."""
        out = []
        for d in self.lines:
            m = re.match(rb"<\d+>(\w{3} [ \d]\d \d\d:\d\d:\d\d) (sshd\S*[\[:].*)", d, re.S)
            if m:
                out.append(m.group(1) + b" lab " + m.group(2))
        return b"".join(out)

    def stop(self):
        if self.s is None:
            return
        self.stopped.set()
        self.t.join(1)
        self.s.close()
        self.s = None
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        if self in LISTENERS:
            LISTENERS.remove(self)


def read_with_arrival_times(proc, timeout):
    """The client's output with `[HH:MM:SS.mmm] ` before each line, the time it arrived (what
    `ts` or VS Code Remote-SSH add): the lines themselves are as the client printed them."""
    deadline = time.time() + timeout
    out = []
    for line in iter(proc.stdout.readline, b""):
        now = datetime.datetime.now()
        stamp = now.strftime("[%H:%M:%S.") + f"{now.microsecond // 1000:03d}] "
        out.append(stamp.encode() + line)
        if time.time() > deadline:
            proc.kill()
            break
    proc.wait(timeout=max(1, deadline - time.time()))
    return b"".join(out)


class Lab:
    def __init__(self, out):
        self.out = Path(out).resolve()
        self.t = Path(tempfile.mkdtemp(prefix="vvvlab-"))
        os.chmod(self.t, 0o755)
        self.keys = self.t / "keys"
        self.agents = []

    # ---- one-time setup
    def setup(self):
        if os.geteuid() != 0:
            sys.exit("lab.py must run as root (useradd, sshd)")
        for tool in (SSHD, "/usr/bin/ssh", "/usr/bin/sftp", "/usr/bin/scp",
                     "/usr/bin/ssh-keygen", "/usr/sbin/runuser", "/usr/bin/timeout"):
            if not os.path.exists(tool):
                sys.exit(f"missing {tool} (apt-get install openssh-client openssh-server)")
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)   # sshd privsep dir
        for name, shell in ACCOUNTS.items():
            try:
                pwd.getpwnam(name)
                run(["usermod", "-s", shell, name])
            except KeyError:
                run(["useradd", "-m", "-s", shell, name])
            # '*' = no password but not "locked" ('!'), so sshd with UsePAM no lets
            # key logins through.
            run(["usermod", "-p", "*", name])
            run(["chage", "-E", "-1", "-d", "-1", *CHAGE.get(name, []), name])
            if name == "vvvlocked":
                run(["usermod", "-L", name])
        self.keys.mkdir(mode=0o755)
        gen = [("host_ed25519", "ed25519"), ("host_rsa", "rsa"), ("other_host_ed25519", "ed25519"),
               ("client_ed25519", "ed25519"), ("client_rsa", "rsa"), ("stranger", "ed25519"),
               ("wrong1", "ed25519"), ("wrong2", "ed25519"), ("wrong3", "ed25519"),
               ("wrong4", "ed25519")]
        procs = [subprocess.Popen(["ssh-keygen", "-q", "-t", t, "-N", "", "-C", f"{n}@vvvlab",
                                  "-f", str(self.keys / n)], stdout=subprocess.DEVNULL)
                 for n, t in gen]
        for p in procs:
            if p.wait() != 0:
                sys.exit("ssh-keygen failed")
        self.make_special_keys()
        # An askpass that never answers, like a prompt hidden in an IDE.
        askpass = self.t / "askpass-hang"
        askpass.write_text("#!/bin/sh\nexec sleep 12 >/dev/null 2>&1\n")
        os.chmod(askpass, 0o755)
        # An askpass that answers with a wrong password.
        wrong = self.t / "askpass-wrong"
        wrong.write_text("#!/bin/sh\necho not-the-password\n")
        os.chmod(wrong, 0o755)
        right = self.t / "askpass-right"
        right.write_text(f"#!/bin/sh\necho '{PASSWORD}'\n")
        os.chmod(right, 0o755)
        if os.path.exists(DROPBEAR):
            self.setup_dropbear()
        # The socket an agent left behind when it died (tmux/screen keep its SSH_AUTH_SOCK).
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(str(self.t / "stale-agent.sock"))
        stale.close()
        os.chmod(self.t / "stale-agent.sock", 0o777)
        # server-side accounts other than the client user
        for name in ACCOUNTS:
            if name == CLIENT:
                continue
            pw = pwd.getpwnam(name)
            home = Path(pw.pw_dir)
            home.mkdir(exist_ok=True)
            os.chown(home, pw.pw_uid, pw.pw_gid)
            os.chmod(home, 0o755)
            sshdir = home / ".ssh"
            shutil.rmtree(sshdir, ignore_errors=True)
            sshdir.mkdir(mode=0o700)
            ak = sshdir / "authorized_keys"
            ak.write_text(self.pub("client_ed25519"))
            os.chmod(ak, 0o600)
            for p_ in (sshdir, ak):
                os.chown(p_, pw.pw_uid, pw.pw_gid)
        bashrc = Path(pwd.getpwnam("vvvbashrc").pw_dir) / ".bashrc"
        bashrc.write_text('echo "This is my bashrc"\n')
        pw = pwd.getpwnam("vvvbashrc")
        os.chown(bashrc, pw.pw_uid, pw.pw_gid)
        rak = self.t / "root_authorized_keys"
        rak.write_text(self.pub("client_ed25519"))
        os.chmod(rak, 0o644)

    def setup_dropbear(self):
        """Dropbear's own host key (dropbearkey, in the temp dir) with its public half in OpenSSH's
        form for known_hosts, and the live tests' password account."""
        key = self.keys / "dropbear_host_ed25519"
        run(["dropbearkey", "-t", "ed25519", "-f", str(key)], stderr=subprocess.DEVNULL)
        pub = subprocess.run(["dropbearkey", "-y", "-f", str(key)], check=True, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
        line = next(ln for ln in pub.splitlines() if ln.startswith("ssh-"))
        (self.keys / "dropbear_host_ed25519.pub").write_text(line + "\n")
        try:
            pwd.getpwnam(PASSWORD_USER)
        except KeyError:
            run(["useradd", "-m", "-s", "/bin/sh", PASSWORD_USER])
        subprocess.run(["chpasswd"], input=f"{PASSWORD_USER}:{PASSWORD}\n", text=True, check=True)

    def make_special_keys(self):
        """A key with a passphrase, and user certificates from a throwaway CA: one expired, one
        for another principal (sshd trusts the CA with TrustedUserCAKeys)."""
        k = self.keys
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "lab passphrase", "-C", "pass@vvvlab",
             "-f", str(k / "client_pass")])
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ca@vvvlab", "-f", str(k / "user_ca")])
        for name, extra in [("cert_expired", ["-n", CLIENT, "-V", "20200101:20200102"]),
                            ("cert_principal", ["-n", "someone-else", "-V", "-5m:+1d"]),
                            ("cert_good", ["-n", CLIENT, "-V", "-5m:+1d"])]:
            shutil.copy(k / "client_ed25519", k / name)
            shutil.copy(k / "client_ed25519.pub", k / (name + ".pub"))
            run(["ssh-keygen", "-q", "-s", str(k / "user_ca"), "-I", name, *extra, str(k / (name + ".pub"))])
        if shutil.which("puttygen"):
            # The client key as PuTTY saves it (.ppk), for the scenarios that need puttygen.
            run(["puttygen", str(k / "client_ed25519"), "-O", "private", "-o", str(k / "client_ppk")])

    def start_agent(self, spec, d):
        """An ssh-agent of the client user holding one key; spec = (key name, ssh-add options)."""
        key, opts = spec
        pw = pwd.getpwnam(CLIENT)
        ad = d / "agent"
        ad.mkdir(mode=0o700)
        os.chown(ad, pw.pw_uid, pw.pw_gid)
        kf = ad / "key"
        kf.write_bytes((self.keys / key).read_bytes())
        os.chown(kf, pw.pw_uid, pw.pw_gid)
        os.chmod(kf, 0o600)
        sock = ad / "sock"
        agent = subprocess.Popen(["runuser", "-u", CLIENT, "--", "ssh-agent", "-D", "-a", str(sock)],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, start_new_session=True)
        STARTED.append(agent)
        self.agents.append(agent)
        deadline = time.time() + 5
        while not sock.exists() and time.time() < deadline:
            time.sleep(0.02)
        subprocess.run(["runuser", "-u", CLIENT, "--", "env", "-i", "SSH_AUTH_SOCK=" + str(sock),
                        "ssh-add", "-q", *opts, str(kf)], check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return str(sock)

    def pub(self, name):
        return (self.keys / (name + ".pub")).read_text()

    def cleanup(self):
        cleanup_all()
        shutil.rmtree(self.t, ignore_errors=True)

    # ---- per scenario
    def fmt(self, s, ports):
        return s.format(p=ports[0], p2=ports[1], p3=ports[2], t=self.t)

    def layout_client(self, sc, ports):
        pw = pwd.getpwnam(CLIENT)
        home = Path(pw.pw_dir)
        home.mkdir(exist_ok=True)
        os.chmod(home, 0o755)
        os.chown(home, pw.pw_uid, pw.pw_gid)
        sshdir = home / ".ssh"
        shutil.rmtree(sshdir, ignore_errors=True)
        for f in ("localfile.txt", "upload.txt", "download.txt", "batch.txt", "bigfile.bin",
                  "bigfile.down"):
            try:
                (home / f).unlink()
            except FileNotFoundError:
                pass
        sshdir.mkdir(mode=0o700)
        files = {}
        keys = sc.get("keys", {"id_ed25519": "client_ed25519"})
        for fn, key in keys.items():
            files[".ssh/" + fn] = ((self.keys / key).read_bytes(), 0o600)
            files[".ssh/" + fn + ".pub"] = ((self.keys / (key + ".pub")).read_bytes(), 0o644)
            if (self.keys / (key + "-cert.pub")).exists():
                files[".ssh/" + fn + "-cert.pub"] = ((self.keys / (key + "-cert.pub")).read_bytes(), 0o644)
        # Single key files without their .pub (as a PuTTY or cloud provider hands them out).
        for rel, key in sc.get("files", {}).items():
            files[rel] = ((self.keys / key).read_bytes(), 0o600)
        # A damaged private key, as a CI secret or a copy-paste leaves it.
        for rel, how in sc.get("mangle", {}).items():
            data, mode = files[rel]
            files[rel] = (MANGLES[how](data), mode)
        ak = "".join(sc.get("ak_options", "") + self.pub(k)
                     for k in sc.get("authorized", ["client_ed25519"]))
        files[".ssh/authorized_keys"] = (ak.encode(), 0o600)
        known = sc.get("known", "good")
        hk = []
        if known in ("good", "changed"):
            names = sc.get("host_keys", ["host_ed25519", "host_rsa"])
            if known == "changed":
                names = ["other_host_ed25519"]
            for p in ports[:2]:
                for n in names:
                    kt, kb = self.pub(n).split()[:2]
                    hk.append(f"[{HOST}]:{p} {kt} {kb}\n")
        if known != "none":
            files[".ssh/known_hosts"] = ("".join(hk).encode(), 0o644)
        cfg = sc.get("config", DEFAULT_CONFIG)
        if cfg is not None:
            files[".ssh/config"] = (cfg.encode(), 0o644)
        files["localfile.txt"] = (SMALL_FILE.encode(), 0o644)
        files["batch.txt"] = (SFTP_BATCH.encode(), 0o644)
        for rel, (data, mode) in files.items():
            p = home / rel
            p.write_bytes(data)
            os.chown(p, pw.pw_uid, pw.pw_gid)
            os.chmod(p, mode)
        os.chown(sshdir, pw.pw_uid, pw.pw_gid)
        for rel, mode in sc.get("modes", {}).items():
            os.chmod(home / rel, mode)

    def sshd_config(self, sc, extras, match, port_, d):
        extras = [self.fmt(x, (port_, 0, 0)) for x in extras]
        overridden = {x.split()[0].lower() for x in extras} | {x.lower() for x in sc.get("drop", [])}
        base = [
            f"HostKey {self.keys}/host_ed25519",
            f"HostKey {self.keys}/host_rsa",
            "PidFile none",
            "UsePAM no",
            "LogLevel DEBUG1",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            "AcceptEnv LANG LC_*",
            "PrintMotd no",
            "X11Forwarding no",
            "Subsystem sftp " + SFTP_SERVER,
        ]
        base = [b for b in base if b.split()[0].lower() not in overridden]
        lines = extras + base + [self.fmt(m, (port_, 0, 0)) for m in match]
        cfg = d / f"sshd_config.{port_}"
        cfg.write_text("\n".join(lines) + "\n")
        os.chmod(cfg, 0o644)
        return cfg

    def start_sshd(self, cfg, port_, logpath, syslog=None):
        logf = open(logpath, "wb")
        p = subprocess.Popen([SSHD, "-D", *([] if syslog else ["-e"]), "-f", str(cfg),
                              "-p", str(port_), "-o", "ListenAddress=" + HOST],
                             stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                             start_new_session=True)
        logf.close()
        STARTED.append(p)
        deadline = time.time() + 10
        while time.time() < deadline:
            said = Path(logpath).read_bytes() + b"".join(syslog.lines if syslog else [])
            if b"Server listening on" in said:
                return p
            if p.poll() is not None:
                raise RuntimeError(f"sshd exited: {Path(logpath).read_text(errors='replace')}")
            time.sleep(0.02)
        raise RuntimeError("sshd did not start listening")

    def start_dropbear(self, args, port_, logpath):
        """Dropbear in the foreground (-F), logging to stderr (-E) into logpath."""
        logf = open(logpath, "wb")
        p = subprocess.Popen([DROPBEAR, "-F", "-E", "-p", f"{HOST}:{port_}",
                              "-r", str(self.keys / "dropbear_host_ed25519"), *args],
                             stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                             start_new_session=True)
        logf.close()
        STARTED.append(p)
        deadline = time.time() + 10
        while time.time() < deadline:
            # Dropbear listens before it says it stays in the foreground.
            if b"Not backgrounding" in Path(logpath).read_bytes():
                return p
            if p.poll() is not None:
                raise RuntimeError(f"dropbear exited: {Path(logpath).read_text(errors='replace')}")
            time.sleep(0.02)
        raise RuntimeError("dropbear did not start listening")

    def client_cmd(self, argv, timeout=CLIENT_TIMEOUT, env=()):
        return ["runuser", "-u", CLIENT, "--", "env", "-i", f"HOME={CHOME}", f"USER={CLIENT}",
                f"LOGNAME={CLIENT}", "PATH=/usr/bin:/bin", *env, "timeout", str(timeout)] + argv

    def netns_wrap(self, inner, mode, d, port=0):
        """Run inner (list) in a fresh net namespace that only has lo; or, for "dual-stack", in
        the machine's network but a private mount namespace whose /etc/hosts gives the name
        dualstack.test the addresses ::1 and 127.0.0.1."""
        if mode == "dual-stack":
            hosts = d / "hosts"
            hosts.write_text("::1 dualstack.test\n127.0.0.1 dualstack.test\n")
            script = f"mount --bind {hosts} /etc/hosts || exit 98\nexec {shlex.join(inner)}\n"
            return ["unshare", "-m", "--propagation", "private", "sh", "-c", script]
        script = "ip link set lo up || exit 99\n"
        if mode == "fake-ip":
            # A TUN-mode proxy (Clash, Surge, sing-box) answers every name with an address of
            # 198.18.0.0/15 and relays the connection; here its upstream is unreachable, so it
            # accepts and closes, as those proxies do.
            hosts = d / "hosts"
            hosts.write_text("198.18.0.8 git.example.test\n")
            peer = d / "fake_proxy.py"
            peer.write_text(FAKE_IP_PROXY)
            ready = d / "proxy.ready"
            script += (f"ip addr add 198.18.0.8/15 dev lo || exit 99\n"
                       f"mount --bind {hosts} /etc/hosts || exit 98\n"
                       + beside_helper(f"{peer} {ready} {port}", ready, inner))
            return ["unshare", "-n", "-m", "--propagation", "private", "sh", "-c", script]
        if mode == "nxdomain":
            resolv = d / "resolv.conf"
            resolv.write_text("nameserver 127.0.0.1\n")
            dns = d / "dns.py"
            dns.write_text(DNS_RESPONDER)
            ready = d / "dns.ready"
            script += (f"mount --bind {resolv} /etc/resolv.conf || exit 98\n"
                       + beside_helper(f"{dns} {ready}", ready, inner))
            return ["unshare", "-n", "-m", "--propagation", "private", "sh", "-c", script]
        script += "exec " + shlex.join(inner) + "\n"
        return ["unshare", "-n", "sh", "-c", script]

    def run_scenario(self, sc):
        d = self.t / sc["name"].replace("/", "__")
        d.mkdir(mode=0o755)
        p0 = PORTS[sc["cause"]]
        ports = (p0, p0 + 1, p0 + 2)
        argv = [self.fmt(a, ports) for a in sc["cmd"]]
        self.layout_client(sc, ports)
        sshds, logs, lst, held = [], [], None, []
        syslog = SyslogCapture() if sc.get("syslog") else None
        try:
            if sc.get("sshd") is not None:
                lp = d / "sshd.log"
                cfg = self.sshd_config(sc, sc["sshd"], sc.get("match", []), ports[0], d)
                sshds.append(self.start_sshd(cfg, ports[0], lp, syslog))
                logs.append(lp)
            if sc.get("dropbear") is not None:
                lp = d / "sshd.log"
                sshds.append(self.start_dropbear(sc["dropbear"], ports[0], lp))
                logs.append(lp)
            if sc.get("sshd2") is not None:
                lp = d / "sshd2.log"
                cfg = self.sshd_config(sc, sc["sshd2"], [], ports[1], d)
                sshds.append(self.start_sshd(cfg, ports[1], lp))
                logs.append(lp)
            kind = sc.get("listener")
            if kind == "inetd":
                lp = d / "sshd.log"
                lp.touch()
                logs.append(lp)
                cfg = self.sshd_config(sc, sc["inetd"], [], ports[0], d)
                inner = [SSHD, "-i", "-e", "-f", str(cfg)]
                if sc.get("inetd_wrap") == "no-privsep-dir":
                    # a container's fresh /run: sshd's privilege separation directory is missing
                    inner = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                             "mount -t tmpfs tmpfs /run || exit 98\nexec " + shlex.join(inner)]
            if kind == "full-backlog":
                lst = full_backlog_listener(ports[0])
            elif kind:
                lst = Listener(ports[0], LISTENER_KINDS[kind])
                lst.target, lst.flip_at = ports[1], sc.get("flip_at")
                lst.flip_up_at = sc.get("flip_up_at")
                if kind == "inetd":
                    lst.inetd_cmd, lst.log, lst.procs = inner, lp, []
                if kind == "old-server":
                    lst.hostkey = load_openssh_rsa(self.keys / "host_rsa")
                    pub = self.pub("client_rsa").split()[1]
                    blob = base64.b64decode(pub)
                    r = _Reader(blob)
                    r.str()
                    ee, nn = r.mpint(), r.mpint()
                    lst.authorized_rsa = (blob, nn, ee)
            for _ in range(sc.get("hold", 0)):
                c = socket.create_connection((HOST, ports[0]))
                held.append(c)
            if held:
                # wait until sshd has accepted them (and counts them as startups)
                deadline = time.time() + 5
                while time.time() < deadline and \
                        logs[0].read_bytes().count(b"Connection from") < len(held):
                    time.sleep(0.02)
                time.sleep(0.2)
            env = [self.fmt(e, ports) for e in sc.get("env", [])]
            if sc.get("agent"):
                env.append("SSH_AUTH_SOCK=" + self.start_agent(sc["agent"], d))
            cmd = self.client_cmd(argv, sc.get("timeout", CLIENT_TIMEOUT), env)
            if sc.get("netns"):
                cmd = self.netns_wrap(cmd, sc["netns"], d, ports[0])
            t0 = time.time()
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, cwd=CHOME)
            STARTED.append(proc)
            act = None
            if sc.get("during"):
                act = threading.Thread(target=self.during, args=(sc["during"], sshds[0], proc),
                                       daemon=True)
                act.start()
            if sc.get("timestamps"):
                out = read_with_arrival_times(proc, CLIENT_TIMEOUT + 15)
            else:
                out, _ = proc.communicate(timeout=CLIENT_TIMEOUT + 15)
            STARTED.remove(proc)
            dt = time.time() - t0
            if act:
                act.join(5)
            time.sleep(0.3)   # let sshd children flush their last log lines
        finally:
            for c in held:
                c.close()
            # everything our sshds started (incl. shells/sleeps below a frozen child)
            tree = [k for p in sshds for k in descendants(p.pid)]
            for pid in list(STOPPED_PIDS):
                sig(pid, signal.SIGCONT)
                sig(pid, signal.SIGKILL)
                STOPPED_PIDS.discard(pid)
            if lst:
                for p in getattr(lst, "procs", []):
                    stop_popen(p)
                lst.stop()
            while self.agents:
                stop_popen(self.agents.pop())
            for p in sshds:
                stop_popen(p)
            for k in tree:
                sig(k, signal.SIGCONT)
                sig(k, signal.SIGKILL)
            if syslog:
                syslog.stop()
        fxdir = self.out / sc["cause"] / "fixtures"
        fxdir.mkdir(parents=True, exist_ok=True)
        (fxdir / (sc["fixture"] + ".log")).write_bytes(out)
        if syslog:
            (fxdir / (sc["fixture"] + ".sshd.log")).write_bytes(syslog.auth_log())
        elif logs:
            (fxdir / (sc["fixture"] + ".sshd.log")).write_bytes(b"".join(lp.read_bytes() for lp in logs))
        return out, proc.returncode, dt

    def during(self, spec, sshd, proc):
        if spec[0] == "signal":
            _, s, delay = spec
            time.sleep(delay)
            if proc.poll() is not None:
                return
            kids = descendants(sshd.pid)
            sshd_kids = [k for k in kids if comm(k) == "sshd"]
            if s == signal.SIGSTOP:
                for k in sshd_kids:
                    STOPPED_PIDS.add(k)
                    sig(k, signal.SIGSTOP)
            else:
                for k in sshd_kids:
                    sig(k, s)
                for k in kids:              # the orphaned sleep/shell
                    if k not in sshd_kids:
                        sig(k, signal.SIGKILL)

    def big_transfer(self, path, size_mb, buffer_bytes=None, program="sftp"):
        sc = dict(name="big-transfer", cause="big-transfer", sshd=[])
        PORTS["big-transfer"] = 22190
        ports = (22190, 22191, 22192)
        self.layout_client(sc, ports)
        home = Path(CHOME)
        pw = pwd.getpwnam(CLIENT)
        with open(home / "bigfile.bin", "wb") as f:
            for _ in range(size_mb):
                f.write(os.urandom(1 << 20))
        os.chown(home / "bigfile.bin", pw.pw_uid, pw.pw_gid)
        batch = home / "batch.txt"
        batch.write_text("put bigfile.bin bigfile.up\nget bigfile.up bigfile.down\nrm bigfile.up\n")
        d = self.t / "big"
        d.mkdir()
        cfg = self.sshd_config(sc, [], [], ports[0], d)
        s = self.start_sshd(cfg, ports[0], d / "sshd.log")
        tmo = CLIENT_TIMEOUT + size_mb
        try:
            t0 = time.time()
            # A small buffer (sftp -B, scp -X buffer=) makes one request, and its log lines, per
            # few KB: the log of one long session with every request number and offset different.
            if program == "scp":
                # scp (8.8+ speaks sftp) logs its own requests, `scp: debug3: Sent message …`.
                buffer = ["-X", f"buffer={buffer_bytes}"] if buffer_bytes else []
                argv = ["scp", "-vvv", *buffer, "-P", str(ports[0]), "bigfile.bin", f"{U}:bigfile.up"]
            else:
                buffer = ["-B", str(buffer_bytes)] if buffer_bytes else []
                argv = ["sftp", "-vvv", *buffer, "-b", "batch.txt", "-P", str(ports[0]), U]
            r = subprocess.run(self.client_cmd(argv, timeout=tmo),
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, cwd=CHOME, timeout=tmo + 15)
            dt = time.time() - t0
        finally:
            stop_popen(s)
            for f in ("bigfile.bin", "bigfile.down", "bigfile.up"):
                try:
                    (home / f).unlink()
                except FileNotFoundError:
                    pass
        Path(path).write_bytes(r.stdout)
        print(f"big-transfer  {size_mb} MB  rc={r.returncode}  {len(r.stdout)} bytes  {dt:.1f}s  -> {path}")
        return 0 if r.returncode == 0 else 1


# Accepts on 198.18.0.8 and closes each connection at once (a fake-IP proxy whose upstream
# is down). Runs inside the lab's private netns only.
FAKE_IP_PROXY = r'''
import socket, sys
s = socket.socket()
s.bind(("198.18.0.8", int(sys.argv[2])))
s.listen(4)
open(sys.argv[1], "w").close()
while True:
    c, _ = s.accept()
    c.close()
'''

DNS_RESPONDER = r'''
import socket, sys
# Answers every query with NXDOMAIN. Runs inside the lab's private netns only.
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
s.settimeout(40)
open(sys.argv[1], "w").close()
while True:
    try:
        q, a = s.recvfrom(2048)
    except socket.timeout:
        break
    if len(q) < 12:
        continue
    flags = 0x8000 | (q[2] & 0x79) << 8 | 0x0080 | 3   # QR, opcode, RD, RA, NXDOMAIN
    r = q[:2] + flags.to_bytes(2, "big") + q[4:6] + b"\0\0\0\0\0\0" + q[12:]
    s.sendto(r, a)
'''


def key_line(out, expect):
    lines = out.decode("utf-8", "replace").replace("\r", "").split("\n")
    if expect:
        rx = re.compile(expect)
        for ln in lines:
            if rx.search(ln):
                return True, ln.strip()
    non_debug = [ln for ln in lines if ln.strip() and not re.match(r"^(debug\d|OpenSSH_)", ln)]
    return False, (non_debug[-1].strip() if non_debug else (lines[-2] if len(lines) > 1 else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="scenario names (cause/fixture) or cause ids; default all")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--out", default=str(REPO / "rules"))
    ap.add_argument("--big-transfer", metavar="PATH")
    ap.add_argument("--size-mb", type=int, default=16)
    ap.add_argument("--buffer-bytes", type=int, help="sftp -B (scp -X buffer=) for --big-transfer")
    ap.add_argument("--program", choices=["sftp", "scp"], default="sftp",
                    help="the client --big-transfer records: sftp (put and get) or scp (an upload)")
    ap.add_argument("--strict", action="store_true",
                    help="also fail when a transcript lacks the expected key line")
    a = ap.parse_args()
    if a.list:
        for sc in SCENARIOS:
            print(f"{sc['name']:45s} {sc['cause']:28s} {sc['phase']}")
        return 0
    sel = SCENARIOS
    if a.names:
        unknown = [n for n in a.names if not any(n in (s["name"], s["cause"]) for s in SCENARIOS)]
        if unknown:
            sys.exit(f"unknown scenario(s): {' '.join(unknown)} (see --list)")
        sel = [s for s in SCENARIOS if s["name"] in a.names or s["cause"] in a.names]

    # Scenarios share fixed ports and /home/vvvlab/.ssh: serialize concurrent runs
    # (e.g. parallel cargo tests).
    import fcntl
    lockf = open("/tmp/vvvlab.lock", "w")
    fcntl.flock(lockf, fcntl.LOCK_EX)
    lab = Lab(a.out)

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    failed = 0
    t_start = time.time()
    try:
        lab.setup()
        if a.big_transfer:
            return lab.big_transfer(a.big_transfer, a.size_mb, a.buffer_bytes, a.program)
        for sc in sel:
            if sc.get("needs") and not shutil.which(sc["needs"]):
                print(f"{sc['name']}  {sc['cause']}  {sc['phase']}  skipped: needs {sc['needs']}",
                      flush=True)
                continue
            try:
                out, rc, dt = lab.run_scenario(sc)
            except Exception as e:  # noqa: BLE001 - report and continue
                failed += 1
                print(f"{sc['name']}  {sc['cause']}  {sc['phase']}  FAILED  {type(e).__name__}: {e}",
                      flush=True)
                continue
            ok, kl = key_line(out, sc.get("expect"))
            if not out:
                failed += 1
            elif not ok and a.strict:
                failed += 1
            mark = "" if ok else "?? "
            print(f"{sc['name']}  {sc['cause']}  {sc['phase']}  {len(out)}  {mark}{kl}  "
                  f"[rc={rc} {dt:.1f}s]", flush=True)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        failed += 1
    finally:
        lab.cleanup()
    log(f"{len(sel)} scenario(s), {failed} failed, {time.time() - t_start:.1f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
