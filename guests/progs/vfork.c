/* vfork workload for vstrace: vforks twice (the first child execs
 * /bin/true, the second calls _exit), then makes a known number of
 * getppid calls, and prints its pid, the vfork results it saw and its
 * counts. A tracer must show each vfork's return in the parent as the
 * child's pid, keep tracing the parent after its children are gone, and
 * count every getppid of the parent. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 2000;
    pid_t kids[2];
    for (int i = 0; i < 2; i++) {
        /* glibc's vfork() (not syscall(SYS_vfork): a child returning
         * from a wrapper function would clobber the parent's frame). */
        pid_t pid = vfork();
        if (pid == 0) {
            if (i == 0) {
                char *const args[] = {"/bin/true", NULL};
                execve(args[0], args, NULL);
            }
            _exit(7);
        }
        kids[i] = pid;
    }
    int st;
    for (int i = 0; i < 2; i++)
        waitpid(kids[i], &st, 0);
    long n = 0;
    for (long i = 0; i < rounds; i++) {
        syscall(SYS_getppid);
        n++;
    }
    printf("vfork pid=%d kids=%d,%d getppid=%ld\n", getpid(), kids[0], kids[1], n);
    return 0;
}
