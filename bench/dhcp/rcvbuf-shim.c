/*
 * LD_PRELOAD shim for perfdhcp, compiled by bench/dhcp/run.ts at the start of a run: every IPv4
 * UDP socket the process opens gets a receive buffer of $WISP_BENCH_RCVBUF bytes
 * (SO_RCVBUFFORCE, root). perfdhcp has no option for it and runs with the kernel default
 * (net.core.rmem_default, 208 KiB), which a loaded machine overflows with replies while perfdhcp
 * waits for its core; wispd asks for the same 4 MiB for its own socket.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/socket.h>
int socket(int domain, int type, int protocol) {
  static int (*real)(int, int, int);
  if (!real) real = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
  int fd = real(domain, type, protocol);
  const char *v = getenv("WISP_BENCH_RCVBUF");
  if (fd >= 0 && v && domain == AF_INET && (type & 0xf) == SOCK_DGRAM) {
    int bytes = atoi(v);
    if (bytes > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes);
  }
  return fd;
}
