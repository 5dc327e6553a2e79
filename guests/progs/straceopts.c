/* The program the strace-options test runs under the guest's own strace
 * and under vstrace: a failing and a succeeding call, plain and binary
 * strings (for -x/-xx), and an exit status (for `+++ exited with 3 +++`).
 * Its pid goes to stderr, so the test can pick its process in the trace. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	char buf[64];
	int n = snprintf(buf, sizeof buf, "pid=%d\n", (int)getpid());
	write(2, buf, n);
	chdir("/nonexistent-dir");
	chdir("/");
	int fd = open("/dev/null", O_WRONLY);
	write(fd, "plain text\n", 11);
	write(fd, "bin\001\377\200z\n", 8);
	close(fd);
	syscall(SYS_exit_group, 3);
	return 0;
}
