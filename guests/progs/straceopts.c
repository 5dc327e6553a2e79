/* The program the strace-options test runs under the guest's own strace
 * and under vstrace: a failing and a succeeding call, plain and binary
 * strings (for -x/-xx), data through a pipe with read/write and
 * readv/writev (for -e read=/-e write= hex dumps), and an exit status
 * (for `+++ exited with 3 +++`); a pollfd array with /dev/null's fd in it
 * (for -P), a pidfd (for -yy), writable path and cwd buffers (for
 * poke_enter=/poke_exit= injections).
 * Its pid goes to stderr, so the test can pick its process in the trace. */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

int main(void)
{
	char buf[64];
	int n = snprintf(buf, sizeof buf, "pid=%d\n", (int)getpid());
	write(2, buf, n);
	/* On the stack: an injection may write there. */
	char dir[32], cwd[64];
	strcpy(dir, "/nonexistent-dir");
	chdir(dir);
	chdir("/");
	syscall(SYS_getcwd, cwd, sizeof cwd);
	int fd = open("/dev/null", O_WRONLY);
	write(fd, "plain text\n", 11);
	write(fd, "bin\001\377\200z\n", 8);
	int p[2];
	if (pipe(p) == 0) {
		struct pollfd pf[2] = {{p[0], POLLIN, 0}, {fd, POLLOUT, 0}};
		struct timespec ts0 = {0, 0};
		syscall(SYS_ppoll, pf, 2, &ts0, NULL, 0);
		char r[32], a[3], b[16];
		/* 21 bytes: a full dump row and a partial one. */
		write(p[1], "0123456789abcdef\tghi\n", 21);
		read(p[0], r, sizeof r);
		struct iovec w[2] = {{"head", 4}, {"\001tail\n", 6}};
		writev(p[1], w, 2);
		struct iovec rv[2] = {{a, sizeof a}, {b, sizeof b}};
		readv(p[0], rv, 2);
		close(p[0]);
		close(p[1]);
	}
	close(fd);
#ifdef SYS_pidfd_open
	int pidfd = syscall(SYS_pidfd_open, getpid(), 0);
	if (pidfd >= 0)
		close(pidfd);
#endif
	syscall(SYS_exit_group, 3);
	return 0;
}
