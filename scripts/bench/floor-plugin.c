/* The benchmark's floor: a QEMU TCG plugin (API v4, QEMU 9.2 .. 10.x)
 * that registers the same callbacks as vstrace's plugin (an exec callback
 * with read/write register access on every trap instruction: syscall,
 * sysenter, int 0x80/0x2e, sysret, sysexit, iret) and does nothing in
 * them. What it costs is what any plugin built on these callbacks pays;
 * scripts/bench.sh prints it beside vstrace's rows. Declares the few API
 * functions it uses itself, so no QEMU headers are needed. Ignores its
 * arguments (the launcher passes config=, status=, machine=...). */
#include <stddef.h>
#include <stdint.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
typedef void (*udata_cb)(unsigned int vcpu, void *udata);
typedef void (*tb_cb)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);

size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
size_t qemu_plugin_insn_data(const struct qemu_plugin_insn *insn, void *dest, size_t len);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, udata_cb cb,
                                            int flags, void *udata);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, tb_cb cb);

__attribute__((visibility("default"))) int qemu_plugin_version = 4;

enum { QEMU_PLUGIN_CB_RW_REGS = 2 };

static void on_trap(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    (void)udata;
}

/* The same instructions vstrace's classify.rs selects (prefixes aside). */
static int is_trap(const uint8_t *b, size_t n)
{
    size_t i = 0;
    while (i < n && (b[i] == 0x66 || (b[i] & 0xf0) == 0x40))
        i++;
    if (i >= n)
        return 0;
    if (b[i] == 0xcf)
        return 1;
    if (i + 1 >= n)
        return 0;
    if (b[i] == 0xcd)
        return b[i + 1] == 0x80 || b[i + 1] == 0x2e;
    if (b[i] == 0x0f)
        return b[i + 1] == 0x05 || b[i + 1] == 0x07 || b[i + 1] == 0x34 || b[i + 1] == 0x35;
    return 0;
}

static void on_tb(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint8_t b[16];
        size_t len = qemu_plugin_insn_data(insn, b, sizeof b);
        if (is_trap(b, len))
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_trap, QEMU_PLUGIN_CB_RW_REGS, NULL);
    }
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id,
                                                               const void *info, int argc,
                                                               char **argv)
{
    (void)info;
    (void)argc;
    (void)argv;
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb);
    return 0;
}
