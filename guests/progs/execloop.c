/* Process-scope workload for vstrace: forks ROUNDS children one after
 * another; a third of them exec /bin/true, a third are killed by SIGKILL
 * (they never call exit_group, so their address spaces are freed without
 * the tracer seeing an exit), a third _exit. Every address space freed
 * this way is free for the kernel to reuse, for the guest's own processes
 * too (its shutdown after the command). Prints its pid and its children's
 * pids, so a tracer's records can be checked against the command's real
 * process tree. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 30;
    printf("execloop pid=%d kids=", getpid());
    fflush(stdout);
    for (int i = 0; i < rounds; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            if (i % 3 == 0) {
                char *const args[] = {"/bin/true", NULL};
                execve(args[0], args, NULL);
                _exit(127);
            }
            if (i % 3 == 1)
                kill(getpid(), SIGKILL);
            _exit(0);
        }
        int st;
        waitpid(pid, &st, 0);
        printf("%s%d", i ? "," : "", pid);
    }
    printf("\n");
    return 0;
}
