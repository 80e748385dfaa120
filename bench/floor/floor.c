/*
 * The floor responder: what answering UDP on loopback costs with no DNS work at all.
 *
 *   floor ADDRESS PORT
 *
 * One IPv4 UDP socket, one thread. recvmmsg takes up to 64 datagrams a call; each is sent back as it came with
 * the header's QR bit set and its RCODE cleared (a well-formed empty answer to any query), all in one sendmmsg.
 * Datagrams shorter than a DNS header are dropped. Prints "listening" on stdout once bound; stops on SIGTERM or
 * SIGINT. bench/run.sh builds it with `cc -O2`.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define SIZE 4096

static volatile sig_atomic_t stopping = 0;

static void stop(int signal_number) {
    (void)signal_number;
    stopping = 1;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s ADDRESS PORT\n", argv[0]);
        return 2;
    }
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons((unsigned short)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &address.sin_addr) != 1) {
        fprintf(stderr, "floor: '%s' is not an IPv4 address\n", argv[1]);
        return 2;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        perror("floor: bind");
        return 1;
    }
    /* Without SA_RESTART a signal interrupts the blocking recvmmsg, so the loop sees `stopping`. */
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = stop;
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);

    static unsigned char buffers[BATCH][SIZE];
    static struct sockaddr_in peers[BATCH];
    static struct iovec vectors[BATCH];
    static struct mmsghdr in[BATCH], out[BATCH];
    for (int i = 0; i < BATCH; i++) {
        vectors[i].iov_base = buffers[i];
        vectors[i].iov_len = SIZE;
        in[i].msg_hdr.msg_name = &peers[i];
        in[i].msg_hdr.msg_namelen = sizeof peers[i];
        in[i].msg_hdr.msg_iov = &vectors[i];
        in[i].msg_hdr.msg_iovlen = 1;
    }
    printf("listening %s:%s\n", argv[1], argv[2]);
    fflush(stdout);

    unsigned long long answered = 0;
    while (!stopping) {
        for (int i = 0; i < BATCH; i++) {
            vectors[i].iov_len = SIZE;
            in[i].msg_hdr.msg_namelen = sizeof peers[i];
        }
        int count = recvmmsg(fd, in, BATCH, MSG_WAITFORONE, NULL);
        if (count < 0) {
            if (errno == EINTR) continue;
            perror("floor: recvmmsg");
            return 1;
        }
        int ready = 0;
        for (int i = 0; i < count; i++) {
            unsigned int length = in[i].msg_len;
            if (length < 12) continue;
            buffers[i][2] |= 0x80;  /* QR: this is a response */
            buffers[i][3] &= 0xF0;  /* RCODE 0 */
            vectors[i].iov_len = length;
            out[ready].msg_hdr = in[i].msg_hdr;
            out[ready].msg_len = 0;
            ready++;
        }
        int sent = 0;
        while (sent < ready) {
            int result = sendmmsg(fd, out + sent, (unsigned int)(ready - sent), 0);
            if (result < 0) {
                if (errno == EINTR) continue;
                sent++; /* this datagram cannot go (e.g. the client's socket closed): skip it, send the rest */
                continue;
            }
            sent += result;
        }
        answered += (unsigned long long)ready;
    }
    fprintf(stderr, "floor: answered %llu\n", answered);
    close(fd);
    return 0;
}
