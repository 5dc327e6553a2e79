/* The dlopen'ed library of stack.c: lib_call -> inner -> libc's getuid
 * (through this library's PLT); lib_raw makes getegid with its own
 * syscall instruction (position-independent, no relocation: it also runs
 * from a plain mmap of this file). */
#include <unistd.h>

int inner(void) { return (int)getuid(); }
int lib_call(void) { return inner() + 1; }
long lib_raw(void) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(108L) : "rcx", "r11", "memory");
    return r;
}
