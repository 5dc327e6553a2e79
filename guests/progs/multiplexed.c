/* Socket and System V IPC calls, built with -m32: i386's glibc makes them
 * through the multiplexers socketcall(2) and ipc(2), which strace (and
 * vstrace) show as the calls they make. Each call is made once, some
 * failing, with arguments a decoder must read from the multiplexer's
 * array (socketcall) or move into place (ipc). */
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(void)
{
	int sv[2];
	char buf[16];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0) {
		send(sv[0], "ping", 4, MSG_DONTWAIT);
		recv(sv[1], buf, sizeof buf, 0);
		sendto(sv[1], "pong", 4, 0, NULL, 0);
		recvfrom(sv[0], buf, sizeof buf, MSG_DONTWAIT, NULL, NULL);
		int one = 1;
		setsockopt(sv[0], SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
		socklen_t len = sizeof one;
		getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &one, &len);
		shutdown(sv[0], SHUT_WR);
		close(sv[0]);
		close(sv[1]);
	}
	int s = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	strcpy(a.sun_path, "/tmp/multiplexed.sock");
	unlink(a.sun_path);
	bind(s, (struct sockaddr *)&a, sizeof a);
	listen(s, 1); /* EOPNOTSUPP on a datagram socket */
	connect(-1, (struct sockaddr *)&a, sizeof a);
	close(s);

	int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	msgctl(q, IPC_RMID, NULL);
	int sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
	struct sembuf op = {.sem_num = 0, .sem_op = 1, .sem_flg = IPC_NOWAIT};
	semop(sem, &op, 1);
	semctl(sem, 0, IPC_RMID, 0);
	int shm = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	void *p = shmat(shm, NULL, SHM_RDONLY);
	if (p != (void *)-1)
		shmdt(p);
	shmctl(shm, IPC_RMID, NULL);
	return 0;
}
