/* 32-bit test program (gcc -m32 -static) for vstrace: the same 6-argument
 * call (mmap2) made through the vDSO (__kernel_vsyscall: sysenter on Intel
 * CPUs, syscall on AMD ones) and through a hand-written `int $0x80`, plus
 * a path-taking call. Prints its pid and what it got so tests can compare. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static long int80_mmap2(long a1, long a2, long a3, long a4, long a5, long a6)
{
    long ret;
    /* ebp is the frame pointer in some builds: save it by hand. */
    __asm__ volatile(
        "push %%ebp\n\t"
        "mov %7, %%ebp\n\t"
        "int $0x80\n\t"
        "pop %%ebp"
        : "=a"(ret)
        : "a"(SYS_mmap2), "b"(a1), "c"(a2), "d"(a3), "S"(a4), "D"(a5), "m"(a6)
        : "memory");
    return ret;
}

int main(void)
{
    printf("pid=%d ppid=%d\n", getpid(), getppid());
    long v = syscall(SYS_mmap2, 0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 3);
    printf("vdso mmap2=%#lx\n", v);
    long i = int80_mmap2(0, 12288, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 5);
    printf("int80 mmap2=%#lx\n", i);
    int fd = open("/init", O_RDONLY);
    printf("open fd=%d\n", fd);
    return 0;
}
