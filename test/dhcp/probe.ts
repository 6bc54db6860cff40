/**
 * A hand-built DHCP peer for namespace tests: `bun probe.ts IFACE BIND_PORT TO_IP:PORT WAIT_MS
 * REPLIES HEX...` binds 0.0.0.0:BIND_PORT on IFACE (SO_BINDTODEVICE, broadcast allowed), sends
 * each HEX packet to TO, then prints each datagram received as a JSON line {from, hex} until
 * REPLIES have come or WAIT_MS has passed.
 */
import { bindToDevice } from "../../daemon/net/libc.ts";

const [iface, bindPort, to, waitMs, wanted, ...hexes] = process.argv.slice(2);
if (!iface || !bindPort || !to || !waitMs || !wanted) {
  console.error("usage: probe.ts IFACE BIND_PORT TO_IP:PORT WAIT_MS REPLIES HEX...");
  process.exit(2);
}
const [toIp, toPort] = to.split(":") as [string, string];
let received = 0;
const socket = await Bun.udpSocket({
  hostname: "0.0.0.0",
  port: Number(bindPort),
  binaryType: "uint8array",
  ...({ flags: 16 } as object), // SO_REUSEADDR
  socket: {
    data(_s, data, port, address) {
      console.log(JSON.stringify({ from: `${address}:${port}`, hex: Buffer.from(data).toString("hex") }));
      if (++received >= Number(wanted)) finish();
    },
  },
});
const bound = bindToDevice((socket as unknown as { fd: number }).fd, iface);
if (!bound.ok) {
  console.error(bound.error);
  process.exit(1);
}
socket.setBroadcast(true);
const timer = setTimeout(finish, Number(waitMs));
for (const hex of hexes) socket.send(Buffer.from(hex, "hex"), Number(toPort), toIp);
if (Number(wanted) === 0 && hexes.length > 0) setTimeout(finish, 50);

function finish(): void {
  clearTimeout(timer);
  socket.close();
  process.exit(0);
}
