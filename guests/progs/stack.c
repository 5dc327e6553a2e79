/* The -k test program: calls made from known stacks, run under the
 * guest's own `strace -k` and under vstrace -k, whose frames must match.
 *   getppid  main -> middle -> leaf -> libc's getppid (PLT when dynamic)
 *   getuid   from a dlopen'ed library (libstackdl.so, dynamic build only)
 *   getgid   from code copied into anonymous memory (no module)
 *   getegid  from the library's file mmap'ed again by hand where the
 *            anonymous code was (dynamic build): the map must be new.
 *   getsid   from a signal handler (SIGUSR1 raised by main): the stack
 *            goes on through the kernel's signal frame (glibc's
 *            __restore_rt) into the interrupted code and main.
 * Built with -O2 -fno-inline -fno-optimize-sibling-calls (every function
 * keeps its frame); `-DSTATIC` for the static build. Prints its pid. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#ifndef STATIC
#include <dlfcn.h>
#endif

void leaf(void) { getppid(); }
void middle(void) { leaf(); }

void on_usr1(int sig) {
    (void)sig;
    getsid(0);
}

/* sigaction through libc: its restorer is glibc's __restore_rt. */
void signalled(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
}

/* mov eax, 104 (getgid); syscall; ret */
static const unsigned char code[] = {0xb8, 0x68, 0, 0, 0, 0x0f, 0x05, 0xc3};

static void *anon_code(void) {
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    memcpy(p, code, sizeof code);
    ((void (*)(void))p)();
    munmap(p, 4096);
    return p;
}

int main(int argc, char **argv) {
    printf("%s pid=%d\n", argv[0], getpid());
    fflush(stdout);
    middle();
    signalled();
    void *at = anon_code();
#ifndef STATIC
    const char *lib = argc > 1 ? argv[1] : "./libstackdl.so";
    void *h = dlopen(lib, RTLD_NOW);
    if (!h) {
        printf("dlopen: %s\n", dlerror());
        return 1;
    }
    int (*call)(void) = (int (*)(void))dlsym(h, "lib_call");
    void *raw = dlsym(h, "lib_raw");
    call();
    /* The library's file mapped again, whole, where the anonymous code
     * was (a hint: that page is free again); lib_raw at its file offset
     * (text offsets equal addresses in a small library). */
    Dl_info info;
    int fd = open(lib, O_RDONLY);
    off_t size = fd >= 0 ? lseek(fd, 0, SEEK_END) : 0;
    if (size > 0 && at && dladdr(raw, &info)) {
        size_t off = (char *)raw - (char *)info.dli_fbase;
        void *m = mmap(at, (size_t)size, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
        if (m != MAP_FAILED && off < (size_t)size) {
            ((long (*)(void))((char *)m + off))();
            munmap(m, (size_t)size);
        }
    }
#else
    (void)argc;
#endif
    return 0;
}
