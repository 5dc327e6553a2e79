/* A process whose second thread is blocked in read(2) on a pipe nobody
 * writes when the first returns from main (exit_group(3)): the kernel
 * ends the reader inside its call, which never returns. strace prints
 * the read's end `<... read resumed> <unfinished ...>) = ?` and the
 * thread's exit after the exit_group (tests: process_events). */
#include <pthread.h>
#include <unistd.h>

static int fds[2];

static void *reader(void *arg)
{
    char c;
    read(fds[0], &c, 1);
    return arg;
}

int main(void)
{
    pthread_t t;
    if (pipe(fds) != 0 || pthread_create(&t, 0, reader, 0) != 0)
        return 1;
    /* Long enough for the reader to block in its read. */
    usleep(50000);
    return 3;
}
