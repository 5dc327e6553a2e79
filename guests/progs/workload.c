/* Deterministic syscall workload for vstrace's integration tests.
 * Runs inside the guest: files created, read, renamed and unlinked, an
 * AF_INET and an AF_UNIX socket, a pipe, mmap, readv/writev, and a
 * fork + execve + wait. Each step prints what it saw so the tests can
 * compare the trace with the guest's own view. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "write") == 0) {
        /* One write, no retry: what the kernel accepts is what is shown. */
        ssize_t r = write(1, argv[2], strlen(argv[2]));
        fprintf(stderr, "wrote %zd\n", r);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "opens") == 0) {
        /* Three opens of existing files: for when= injection tests. */
        for (int i = 1; i <= 3; i++) {
            int f = open("/init", O_RDONLY);
            printf("open%d fd=%d errno=%d\n", i, f, f < 0 ? errno : 0);
            if (f >= 0)
                close(f);
        }
        printf("getpid=%d\n", getpid());
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "mmap6") == 0) {
        /* mmap with six distinct arguments: a hint, a file, an offset. */
        int f = open("/tmp/m6", O_RDWR | O_CREAT | O_TRUNC, 0600);
        char page[4096] = {0};
        write(f, page, sizeof page);
        write(f, page, sizeof page);
        void *want = (void *)0x5a5a0000;
        void *p = mmap(want, 4096, PROT_READ, MAP_SHARED, f, 4096);
        printf("mmap6 fd=%d addr=%p\n", f, p);
        return p == MAP_FAILED;
    }
    if (argc > 1 && strcmp(argv[1], "child") == 0) {
        printf("child pid=%d\n", getpid());
        return 7;
    }
    printf("workload pid=%d\n", getpid());
    mkdir("/tmp/vst", 0755);
    int fd = openat(AT_FDCWD, "/tmp/vst/a.txt", O_WRONLY | O_CREAT | O_TRUNC, 0640);
    printf("open a.txt fd=%d\n", fd);
    write(fd, "hello vstrace\n", 14);
    close(fd);
    fd = open("/tmp/vst/a.txt", O_RDONLY);
    char buf[64] = {0};
    ssize_t n = read(fd, buf, sizeof buf);
    printf("read %zd\n", n);
    close(fd);
    rename("/tmp/vst/a.txt", "/tmp/vst/b.txt");
    unlink("/tmp/vst/b.txt");
    fd = open("/nonexistent/file", O_RDONLY);
    printf("open missing fd=%d errno=%d\n", fd, errno);

    struct iovec iov[2] = {{"writev-", 7}, {"ok\n", 3}};
    writev(1, iov, 2);

    void *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(p, 8192);

    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(9)};
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    int r = connect(s, (struct sockaddr *)&sin, sizeof sin);
    printf("connect inet r=%d errno=%d\n", r, errno);
    close(s);
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    strcpy(sun.sun_path, "/tmp/vst/sock");
    r = connect(s, (struct sockaddr *)&sun, sizeof sun);
    printf("connect unix r=%d errno=%d\n", r, errno);
    close(s);

    int pfd[2];
    pipe(pfd);
    write(pfd[1], "x", 1);
    read(pfd[0], buf, 1);
    close(pfd[0]);
    close(pfd[1]);

    pid_t c = fork();
    if (c == 0) {
        char *args[] = {argv[0], "child", NULL};
        execve(argv[0], args, environ);
        _exit(127);
    }
    int st = 0;
    waitpid(c, &st, 0);
    printf("child %d exited %d\n", c, WEXITSTATUS(st));
    printf("getpid=%d\n", getpid());
    return 0;
}
