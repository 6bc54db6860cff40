// Micro-benchmark of the TFTP hot path: one DATA packet built into the transfer's own buffer
// (header, then the block's bytes copied after it, as daemon/tftp/server.ts sends them), and the
// ACK a client sends decoded. Method: bench/support/micro.ts. Run: npx bun bench/micro/tftp.bench.ts
import { readFileSync } from "node:fs";
import { ACK, DATA_HEADER_LENGTH, decodeTftp, encodeDataHeader, encodeTftp, tftpLength } from "../../daemon/tftp/codec.ts";
import { runMicro } from "../support/micro.ts";

const BLKSIZE = 1468; // what wispd grants (README, TFTP)
const file = readFileSync("/usr/lib/ipxe/undionly.kpxe");
const packet = new Uint8Array(DATA_HEADER_LENGTH + BLKSIZE);
const ack = new Uint8Array(tftpLength({ op: ACK, block: 7 }));
encodeTftp({ op: ACK, block: 7 }, ack, 0);
let block = 0;

await runMicro("TFTP", {
  [`DATA packet: header + ${BLKSIZE}-byte block copied (undionly.kpxe)`]: () => {
    block = (block + 1) % Math.floor(file.length / BLKSIZE);
    const at = block * BLKSIZE;
    encodeDataHeader(block + 1, packet, 0);
    packet.set(file.subarray(at, at + BLKSIZE), DATA_HEADER_LENGTH);
    return packet.subarray(0, DATA_HEADER_LENGTH + BLKSIZE);
  },
  "decode ACK": () => decodeTftp(ack),
});
