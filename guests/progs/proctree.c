/* Process tree workload for vstrace's process events: the parent forks
 * child A (which forks grandchild D, exiting 5, and exits 3), vforks
 * child B (which execs /bin/true), and forks child C (which kills itself
 * with SIGKILL). Every process prints what it sees of itself (its pid and
 * parent pid: the guest's own view) and the parent prints how each child
 * ended, as wait reports it. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void show(const char *who)
{
    printf("%s pid=%d ppid=%d\n", who, getpid(), getppid());
    fflush(stdout);
}

static void report(const char *who, pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) != pid) {
        printf("%s wait failed\n", who);
    } else if (WIFEXITED(st)) {
        printf("%s=%d exited=%d\n", who, pid, WEXITSTATUS(st));
    } else if (WIFSIGNALED(st)) {
        printf("%s=%d signal=%d\n", who, pid, WTERMSIG(st));
    }
    fflush(stdout);
}

int main(void)
{
    show("P");
    pid_t a = fork();
    if (a == 0) {
        show("A");
        pid_t d = fork();
        if (d == 0) {
            show("D");
            _exit(5);
        }
        report("D", d);
        _exit(3);
    }
    report("A", a);
    /* glibc's vfork(): the child only execs. */
    pid_t b = vfork();
    if (b == 0) {
        char *const args[] = {"/bin/true", "x", NULL};
        execve(args[0], args, NULL);
        _exit(127);
    }
    report("B", b);
    pid_t c = fork();
    if (c == 0) {
        show("C");
        kill(getpid(), SIGKILL);
        _exit(1);
    }
    report("C", c);
    return 0;
}
