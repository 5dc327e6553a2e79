/* A path argument that changes during the call: a second thread keeps
 * rewriting the buffer between "/etc/hostname" and "/nonexistent/xx"
 * (same length) while the main thread calls openat on it ROUNDS times.
 * Prints its pid and how many opens succeeded; a tracer that reads the
 * path only once shows, for many calls, a file other than the one the
 * kernel opened. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[32] = "/etc/hostname";
static volatile int stop;

static void *flipper(void *arg)
{
    (void)arg;
    /* Each spelling stays for a while, so that a call sees either. */
    while (!stop) {
        memcpy(path, "/nonexistent/", 13);
        /* The compiler barrier keeps both stores: to this thread, the
         * first is dead. */
        __asm__ volatile("" ::: "memory");
        for (volatile int i = 0; i < 300; i++)
            ;
        memcpy(path, "/etc/hostname", 13);
        __asm__ volatile("" ::: "memory");
        for (volatile int i = 0; i < 300; i++)
            ;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 3000;
    pthread_t t;
    pthread_create(&t, NULL, flipper, NULL);
    int ok = 0;
    for (int i = 0; i < rounds; i++) {
        int fd = openat(AT_FDCWD, path, O_RDONLY);
        if (fd >= 0) {
            ok++;
            close(fd);
        }
    }
    stop = 1;
    pthread_join(t, NULL);
    printf("pathrace pid=%d opened=%d of %d\n", getpid(), ok, rounds);
    return 0;
}
