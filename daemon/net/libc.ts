/**
 * The few system calls Bun does not offer, made through bun:ffi to glibc: binding a socket to
 * one interface, writing an ARP entry, a deeper accept queue, and flock(2) on the data
 * directory. Failures come back as Results carrying strerror text; nothing here throws into the
 * packet path.
 */
import { dlopen, FFIType, ptr, read } from "bun:ffi";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { parseIpv4, parseMac } from "../wire/address.ts";
import { err, ok, type Result } from "../lib/result.ts";

const SOL_SOCKET = 1; // <asm-generic/socket.h>
const SO_BINDTODEVICE = 25; // <asm-generic/socket.h>, socket(7)
const SO_RCVBUF = 8; // <asm-generic/socket.h>, socket(7): capped by net.core.rmem_max
const SO_RCVBUFFORCE = 33; // <asm-generic/socket.h>, socket(7): past rmem_max, needs CAP_NET_ADMIN
const SIOCSARP = 0x8955; // <linux/sockios.h>, arp(7)
const AF_INET = 2; // <bits/socket.h>
const SOCK_DGRAM = 2; // <bits/socket_type.h>
const ARPHRD_ETHER = 1; // <net/if_arp.h>: Ethernet 10/100Mbps
const ATF_COM = 0x02; // <net/if_arp.h>: completed entry (the kernel may still expire it)
/** IFNAMSIZ, <net/if.h>: names are at most 15 bytes and a NUL. */
export const IFNAMSIZ = 16;

// struct arpreq, <net/if_arp.h>: three struct sockaddr (16 bytes each), an int, a device name.
const ARPREQ_SIZE = 68;
const ARP_PA = 0; // sockaddr_in: family, port, address (network order)
const ARP_HA = 16; // sockaddr: family ARPHRD_ETHER, then the 6 hardware address bytes
const ARP_FLAGS = 32;
const ARP_DEV = 52;

const SYMBOLS = {
  setsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
  ioctl: { args: [FFIType.i32, FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
  socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  close: { args: [FFIType.i32], returns: FFIType.i32 },
  listen: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  sendto: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i64 },
  flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  __errno_location: { args: [], returns: FFIType.ptr },
  strerror: { args: [FFIType.i32], returns: FFIType.cstring },
} as const;

type Libc = ReturnType<typeof dlopen<typeof SYMBOLS>>["symbols"];

// Opened once at import, never reassigned; a system without glibc gets errors, not a crash.
const LIBC: Result<Libc> = openLibc();

function openLibc(): Result<Libc> {
  try {
    return ok(dlopen("libc.so.6", SYMBOLS).symbols);
  } catch (e) {
    return err(`libc.so.6 not available: ${(e as Error).message}`);
  }
}

// Reads errno right after a failed call, before anything else can overwrite it.
function lastErrno(libc: Libc): number {
  const location = libc.__errno_location();
  return location === null ? 0 : read.i32(location, 0);
}

function lastError(libc: Libc, call: string, errno = lastErrno(libc)): string {
  return `${call}: ${String(libc.strerror(errno))} (errno ${errno})`;
}

// struct fields in host byte order: Linux on little-endian machines is the case we run on.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function ifnameBytes(ifname: string): Result<Uint8Array> {
  const bytes = new TextEncoder().encode(ifname);
  if (bytes.length === 0 || bytes.length >= IFNAMSIZ) return err(`interface name ${JSON.stringify(ifname)}: expected 1-${IFNAMSIZ - 1} bytes`);
  const out = new Uint8Array(IFNAMSIZ);
  out.set(bytes);
  return ok(out);
}

/** Restricts socket `fd` to packets of interface `ifname` (SO_BINDTODEVICE; needs CAP_NET_RAW). */
export function bindToDevice(fd: number, ifname: string): Result<void> {
  if (!LIBC.ok) return LIBC;
  const name = ifnameBytes(ifname);
  if (!name.ok) return name;
  const rc = LIBC.value.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ptr(name.value), name.value.length);
  return rc === 0 ? ok(undefined) : err(lastError(LIBC.value, `SO_BINDTODEVICE ${ifname}`));
}

/**
 * Asks for a receive buffer of `bytes` on socket `fd` (the kernel doubles it for bookkeeping), so
 * a burst or a pause of the event loop is absorbed instead of dropped. SO_RCVBUFFORCE goes past
 * net.core.rmem_max when allowed; otherwise SO_RCVBUF gets what rmem_max permits.
 */
export function setReceiveBuffer(fd: number, bytes: number): Result<"forced" | "capped"> {
  if (!LIBC.ok) return LIBC;
  const value = new Int32Array([bytes]);
  if (LIBC.value.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, ptr(value), 4) === 0) return ok("forced");
  if (LIBC.value.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, ptr(value), 4) === 0) return ok("capped");
  return err(lastError(LIBC.value, `SO_RCVBUF ${bytes}`));
}

/**
 * Writes the ARP entry `ip` -> `mac` on `ifname` (SIOCSARP; needs CAP_NET_ADMIN), so a reply can
 * go unicast to a client that has no address yet. Uses `fd` (any AF_INET socket) when given,
 * else opens and closes a datagram socket for the call.
 */
export function setArpEntry(ifname: string, ip: number | string, mac: Uint8Array | string, fd?: number): Result<void> {
  if (!LIBC.ok) return LIBC;
  const libc = LIBC.value;
  const address = typeof ip === "number" ? ok(ip) : parseIpv4(ip);
  if (!address.ok) return address;
  const hw = typeof mac === "string" ? parseMac(mac) : mac.length === 6 ? ok(mac) : err(`hardware address of ${mac.length} bytes, expected 6`);
  if (!hw.ok) return hw;
  const name = ifnameBytes(ifname);
  if (!name.ok) return name;

  const req = new Uint8Array(ARPREQ_SIZE);
  const view = new DataView(req.buffer);
  view.setUint16(ARP_PA, AF_INET, LITTLE_ENDIAN);
  view.setUint32(ARP_PA + 4, address.value >>> 0, false); // sin_addr: network order
  view.setUint16(ARP_HA, ARPHRD_ETHER, LITTLE_ENDIAN);
  req.set(hw.value, ARP_HA + 2);
  view.setInt32(ARP_FLAGS, ATF_COM, LITTLE_ENDIAN);
  req.set(name.value, ARP_DEV);

  const sock = fd ?? libc.socket(AF_INET, SOCK_DGRAM, 0);
  if (sock < 0) return err(lastError(libc, "socket"));
  try {
    const rc = libc.ioctl(sock, SIOCSARP, ptr(req));
    return rc === 0 ? ok(undefined) : err(lastError(libc, `SIOCSARP ${ifname}`));
  } finally {
    if (fd === undefined) libc.close(sock);
  }
}

/** An interface's first IPv4 address and netmask, as uint32 values. */
export interface InterfaceAddress {
  address: number;
  netmask: number;
}

/** The first IPv4 address of `ifname` in this network namespace, or why there is none. */
export function interfaceIPv4(ifname: string): Result<InterfaceAddress> {
  const addrs = networkInterfaces()[ifname];
  if (addrs === undefined) return err(`interface ${ifname}: not found (or it has no address)`);
  const v4 = addrs.find((a) => a.family === "IPv4");
  if (v4 === undefined) return err(`interface ${ifname}: no IPv4 address`);
  const address = parseIpv4(v4.address);
  const netmask = parseIpv4(v4.netmask);
  if (!address.ok) return address;
  if (!netmask.ok) return netmask;
  return ok({ address: address.value, netmask: netmask.value });
}

// sd_notify(3) support: Bun and Node have no unix datagram sockets.
const AF_UNIX = 1; // <bits/socket.h>
const SOCK_CLOEXEC = 0o2000000; // <bits/socket_type.h>
const MSG_NOSIGNAL = 0x4000; // <bits/socket.h>: no SIGPIPE when the peer is gone
/** sizeof(struct sockaddr_un), <sys/un.h>: a 2-byte family and 108 bytes of path. */
const SOCKADDR_UN_SIZE = 110;

/**
 * Sends one datagram to the unix socket at `path` (a leading "@" names an abstract socket, as in
 * $NOTIFY_SOCKET); opens and closes an AF_UNIX SOCK_DGRAM socket for the call.
 */
export function sendUnixDatagram(path: string, data: Uint8Array): Result<void> {
  if (!LIBC.ok) return LIBC;
  const libc = LIBC.value;
  const name = new TextEncoder().encode(path);
  const abstract = name[0] === 0x40; // "@"
  // A filesystem path needs its NUL; an abstract name is exactly its bytes after the leading NUL.
  if (name.length === 0 || name.length > SOCKADDR_UN_SIZE - 2 - (abstract ? 0 : 1)) return err(`unix socket path ${JSON.stringify(path)}: expected 1-107 bytes`);
  const addr = new Uint8Array(SOCKADDR_UN_SIZE);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, LITTLE_ENDIAN);
  addr.set(name, 2);
  if (abstract) addr[2] = 0;
  const addrLength = 2 + name.length + (abstract ? 0 : 1);
  const fd = libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return err(lastError(libc, "socket AF_UNIX"));
  try {
    const payload = data.length === 0 ? new Uint8Array(1) : data;
    const sent = libc.sendto(fd, ptr(payload), data.length, MSG_NOSIGNAL, ptr(addr), addrLength);
    return Number(sent) === data.length ? ok(undefined) : err(lastError(libc, `sendto ${path}`));
  } finally {
    libc.close(fd);
  }
}

/** /proc/net/tcp's state of a listening socket (TCP_LISTEN, <net/tcp_states.h>). */
const TCP_LISTEN = "0A";

/** Inodes of the listening TCP sockets (IPv4 and IPv6) on `port` in this process's network namespace. */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ["/proc/self/net/tcp", "/proc/self/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue; // no IPv6 in this kernel or namespace
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      if (f.length < 10 || f[3] !== TCP_LISTEN) continue;
      if (Number.parseInt(f[1]!.slice(f[1]!.lastIndexOf(":") + 1), 16) === port) inodes.add(f[9]!);
    }
  }
  return inodes;
}

/**
 * Raises the accept backlog of this process's listening TCP sockets on `port` to `backlog` (the
 * kernel caps it at net.core.somaxconn), by calling listen(2) again on them, which Linux allows
 * on a listening socket. Bun.serve and node:http2 listen with 512 and offer no option: in a
 * burst of 5,000 machines connecting at once the queue overflowed (TcpExtListenOverflows 564),
 * and each dropped handshake cost its machine a SYN retransmission of 1, 3, 7... seconds.
 * Resolves to how many sockets were changed.
 */
export function raiseListenBacklog(port: number, backlog: number): Result<number> {
  if (!LIBC.ok) return LIBC;
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return err(`no listening TCP socket on port ${port} in this process's namespace`);
  let changed = 0;
  for (const fd of readdirSync("/proc/self/fd")) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed meanwhile, or the directory's own descriptor
    }
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (!inode || !inodes.has(inode)) continue;
    if (LIBC.value.listen(Number(fd), backlog) !== 0) return err(lastError(LIBC.value, `listen(${fd}, ${backlog}) on port ${port}`));
    changed++;
  }
  return changed > 0 ? ok(changed) : err(`the listening socket on port ${port} is not this process's`);
}

const LOCK_EX = 2; // <sys/file.h>
const LOCK_NB = 4;
const EWOULDBLOCK = 11; // EAGAIN on Linux
const EINTR = 4;

/**
 * Takes an exclusive flock(2) on the open file `fd` without waiting: "held" when another open
 * file description (another process, or another open in this one) holds it. The lock goes with
 * the descriptor: closing it, or the process ending in any way, releases it.
 */
export function lockExclusive(fd: number): Result<"locked" | "held"> {
  if (!LIBC.ok) return LIBC;
  for (;;) {
    if (LIBC.value.flock(fd, LOCK_EX | LOCK_NB) === 0) return ok("locked");
    const errno = lastErrno(LIBC.value);
    if (errno === EWOULDBLOCK) return ok("held");
    if (errno !== EINTR) return err(lastError(LIBC.value, `flock(${fd})`, errno));
  }
}
