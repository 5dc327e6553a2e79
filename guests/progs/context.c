/* Who-made-the-call workload for vstrace's context features (-y, -Y,
 * -P, trace-fds=, caller module, process events): opens files on two
 * mounts (the root and /tmp's tmpfs) and a directory fd for *at calls,
 * makes a pipe and a socket pair, dups, reads and writes through each,
 * signals its parent with kill(ppid, 0), forks a child that exits with
 * status 3, and waits for it. Its output says the fds it got, so a test
 * can compare them with the tracer's names. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    char buf[64];
    int fd = open("/bin/sh", O_RDONLY);
    ssize_t n = read(fd, buf, sizeof buf);
    mkdir("/tmp/ctx", 0755);
    int dir = open("/tmp/ctx", O_RDONLY | O_DIRECTORY);
    int f = openat(dir, "f.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write(f, "ctx\n", 4);
    int d = dup(f);
    fsync(d);
    close(d);
    close(f);
    int p[2];
    pipe(p);
    write(p[1], "x", 1);
    read(p[0], buf, 1);
    int s[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    write(s[0], "y", 1);
    read(s[1], buf, 1);
    kill(getppid(), 0);
    pid_t child = fork();
    if (child == 0) {
        _exit(3);
    }
    int st = 0;
    waitpid(child, &st, 0);
    close(fd);
    char line[128];
    int len = snprintf(line, sizeof line,
                       "ctx fds=%d,%d,%d pipe=%d,%d sock=%d,%d read=%zd child=%d status=%d\n",
                       fd, dir, f, p[0], p[1], s[0], s[1], n, (int)child, WEXITSTATUS(st));
    write(1, line, len);
    return 0;
}
