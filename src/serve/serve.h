/* serve.h — `lakehouse serve`: all five services in one process.
 *
 * Starts storaged and catalogd on free loopback ports, then ingestd and
 * queryd pointed at them, then the gateway (default 127.0.0.1:8080) pointed
 * at all four; prints the URL to open; on SIGTERM/SIGINT stops them in
 * reverse order, each letting its in-flight requests finish. Services talk
 * over HTTP exactly as when they run apart (ADR 0001).
 */
#ifndef LH_SERVE_H
#define LH_SERVE_H

int serve_main(int argc, char **argv);

#endif
