/* Pointer arguments into the kernel's half: openat and write given kernel
 * addresses (the kernel answers EFAULT without reading them). A tracer
 * must show the addresses, not the kernel's bytes. Prints its pid and the
 * results it got. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    const char *k = (const char *)0xffffffff81000000UL;
    int fd = openat(AT_FDCWD, k, O_RDONLY);
    int e1 = errno;
    ssize_t w = write(1, k, 16);
    int e2 = errno;
    printf("kaddr pid=%d openat=%d/%d write=%zd/%d\n", getpid(), fd, e1, w, e2);
    return 0;
}
