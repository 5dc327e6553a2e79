/* The 32-bit (i386 ABI) -k test program, run under the guest's own
 * `strace -k` and under vstrace -k and --caller:
 *   getppid  main -> middle -> leaf -> libc's getppid (through the
 *            vDSO's __kernel_vsyscall: sysenter, or compat syscall)
 *   getgid   main -> raw_int80: its own `int $0x80` (no vDSO)
 *   getsid   from a signal handler (SIGUSR1 raised by main): the stack
 *            goes on through the kernel's signal frame (glibc's
 *            __restore) into the interrupted code and main
 *   getuid32 from a dlopen'ed library (lib_call -> inner -> libc's
 *            getuid), dynamic build only
 * Built with -m32 -O2 -fno-inline -fno-optimize-sibling-calls; `-DSTATIC`
 * for the static build, `-DLIB -shared -fPIC` for the library. Prints
 * its pid. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifdef LIB
int inner(void) { return (int)getuid(); }
int lib_call(void) { return inner() + 1; }
#else
#ifndef STATIC
#include <dlfcn.h>
#endif

void leaf(void) { getppid(); }
void middle(void) { leaf(); }

/* getgid (47) by int $0x80 from this program's own code. */
long raw_int80(void) {
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(47L) : "memory");
    return r;
}

void on_usr1(int sig) {
    (void)sig;
    getsid(0);
}

/* sigaction through libc: its restorer is glibc's __restore. */
void signalled(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
}

int main(int argc, char **argv) {
    printf("%s pid=%d\n", argv[0], getpid());
    fflush(stdout);
    middle();
    raw_int80();
    signalled();
#ifndef STATIC
    const char *lib = argc > 1 ? argv[1] : "./libstack32.so";
    void *h = dlopen(lib, RTLD_NOW);
    if (!h) {
        printf("dlopen: %s\n", dlerror());
        return 1;
    }
    int (*call)(void) = (int (*)(void))dlsym(h, "lib_call");
    call();
#else
    (void)argc;
#endif
    return 0;
}
#endif
