/* Signal workload for vstrace: a SIGALRM handler interrupts a nanosleep
 * (no SA_RESTART: the sleep fails with EINTR), then, installed with
 * SA_RESTART, a blocking read of a pipe (the kernel restarts the read;
 * the handler writes the byte it reads). Prints its pid and what the
 * program saw, so a tracer's records can be checked against it. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int fds[2];

static void on_alarm(int sig)
{
    (void)sig;
    char c = 'x';
    if (write(fds[1], &c, 1) != 1)
        _exit(3);
}

static void arm(int restart)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 0}, {0, 200000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

int main(void)
{
    if (pipe(fds) != 0)
        return 1;
    arm(0);
    struct timespec ts = {5, 0};
    int r1 = nanosleep(&ts, NULL);
    int e1 = errno;
    char c;
    /* Drain the byte the first handler wrote. */
    if (read(fds[0], &c, 1) != 1)
        return 2;
    arm(1);
    ssize_t r2 = read(fds[0], &c, 1);
    printf("signals pid=%d sleep=%d/%s read=%zd/%c\n", getpid(), r1, e1 == EINTR ? "EINTR" : "?", r2, c);
    return 0;
}
