/*
 * --inject=chdir:signal=USR1 seen from inside: each chdir("/") prints its
 * result, whether the SIGUSR1 handler ran before the next line and the
 * si_code it got (SA_SIGINFO handler with argument "i", a plain one
 * otherwise), then a chdir with USR1 blocked (the signal stays pending
 * until the unblock) and a last chdir whose result must be intact.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

static volatile int got, code;

static void plain(int s) { got = s; }

static void with_info(int s, siginfo_t *si, void *uc)
{
    (void)uc;
    got = s;
    code = si->si_code;
}

int main(int argc, char **argv)
{
    struct sigaction a;
    memset(&a, 0, sizeof a);
    if (argc > 1 && argv[1][0] == 'i') {
        a.sa_sigaction = with_info;
        a.sa_flags = SA_SIGINFO;
    } else {
        a.sa_handler = plain;
    }
    sigaction(SIGUSR1, &a, 0);
    for (int i = 1; i <= 2; i++) {
        got = code = 0;
        long r = syscall(SYS_chdir, "/");
        printf("chdir%d=%ld got=%d code=%d\n", i, r, got, code);
    }
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR1);
    sigprocmask(SIG_BLOCK, &m, 0);
    got = 0;
    long r = syscall(SYS_chdir, "/");
    printf("blocked=%ld got=%d\n", r, got);
    sigprocmask(SIG_UNBLOCK, &m, 0);
    printf("unblocked got=%d\n", got);
    got = 0;
    /* A path that fails: the result given back must be the call's own. */
    r = syscall(SYS_chdir, "/nonexistent");
    printf("last=%ld got=%d\n", r, got);
    return 0;
}
