#!/bin/sh
# Throughput of `vvvexplain --server-log` on a busy server's journal (the sshd grammar's fast
# path): generates a ~200 MB `journalctl -u ssh` shape log (LogLevel DEBUG3, so most lines are
# sshd's debug chatter or other daemons' lines, not events) in /tmp, never committed, and times
# the release binary with hyperfine. Give a second binary to compare two builds in one run:
#
#   benches/server-log.sh [BASELINE_BINARY]
#
# Figures (2 cores shared with other helpers' builds, so wall times are noisy; release,
# hyperfine 3 runs, 200 MB, 2.11 M lines, ~85% of them sshd debug chatter or other daemons'):
#   before (every sshd line parsed by pest):  7.17 s (user 3.44 s), 295 k lines/s, 28 MB/s, 765 MB RSS
#   fast path (no pest for lines without an event's literal):
#                                             4.19 s (user 1.73 s), 505 k lines/s, 48 MB/s
#   + events boxed, host names shared:        3.49 s (user 1.64 s), 606 k lines/s, 57 MB/s, 446 MB RSS
# What is left is mostly allocation: every sshd line is kept with its text (`ServerLine`).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
log=${VVV_BENCH_SERVER_LOG:-/tmp/vvv-big/busy-server.journal}
mb=${VVV_BENCH_SERVER_MB:-200}
mkdir -p "$(dirname "$log")"
if [ ! -s "$log" ]; then
    python3 - "$log" "$mb" <<'PY'
import random, sys
path, mb = sys.argv[1], int(sys.argv[2])
rnd = random.Random(17)
debug = [
    "debug1: KEX done [preauth]",
    "debug3: mm_request_send: entering, type 22 [preauth]",
    "debug2: channel 0: rcvd adjust 65536",
    "debug3: send packet: type 21 [preauth]",
    "debug1: SSH2_MSG_NEWKEYS received [preauth]",
    "debug3: monitor_read: checking request 22",
    "debug1: userauth-request for user {u} service ssh-connection method publickey [preauth]",
    "debug2: userauth_pubkey: valid user {u} querying public key ssh-ed25519 AAAAC3Nza [preauth]",
    "debug1: attempt 1 failures 0 [preauth]",
    "debug3: mm_answer_keyallowed: publickey authentication test: ED25519 key is not allowed",
]
other = [
    "CRON[{p}]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
    "systemd[1]: Started session-{p}.scope - Session {p} of User {u}.",
    "kernel: [UFW BLOCK] IN=eth0 OUT= SRC=198.51.100.{b} DST=192.0.2.1 PROTO=TCP DPT=23",
    "sudo[{p}]:     {u} : TTY=pts/0 ; PWD=/home/{u} ; USER=root ; COMMAND=/usr/bin/true",
]
out = open(path, "w")
size, n = 0, 0
while size < mb * 1_000_000:
    n += 1
    p = 20000 + n % 40000
    u = "user%d" % (n % 500)
    a, b = n // 250 % 250, n % 250
    port = 1024 + n % 60000
    at = "Dec 06 %02d:%02d:%02d web1 " % (n // 3600 % 24, n // 60 % 60, n % 60)
    sshd = at + "sshd[%d]: " % p
    lines = [sshd + "Connection from 10.0.%d.%d port %d on 192.0.2.1 port 22 rdomain \"\"" % (a, b, port)]
    for _ in range(rnd.randint(15, 30)):
        if rnd.random() < 0.8:
            lines.append(sshd + rnd.choice(debug).format(u=u))
        else:
            lines.append(at + rnd.choice(other).format(p=p, u=u, b=b))
    if n % 3:
        lines.append(sshd + "Failed publickey for %s from 10.0.%d.%d port %d ssh2: ED25519 SHA256:k%d" % (u, a, b, port, n))
        lines.append(sshd + "Connection closed by authenticating user %s 10.0.%d.%d port %d [preauth]" % (u, a, b, port))
    else:
        lines.append(sshd + "Accepted publickey for %s from 10.0.%d.%d port %d ssh2: ED25519 SHA256:k%d" % (u, a, b, port, n))
    text = "\n".join(lines) + "\n"
    out.write(text)
    size += len(text)
PY
fi
bytes=$(wc -c < "$log")
lines=$(wc -l < "$log")
echo "$log: $bytes bytes, $lines lines"
cd "$root"
cargo build --release -q
set -- "$root/target/release/vvvexplain --server-log $log --format json" ${1:+"$1 --server-log $log --format json"}
hyperfine --warmup 1 --runs 3 --ignore-failure --export-json /tmp/vvv-big/server-log-bench.json "$@"
python3 - "$bytes" "$lines" <<'PY'
import json, sys
size, lines = int(sys.argv[1]), int(sys.argv[2])
for r in json.load(open("/tmp/vvv-big/server-log-bench.json"))["results"]:
    s = r["mean"]
    print("%-70s %.2f s  %.0f k lines/s  %.0f MB/s" % (r["command"][:70], s, lines / s / 1e3, size / s / 1e6))
PY
