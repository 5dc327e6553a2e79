/* 64-bit test program for vstrace: i386 system calls made with `int $0x80`
 * from 64-bit code (the kernel runs them with the i386 table and the low
 * halves of ebx..ebp, as it does for 32-bit processes), between ordinary
 * 64-bit calls. Prints what each returned so a test can compare. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

/* i386 numbers (not the x86-64 ones of the same names). */
#define I386_CLOSE 6
#define I386_GETPID 20
#define I386_ACCESS 33

/* The path lives in the static binary's data, below 4 GiB: a 32-bit
 * pointer to it is the same address. */
static const char path[] = "/init";

static long int80(long nr, long a1, long a2)
{
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a1), "c"(a2) : "memory");
    return ret;
}

int main(void)
{
    long pid = int80(I386_GETPID, 0, 0);
    long acc = int80(I386_ACCESS, (long)path, 0);
    long bad = int80(I386_CLOSE, -1, 0);
    long ppid = syscall(SYS_getppid);
    printf("getpid=%ld access=%ld close=%ld getppid=%ld\n", pid, acc, bad, ppid);
    return 0;
}
