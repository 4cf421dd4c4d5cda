/*
 * The benchmark's ceiling: an epoll echo server in C with no runtime at all.
 * Correct in the same ways as the JavaScript servers: a partial write keeps the
 * rest and stops reading until it is flushed (so memory stays bounded), the
 * peer's FIN is answered after the last byte, Nagle is off.
 *
 *   c_echo [--port N] [--host ADDR]     (prints "bare c listening on HOST:PORT")
 *   c_echo --unix PATH                  (prints "bare c listening on unix:PATH")
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define BUF 65536

typedef struct {
  int fd;
  char buf[BUF];
  size_t off, len; /* unsent bytes: buf[off, len) */
  int eof;
} conn_t;

static int ep;

static void watch(conn_t *c, int op) {
  /* Read only while nothing is pending; write interest only while something is. */
  struct epoll_event ev = {.events = c->len > c->off ? EPOLLOUT : (c->eof ? 0 : EPOLLIN), .data.ptr = c};
  epoll_ctl(ep, op, c->fd, &ev);
}

static void drop(conn_t *c) {
  close(c->fd);
  free(c);
}

/* Returns 0 to keep the connection, -1 once it is closed. */
static int flush(conn_t *c) {
  while (c->off < c->len) {
    ssize_t n = write(c->fd, c->buf + c->off, c->len - c->off);
    if (n < 0) return errno == EAGAIN ? 0 : -1;
    c->off += n;
  }
  c->off = c->len = 0;
  if (c->eof) return -1;
  return 0;
}

static int serve(conn_t *c, uint32_t events) {
  if (events & EPOLLOUT) {
    if (flush(c) < 0) return -1;
    return 0;
  }
  for (;;) {
    ssize_t n = read(c->fd, c->buf, BUF);
    if (n == 0) {
      c->eof = 1;
      return -1;
    }
    if (n < 0) return errno == EAGAIN ? 0 : -1;
    c->off = 0;
    c->len = n;
    if (flush(c) < 0) return -1;
    if (c->len > 0) return 0;
  }
}

/* Returns the listening socket, or -1 after saying why not. */
static int listen_tcp(const char *host, int port) {
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, host, &addr.sin_addr);
  if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 4096) < 0) {
    fprintf(stderr, "c_echo: Cannot listen on %s:%d: %s\n", host, port, strerror(errno));
    return -1;
  }
  socklen_t len = sizeof addr;
  getsockname(lfd, (struct sockaddr *)&addr, &len);
  printf("bare c listening on %s:%d\n", host, ntohs(addr.sin_port));
  fflush(stdout);
  return lfd;
}

int main(int argc, char **argv) {
  const char *host = "127.0.0.1", *path = NULL;
  int port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--port") == 0) port = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--host") == 0) host = argv[i + 1];
    else if (strcmp(argv[i], "--unix") == 0) path = argv[i + 1];
  }
  signal(SIGPIPE, SIG_IGN);
  int lfd;
  if (path) {
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (strlen(path) >= sizeof un.sun_path) errno = ENAMETOOLONG;
    else strcpy(un.sun_path, path);
    if (!un.sun_path[0] || bind(lfd, (struct sockaddr *)&un, sizeof un) < 0 || listen(lfd, 4096) < 0) {
      fprintf(stderr, "c_echo: Cannot listen on unix:%s: %s\n", path, strerror(errno));
      return 1;
    }
    printf("bare c listening on unix:%s\n", path);
    fflush(stdout);
  } else {
    lfd = listen_tcp(host, port);
    if (lfd < 0) return 1;
  }
  ep = epoll_create1(0);
  struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);
  struct epoll_event evs[256];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    for (int i = 0; i < n; i++) {
      conn_t *c = evs[i].data.ptr;
      if (c == NULL) {
        int fd;
        while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          int one = 1;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          conn_t *nc = calloc(1, sizeof *nc);
          nc->fd = fd;
          watch(nc, EPOLL_CTL_ADD);
        }
        continue;
      }
      if (serve(c, evs[i].events) < 0) {
        /* After EOF with output still pending, keep the connection until it is flushed. */
        if (c->eof && c->len > c->off) watch(c, EPOLL_CTL_MOD);
        else drop(c);
      } else {
        watch(c, EPOLL_CTL_MOD);
      }
    }
  }
}
