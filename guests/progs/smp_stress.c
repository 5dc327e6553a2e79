/* SMP stress workload for vstrace: forks 4 workers that run in parallel,
 * each doing a known, different number of getpid, getppid, write and read
 * (1 byte through its own pipe), openat and close calls, counted by the
 * worker itself. Each worker prints its counters on one line (that write
 * is counted too), so a tracer's per-pid, per-name counts can be checked
 * against the guest's own. Only raw syscall wrappers are used between
 * fork and _exit: no stdio, no hidden calls of the counted kinds. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define WORKERS 4

static void worker(int idx, long rounds)
{
    long n_getpid = 0, n_getppid = 0, n_write = 0, n_read = 0, n_openat = 0, n_close = 0, n_pipe = 0;
    int p[2];
    char c = 'x', line[256];
    if (pipe(p) != 0)
        _exit(10);
    n_pipe++;
    for (long i = 0; i < rounds; i++) {
        getpid();
        n_getpid++;
        if (i % 2 == 0) {
            getppid();
            n_getppid++;
        }
        if (write(p[1], &c, 1) != 1)
            _exit(11);
        n_write++;
        if (read(p[0], &c, 1) != 1)
            _exit(12);
        n_read++;
        if (i % 16 == idx) {
            int fd = open("/dev/null", O_RDONLY);
            n_openat++;
            if (fd < 0)
                _exit(13);
            close(fd);
            n_close++;
        }
    }
    close(p[0]);
    close(p[1]);
    n_close += 2;
    n_write++; /* the report below */
    int len = snprintf(line, sizeof line,
                       "worker %d pid=%d getpid=%ld getppid=%ld write=%ld read=%ld openat=%ld close=%ld pipe2=%ld\n",
                       idx, getpid(), n_getpid + 1, n_getppid, n_write, n_read, n_openat, n_close, n_pipe);
    if (write(1, line, len) != len)
        _exit(14);
    _exit(0);
}

int main(int argc, char **argv)
{
    long base = argc > 1 ? atol(argv[1]) : 400;
    pid_t pids[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        pids[i] = fork();
        if (pids[i] < 0)
            return 1;
        if (pids[i] == 0)
            worker(i, base * (i + 1) + 3 * i);
    }
    int failed = 0;
    for (int i = 0; i < WORKERS; i++) {
        int st;
        if (waitpid(pids[i], &st, 0) != pids[i] || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            failed++;
    }
    printf("smp_stress done failed=%d\n", failed);
    return failed != 0;
}
