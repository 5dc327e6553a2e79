/* Descriptor numbers that change what they name, for -P (whose
 * verdicts vstrace caches per descriptor): the same number is written
 * while it names another file, after dup2 makes it name the path, after
 * close and a new open at the same number, and after a rename gives an
 * open file the path. Under `-P /tmp/fdswap/p` a tracer must show every
 * call while the descriptor names the path, and none while it does not,
 * as the guest's own strace does. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static int make(const char *path)
{
    return open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
}

int main(void)
{
    mkdir("/tmp/fdswap", 0755);
    int p = make("/tmp/fdswap/p");
    int a = make("/tmp/fdswap/a");
    for (int i = 0; i < 3; i++)
        write(a, "a", 1);
    dup2(p, a);
    write(a, "1", 1);
    close(a);
    int b = make("/tmp/fdswap/b");
    for (int i = 0; i < 3; i++)
        write(b, "b", 1);
    close(b);
    b = open("/tmp/fdswap/p", O_WRONLY | O_APPEND);
    write(b, "2", 1);
    close(b);
    close(p);
    int c = make("/tmp/fdswap/c");
    for (int i = 0; i < 3; i++)
        write(c, "c", 1);
    rename("/tmp/fdswap/c", "/tmp/fdswap/p");
    write(c, "3", 1);
    fsync(c);
    close(c);
    printf("fds %d %d %d %d\n", p, a, b, c);
    return 0;
}
