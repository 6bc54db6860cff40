#!/usr/bin/env python3
"""A $NOTIFY_SOCKET for tests, as systemd binds it: a unix datagram socket at argv[1]. Prints one
JSON line per datagram. On READY=1 it first probes what the STATUS line says is listening (HTTP and
gRPC by TCP connect, TFTP by a read request that must be answered), so the test learns whether the
listeners were bound when READY=1 was sent. Exits after STOPPING=1 or argv[2] seconds."""
import json, os, re, socket, sys, time

path, limit = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o777)
print(json.dumps({"bound": path}), flush=True)
deadline = time.monotonic() + limit


def tcp(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return "ok"
    except OSError as e:
        return str(e)


def tftp(port):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(2)
    try:
        u.sendto(b"\x00\x01no-such-file\x00octet\x00", ("127.0.0.1", port))
        data, _ = u.recvfrom(1024)
        return "ok" if data[:2] == b"\x00\x05" else "unexpected reply"
    except OSError as e:
        return str(e)
    finally:
        u.close()


while time.monotonic() < deadline:
    s.settimeout(max(0.1, deadline - time.monotonic()))
    try:
        data = s.recv(4096).decode()
    except socket.timeout:
        break
    rec = {"at": time.time(), "fields": dict(l.split("=", 1) for l in data.split("\n") if "=" in l)}
    if rec["fields"].get("READY") == "1":
        status = rec["fields"].get("STATUS", "")
        probes = {}
        for name, port in re.findall(r"(http|grpc|tftp) (\d+)", status):
            probes[name] = tftp(int(port)) if name == "tftp" else tcp(int(port))
        rec["probes"] = probes
    print(json.dumps(rec), flush=True)
    if rec["fields"].get("STOPPING") == "1":
        break
