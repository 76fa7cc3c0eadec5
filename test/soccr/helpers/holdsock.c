/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * holdsock MODE: puts a socket on fd 5 (and its peer on 6) and sleeps until
 * killed, for the tool's error tests.
 *   pair [ADDR] a connected TCP pair over 127.0.0.1 or ADDR (5 server side, 6 client)
 *   unconnected a TCP socket in state CLOSE
 *   udp         a UDP socket
 */
#include <stdio.h>
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
