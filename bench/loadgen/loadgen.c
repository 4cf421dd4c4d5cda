/*
 * The benchmark's load generator: one thread, epoll, non-blocking sockets.
 * Written in C so that it costs a fraction of a core per message and the server,
 * not the generator, sets the pace on a 2-core machine. Every echoed byte is
 * compared with what was sent.
 *
 *   loadgen [--unix PATH] [--tls [--ca FILE]] [--window BYTES] [--source ADDR[/COUNT]]
 *           SCENARIO HOST PORT CONNECTIONS SIZE DURATION WARMUP LATENCY_FILE [LIMIT]
 *
 * --unix connects to a Unix socket instead (HOST and PORT are then ignored; rr, stream,
 * churn, idle). --tls speaks TLS over it (tls.c; rr, stream and handshake): for rr and stream
 * every connection's handshake is done before the clock starts, so the window measures records
 * only, and the same bytes are checked after decryption. --ca verifies the server's certificate
 * against FILE and HOST (or "localhost" over --unix); without it the server is not verified.
 * --window caps the bytes a stream connection has in flight (sent, not yet echoed; default
 * 4 MiB). --pair TARGET (HOST:PORT, or a path with --unix) runs the same load on a second server
 * over as many connections of its own, in turns (rr, stream, churn, handshake): a turn gives one
 * server new requests, bytes or connections for --turn MS (default 100), then waits until all
 * it has in flight is back, and only then does the other server's turn begin; so the two never
 * run at once, and each side's rate is what it completed over the time of its turns, drains
 * included. The second server's figures follow in the outcome's "pair", its latencies in
 * LATENCY_FILE.pair. --source binds each TCP connection before connecting to one of COUNT consecutive
 * IPv4 addresses from ADDR, in turn (the kernel picks the port at connect): each address has
 * its own ephemeral ports, so churn and handshake rows start clear of an earlier row's
 * TIME_WAIT, and one process can hold more connections to one server than one address has ports.
 * LIMIT, for the stress tests: stream sends exactly LIMIT bytes per connection
 * and churn runs exactly LIMIT cycles, whatever DURATION says.
 *
 * SCENARIO: rr (request/response), stream (bulk), churn (connect/echo/close), handshake
 * (--tls only: connect, a full TLS handshake with no session resumed, echo SIZE bytes, close),
 * idle (hold connections until "release" on stdin, then echo one more byte on each), udp (request/response over UDP, udp.c), slow (stream with 8 MiB in
 * flight whose reader stalls 30 ms of every 100 ms), reset (send SIZE bytes, read
 * part of the echo, then close with SO_LINGER 0 so the server sees a reset). Prints event lines
 * ({"event":"measure"|"stop"|"holding"}) and then one {"outcome":{...}} line.
 * Latencies of the measured window go to LATENCY_FILE as little-endian uint32 µs.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tls.h"

#define PERIOD 1048573
#define TAIL (1 << 20)
#define STREAM_WINDOW (4 << 20)
#define MAX_ERRORS 10

enum { RR, STREAM, CHURN, IDLE, SLOW, RESET, HANDSHAKE };

typedef struct {
  int fd;
  int live;
  uint8_t *msg;       /* rr/churn: the message in flight */
  size_t wrote, got;  /* rr/churn: bytes of it written / echoed */
  double sent_at;     /* rr/churn: when the message (or cycle) started */
  uint32_t seq;
  uint64_t sent, received; /* stream: offsets in the pattern */
  int shut, connected, done;
  void *tls; /* --tls: the session, set once the socket is connected */
  int ready; /* --tls: handshake done */
  int side;   /* --pair: 0 for the first server, 1 for the second */
  int parked; /* --pair: waiting for its side's turn to start the next message or cycle */
} conn_t;

static int scenario, nconn;
static unsigned long long limit; /* 0: run for the duration */
static unsigned long long cycles_started;
static size_t size;
static double duration, warmup;
static struct sockaddr_storage addrs[2];
static socklen_t addrlens[2];
#define addr addrs[0]
#define addrlen addrlens[0]
static int sides = 1;   /* 2 with --pair */
static double turn = 0.1; /* --turn, in seconds */
static int active;      /* --pair: the side whose turn it is */
static int draining;    /* --pair: the turn's time is up; what it has in flight is coming back */
static double turn_at, accounted_at; /* when the current turn began; when side time was last added */
static double side_seconds[2];
static int use_tls;
static char tls_session[120];
static int ep;
static conn_t *conns;
static uint8_t *pattern;
static int measuring, stopping;
/* Per side: [0] is the only one without --pair. */
static uint64_t operations[2], bytes_in_window[2], verified;
static uint32_t *lat[2];
static size_t nlat[2], caplat[2];
static char errors[MAX_ERRORS][160];
static int nerrors;
static double t_measure, t_stop;
static struct rusage ru_measure;
static double cpu_fraction;
static uint64_t stream_window = STREAM_WINDOW;
static uint32_t source_base, source_count, source_next; /* --source, host byte order */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void error_at(const char *fmt, ...) {
  if (nerrors >= MAX_ERRORS) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(errors[nerrors++], sizeof errors[0], fmt, ap);
  va_end(ap);
}

static void record(int side, double seconds) {
  if (nlat[side] == caplat[side]) {
    caplat[side] = caplat[side] ? caplat[side] * 2 : 1 << 16;
    lat[side] = realloc(lat[side], caplat[side] * sizeof *lat[side]);
  }
  double us = seconds * 1e6;
  lat[side][nlat[side]++] = us < 1 ? 1 : (uint32_t)(us + 0.5);
}

/* Whether what completes on c now counts: always with one server; with --pair, in its side's turns. */
static int counts(const conn_t *c) { return measuring && (sides == 1 || c->side == active); }

/* --pair: whether c must wait for its side's next turn before starting anything new. */
static int off_turn(const conn_t *c) { return sides == 2 && (c->side != active || draining); }

static double cpu_seconds(const struct rusage *r) {
  return r->ru_utime.tv_sec + r->ru_utime.tv_usec / 1e6 + r->ru_stime.tv_sec + r->ru_stime.tv_usec / 1e6;
}

static void event(const char *name) {
  printf("{\"event\":\"%s\"}\n", name);
  fflush(stdout);
}

static void fill_random(uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(rand() >> 7);
}

static int open_socket(conn_t *c) {
  int fd = socket(addrs[c->side].ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error_at("cannot create a socket: %s", strerror(errno));
    return -1;
  }
  int one = 1;
  if (addrs[c->side].ss_family == AF_INET) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int family = addrs[c->side].ss_family;
  if (source_count && family == AF_INET) {
    struct sockaddr_in src = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(source_base + source_next++ % source_count)};
    /* Without it bind() would pick the port, unique per address whatever the destination. */
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) {
      char text[INET_ADDRSTRLEN];
      error_at("cannot bind to %s: %s", inet_ntop(AF_INET, &src.sin_addr, text, sizeof text), strerror(errno));
      close(fd);
      return -1;
    }
  }
  if (connect(fd, (struct sockaddr *)&addrs[c->side], addrlens[c->side]) < 0 && errno != EINPROGRESS) {
    error_at("cannot connect: %s", strerror(errno));
    close(fd);
    return -1;
  }
  c->fd = fd;
  c->live = 1;
  c->connected = 0;
  c->wrote = c->got = 0;
  c->shut = c->done = 0;
  c->ready = 0;
  c->parked = 0;
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.ptr = c};
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  return 0;
}

static void close_conn(conn_t *c) {
  if (!c->live) return;
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  if (c->tls) tls_free(c->tls);
  c->tls = NULL;
  c->ready = 0;
  close(c->fd);
  c->live = 0;
}

static void want_write(conn_t *c, int on) {
  struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0), .data.ptr = c};
  epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* read(2) and write(2), through TLS when the connection has a session. */
static ssize_t io_read(conn_t *c, void *buf, size_t n) { return c->tls ? tls_read(c->tls, buf, n) : read(c->fd, buf, n); }

static ssize_t io_write(conn_t *c, const void *buf, size_t n) { return c->tls ? tls_write(c->tls, buf, n) : write(c->fd, buf, n); }

/* Why the last io_read or io_write failed. */
static const char *io_error(void) { return use_tls && errno == EPROTO ? tls_error() : strerror(errno); }

/* Writes what is left of the current message; returns -1 on a broken connection. */
static int write_msg(conn_t *c) {
  while (c->wrote < size) {
    ssize_t n = io_write(c, c->msg + c->wrote, size - c->wrote);
    if (n < 0) {
      if (errno == EAGAIN) {
        want_write(c, 1);
        return 0;
      }
      error_at("write failed: %s", io_error());
      return -1;
    }
    c->wrote += n;
  }
  return 0;
}

static void start_msg(conn_t *c, double t) {
  memcpy(c->msg + 4, &c->seq, 4);
  c->wrote = c->got = 0;
  c->sent_at = t;
  if (write_msg(c) < 0) close_conn(c);
}

/* rr and churn: read the echo of the message in flight and check it. */
static void read_echo(conn_t *c, double t) {
  uint8_t buf[65536];
  for (;;) {
    ssize_t n = io_read(c, buf, sizeof buf);
    if (n < 0) {
      if (errno == EAGAIN) return;
      error_at("read failed: %s", io_error());
      close_conn(c);
      return;
    }
    if (n == 0) {
      if (!(stopping && c->got == 0)) error_at("server closed a connection before its echo");
      close_conn(c);
      return;
    }
    if (c->got + n > size || memcmp(buf, c->msg + c->got, n) != 0) {
      error_at("echo mismatch on connection %u at message %u", *(uint32_t *)c->msg, c->seq);
      close_conn(c);
      return;
    }
    c->got += n;
    verified += n;
    if (c->got < size) continue;
    t = now();
    if (counts(c)) {
      operations[c->side]++;
      bytes_in_window[c->side] += size;
      record(c->side, t - c->sent_at);
    }
    if (scenario == CHURN || scenario == HANDSHAKE) {
      close_conn(c);
      if (off_turn(c) && !stopping) c->parked = 1;
      else if (!stopping && (!limit || cycles_started < limit) && open_socket(c) == 0) {
        cycles_started++;
        c->sent_at = t;
      }
      return;
    }
    if (stopping) {
      close_conn(c);
      return;
    }
    if (off_turn(c)) {
      c->parked = 1;
      return;
    }
    c->seq++;
    start_msg(c, t);
    /* One message in flight: the next read would only say EAGAIN, so wait for epoll. */
    return;
  }
}

static void stream_pump(conn_t *c) {
  while (!stopping && !off_turn(c) && c->sent - c->received < stream_window && (!limit || c->sent < limit)) {
    size_t off = c->sent % PERIOD;
    size_t want = limit && limit - c->sent < size ? limit - c->sent : size;
    /* Never past the window, so that --window is the most a connection ever has in flight. */
    if (want > stream_window - (c->sent - c->received)) want = stream_window - (c->sent - c->received);
    ssize_t n = io_write(c, pattern + off, want);
    if (n < 0) {
      if (errno == EAGAIN) {
        want_write(c, 1);
        return;
      }
      error_at("write failed: %s", io_error());
      close_conn(c);
      return;
    }
    c->sent += n;
  }
  want_write(c, 0);
  if ((stopping || (limit && c->sent >= limit)) && !c->shut) {
    c->shut = 1;
    /* Over TLS a FIN would cut a record the server may still be writing to, and a runtime's
     * TLS server need not answer a half-close: wait for the last echo instead (stream_read). */
    if (!c->tls) shutdown(c->fd, SHUT_WR);
  }
  if (c->tls && c->shut && c->received == c->sent) {
    c->done = 1;
    close_conn(c);
  }
}

static void stream_read(conn_t *c) {
  uint8_t buf[262144];
  for (;;) {
    ssize_t n = io_read(c, buf, sizeof buf);
    if (n < 0) {
      if (errno == EAGAIN) break;
      error_at("read failed: %s", io_error());
      close_conn(c);
      return;
    }
    if (n == 0) {
      if (c->received != c->sent) error_at("sent %llu bytes, got %llu back", (unsigned long long)c->sent, (unsigned long long)c->received);
      c->done = 1;
      close_conn(c);
      return;
    }
    for (ssize_t done = 0; done < n;) {
      size_t off = (c->received + done) % PERIOD;
      size_t part = n - done < TAIL ? n - done : TAIL;
      if (memcmp(buf + done, pattern + off, part) != 0) {
        error_at("stream echo mismatch near byte %llu", (unsigned long long)(c->received + done));
        close_conn(c);
        return;
      }
      done += part;
    }
    c->received += n;
    verified += n;
    if (counts(c)) bytes_in_window[c->side] += n;
  }
  if (c->sent - c->received < stream_window / 2 || (c->tls && c->shut)) stream_pump(c);
}

/* handshake: takes the TLS handshake of a new connection one step further; once it is done,
 * sends the cycle's message, whose echo proves the session works both ways. */
static void handshake_step(conn_t *c) {
  int for_write = 0;
  int r = tls_handshake(c->tls, &for_write);
  if (r < 0) {
    /* The server may close the connections in flight as the run stops: that is no error. */
    if (!stopping) error_at("%s", tls_error());
    close_conn(c);
    return;
  }
  if (r == 0) {
    want_write(c, for_write);
    return;
  }
  if (tls_resumed(c->tls)) {
    error_at("a TLS session was resumed: the handshake scenario measures full handshakes");
    close_conn(c);
    return;
  }
  if (!tls_session[0]) snprintf(tls_session, sizeof tls_session, "%s", tls_describe(c->tls));
  c->ready = 1;
  want_write(c, 0);
  c->seq++;
  start_msg(c, c->sent_at);
}

static void on_event(conn_t *c, uint32_t events, double t) {
  if (!c->live) return;
  if (!c->connected && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
      error_at("cannot connect: %s", strerror(err));
      close_conn(c);
      return;
    }
    c->connected = 1;
    if (scenario == STREAM) {
      stream_pump(c);
    } else if (off_turn(c) && scenario == RR) {
      /* A churn or handshake cycle started in its turn, and finishes: only rr waits here. */
      want_write(c, 0);
      c->parked = 1;
    } else if (scenario == HANDSHAKE) {
      if (!(c->tls = tls_new(c->fd))) {
        error_at("%s", tls_error());
        close_conn(c);
        return;
      }
      handshake_step(c);
    } else {
      want_write(c, 0);
      if (scenario == CHURN) c->seq++;
      start_msg(c, scenario == CHURN ? c->sent_at : t);
    }
    return;
  }
  if (scenario == HANDSHAKE && !c->ready) {
    handshake_step(c);
    return;
  }
  if (events & EPOLLOUT) {
    if (scenario == STREAM) stream_pump(c);
    else {
      want_write(c, 0);
      if (write_msg(c) < 0) close_conn(c);
    }
  }
  if (!c->live) return;
  /* OpenSSL may need to read to make progress on a write (and holds read-ahead bytes), so a TLS
   * connection reads on every event; without data that costs one read(2) that says EAGAIN. */
  if (c->tls || (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
    if (scenario == STREAM) stream_read(c);
    else read_echo(c, t);
  }
}

static int live_count(void) {
  int n = 0;
  for (int i = 0; i < nconn; i++) n += conns[i].live;
  return n;
}

/* Opens the measured window at t_measure and closes it at t_stop, recording the
 * generator's own CPU use; returns 1 at the moment it closes, so the caller can wind down. */
/* --pair: adds the time since the last call to the side whose turn it is, while measuring. */
static void account(double t) {
  if (measuring) side_seconds[active] += t - accounted_at;
  accounted_at = t;
}

/* --pair: whether the side whose turn it is still has anything in flight. */
static int in_flight(void) {
  for (int i = 0; i < nconn; i++) {
    const conn_t *c = &conns[i];
    if (c->side != active || !c->live) continue;
    if (scenario == STREAM ? c->sent != c->received : !c->parked) return 1;
  }
  return 0;
}

/* --pair: once the turn has lasted --turn, stops giving its side new work; once that side has
 * nothing in flight, hands the turn to the other side and starts what its connections were
 * waiting for. */
static void take_turns(double t) {
  if (sides == 1 || stopping || t - turn_at < turn) return;
  draining = 1;
  if (in_flight()) return;
  account(t);
  draining = 0;
  active ^= 1;
  turn_at = t;
  for (int i = 0; i < nconn; i++) {
    conn_t *c = &conns[i];
    if (c->side != active) continue;
    if (scenario == STREAM) {
      if (c->live && c->connected) stream_pump(c);
    } else if (c->parked && (scenario == CHURN || scenario == HANDSHAKE)) {
      if (!limit || cycles_started < limit) {
        if (open_socket(c) < 0) return;
        cycles_started++;
        c->sent_at = t;
      }
    } else if (c->parked && c->live) {
      c->parked = 0;
      c->seq++;
      start_msg(c, t);
    }
  }
}

static int tick_window(double t) {
  if (!measuring && !stopping && t >= t_measure) {
    measuring = 1;
    accounted_at = t;
    getrusage(RUSAGE_SELF, &ru_measure);
    event("measure");
  }
  if (!measuring || t < t_stop) return 0;
  account(t);
  struct rusage r;
  getrusage(RUSAGE_SELF, &r);
  cpu_fraction = (cpu_seconds(&r) - cpu_seconds(&ru_measure)) / (t - t_measure);
  t_stop = t;
  measuring = 0;
  stopping = 1;
  event("stop");
  return 1;
}

/* --tls: connects every connection and completes its handshake before the clock starts.
 * Each is then left waiting for EPOLLOUT, which run_timed takes as "connected". */
static int handshake_all(void) {
  struct epoll_event evs[256];
  int pending = nconn;
  double deadline = now() + 10;
  for (int i = 0; i < nconn; i++)
    if (open_socket(&conns[i]) < 0) return -1;
  while (pending > 0) {
    if (now() > deadline) {
      error_at("%d TLS handshakes not done after 10 s", pending);
      return -1;
    }
    int n = epoll_wait(ep, evs, 256, 100);
    for (int i = 0; i < n; i++) {
      conn_t *c = evs[i].data.ptr;
      if (c->ready) continue;
      if (!c->tls) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err || !(c->tls = tls_new(c->fd))) {
          error_at("cannot connect: %s", err ? strerror(err) : tls_error());
          return -1;
        }
      }
      int for_write = 0;
      int r = tls_handshake(c->tls, &for_write);
      if (r < 0) {
        error_at("%s", tls_error());
        return -1;
      }
      if (r == 0) {
        want_write(c, for_write);
        continue;
      }
      if (!tls_session[0]) snprintf(tls_session, sizeof tls_session, "%s", tls_describe(c->tls));
      c->ready = 1;
      pending--;
      want_write(c, 1);
    }
  }
  return 0;
}

static void run_timed(void) {
  struct epoll_event evs[256];
  if (use_tls && scenario != HANDSHAKE && handshake_all() < 0) return;
  double t0 = now();
  t_measure = t0 + warmup;
  t_stop = t_measure + duration;
  double deadline = t_stop + 10;
  if (limit) {
    /* A limited run is measured from start to end: the window is the whole run. */
    t_measure = t0;
    t_stop = t0 + 1e9;
    deadline = t0 + 1e9;
  }
  int cycling = scenario == CHURN || scenario == HANDSHAKE;
  turn_at = t0;
  for (int i = 0; i < nconn && (!limit || !cycling || cycles_started < limit); i++) {
    conns[i].sent_at = t0;
    /* --pair: a cycle of the second server's starts in its first turn. */
    if (cycling && off_turn(&conns[i])) {
      conns[i].parked = 1;
      continue;
    }
    cycles_started++;
    if ((!use_tls || scenario == HANDSHAKE) && open_socket(&conns[i]) < 0) return;
  }
  /* --pair: between the turns of a churn or handshake run every connection may be closed. */
  while ((live_count() > 0 || (cycling && sides == 2 && !stopping)) && nerrors == 0) {
    double t = now();
    take_turns(t);
    if (tick_window(t)) {
      if (scenario == STREAM)
        for (int i = 0; i < nconn; i++)
          if (conns[i].live) stream_pump(&conns[i]);
      for (int i = 0; i < nconn; i++) {
        conn_t *c = &conns[i];
        if (cycling && c->live && (!c->connected || (scenario == HANDSHAKE && !c->ready))) close_conn(c);
        /* An rr connection waiting for its turn has nothing in flight: nothing more will close it. */
        if (scenario == RR && c->parked) close_conn(c);
      }
    }
    if (limit && measuring && live_count() == 0) break;
    if (t > deadline) {
      error_at("%d connections still open 10 s after the run", live_count());
      break;
    }
    double next = stopping ? t + 0.1 : measuring ? t_stop : t_measure;
    if (sides == 2 && !stopping && !draining && turn_at + turn < next) next = turn_at + turn;
    int timeout = (int)((next - t) * 1000) + 1;
    int n = epoll_wait(ep, evs, 256, timeout);
    t = now();
    for (int i = 0; i < n; i++) on_event(evs[i].data.ptr, evs[i].events, t);
  }
}

#include "udp.c"

/* After a limited run: the window closes when the last connection does. */
static void finish_limited(void) {
  if (!limit || !measuring) return;
  struct rusage r;
  getrusage(RUSAGE_SELF, &r);
  double t = now();
  cpu_fraction = (cpu_seconds(&r) - cpu_seconds(&ru_measure)) / (t - t_measure);
  t_stop = t;
  measuring = 0;
}

/* idle: reads the byte a connection expects back (none when `expect` is 0) and checks it. */
static void idle_read(conn_t *c, char expect) {
  char b;
  ssize_t r = read(c->fd, &b, 1);
  if (r < 0 && errno == EAGAIN) return;
  if (r == 1 && expect && b == expect) {
    c->got++;
    verified++;
    return;
  }
  if (r == 1 && expect) error_at("idle echo mismatch: sent '%c', got byte %u", expect, (unsigned char)b);
  else if (r == 1) error_at("server sent byte %u on an idle connection", (unsigned char)b);
  else error_at("server closed an idle connection");
  close_conn(c);
}

/* idle: waits until every connection in [start, end) has had `want` bytes echoed. */
static int idle_wait(int start, int end, size_t want, char expect, double seconds) {
  struct epoll_event evs[256];
  double deadline = now() + seconds;
  for (;;) {
    int waiting = 0;
    for (int i = start; i < end; i++) waiting += conns[i].live && conns[i].got < want;
    if (waiting == 0 || nerrors) return nerrors ? -1 : 0;
    if (now() > deadline) {
      error_at("%d connections not echoed after %.0f s", waiting, seconds);
      return -1;
    }
    int n = epoll_wait(ep, evs, 256, 100);
    for (int i = 0; i < n; i++) {
      conn_t *c = evs[i].data.ptr;
      if (!c->live) continue;
      if (!c->connected) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
          error_at("cannot connect: %s", strerror(err));
          close_conn(c);
          continue;
        }
        c->connected = 1;
        want_write(c, 0);
        if (write(c->fd, &expect, 1) != 1) error_at("write failed: %s", strerror(errno));
      } else if (c->got < want) {
        idle_read(c, expect);
      } else {
        /* Nothing is due on a held connection: a byte or an EOF here is the server's doing. */
        idle_read(c, 0);
      }
    }
  }
}

/* idle: opens the connections in batches, each echoing one byte, says "holding" (with the
 * seconds it took) and waits for "release" on stdin; then echoes one more byte on every
 * connection, which proves the server still held them all, and closes them. */
static void run_idle(void) {
  const int batch = 250;
  double t0 = now();
  for (int start = 0; start < nconn && nerrors == 0; start += batch) {
    int end = start + batch < nconn ? start + batch : nconn;
    for (int i = start; i < end; i++)
      if (open_socket(&conns[i]) < 0) return;
    if (idle_wait(start, end, 1, 'x', 10) < 0) return;
  }
  if (nerrors) return;
  operations[0] = nconn;
  printf("{\"event\":\"holding\",\"seconds\":%.3f}\n", now() - t0);
  fflush(stdout);
  char line[64];
  while (fgets(line, sizeof line, stdin) && strncmp(line, "release", 7) != 0) {
  }
  for (int i = 0; i < nconn && nerrors == 0; i++) {
    if (!conns[i].live) {
      error_at("server closed an idle connection");
      break;
    }
    if (write(conns[i].fd, "y", 1) != 1) error_at("write failed: %s", strerror(errno));
  }
  if (nerrors == 0) idle_wait(0, nconn, 2, 'y', 30);
  for (int i = 0; i < nconn; i++) close_conn(&conns[i]);
}

/* slow: the stream scenario's pump and checks, with 8 MiB in flight per connection and a
 * reader that stops reading (and writing) for the first 30 ms of every 100 ms, so the
 * server's output backs up and it has to stop reading its peer. */
static void slow_interest(int reading) {
  for (int i = 0; i < nconn; i++) {
    if (!conns[i].live) continue;
    struct epoll_event ev = {.events = reading ? EPOLLIN | EPOLLOUT | EPOLLRDHUP : 0, .data.ptr = &conns[i]};
    epoll_ctl(ep, EPOLL_CTL_MOD, conns[i].fd, &ev);
  }
}

static void run_slow(void) {
  struct epoll_event evs[256];
  stream_window = 8 << 20;
  double t0 = now();
  t_measure = t0 + warmup;
  t_stop = t_measure + duration;
  double deadline = t_stop + 10;
  for (int i = 0; i < nconn; i++)
    if (open_socket(&conns[i]) < 0) return;
  int reading = 1;
  while (live_count() > 0 && nerrors == 0) {
    double t = now();
    if (tick_window(t)) {
      for (int i = 0; i < nconn; i++)
        if (conns[i].live && conns[i].connected) stream_pump(&conns[i]);
    }
    if (t > deadline) {
      error_at("%d connections still open 10 s after the run", live_count());
      break;
    }
    /* Milliseconds into the current 100 ms period. */
    long phase = (long)((t - t0) * 1000) % 100;
    int want = phase >= 30;
    if (want != reading) {
      reading = want;
      slow_interest(reading);
    }
    int timeout = (int)((reading ? 100 : 30) - phase) + 1;
    int n = epoll_wait(ep, evs, 256, timeout);
    if (!reading) continue;
    t = now();
    for (int i = 0; i < n; i++) {
      conn_t *c = evs[i].data.ptr;
      if (!c->live) continue;
      if (!c->connected) {
        c->connected = 1;
        stream_pump(c);
        if (stopping && c->live && !c->shut) stream_pump(c);
        continue;
      }
      if (evs[i].events & EPOLLOUT) stream_pump(c);
      if (c->live && (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) stream_read(c);
    }
  }
}

/* reset: each connection sends SIZE bytes of the pattern, checks the echo as it comes, and
 * once a third, two thirds or none of it is back (in turn) closes with SO_LINGER 0, so
 * the server is reset mid-transfer; then it connects again, until the duration is over. */
static void reset_close(conn_t *c) {
  struct linger lg = {.l_onoff = 1, .l_linger = 0};
  setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close_conn(c);
  if (measuring) operations[0]++;
}

static void reset_write(conn_t *c) {
  while (c->sent < size) {
    ssize_t n = write(c->fd, pattern + c->sent, size - c->sent);
    if (n < 0) {
      if (errno != EAGAIN) {
        error_at("write failed: %s", strerror(errno));
        close_conn(c);
      }
      return;
    }
    c->sent += n;
  }
  want_write(c, 0);
}

static void reset_read(conn_t *c) {
  uint8_t buf[65536];
  uint64_t cut = (c->seq % 3) * size / 3;
  for (;;) {
    if (c->received >= cut && c->sent >= size / 2) {
      reset_close(c);
      return;
    }
    ssize_t n = read(c->fd, buf, sizeof buf);
    if (n < 0) {
      if (errno != EAGAIN) {
        error_at("read failed: %s", strerror(errno));
        close_conn(c);
      }
      return;
    }
    if (n == 0 || c->received + n > size || memcmp(buf, pattern + c->received, n) != 0) {
      error_at(n == 0 ? "server closed a connection before its echo" : "reset echo mismatch near byte %llu",
               (unsigned long long)c->received);
      close_conn(c);
      return;
    }
    c->received += n;
    verified += n;
  }
}

static void run_reset(void) {
  struct epoll_event evs[256];
  double t0 = now();
  t_measure = t0 + warmup;
  t_stop = t_measure + duration;
  for (int i = 0; i < nconn; i++) {
    conns[i].seq = i;
    if (open_socket(&conns[i]) < 0) return;
  }
  while (live_count() > 0 && nerrors == 0) {
    double t = now();
    tick_window(t);
    if (stopping && t > t_stop + 10) {
      error_at("%d connections still open 10 s after the run", live_count());
      break;
    }
    int n = epoll_wait(ep, evs, 256, 100);
    for (int i = 0; i < n; i++) {
      conn_t *c = evs[i].data.ptr;
      if (!c->live) continue;
      if (!c->connected) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
          error_at("cannot connect: %s", strerror(err));
          close_conn(c);
          continue;
        }
        c->connected = 1;
        c->sent = c->received = 0;
      }
      if (evs[i].events & EPOLLOUT) reset_write(c);
      if (c->live) reset_read(c);
      if (!c->live && !stopping && nerrors == 0) {
        c->seq++;
        open_socket(c);
      }
    }
  }
}

/* Sets the address of a side: a Unix path, or an IPv4 host and port; returns 1 when it is no good. */
static int set_address(int side, const char *path, const char *host, const char *port) {
  memset(&addrs[side], 0, sizeof addrs[side]);
  if (path) {
    struct sockaddr_un *un = (struct sockaddr_un *)&addrs[side];
    un->sun_family = AF_UNIX;
    addrlens[side] = sizeof *un;
    if (strlen(path) >= sizeof un->sun_path) return 1;
    strcpy(un->sun_path, path);
    return 0;
  }
  struct sockaddr_in *in = (struct sockaddr_in *)&addrs[side];
  in->sin_family = AF_INET;
  char *end;
  long p = strtol(port, &end, 10);
  in->sin_port = htons((uint16_t)p);
  addrlens[side] = sizeof *in;
  return inet_pton(AF_INET, host, &in->sin_addr) != 1 || *end || p < 0 || p > 65535;
}

int main(int argc, char **argv) {
  const char *unix_path = NULL, *ca_file = NULL, *window_arg = NULL, *source_arg = NULL, *pair_arg = NULL, *turn_arg = NULL;
  while (argc > 1 && strncmp(argv[1], "--", 2) == 0) {
    if (strcmp(argv[1], "--tls") == 0) use_tls = 1;
    else if (strcmp(argv[1], "--unix") == 0 && argc > 2) unix_path = (++argv)[1], argc--;
    else if (strcmp(argv[1], "--window") == 0 && argc > 2) window_arg = (++argv)[1], argc--;
    else if (strcmp(argv[1], "--source") == 0 && argc > 2) source_arg = (++argv)[1], argc--;
    else if (strcmp(argv[1], "--pair") == 0 && argc > 2) pair_arg = (++argv)[1], argc--;
    else if (strcmp(argv[1], "--turn") == 0 && argc > 2) turn_arg = (++argv)[1], argc--;
    else if (strcmp(argv[1], "--ca") == 0 && argc > 2) ca_file = (++argv)[1], argc--;
    else {
      fprintf(stderr, "loadgen: unknown option %s\n", argv[1]);
      return 2;
    }
    argv++;
    argc--;
  }
  if (argc != 9 && argc != 10) {
    fprintf(stderr, "usage: loadgen [--unix PATH] [--tls [--ca FILE]] [--window BYTES] [--source ADDR[/COUNT]] "
                    "[--pair HOST:PORT|PATH [--turn MS]] rr|stream|churn|handshake|idle|udp|slow|reset HOST PORT CONNECTIONS SIZE DURATION WARMUP LATENCY_FILE [LIMIT]\n");
    return 2;
  }
  const char *names[] = {"rr", "stream", "churn", "idle", "slow", "reset", "handshake"};
  scenario = -1;
  for (int i = 0; i < 7; i++)
    if (strcmp(argv[1], names[i]) == 0) scenario = i;
  /* udp (udp.c) shares rr's arguments and outcome, plus sent and lost. */
  int udp = strcmp(argv[1], "udp") == 0;
  if (udp) scenario = RR;
  nconn = atoi(argv[4]);
  size = strtoul(argv[5], NULL, 10);
  duration = atof(argv[6]);
  warmup = atof(argv[7]);
  limit = argc == 10 ? strtoull(argv[9], NULL, 10) : 0;
  if (limit) warmup = 0;
  int bad_address = set_address(0, unix_path, argv[2], argv[3]);
  if (scenario < 0 || nconn <= 0 || size == 0 || size > TAIL || bad_address) {
    fprintf(stderr, "loadgen: bad arguments (host must be an IPv4 address, a Unix path shorter than 108 bytes)\n");
    return 2;
  }
  if (pair_arg) {
    char host[64] = "";
    const char *colon = strrchr(pair_arg, ':');
    if (!unix_path && colon && (size_t)(colon - pair_arg) < sizeof host) memcpy(host, pair_arg, colon - pair_arg);
    if ((unix_path ? set_address(1, pair_arg, NULL, NULL) : set_address(1, NULL, host, colon ? colon + 1 : "")) ||
        udp || (scenario != RR && scenario != STREAM && scenario != CHURN && scenario != HANDSHAKE) || limit) {
      fprintf(stderr, "loadgen: bad --pair '%s': expected HOST:PORT (a path with --unix) for rr, stream, churn or handshake\n", pair_arg);
      return 2;
    }
    sides = 2;
  }
  if (turn_arg) {
    turn = atof(turn_arg) / 1000;
    if (!(turn >= 0.001) || !pair_arg) {
      fprintf(stderr, "loadgen: bad --turn '%s': expected milliseconds (at least 1), with --pair\n", turn_arg);
      return 2;
    }
  }
  if (window_arg) {
    char *end;
    unsigned long long w = strtoull(window_arg, &end, 10);
    if (*end || w == 0) {
      fprintf(stderr, "loadgen: bad --window '%s': expected a number of bytes\n", window_arg);
      return 2;
    }
    stream_window = w;
  }
  if (source_arg) {
    char text[INET_ADDRSTRLEN + 8];
    snprintf(text, sizeof text, "%s", source_arg);
    char *slash = strchr(text, '/');
    long count = 1;
    if (slash) *slash = 0, count = strtol(slash + 1, NULL, 10);
    struct in_addr a;
    if (inet_pton(AF_INET, text, &a) != 1 || count < 1 || count > 65536 || unix_path) {
      fprintf(stderr, "loadgen: bad --source '%s': expected an IPv4 ADDR[/COUNT] over TCP\n", source_arg);
      return 2;
    }
    source_base = ntohl(a.s_addr);
    source_count = count;
  }
  if (scenario == HANDSHAKE && !use_tls) {
    fprintf(stderr, "loadgen: handshake needs --tls\n");
    return 2;
  }
  if ((use_tls && (udp || (scenario != RR && scenario != STREAM && scenario != HANDSHAKE))) ||
      (unix_path && (udp || scenario == SLOW || scenario == RESET))) {
    fprintf(stderr, "loadgen: %s has no %s mode\n", use_tls ? "--tls" : "--unix", argv[1]);
    return 2;
  }
  if (use_tls && tls_init(ca_file, unix_path ? "localhost" : argv[2]) < 0) {
    fprintf(stderr, "loadgen: %s\n", tls_error());
    return 2;
  }
  srand(getpid() ^ (unsigned)time(NULL));
  ep = epoll_create1(EPOLL_CLOEXEC);
  /* --pair: as many connections again, for the second server. */
  int per_side = nconn;
  nconn *= sides;
  conns = calloc(nconn, sizeof *conns);
  for (int i = 0; i < nconn; i++) conns[i].side = i / per_side;
  if (scenario == STREAM || scenario == SLOW || scenario == RESET) {
    pattern = malloc(PERIOD + TAIL);
    fill_random(pattern, PERIOD);
    /* A forward copy extends the period, including the few tail bytes past 2 * PERIOD. */
    for (size_t i = 0; i < TAIL; i++) pattern[PERIOD + i] = pattern[i];
  } else if (scenario != IDLE) {
    /* rr, churn, handshake and udp: one message per connection, numbered and random. */
    for (int i = 0; i < nconn; i++) {
      conns[i].msg = malloc(size < 8 ? 8 : size);
      fill_random(conns[i].msg, size < 8 ? 8 : size);
      memcpy(conns[i].msg, &i, 4);
    }
  }
  if (udp) udp_main();
  else if (scenario == IDLE) run_idle();
  else if (scenario == SLOW) run_slow();
  else if (scenario == RESET) run_reset();
  else {
    run_timed();
    finish_limited();
  }

  for (int side = 0; side < sides; side++) {
    char file[4096];
    snprintf(file, sizeof file, side ? "%s.pair" : "%s", argv[8]);
    FILE *f = fopen(file, "wb");
    if (f) {
      fwrite(lat[side], sizeof *lat[side], nlat[side], f);
      fclose(f);
    }
  }
  double window = scenario == IDLE ? 0.0 : sides == 2 ? side_seconds[0] : t_stop - t_measure;
  printf("{\"outcome\":{\"scenario\":\"%s\",\"operations\":%llu,\"bytes\":%llu,\"seconds\":%.6f,\"loadgenCpu\":%.4f,"
         "\"verifiedBytes\":%llu,\"latencySamples\":%zu,",
         udp ? "udp" : names[scenario], (unsigned long long)operations[0], (unsigned long long)bytes_in_window[0], window, cpu_fraction,
         (unsigned long long)verified, nlat[0]);
  if (sides == 2)
    printf("\"pair\":{\"operations\":%llu,\"bytes\":%llu,\"seconds\":%.6f,\"latencySamples\":%zu},", (unsigned long long)operations[1],
           (unsigned long long)bytes_in_window[1], side_seconds[1], nlat[1]);
  printf("\"errors\":[");
  for (int i = 0; i < nerrors; i++) printf("%s\"%s\"", i ? "," : "", errors[i]);
  if (udp) udp_outcome();
  else if (use_tls) printf("],\"tls\":\"%s\"}}\n", tls_session);
  else printf("]}}\n");
  return nerrors ? 1 : 0;
}
