/* The load generator's TLS client: see tls.h. */
#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static char message[200];

const char *tls_error(void) { return message; }

#ifdef NO_TLS

int tls_init(const char *ca_file, const char *verify_host) {
  (void)ca_file;
  (void)verify_host;
  snprintf(message, sizeof message, "built without TLS: install libssl-dev and build again");
  return -1;
}
void *tls_new(int fd) { (void)fd; return NULL; }
int tls_handshake(void *s, int *w) { (void)s; (void)w; return -1; }
ssize_t tls_read(void *s, void *b, size_t n) { (void)s; (void)b; (void)n; errno = ENOTSUP; return -1; }
ssize_t tls_write(void *s, const void *b, size_t n) { (void)s; (void)b; (void)n; errno = ENOTSUP; return -1; }
void tls_free(void *s) { (void)s; }
int tls_resumed(void *s) { (void)s; return 0; }
const char *tls_describe(void *s) { (void)s; return ""; }

#else

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

static SSL_CTX *ctx;
static char description[120];

/* The reason of OpenSSL's last error, or of errno when it has none. */
static void set_message(const char *what) {
  unsigned long e = ERR_get_error();
  if (e) snprintf(message, sizeof message, "%s: %s", what, ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "unknown error");
  else snprintf(message, sizeof message, "%s: %s", what, errno ? strerror(errno) : "connection closed");
  ERR_clear_error();
}

int tls_init(const char *ca_file, const char *verify_host) {
  ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) {
    set_message("cannot create a TLS context");
    return -1;
  }
  /* One read(2) per burst of records instead of two per record (header, then body). */
  SSL_CTX_set_read_ahead(ctx, 1);
  /* Partial writes map SSL_write onto write(2)'s contract; the retry after WANT_WRITE may
   * come from another offset of the same pattern buffer. */
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  /* A server that closes without close_notify reads as end of stream, as over TCP: what
   * the echo delivered is still checked byte by byte. */
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  /* Every session starts from nothing: no session ID or ticket is kept to offer again, so each
   * handshake of the handshake scenario is a full one. */
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (ca_file) {
    if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
      set_message("cannot load the CA file");
      return -1;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ctx);
    if (verify_host && X509_VERIFY_PARAM_set1_ip_asc(param, verify_host) != 1) X509_VERIFY_PARAM_set1_host(param, verify_host, 0);
  }
  return 0;
}

void *tls_new(int fd) {
  SSL *ssl = SSL_new(ctx);
  if (!ssl || SSL_set_fd(ssl, fd) != 1) {
    set_message("cannot start a TLS session");
    SSL_free(ssl);
    return NULL;
  }
  SSL_set_connect_state(ssl);
  return ssl;
}

int tls_handshake(void *session, int *want_write) {
  SSL *ssl = session;
  errno = 0;
  int r = SSL_do_handshake(ssl);
  if (r == 1) return 1;
  int e = SSL_get_error(ssl, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    *want_write = e == SSL_ERROR_WANT_WRITE;
    return 0;
  }
  long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) {
    snprintf(message, sizeof message, "TLS handshake failed: %s", X509_verify_cert_error_string(verify));
    ERR_clear_error();
  } else {
    set_message("TLS handshake failed");
  }
  return -1;
}

/* Maps a failed SSL_read/SSL_write onto read(2)'s -1/errno, or 0 for a closed stream. */
static ssize_t failed(SSL *ssl, int r, const char *what) {
  int e = SSL_get_error(ssl, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    errno = EAGAIN;
    return -1;
  }
  if (e == SSL_ERROR_ZERO_RETURN) return 0;
  if (e == SSL_ERROR_SYSCALL && errno == 0) return 0;
  set_message(what);
  /* EPROTO marks a TLS failure; tls_error() says which. */
  if (e != SSL_ERROR_SYSCALL) errno = EPROTO;
  return -1;
}

ssize_t tls_read(void *session, void *buf, size_t n) {
  SSL *ssl = session;
  errno = 0;
  int r = SSL_read(ssl, buf, n > 0x7fffffff ? 0x7fffffff : (int)n);
  return r > 0 ? r : failed(ssl, r, "TLS read failed");
}

ssize_t tls_write(void *session, const void *buf, size_t n) {
  SSL *ssl = session;
  errno = 0;
  int r = SSL_write(ssl, buf, n > 0x7fffffff ? 0x7fffffff : (int)n);
  return r > 0 ? r : failed(ssl, r, "TLS write failed");
}

void tls_free(void *session) {
  SSL *ssl = session;
  /* Sends close_notify when the socket takes it; never waits for the server's. */
  if (SSL_is_init_finished(ssl)) SSL_shutdown(ssl);
  SSL_free(ssl);
  ERR_clear_error();
}

int tls_resumed(void *session) { return SSL_session_reused((SSL *)session); }

const char *tls_describe(void *session) {
  SSL *ssl = session;
  snprintf(description, sizeof description, "%s %s", SSL_get_version(ssl), SSL_get_cipher_name(ssl));
  return description;
}

#endif
