/*
 * The load generator's TLS client (OpenSSL), kept apart from loadgen.c so that the
 * generator builds without it (-DNO_TLS) where libssl-dev is missing. Reads and writes
 * follow read(2)/write(2): -1 with errno EAGAIN when OpenSSL wants the socket again.
 */
#ifndef LOADGEN_TLS_H
#define LOADGEN_TLS_H
#include <stddef.h>
#include <sys/types.h>

/* Sets up the client context; ca_file NULL skips verifying the server. Returns -1 with
 * tls_error() set when TLS is unavailable or the CA file cannot be loaded. */
int tls_init(const char *ca_file, const char *verify_host);
/* A client session on the connected socket fd; NULL on failure. */
void *tls_new(int fd);
/* Drives the handshake: 1 when done, 0 when it needs the socket again (*want_write tells
 * for which direction), -1 on failure with tls_error() set. */
int tls_handshake(void *session, int *want_write);
ssize_t tls_read(void *session, void *buf, size_t n);
ssize_t tls_write(void *session, const void *buf, size_t n);
void tls_free(void *session);
/* Whether the handshake resumed an earlier session instead of a full one. */
int tls_resumed(void *session);
/* The last failure, one line. */
const char *tls_error(void);
/* Protocol and cipher of the session, e.g. "TLSv1.3 TLS_AES_256_GCM_SHA384". */
const char *tls_describe(void *session);
#endif
