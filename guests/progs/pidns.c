/* The program the PID-namespace test runs under the guest's own strace
 * --decode-pids=pidns and under vstrace: it moves its children into a new
 * PID namespace (unshare(CLONE_NEWPID), what `unshare -p -f` does), where
 * its first child is pid 1 and that child's own child pid 2 (a session
 * and group leader of its own). Each asks for its ids, signals itself by
 * pid, thread and group, and the namespace's init waits for its child,
 * then signals the reaped pid (found nowhere: no translation). */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void ids(void)
{
	pid_t pid = getpid();
	pid_t tid = (pid_t)syscall(SYS_gettid);
	getppid();
	getpgrp();
	getsid(0);
	kill(pid, 0);
	syscall(SYS_tkill, tid, 0);
	syscall(SYS_tgkill, pid, tid, 0);
	sched_getscheduler(pid);
	getpriority(PRIO_PROCESS, pid);
}

int main(void)
{
	if (unshare(CLONE_NEWPID) != 0) {
		perror("unshare");
		return 77;
	}
	pid_t init = fork();
	if (init < 0)
		return 1;
	if (init > 0) {
		waitpid(init, NULL, 0);
		return 0;
	}
	ids();
	pid_t c = fork();
	if (c == 0) {
		setsid();
		ids();
		kill(-getpgrp(), 0);
		_exit(0);
	}
	wait4(c, NULL, 0, NULL);
	kill(c, 0);
	_exit(0);
}
