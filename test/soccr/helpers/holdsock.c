/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * holdsock MODE: puts a socket on fd 5 (and its peer on 6) and sleeps until
 * killed, for the tool's error tests.
 *   pair [ADDR] a connected TCP pair over 127.0.0.1 or ADDR (5 server side, 6 client)
 *   unconnected a TCP socket in state CLOSE
 *   udp         a UDP socket
 *   listen N    a listener on 127.0.0.1 (fd 5) with N connections waiting in
 *               its accept queue, each of which sent "client<i>" (fds 6..)
 *   check N     (run by cr-tcp restore -- ...) the sockets on fds 3..: a
 *               listener and N established connections with their data,
 *               CR_TCP_FDS = N+1; the listener takes a new client.  Exit
 *               0 if all is right.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	if (!strcmp(argv[1], "pair")) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

		if (argc > 2 && inet_pton(AF_INET, argv[2], &a.sin_addr) != 1)
			return 2;
		socklen_t len = sizeof(a);
		int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0), s;

		if (bind(l, (struct sockaddr *)&a, len) || listen(l, 1) ||
		    getsockname(l, (struct sockaddr *)&a, &len) || connect(c, (struct sockaddr *)&a, len))
			return 1;
		s = accept(l, NULL, NULL);
		dup2(s, 5);
		dup2(c, 6);
		if (write(6, "hello", 5) != 5)
			return 1;
	} else if (!strcmp(argv[1], "listen") && argc == 3) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t len = sizeof(a);
		int l = socket(AF_INET, SOCK_STREAM, 0), n = atoi(argv[2]);
		char msg[32];

		if (bind(l, (struct sockaddr *)&a, len) || listen(l, 16) ||
		    getsockname(l, (struct sockaddr *)&a, &len))
			return 1;
		dup2(l, 5);
		close(l);
		for (int i = 0; i < n; i++) {
			int c = socket(AF_INET, SOCK_STREAM, 0);

			if (connect(c, (struct sockaddr *)&a, len))
				return 1;
			snprintf(msg, sizeof(msg), "client%d", i);
			if (write(c, msg, strlen(msg)) < 0)
				return 1;
			dup2(c, 6 + i);
			close(c);
		}
		usleep(50000);
	} else if (!strcmp(argv[1], "check") && argc == 3) {
		int n = atoi(argv[2]), v = 0, c, a;
		const char *e = getenv("CR_TCP_FDS");
		struct sockaddr_in sa;
		socklen_t len = sizeof(v);
		char buf[32];

		if (!e || atoi(e) != n + 1) {
			fprintf(stderr, "check: CR_TCP_FDS=%s, want %d\n", e ? e : "(unset)", n + 1);
			return 1;
		}
		if (getsockopt(3, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) || !v) {
			fprintf(stderr, "check: fd 3 is not a listener\n");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			ssize_t r = read(4 + i, buf, sizeof(buf) - 1);

			if (r < 7 || strncmp(buf, "client", 6)) {
				fprintf(stderr, "check: fd %d: no client data\n", 4 + i);
				return 1;
			}
		}
		len = sizeof(sa);
		getsockname(3, (struct sockaddr *)&sa, &len);
		c = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(c, (struct sockaddr *)&sa, len) || (a = accept(3, NULL, NULL)) < 0) {
			fprintf(stderr, "check: the listener takes no new client\n");
			return 1;
		}
		printf("check: listener and %d pending connections ok\n", n);
		return 0;
	} else if (!strcmp(argv[1], "unconnected")) {
		dup2(socket(AF_INET, SOCK_STREAM, 0), 5);
	} else if (!strcmp(argv[1], "udp")) {
		dup2(socket(AF_INET, SOCK_DGRAM, 0), 5);
	} else {
		return 2;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
