/*
 * The load generator's udp scenario, included by loadgen.c: request/response over
 * UDP. CONNECTIONS sockets, each connect()ed to the server so that only its replies
 * arrive, keep one datagram of SIZE bytes in flight. A reply must match the datagram
 * in flight byte for byte (sequence number included); one not back within
 * UDP_TIMEOUT is given up on and the socket sends the next. A reply that comes after
 * that is "late", not lost: on a loaded machine a stalled process is not a lost
 * datagram. The outcome adds "sent", "late" and "lost" (given up on in the window and
 * never seen).
 */
#define UDP_TIMEOUT 0.2

typedef struct {
  int fd;
  uint8_t *msg;
  uint32_t seq;
  double sent_at;
  uint32_t timed_out_from; /* the first datagram of this socket given up on in the window */
} udp_sock_t;

static uint64_t udp_sent, udp_timeouts, udp_late;

static void udp_send(udp_sock_t *u, double t) {
  u->seq++;
  memcpy(u->msg + 4, &u->seq, 4);
  u->sent_at = t;
  if (send(u->fd, u->msg, size, 0) < 0 && errno != EAGAIN && errno != ECONNREFUSED) {
    error_at("udp send failed: %s", strerror(errno));
  }
  if (measuring) udp_sent++;
}

static int udp_main(void) {
  udp_sock_t *socks = calloc(nconn, sizeof *socks);
  struct epoll_event evs[256];
  uint8_t buf[65536];
  double t0 = now();
  t_measure = t0 + warmup;
  t_stop = t_measure + duration;
  for (int i = 0; i < nconn; i++) {
    udp_sock_t *u = &socks[i];
    u->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (u->fd < 0 || connect(u->fd, (struct sockaddr *)&addr, addrlen) < 0) {
      error_at("cannot create a UDP socket: %s", strerror(errno));
      return 1;
    }
    u->msg = malloc(size < 8 ? 8 : size);
    fill_random(u->msg, size < 8 ? 8 : size);
    memcpy(u->msg, &i, 4);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = u};
    epoll_ctl(ep, EPOLL_CTL_ADD, u->fd, &ev);
    udp_send(u, t0);
  }
  while (nerrors == 0) {
    double t = now();
    if (tick_window(t)) break;
    int n = epoll_wait(ep, evs, 256, 10);
    t = now();
    for (int i = 0; i < n; i++) {
      udp_sock_t *u = evs[i].data.ptr;
      for (;;) {
        ssize_t got = recv(u->fd, buf, sizeof buf, 0);
        if (got < 0) {
          if (errno != EAGAIN && errno != ECONNREFUSED) error_at("udp recv failed: %s", strerror(errno));
          break;
        }
        uint32_t seq;
        if (got >= 8) memcpy(&seq, buf + 4, 4);
        if (got < 8 || seq != u->seq) {
          /* A reply to a datagram given up on: late, not lost (counted if given up on in the window). */
          if (got >= 8 && u->timed_out_from && seq < u->seq && seq >= u->timed_out_from && udp_late < udp_timeouts) udp_late++;
          continue;
        }
        if ((size_t)got != size || memcmp(buf, u->msg, size) != 0) {
          error_at("udp echo mismatch on socket %u at datagram %u", *(uint32_t *)u->msg, u->seq);
          break;
        }
        verified += got;
        if (measuring) {
          operations[0]++;
          bytes_in_window[0] += got;
          record(0, t - u->sent_at);
        }
        udp_send(u, t);
      }
    }
    for (int i = 0; i < nconn; i++) {
      if (t - socks[i].sent_at > UDP_TIMEOUT) {
        if (measuring) {
          if (socks[i].timed_out_from == 0) socks[i].timed_out_from = socks[i].seq;
          udp_timeouts++;
        }
        udp_send(&socks[i], t);
      }
    }
  }
  /* Replies given up on just before the end may still come: give them one more timeout. */
  for (double end = now() + UDP_TIMEOUT; now() < end;) {
    int n = epoll_wait(ep, evs, 256, 10);
    for (int i = 0; i < n; i++) {
      udp_sock_t *u = evs[i].data.ptr;
      ssize_t got;
      while ((got = recv(u->fd, buf, sizeof buf, 0)) >= 8) {
        uint32_t seq;
        memcpy(&seq, buf + 4, 4);
        if (seq < u->seq && seq >= u->timed_out_from && u->timed_out_from && udp_late < udp_timeouts) udp_late++;
      }
    }
  }
  for (int i = 0; i < nconn; i++) close(socks[i].fd);
  return 0;
}

/* Ends the outcome line that main() began: errors are printed, the udp counts follow. */
static void udp_outcome(void) {
  printf("],\"sent\":%llu,\"late\":%llu,\"lost\":%llu}}\n", (unsigned long long)udp_sent, (unsigned long long)udp_late,
         (unsigned long long)(udp_timeouts - udp_late));
}
