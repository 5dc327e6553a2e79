/* Syscall-heavy guest workload for vstrace's benchmark: N rounds of a
 * 1-byte read from /dev/zero and a 1-byte write to /dev/null (what
 * `dd bs=1` does), timed inside the guest with the vDSO clock so the
 * measurement itself makes no syscalls. Prints the guest time. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    int in = open("/dev/zero", O_RDONLY), out = open("/dev/null", O_WRONLY);
    char c;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) {
        if (read(in, &c, 1) != 1 || write(out, &c, 1) != 1)
            return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    long long ns = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
    printf("syscalls=%ld guest_ns=%lld\n", 2 * n, ns);
    return 0;
}
