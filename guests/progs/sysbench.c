/* Syscall-heavy guest workload for vstrace's benchmark, timed inside the
 * guest with the vDSO clock so the measurement itself makes no syscalls.
 * Prints the guest time.
 *   sysbench N            N rounds of a 1-byte read from /dev/zero and a
 *                         1-byte write to /dev/null (what `dd bs=1` does)
 *   sysbench N getppid T  T threads, each making N getppid calls (the
 *                         cheapest call: what tracing adds dominates) */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long rounds;

static void *getppid_loop(void *arg)
{
    (void)arg;
    for (long i = 0; i < rounds; i++)
        syscall(SYS_getppid);
    return NULL;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    int ppid = argc > 2 && strcmp(argv[2], "getppid") == 0;
    long threads = argc > 3 ? atol(argv[3]) : 1;
    if (threads < 1 || threads > 64)
        return 2;
    int in = open("/dev/zero", O_RDONLY), out = open("/dev/null", O_WRONLY);
    char c;
    struct timespec a, b;
    pthread_t tids[64];
    rounds = n;
    clock_gettime(CLOCK_MONOTONIC, &a);
    if (ppid) {
        for (long t = 1; t < threads; t++)
            if (pthread_create(&tids[t], NULL, getppid_loop, NULL) != 0)
                return 1;
        getppid_loop(NULL);
        for (long t = 1; t < threads; t++)
            pthread_join(tids[t], NULL);
    } else {
        for (long i = 0; i < n; i++) {
            if (read(in, &c, 1) != 1 || write(out, &c, 1) != 1)
                return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    long long ns = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
    printf("syscalls=%ld guest_ns=%lld\n", ppid ? n * threads : 2 * n, ns);
    return 0;
}
