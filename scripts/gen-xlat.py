#!/usr/bin/env python3
"""Generate the Linux named-constant tables (crates/linux/src/xlat/tables.rs
and crates/linux/src/xlat/ioctls.rs) from a source of truth.

Sources (facts: names and values, nothing of strace's code is copied):
  * strace's xlat files, src/xlat/NAME.in of the strace source package that
    scripts/strace-conformance.sh fetches (`--fetch-only` prints SRC=): each
    line is `NAME [VALUE]`, with `#if defined __arch__` conditions that this
    script evaluates twice, for x86_64 and for i386;
  * where a line gives no value, the kernel uapi headers of Debian's
    linux-libc-dev (/usr/include/linux, /usr/include/asm-generic,
    /usr/include/x86_64-linux-gnu/asm; glibc's bits/ last) supply it:
    `#define NAME EXPR` lines and `enum { NAME [= EXPR], ... }` members;
  * ioctl request numbers: strace's generated lists of the kernel's ioctl
    definitions, src/linux/64/ioctls_inc.h (+ x86_64/ioctls_arch0.h) and,
    for i386 (32-bit structure sizes), src/linux/32/ioctls_inc_align32.h
    (+ i386/ioctls_arch0.h).

Which tables are generated, and the `/* PREFIX_??? */` comment strace
prints for an unknown value, is the TABLES list below.

Usage: scripts/gen-xlat.py [--src STRACE_SRC] [--check]
  Without --src the source is located with
  `scripts/strace-conformance.sh --fetch-only`. --check compares the
  generated text with the committed files (exit 1 when they differ).
"""

import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_TABLES = os.path.join(ROOT, "crates/linux/src/xlat/tables.rs")
OUT_IOCTLS = os.path.join(ROOT, "crates/linux/src/xlat/ioctls.rs")

# (xlat file, default comment for unknown values or None to derive it from
# the names' common prefix).
TABLES = [
    ("access_modes", "?_OK"),
    ("addrfams", "AF_???"),
    ("advise", "POSIX_FADV_???"),
    ("arp_hardware_types", None),
    ("archvals", "ARCH_???"),
    ("at_flags", "AT_???"),
    ("at_statx_sync_types", "AT_STATX_SYNC_???"),
    ("bootflags1", "LINUX_REBOOT_MAGIC_???"),
    ("bootflags2", "LINUX_REBOOT_MAGIC_???"),
    ("bootflags3", "LINUX_REBOOT_CMD_???"),
    ("bpf_commands", "BPF_???"),
    ("bsg_flags", "BSG_FLAG_???"),
    ("bsg_protocol", "BSG_PROTOCOL_???"),
    ("bsg_subprotocol", "BSG_SUB_PROTOCOL_???"),
    ("cap", "CAP_???"),
    ("cap_version", "_LINUX_CAPABILITY_VERSION_???"),
    ("clockflags", "TIMER_???"),
    ("clocknames", "CLOCK_???"),
    ("clone3_flags", "CLONE_???"),
    ("clone_flags", "CLONE_???"),
    ("crypto_nl_attrs", "CRYPTOCFGA_???"),
    ("close_range_flags", "CLOSE_RANGE_???"),
    ("delete_module_flags", "O_???"),
    ("efd_flags", "EFD_???"),
    ("epollctls", "EPOLL_CTL_???"),
    ("epollevents", "EPOLL???"),
    ("epollflags", "EPOLL_???"),
    ("f_owner_types", "F_OWNER_???"),
    ("f_seals", "F_SEAL_???"),
    ("faccessat_flags", "AT_???"),
    ("falloc_flags", "FALLOC_FL_???"),
    ("fan_classes", "FAN_CLASS_???"),
    ("fan_event_flags", "FAN_???"),
    ("fan_init_flags", "FAN_???"),
    ("fan_mark_flags", "FAN_MARK_???"),
    ("fcntlcmds", "F_???"),
    ("fdflags", "FD_???"),
    ("flockcmds", "LOCK_???"),
    ("fsconfig_cmds", "FSCONFIG_???"),
    ("fsmount_attr_flags", "MOUNT_ATTR_???"),
    ("fsmount_flags", "FSMOUNT_???"),
    ("fsopen_flags", "FSOPEN_???"),
    ("fspick_flags", "FSPICK_???"),
    ("futexbitset", "FUTEX_BITSET_???"),
    ("futexops", "FUTEX_???"),
    ("futexwakecmps", "FUTEX_OP_CMP_???"),
    ("futexwakeops", "FUTEX_OP_???"),
    ("get_mempolicy_flags", "MPOL_???"),
    ("getrandom_flags", "GRND_???"),
    ("getsock_ip_options", "IP_???"),
    ("getsock_ipv6_options", "IPV6_???"),
    ("getsock_options", "SO_???"),
    ("inet_protocols", "IPPROTO_???"),
    ("inotify_flags", "IN_???"),
    ("inotify_init_flags", "IN_???"),
    ("ioprio_class", "IOPRIO_CLASS_???"),
    ("ioprio_who", "IOPRIO_WHO_???"),
    ("ipc_msg_flags", "MSG_???"),
    ("ipc_private", None),
    ("ipccalls", None),
    ("resource_flags", "IPC_???"),
    ("itimer_which", "ITIMER_???"),
    ("kcmp_types", "KCMP_???"),
    ("kexec_file_load_flags", "KEXEC_FILE_???"),
    ("kexec_load_flags", "KEXEC_???"),
    ("kexec_arch_values", "KEXEC_ARCH_???"),
    ("key_spec", "KEY_SPEC_???"),
    ("kd_default_led_flags", "LED_???"),
    ("kd_font_flags", "KD_FONT_FLAG_???"),
    ("kd_font_ops", "KD_FONT_OP_???"),
    ("kd_kbd_modes", "K_???"),
    ("kd_kbd_types", "KB_???"),
    ("kd_key_ascii_keys", None),
    ("kd_key_brl_keys", None),
    ("kd_key_cur_keys", None),
    ("kd_key_dead_keys", None),
    ("kd_key_fn_key_vals", "KVAL(K_???)"),
    ("kd_key_fn_keys", None),
    ("kd_key_lock_keys", None),
    ("kd_key_pad_keys", None),
    ("kd_key_shift_keys", None),
    ("kd_key_slock_keys", None),
    ("kd_key_spec_keys", None),
    ("kd_key_tables", None),
    ("kd_key_types", None),
    ("kd_keymap_flags", "K_???"),
    ("kd_led_flags", "LED_???"),
    ("kd_meta_vals", "K_???"),
    ("kd_modes", "KD_???"),
    ("keyctl_commands", "KEYCTL_???"),
    ("key_perms", "KEY_???"),
    ("key_reqkeys", "KEY_REQKEY_DEFL_???"),
    ("keyctl_caps0", "KEYCTL_CAPS0_???"),
    ("keyctl_caps1", "KEYCTL_CAPS1_???"),
    ("keyctl_move_flags", "KEYCTL_MOVE_???"),
    ("keyctl_pkey_ops", "KEYCTL_SUPPORTS_???"),
    ("landlock_create_ruleset_flags", "LANDLOCK_CREATE_RULESET_???"),
    ("landlock_rule_types", "LANDLOCK_RULE_???"),
    ("landlock_ruleset_access_fs", "LANDLOCK_ACCESS_FS_???"),
    ("lockfcmds", "F_???"),
    ("madvise_cmds", "MADV_???"),
    ("mbind_flags", "MPOL_MF_???"),
    ("membarrier_cmds", "MEMBARRIER_CMD_???"),
    ("membarrier_flags", "MEMBARRIER_CMD_FLAG_???"),
    ("memfd_create_flags", "MFD_???"),
    ("memfd_secret_flags", "O_???"),
    ("mlock_flags", "MLOCK_???"),
    ("mlockall_flags", "MCL_???"),
    ("mmap_flags", "MAP_???"),
    ("mmap_prot", "PROT_???"),
    ("modetypes", "S_IF???"),
    ("module_init_flags", "MODULE_INIT_???"),
    ("mount_attr_attr", "MOUNT_ATTR_???"),
    ("mount_attr_propagation", "MS_???"),
    ("mount_flags", "MS_???"),
    ("mount_setattr_flags", "AT_???"),
    ("move_mount_flags", "MOVE_MOUNT_???"),
    ("move_pages_flags", "MPOL_MF_???"),
    ("mpol_mode_flags", "MPOL_???"),
    ("mpol_modes", "MPOL_???"),
    ("mq_attr_flags", "O_???"),
    ("mremap_flags", "MREMAP_???"),
    ("msg_flags", "MSG_???"),
    ("msgctl_flags", "MSG_???"),
    ("mctl_sync", "MS_???"),
    ("name_to_handle_at_flags", "AT_???"),
    ("netlink_protocols", "NETLINK_???"),
    ("nt_descriptor_types", "NT_???"),
    ("open_access_modes", "O_???"),
    ("open_mode_flags", "O_???"),
    ("open_resolve_flags", "RESOLVE_???"),
    ("open_tree_flags", "OPEN_TREE_???"),
    ("perf_event_open_flags", "PERF_FLAG_???"),
    ("personality_flags", None),
    ("personality_types", "PER_???"),
    ("pidfd_open_flags", "PIDFD_???"),
    ("pkey_access", "PKEY_???"),
    ("pollflags", "POLL???"),
    ("pr_cap_ambient", "PR_CAP_AMBIENT_???"),
    ("pr_dumpable", "SUID_DUMP_???"),
    ("pr_fp_mode", "PR_FP_MODE_???"),
    ("pr_mce_kill", "PR_MCE_KILL_???"),
    ("pr_mce_kill_policy", "PR_MCE_KILL_???"),
    ("pr_pac_enabled_keys", "PR_PAC_???"),
    ("pr_pac_keys", "PR_PAC_???"),
    ("pr_sched_core_cmds", "PR_SCHED_CORE_???"),
    ("pr_sched_core_pidtypes", "PIDTYPE_???"),
    ("pr_set_mm", "PR_SET_MM_???"),
    ("pr_set_vma", "PR_SET_VMA_???"),
    ("pr_spec_cmds", "PR_SPEC_???"),
    ("pr_spec_get_store_bypass_flags", "PR_SPEC_???"),
    ("pr_spec_set_store_bypass_flags", "PR_SPEC_???"),
    ("pr_sud_cmds", "PR_SYS_DISPATCH_???"),
    ("pr_tagged_addr_enable", "PR_TAGGED_ADDR_???"),
    ("pr_tagged_addr_mte_tcf", "PR_MTE_TCF_???"),
    ("pr_sve_vl_flags", "PR_SVE_???"),
    ("pr_sme_vl_flags", "PR_SME_???"),
    ("pr_tsc", "PR_TSC_???"),
    ("pr_unalign_flags", "PR_UNALIGN_???"),
    # arch_prctl's x86 extended-state components (decode/shape.rs): the
    # XFEATURE_* numbers and the XFEATURE_MASK_* bit masks.
    ("x86_xfeature_bits", "XFEATURE_???"),
    ("x86_xfeatures", "XFEATURE_MASK_???"),
    ("prctl_options", "PR_???"),
    ("priorities", "PRIO_???"),
    ("ptrace_cmds", "PTRACE_???"),
    ("ptrace_events", "PTRACE_EVENT_???"),
    ("ptrace_peeksiginfo_flags", "PTRACE_PEEKSIGINFO_???"),
    ("ptrace_setoptions_flags", "PTRACE_O_???"),
    ("ptrace_syscall_info_op", "PTRACE_SYSCALL_INFO_???"),
    ("rename_flags", "RENAME_???"),
    ("resources", "RLIMIT_???"),
    ("rwf_flags", "RWF_???"),
    ("sa_handler_values", None),
    ("sched_flags", "SCHED_FLAG_???"),
    ("schedulers", "SCHED_???"),
    ("seccomp_filter_flags", "SECCOMP_FILTER_FLAG_???"),
    ("seccomp_mode", "SECCOMP_MODE_???"),
    ("seccomp_ret_action", "SECCOMP_RET_???"),
    ("seccomp_ops", "SECCOMP_SET_MODE_???"),
    ("secbits", "SECBIT_???"),
    ("semctl_flags", "SEM_???"),
    ("semop_flags", "SEM_???"),
    ("setns_types", "CLONE_NEW???"),
    ("setsock_ip_options", "IP_???"),
    ("setsock_ipv6_options", "IPV6_???"),
    ("setsock_options", "SO_???"),
    ("sfd_flags", "SFD_???"),
    ("sg_io_dxfer_direction", "SG_DXFER_???"),
    ("sg_io_flags", "SG_FLAG_???"),
    ("sg_io_info", "SG_INFO_???"),
    ("shm_flags", "SHM_???"),
    ("shm_resource_flags", "SHM_???"),
    ("shmctl_flags", "SHM_???"),
    ("shutdown_modes", "SHUT_???"),
    ("sigact_flags", "SA_???"),
    ("sigaltstack_flags", "SS_???"),
    ("sigbus_codes", "BUS_???"),
    ("sigchld_codes", "CLD_???"),
    ("sigfpe_codes", "FPE_???"),
    ("sigill_codes", "ILL_???"),
    ("siginfo_codes", "SI_???"),
    ("sigpoll_codes", "POLL_???"),
    ("sigprocmaskcmds", "SIG_???"),
    ("sigsegv_codes", "SEGV_???"),
    ("sigsys_codes", "SYS_???"),
    ("sigtrap_codes", "TRAP_???"),
    ("sock_ip_options", "IP_???"),
    ("sock_ipv6_options", "IPV6_???"),
    ("sock_netlink_options", "NETLINK_???"),
    ("sock_options", "SO_???"),
    ("sock_packet_options", "PACKET_???"),
    ("sock_raw_options", "RAW_???"),
    # Its decoders (SMC_DIAG_SHUTDOWN, INET_DIAG_SHUTDOWN) name unknown bits so.
    ("sock_shutdown_flags", "???_SHUTDOWN"),
    ("sock_tcp_options", "TCP_???"),
    ("sock_type_flags", "SOCK_???"),
    ("sock_udp_options", "UDP_???"),
    ("socketcalls", "SYS_???"),
    ("socketlayers", "SOL_??"),
    ("socktypes", "SOCK_???"),
    ("splice_flags", "SPLICE_F_???"),
    ("statx_masks", "STATX_???"),
    ("swap_flags", "SWAP_FLAG_???"),
    ("sync_file_range_flags", "SYNC_FILE_RANGE_???"),
    ("syslog_action_type", "SYSLOG_ACTION_???"),
    ("syslog_console_levels", "LOGLEVEL_???"),
    ("timerfdflags", "TFD_???"),
    ("uffd_flags", "O_???"),
    ("umount_flags", "MNT_???"),
    ("unshare_flags", "CLONE_???"),
    ("uring_enter_flags", "IORING_ENTER_???"),
    # io_uring_register's argument (structs/io_uring_register.rs).
    ("uring_files_update_fds", None),
    ("uring_iowq_acct", "IO_WQ_???"),
    ("uring_op_flags", "IO_URING_OP_???"),
    ("uring_ops", "IORING_OP_???"),
    ("uring_register_opcodes", "IORING_REGISTER_???"),
    ("uring_register_rsrc_flags", "IORING_RSRC_REGISTER_???"),
    ("uring_restriction_opcodes", "IORING_RESTRICTION_???"),
    ("uring_sqe_flags", "IOSQE_???"),
    ("uring_setup_features", "IORING_FEAT_???"),
    ("uring_setup_flags", "IORING_SETUP_???"),
    ("usagewho", "RUSAGE_???"),
    ("wait4_options", "W???"),
    ("waitid_types", "P_???"),
    ("whence_codes", "SEEK_???"),
    ("xattrflags", "XATTR_???"),
    # quotactl (structs/quota.rs).
    ("quotacmds", "Q_???"),
    ("quotatypes", "???QUOTA"),
    ("quota_formats", "QFMT_VFS_???"),
    ("xfs_quota_flags", "FS_QUOTA_???"),
    ("xfs_dqblk_flags", "FS_???_QUOTA"),
    ("if_dqblk_valid", "QIF_???"),
    ("if_dqinfo_flags", "DQF_???"),
    ("if_dqinfo_valid", "IIF_???"),
    # ioctl, socket option and futex_waitv decoders (structs/ioctl*.rs, net).
    ("modem_flags", "TIOCM_???"),
    ("fs_ioc_flags", "FS_???_FL"),
    ("fiemap_flags", "FIEMAP_FLAG_???"),
    ("fs_xflags", "FS_XFLAG_???"),
    ("tcxonc_options", "TC???"),
    ("tcflsh_options", "TC???"),
    ("counter_ioctl_component_types", "COUNTER_COMPONENT_???"),
    ("counter_ioctl_event_types", "COUNTER_EVENT_???"),
    ("counter_ioctl_scopes", "COUNTER_SCOPE_???"),
    ("icmp_filter_flags", "ICMP_???"),
    ("packet_mreq_type", "PACKET_MR_???"),
    ("futex_waiter_flags", "FUTEX_???"),
    ("seccomp_ioctl_addfd_flags", "SECCOMP_ADDFD_FLAG_???"),
    ("seccomp_ioctl_resp_flags", "SECCOMP_USER_NOTIF_FLAG_???"),
    ("bpf_class", "BPF_???"),
    ("bpf_size", "BPF_???"),
    ("bpf_mode", "BPF_???"),
    ("bpf_op_alu", "BPF_???"),
    ("bpf_op_jmp", "BPF_???"),
    ("bpf_src", "BPF_???"),
    ("bpf_rval", "BPF_???"),
    ("bpf_miscop", "BPF_???"),
    ("skf_ad", "SKF_AD_???"),
    ("skf_off", "SKF_???"),
    ("sockopt_txrehash_vals", "SOCK_TXREHASH_???"),
    ("blkpg_ops", "BLKPG_???"),
    ("rtc_vl_flags", "RTC_VL_???"),
    ("rtc_params", "RTC_PARAM_???"),
    ("rtc_features", "1<<RTC_FEATURE_???"),
    ("rtc_backup_switch_modes", "RTC_BSM_???"),
    ("hdio_drive_cmds", "ATA_CMD_???"),
    ("hdio_ide_nice", "IDE_NICE_???"),
    ("hdio_busstates", "BUSSTATE_???"),
    ("term_iflags", "I???"),
    ("term_oflags", "O???"),
    ("term_lflags", "???"),
    ("term_cflags", "???"),
    ("term_cflags_csize", "CS?"),
    ("baud_options", "B???"),
    ("term_oflags_nldly", "NL?"),
    ("term_oflags_crdly", "CR?"),
    ("term_oflags_tabdly", "TAB?"),
    ("term_oflags_bsdly", "BS?"),
    ("term_oflags_vtdly", "VT?"),
    ("term_oflags_ffdly", "FF?"),
    ("term_line_discs", "N_???"),
    ("termios_cc", "V???"),
    # netlink messages (structs/netlink*.rs, nlattr.rs).
    ("netlink_types", "NLMSG_???"),
    ("netlink_flags", "NLM_F_???"),
    ("netlink_get_flags", "NLM_F_???"),
    ("netlink_new_flags", "NLM_F_???"),
    ("netlink_delete_flags", "NLM_F_???"),
    ("netlink_ack_flags", "NLM_F_???"),
    ("nlmsgerr_attrs", "NLMSGERR_ATTR_???"),
    ("nl_route_types", "RTM_???"),
    ("nl_audit_types", "AUDIT_???"),
    ("nl_crypto_types", "CRYPTO_MSG_???"),
    ("nl_selinux_types", "SELNL_MSG_???"),
    ("nl_sock_diag_types", "SOCK_DIAG_???"),
    ("nl_xfrm_types", "XFRM_MSG_???"),
    ("nl_netfilter_subsys_ids", "NFNL_SUBSYS_???"),
    ("nl_netfilter_msg_types", "NFNL_MSG_???"),
    ("nf_ctnetlink_msg_types", "IPCTNL_MSG_CT_???"),
    ("nf_ctnetlink_exp_msg_types", "IPCTNL_MSG_EXP_???"),
    ("nf_queue_msg_types", "NFQNL_MSG_???"),
    ("nf_ulog_msg_types", "NFULNL_MSG_???"),
    ("nf_osf_msg_types", "OSF_MSG_???"),
    ("nf_ipset_msg_types", "IPSET_CMD_???"),
    ("nf_acct_msg_types", "NFNL_MSG_ACCT_???"),
    ("nf_cttimeout_msg_types", "IPCTNL_MSG_TIMEOUT_???"),
    ("nf_cthelper_msg_types", "NFNL_MSG_CTHELPER_???"),
    ("nf_nftables_msg_types", "NFT_MSG_???"),
    ("nf_nft_compat_msg_types", "NFNL_MSG_COMPAT_???"),
    ("nf_hook_msg_types", "NFT_MSG_HOOK_???"),
    ("netfilter_versions", "NFNETLINK_???"),
    ("iffflags", "IFF_???"),
    ("ifaddrflags", "IFA_F_???"),
    ("routing_scopes", "RT_SCOPE_???"),
    ("routing_table_ids", "RT_TABLE_???"),
    ("routing_protocols", "RTPROT_???"),
    ("routing_types", "RTN_???"),
    ("routing_flags", "RTM_F_???"),
    ("rtnl_link_attrs", "IFLA_???"),
    ("rtnl_addr_attrs", "IFA_???"),
    ("rtnl_route_attrs", "RTA_???"),
    ("unix_diag_show", "UDIAG_SHOW_???"),
    ("unix_diag_attrs", "UNIX_DIAG_???"),
    ("tcp_states", "TCP_???"),
    ("tcp_state_flags", "1<<TCP_???"),
    ("inet_diag_extended_flags", "1<<INET_DIAG_???"),
    ("inet_diag_req_attrs", "INET_DIAG_REQ_???"),
    ("inet_diag_attrs", "INET_DIAG_???"),
    ("netlink_diag_show", "NDIAG_SHOW_???"),
    ("netlink_diag_attrs", "NETLINK_DIAG_???"),
    ("netlink_states", "NETLINK_???"),
    ("netlink_socket_flags", "NDIAG_FLAG_???"),
    ("packet_diag_show", "PACKET_SHOW_???"),
    ("packet_diag_attrs", "PACKET_DIAG_???"),
    ("af_packet_versions", "TPACKET_???"),
    ("packet_diag_info_flags", "PDI_???"),
    ("smc_diag_extended_flags", "1<<SMC_DIAG_???"),
    ("smc_diag_attrs", "SMC_DIAG_???"),
    ("smc_states", "SMC_???"),
    ("netlink_sk_meminfo_indices", "SK_MEMINFO_???"),
    ("neighbor_cache_entry_states", "NUD_???"),
    ("neighbor_cache_entry_flags", "NTF_???"),
    ("rtnl_neigh_attrs", "NDA_???"),
    ("fib_rule_actions", "FR_ACT_???"),
    ("fib_rule_flags", "FIB_RULE_???"),
    ("rtnl_rule_attrs", "FRA_???"),
    ("rtnl_neightbl_attrs", "NDTA_???"),
    ("rtnl_addrlabel_attrs", "IFAL_???"),
    ("rtnl_dcb_attrs", "DCB_ATTR_???"),
    ("rtnl_netconf_attrs", "NETCONFA_???"),
    ("rtnl_mdb_attrs", "MDBA_???"),
    ("rtnl_nsid_attrs", "NETNSA_???"),
    ("rtnl_nexthop_attrs", "NHA_???"),
    ("route_nexthop_flags", "RTNH_F_???"),
    ("rtnl_tc_attrs", "TCA_???"),
    ("rtnl_tc_action_attrs", "TCA_ACT_???"),
    ("rtnl_family", "RTNL_FAMILY_???"),
    ("inet_diag_bytecodes", "INET_DIAG_BC_???"),
    ("ip_type_of_services", "IPTOS_TOS_???"),
    ("ethernet_protocols", "ETH_P_???"),
    ("dcb_commands", "DCB_CMD_???"),
    ("smc_diag_mode", "SMC_DIAG_MODE_???"),
    ("smc_link_group_roles", "SMC_???"),
    ("smc_decl_codes", "SMC_CLC_DECL_???"),
    ("ifstats_attr_flags", "1<<IFLA_STATS_???"),
    ("rtnl_mdba_mdb_attrs", "MDBA_MDB_???"),
    ("rtnl_mdba_mdb_entry_attrs", "MDBA_MDB_ENTRY_???"),
    ("rtnl_mdba_mdb_eattr_attrs", "MDBA_MDB_EATTR_???"),
    ("rtnl_mdba_router_attrs", "MDBA_ROUTER_???"),
    ("rtnl_mdba_router_pattr_attrs", "MDBA_ROUTER_PATTR_???"),
    ("mdb_states", "MDB_???"),
    ("mdb_flags", "MDB_FLAGS_???"),
    ("multicast_router_types", "MDB_RTR_TYPE_???"),
    ("rtnl_tca_stats_attrs", "TCA_STATS_???"),
    ("rtnl_tca_stab_attrs", "TCA_STAB_???"),
    ("rtnl_tca_act_flags", "TCA_ACT_FLAGS_???"),
    ("rtnl_tca_act_hw_stats", "TCA_ACT_HW_STATS_???"),
    ("rtnl_neightbl_parms_attrs", "NDTPA_???"),
    ("rtnl_rta_metrics_attrs", "RTAX_???"),
    ("lwtunnel_encap_types", "LWTUNNEL_ENCAP_???"),
    ("rtnl_ifla_info_attrs", "IFLA_INFO_???"),
    ("rtnl_ifla_port_attrs", "IFLA_VF_PORT_???"),
    ("rtnl_ifla_vf_port_attrs", "IFLA_VF_PORT_???"),
    ("rtnl_ifla_xdp_attrs", "IFLA_XDP_???"),
    ("rtnl_ifla_xdp_attached_mode", "XDP_ATTACHED_???"),
    ("xdp_flags", "XDP_FLAGS_???"),
    ("rtnl_ifla_proto_down_reason_attrs", "IFLA_PROTO_DOWN_REASON_???"),
    ("rtnl_ifla_vfinfo_list_attrs", "IFLA_VF_INFO_???"),
    ("rtnl_ifla_vf_info_attrs", "IFLA_VF_???"),
    ("rtnl_ifla_vf_stats_attrs", "IFLA_VF_STATS_???"),
    ("rtnl_ifla_vf_vlan_list_attrs", "IFLA_VF_VLAN_INFO_???"),
    ("rtnl_ifla_vf_link_states", "IFLA_VF_LINK_STATE_???"),
    ("rtnl_ifla_brport_attrs", "IFLA_BRPORT_???"),
    ("rtnl_ifla_events", "IFLA_EVENT_???"),
    ("rtnl_ifla_ext_filter_flags", "RTEXT_FILTER_???"),
    ("rtnl_ifla_af_spec_inet_attrs", "IFLA_INET_???"),
    ("rtnl_ifla_af_spec_inet6_attrs", "IFLA_INET6_???"),
    ("inet6_if_flags", "IF_???"),
    ("in6_addr_gen_mode", "IN6_ADDR_GEN_MODE_???"),
    ("inet6_devconf_indices", "DEVCONF_???"),
    ("snmp_ip_stats", "IPSTATS_MIB_???"),
    ("snmp_icmp6_stats", "ICMP6_MIB_???"),
    ("rtnl_nexthop_grp_types", "NEXTHOP_GRP_TYPE_???"),
    ("rtnl_nha_res_group_attrs", "NHA_RES_GROUP_???"),
    ("rtnl_nha_res_bucket_attrs", "NHA_RES_BUCKET_???"),
    ("rtnl_neigh_fdb_ext_attrs", "NFEA_???"),
    ("fdb_notify_flags", "FDB_NOTIFY_???"),
    ("neighbor_cache_entry_ext_flags", "NTF_EXT_???"),
    ("ifstats_attrs", "IFLA_STATS_???"),
    ("ifstats_offload_attrs", "IFLA_OFFLOAD_XSTATS_???"),
    ("ifstats_xstats_type_attrs", "LINK_XSTATS_TYPE_???"),
    ("ifstats_xstats_bridge_attrs", "BRIDGE_XSTATS_???"),
    ("ifstats_xstats_bridge_mcast_indices", "BR_MCAST_DIR_???"),
    ("ifstats_xstats_bond_attrs", "BOND_XSTATS_???"),
    # strace's rtnl_stats.c names unknown 802.3ad counters BOND_XSTATS_???.
    ("ifstats_xstats_bond_3ad_attrs", "BOND_XSTATS_???"),
    ("ifstats_af_spec_mpls_attrs", "MPLS_STATS_???"),
    ("nl_bridge_vlan_flags", "BRIDGE_VLAN_INFO_???"),
    ("rtnl_ipmra_creport_attr", "IPMRA_CREPORT_???"),
    ("rtnl_ip6mra_creport_attr", "IP6MRA_CREPORT_???"),
    ("rtnl_ipmra_msg_types", "IGMPMSG_???"),
    ("rtnl_ip6mra_msg_types", "MRT6MSG_???"),
    ("rtnl_ifla_info_data_bridge_attrs", "IFLA_BR_???"),
    ("rtnl_ifla_br_boolopt_flags", "1<<BR_BOOLOPT_???"),
    ("rtnl_ifla_br_mcast_querier_attrs", "BRIDGE_QUERIER_???"),
    ("inet_diag_ulp_info_attrs", "INET_ULP_INFO_???"),
    ("inet_diag_ulp_info_tls_attrs", "TLS_INFO_???"),
    ("inet_diag_ulp_info_mptcp_attrs", "MPTCP_SUBFLOW_ATTR_???"),
    ("tls_info_versions", "TLS_???_VERSION"),
    ("tls_info_ciphers", "TLS_CIPHER_???"),
    ("tls_info_configs", "TLS_CONF_???"),
    ("mptcp_subflow_flags", "MPTCP_SUBFLOW_FLAG_???"),
    ("inet_diag_bpf_storage_attrs", "SK_DIAG_BPF_STORAGE_???"),
    ("inet_diag_bpf_storages_attrs", "SK_DIAG_BPF_STORAGE_???"),
    ("rtnl_ifla_info_data_tun_attrs", "IFLA_TUN_???"),
    ("tun_device_types", "IFF_???"),
    ("evdev_abs", "ABS_???"),
    ("evdev_ev", "EV_???"),
    ("evdev_autorepeat", "REP_???"),
    ("evdev_ff_status", "FF_STATUS_???"),
    ("evdev_ff_types", "FF_???"),
    ("evdev_keycode", "KEY_???"),
    ("evdev_leds", "LED_???"),
    ("evdev_misc", "MSC_???"),
    ("evdev_mtslots", "ABS_MT_???"),
    ("evdev_prop", "PROP_???"),
    ("evdev_relative_axes", "REL_???"),
    ("evdev_snd", "SND_???"),
    ("evdev_switch", "SW_???"),
    ("loop_flags_options", "LO_FLAGS_???"),
    ("loop_crypt_type_options", "LO_CRYPT_???"),
    ("nbd_ioctl_flags", "NBD_IOC_FLAG_???"),
    ("ubi_volume_types", "UBI_???_VOLUME"),
    ("ubi_volume_flags", "UBI_VOL_???"),
    ("ubi_volume_props", "UBI_VOL_PROP_???"),
    ("ubi_data_types", "UBI_???"),
    ("mtd_flags_options", "MTD_???"),
    ("mtd_type_options", "MTD_???"),
    ("mtd_mode_options", "MTD_OPS_???"),
    ("mtd_file_mode_options", "MTD_FILE_MODE_???"),
    ("mtd_otp_options", "MTD_OTP_???"),
    ("mtd_nandecc_options", "MTD_NANDECC_???"),
    ("perf_ioctl_flags", "PERF_IOC_FLAG_???"),
    ("uffd_api_features", "UFFD_FEATURE_???"),
    ("uffd_api_flags", "_UFFDIO_???"),
    ("uffd_copy_flags", "UFFDIO_COPY_???"),
    ("uffd_register_ioctl_flags", "UFFDIO_???"),
    ("uffd_register_mode_flags", "UFFDIO_REGISTER_MODE_???"),
    ("uffd_zeropage_flags", "UFFDIO_ZEROPAGE_???"),
    ("gpio_line_flags", "GPIOLINE_FLAG_???"),
    ("gpio_handle_flags", "GPIOHANDLE_REQUEST_???"),
    ("gpio_event_flags", "GPIOEVENT_REQUEST_???"),
    ("gpio_v2_line_flags", "GPIO_V2_LINE_FLAG_???"),
    ("gpio_v2_line_attr_ids", "GPIO_V2_LINE_ATTR_ID_???"),
    ("ptp_extts_flags", "PTP_???"),
    ("ptp_perout_flags", "PTP_PEROUT_???"),
    ("ptp_pin_funcs", "PTP_PF_???"),
    ("lirc_features", "LIRC_CAN_???"),
    ("lirc_modes", "LIRC_MODE_???"),
    ("fiemap_extent_flags", "FIEMAP_EXTENT_???"),
    ("sg_scsi_reset", "SG_SCSI_RESET_???"),
    ("audit_arch", "AUDIT_ARCH_???"),
]

# btrfs (ioctl type 0x94: structs/ioctl_btrfs.rs) and TEE (type 0xa4:
# structs/ioctl_tee.rs). btrfs_features_compat names nothing (the kernel
# defines no compat feature): its decoder prints the bits alone.
TABLES += [
    ("btrfs_balance_args", "BTRFS_BALANCE_ARGS_???"),
    ("btrfs_balance_ctl_cmds", "BTRFS_BALANCE_CTL_???"),
    ("btrfs_balance_flags", "BTRFS_BALANCE_???"),
    ("btrfs_balance_state", "BTRFS_BALANCE_STATE_???"),
    ("btrfs_compress_types", "BTRFS_COMPRESS_???"),
    ("btrfs_cont_reading_from_srcdev_mode", "BTRFS_IOCTL_DEV_REPLACE_CONT_READING_FROM_SRCDEV_MODE_???"),
    ("btrfs_csum_types", "BTRFS_CSUM_TYPE_???"),
    ("btrfs_defrag_flags", "BTRFS_DEFRAG_RANGE_???"),
    ("btrfs_dev_replace_cmds", "BTRFS_IOCTL_DEV_REPLACE_CMD_???"),
    ("btrfs_dev_replace_results", "BTRFS_IOCTL_DEV_REPLACE_RESULT_???"),
    ("btrfs_dev_replace_state", "BTRFS_IOCTL_DEV_REPLACE_STATE_???"),
    ("btrfs_dev_stats_flags", "BTRFS_DEV_STATS_???"),
    ("btrfs_dev_stats_values", None),
    ("btrfs_features_compat_ro", "BTRFS_FEATURE_COMPAT_RO_???"),
    ("btrfs_features_incompat", "BTRFS_FEATURE_INCOMPAT_???"),
    ("btrfs_fs_info_flags", "BTRFS_FS_INFO_FLAG_???"),
    ("btrfs_key_types", None),
    ("btrfs_logical_ino_args_flags", "BTRFS_LOGICAL_INO_ARGS_???"),
    ("btrfs_qgroup_ctl_cmds", "BTRFS_QUOTA_CTL_???"),
    ("btrfs_qgroup_inherit_flags", "BTRFS_QGROUP_INHERIT_???"),
    ("btrfs_qgroup_limit_flags", "BTRFS_QGROUP_LIMIT_???"),
    ("btrfs_qgroup_status_flags", "BTRFS_QGROUP_STATUS_FLAG_???"),
    ("btrfs_scrub_flags", "BTRFS_SCRUB_???"),
    ("btrfs_send_flags", "BTRFS_SEND_FLAGS_???"),
    ("btrfs_snap_flags_v2", "BTRFS_SUBVOL_???"),
    ("btrfs_space_info_flags", "BTRFS_SPACE_INFO_???"),
    ("btrfs_tree_objectids", None),
    ("tee_ioctl_gen_caps", "TEE_GEN_CAP_???"),
    ("tee_ioctl_impl_ids", "TEE_IMPL_ID_???"),
    ("tee_ioctl_login_types", "TEE_IOCTL_LOGIN_???"),
    ("tee_ioctl_optee_caps", "TEE_OPTEE_CAP_???"),
    ("tee_ioctl_origins", "TEEC_ORIGIN_???"),
    ("tee_ioctl_param_attr_types", "TEE_IOCTL_PARAM_ATTR_???"),
    ("tee_ioctl_shm_flags", "TEE_IOCTL_SHM_???"),
]


# Video4Linux2 (ioctl type 'V'): the tables of strace's v4l2 decoder.
V4L2_TABLES = [
    ("v4l2_buf_flags", "V4L2_BUF_FLAG_???"),
    ("v4l2_buf_flags_ts_src", "V4L2_BUF_FLAG_TSTAMP_SRC_???"),
    ("v4l2_buf_flags_ts_type", "V4L2_BUF_FLAG_TIMESTAMP_???"),
    ("v4l2_buf_types", "V4L2_BUF_TYPE_???"),
    ("v4l2_capture_modes", "V4L2_MODE_???"),
    ("v4l2_colorspaces", "V4L2_COLORSPACE_???"),
    ("v4l2_control_classes", "V4L2_CTRL_CLASS_???"),
    ("v4l2_control_flags", "V4L2_CTRL_FLAG_???"),
    ("v4l2_control_ids", "V4L2_CID_???"),
    ("v4l2_control_query_flags", "V4L2_CTRL_FLAG_NEXT_???"),
    ("v4l2_control_types", "V4L2_CTRL_TYPE_???"),
    ("v4l2_device_capabilities_flags", "V4L2_CAP_???"),
    ("v4l2_fields", "V4L2_FIELD_???"),
    ("v4l2_format_description_flags", "V4L2_FMT_FLAG_???"),
    ("v4l2_frameinterval_types", "V4L2_FRMIVAL_TYPE_???"),
    ("v4l2_framesize_types", "V4L2_FRMSIZE_TYPE_???"),
    ("v4l2_input_types", "V4L2_INPUT_TYPE_???"),
    ("v4l2_memories", "V4L2_MEMORY_???"),
    ("v4l2_meta_fmts", None),
    ("v4l2_pix_fmts", None),
    ("v4l2_sdr_fmts", None),
    ("v4l2_sliced_flags", "V4L2_SLICED_???"),
    ("v4l2_streaming_capabilities", "V4L2_CAP_???"),
    ("v4l2_tuner_audmodes", "V4L2_TUNER_MODE_???"),
    ("v4l2_tuner_capabilities", "V4L2_TUNER_CAP_???"),
    ("v4l2_tuner_rxsubchanses", "V4L2_TUNER_SUB_???"),
    ("v4l2_tuner_types", "V4L2_TUNER_???"),
    ("v4l2_vbi_flags", "V4L2_VBI_???"),
]
TABLES += V4L2_TABLES

# Tables of header constants that no xlat file lists (the names only; the
# values come from the uapi headers): the bit fields strace masks with.
HEADER_ONLY_TABLES = {
    "v4l2_buf_flag_masks": ["V4L2_BUF_FLAG_TIMESTAMP_MASK", "V4L2_BUF_FLAG_TSTAMP_SRC_MASK"],
}
TABLES += [(t, None) for t in HEADER_ONLY_TABLES]
# fcntl's F_NOTIFY argument (decode/shape.rs).
TABLES += [
    ("notifyflags", "DN_???"),
    ("dirent_types", "DT_???"),
]
# bpf(2)'s attribute fields (structs/bpf_attr.rs).
TABLES += [
    ("bpf_prog_types", "BPF_PROG_TYPE_???"),
    ("bpf_prog_flags", "BPF_F_???"),
    ("bpf_attach_type", "BPF_???"),
    ("bpf_map_types", "BPF_MAP_TYPE_???"),
    ("bpf_map_flags", "BPF_F_???"),
    ("bpf_map_lookup_elem_flags", "BPF_???"),
    ("bpf_map_update_elem_flags", "BPF_???"),
    ("bpf_file_mode_flags", "BPF_F_???"),
    ("bpf_attach_flags", "BPF_F_???"),
    ("bpf_query_flags", "BPF_F_QUERY_???"),
    ("bpf_task_fd_type", "BPF_FD_TYPE_???"),
    ("bpf_test_run_flags", "BPF_F_???"),
    ("bpf_link_create_kprobe_multi_flags", "BPF_F_???"),
    ("ebpf_class", "BPF_???"),
    ("ebpf_size", "BPF_???"),
    ("ebpf_mode", "BPF_???"),
    ("ebpf_op_alu", "BPF_???"),
    ("ebpf_op_jmp", "BPF_???"),
    ("ebpf_regs", "BPF_REG_???"),
    ("numa_node", None),
]
# perf_event_open's and PERF_EVENT_IOC_MODIFY_ATTRIBUTES' struct
# perf_event_attr (structs/perf_attr.rs).
TABLES += [
    ("perf_type_id", "PERF_TYPE_???"),
    ("perf_attr_size", "PERF_ATTR_SIZE_???"),
    ("perf_hw_id", "PERF_COUNT_HW_???"),
    ("perf_sw_ids", "PERF_COUNT_SW_???"),
    ("perf_hw_cache_id", "PERF_COUNT_HW_CACHE_???"),
    ("perf_hw_cache_op_id", "PERF_COUNT_HW_CACHE_OP_???"),
    ("perf_hw_cache_op_result_id", "PERF_COUNT_HW_CACHE_RESULT_???"),
    ("perf_event_sample_format", "PERF_SAMPLE_???"),
    ("perf_event_read_format", "PERF_FORMAT_???"),
    ("perf_branch_sample_type", "PERF_SAMPLE_BRANCH_???"),
    ("hw_breakpoint_type", "HW_BREAKPOINT_???"),
]
# Device-mapper ioctls' struct dm_ioctl (structs/ioctl_dm.rs).
TABLES += [
    ("dm_flags", "DM_???"),
]
# The socket address families' fields (connect, bind, accept...:
# crates/linux/src/structs/sockaddr_fam.rs), kept in a block of their own.
SOCKADDR_TABLES = [
    ("af_packet_types", "PACKET_???"),
    ("rxrpc_services", "???_SERVICE"),
    ("ieee802154_addr_types", "IEEE802154_ADDR_???"),
    ("ieee802154_pan_ids", None),
    ("ieee802154_addrs", None),
    ("alg_sockaddr_flags", "CRYPTO_ALG_???"),
    ("nfc_sockaddr_protocols", "NFC_PROTO_???"),
    ("nfc_saps", None),
    ("vsock_cids", None),
    ("vsock_ports", None),
    ("vsock_flags", "VMADDR_FLAG_???"),
    ("qipcrtr_nodes", None),
    ("qipcrtr_ports", None),
    ("xdp_sockaddr_flags", "XDP_???"),
    ("mctp_nets", None),
    ("mctp_addrs", None),
    ("hci_channels", "HCI_CHANNEL_???"),
    ("bdaddr_types", "BDADDR_???"),
    ("bluetooth_l2_psm", "L2CAP_PSM_???"),
    ("bluetooth_l2_cid", "L2CAP_CID_???"),
]
TABLES += SOCKADDR_TABLES

ARCHES = ("x86_64", "i386")


def locate_src():
    out = subprocess.run(
        [os.path.join(ROOT, "scripts/strace-conformance.sh"), "--fetch-only"],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    for line in out.splitlines():
        if line.startswith("SRC="):
            return line[4:]
    sys.exit("gen-xlat: strace-conformance.sh --fetch-only printed no SRC=")


# ---- header definitions ----------------------------------------------------

HEADER_DIRS = [
    "/usr/include/x86_64-linux-gnu/asm",
    "/usr/include/linux",
    "/usr/include/asm-generic",
    "/usr/include/mtd",
    "/usr/include/scsi",
    "/usr/include/x86_64-linux-gnu/bits",
]

# getdents' d_type values: glibc's <dirent.h> (the kernel's uapi has
# none), after every directory so that it decides no other name.
HEADER_DIRS += ["/usr/include/dirent.h"]

DEFINE_RE = re.compile(r"^\s*#\s*define\s+([A-Za-z_]\w*)\s+(.+?)\s*$")
ENUM_RE = re.compile(r"\benum\b[^{;]*\{([^}]*)\}", re.S)


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


FUNC_DEFINE_RE = re.compile(r"^\s*#\s*define\s+([A-Za-z_]\w*)\(([\w\s,]*)\)\s+(.+?)\s*$")


# Architecture macros of the kernel headers that are never x86's.
FOREIGN_ARCHES = ("__ia64__", "__mips__", "__sparc__", "__alpha__", "__hppa__",
                  "__powerpc__", "__powerpc64__", "__s390__", "__s390x__",
                  "__arm__", "__aarch64__", "__bfin__", "__riscv", "__loongarch__",
                  "__sh__", "__m68k__", "__xtensa__", "__arc__", "__csky__")


def foreign_arch_cond(kw, arg):
    """True when an `#if`/`#ifdef` holds only on another architecture,
    None when it is not (or cannot be) decided here."""
    arg = arg.strip()
    if kw == "ifdef" and arg in FOREIGN_ARCHES:
        return True
    m = re.match(r"^defined\s*\(?\s*(\w+)\s*\)?$", arg)
    if kw == "if" and m and m.group(1) in FOREIGN_ARCHES:
        return True
    return None


def header_defines():
    """(NAME -> expression text, NAME -> (params, body) of function-like
    macros), first definition in HEADER_DIRS order."""
    defs = {}
    funcs = {}
    enums = {}
    for d in HEADER_DIRS:
        files = [d] if os.path.isfile(d) else []
        for dirpath, _, names in os.walk(d):
            files += [os.path.join(dirpath, n) for n in names if n.endswith(".h")]
        for f in sorted(files):
            try:
                text = strip_comments(open(f, encoding="latin-1").read())
            except OSError:
                continue
            text = text.replace("\\\n", " ")
            # Definitions under another architecture's branch (asm-generic's
            # `#ifdef __ia64__ ... #else ... #endif`) are not x86's.
            stack = []
            for line in text.splitlines():
                d = re.match(r"^\s*#\s*(if|ifdef|ifndef|elif|else|endif)\b(.*)$", line)
                if d:
                    kw, arg = d.group(1), d.group(2).strip()
                    if kw in ("if", "ifdef", "ifndef"):
                        foreign = foreign_arch_cond(kw, arg)
                        stack.append(foreign)
                    elif kw in ("elif", "else") and stack:
                        # The branch after a foreign one is x86's (or unknown).
                        stack[-1] = False if stack[-1] else None
                    elif kw == "endif" and stack:
                        stack.pop()
                    continue
                if any(stack):
                    continue
                m = DEFINE_RE.match(line)
                if m and m.group(1) not in defs and m.group(2) != m.group(1):
                    defs[m.group(1)] = m.group(2)
                m = FUNC_DEFINE_RE.match(line)
                if m and m.group(1) not in funcs:
                    params = [a.strip() for a in m.group(2).split(",") if a.strip()]
                    funcs[m.group(1)] = (params, m.group(3))
            for m in ENUM_RE.finditer(text):
                prev = None
                body = "\n".join(l for l in m.group(1).splitlines() if not l.strip().startswith("#"))
                for item in body.split(","):
                    item = item.strip()
                    if not item or item.startswith("#"):
                        continue
                    mm = re.match(r"([A-Za-z_]\w*)\s*(?:=\s*(.+))?$", item, re.S)
                    if not mm:
                        prev = None
                        continue
                    name, expr = mm.group(1), mm.group(2)
                    if expr is None:
                        expr = "0" if prev is None else "(%s) + 1" % prev
                    expr = " ".join(expr.split())
                    enums.setdefault(name, expr)
                    prev = name
    for k, v in enums.items():
        defs.setdefault(k, v)
    return defs, funcs


CAST_RE = re.compile(r"\((?:\s*(?:const|unsigned|signed|int|long|short|char|void|__\w+|\w+_t)\s*\**)+\)")
FUNCS = {}


def expand_funcs(expr):
    """Expands function-like macros (one argument list level at a time)."""
    for _ in range(10):
        changed = False
        for m in re.finditer(r"([A-Za-z_]\w*)\s*\(([^()]*)\)", expr):
            f = FUNCS.get(m.group(1))
            if not f:
                continue
            params, body = f
            args = [a.strip() for a in m.group(2).split(",")]
            if len(args) != len(params):
                continue
            # A plain token or a character constant goes in bare, so that
            # a macro it is passed on to (`_AC(x, ULL)`, `v4l2_fourcc`)
            # still sees an argument list without nested parentheses. All
            # parameters are replaced in one pass: an argument (`'b'`) is
            # never taken for a later parameter's name.
            subst = {
                p: a if re.fullmatch(r"\w+|'[^'\\]'", a) else "(%s)" % a
                for p, a in zip(params, args)
            }
            if subst:
                names = "|".join(re.escape(p) for p in subst)
                body = re.sub(r"(?<!')\b(%s)\b(?!')" % names, lambda x: subst[x.group(1)], body)
            expr = expr[: m.start()] + "(" + body + ")" + expr[m.end():]
            changed = True
            break
        if not changed:
            break
    return expr


# ---- expression evaluation -------------------------------------------------

TOKEN_RE = re.compile(r"'[^'\\]'|0[xX][0-9a-fA-F]+[uUlL]*|\d+[uUlL]*|[A-Za-z_]\w*|<<|>>|\S")


# <stdint.h> limits an xlat file may name (see Lookup.lookup).
C_LIMITS = {"UINT32_MAX": 2**32 - 1, "UINT64_MAX": 2**64 - 1}


class Unresolved(Exception):
    pass


def evaluate(expr, lookup, depth=0):
    if depth > 40:
        raise Unresolved(expr)
    out = []
    expr = CAST_RE.sub(" ", expand_funcs(expr))
    toks = TOKEN_RE.findall(expr)
    # An `unsigned int` literal (`-1U`, numa_node's NUMA_NO_NODE) makes
    # the expression unsigned int: a negative result wraps to 32 bits.
    unsigned32 = any(re.fullmatch(r"(0[xX][0-9a-fA-F]+|\d+)[uU]", t) for t in toks)
    i = 0
    while i < len(toks):
        t = toks[i]
        if len(t) == 3 and t[0] == "'" and t[2] == "'":
            # A character constant (`XQM_CMD(x)` is `('X'<<8)+(x)`).
            out.append(str(ord(t[1])))
        elif re.match(r"0[xX]", t):
            out.append(str(int(t.rstrip("uUlL"), 16)))
        elif t[0].isdigit():
            t = t.rstrip("uUlL")
            out.append(str(int(t, 8) if len(t) > 1 and t[0] == "0" else int(t)))
        elif re.match(r"[A-Za-z_]", t):
            # Casts and type words: (unsigned int), (int), (__u32)...
            if t in ("unsigned", "int", "long", "signed", "short", "char",
                     "__u32", "__u64", "__s32", "__u16", "__u8", "uint32_t",
                     "uint64_t", "int32_t", "__kernel_ulong_t", "__kernel_long_t",
                     "__le32", "__be32"):
                out.append("")
            else:
                v = lookup(t, depth + 1)
                if v is None:
                    raise Unresolved(t)
                out.append("(%d)" % v)
        elif t == "/":
            out.append("//")
        elif t in ("&&", "||"):
            out.append({"&&": " and ", "||": " or "}[t])
        elif t == "!":
            out.append(" not ")
        else:
            out.append(t)
        i += 1
    text = "".join(out)
    # Empty casts leave "()" behind: drop them.
    text = text.replace("()", "")
    try:
        v = eval(text, {"__builtins__": {}}, {})  # noqa: S307 (digits and operators only)
    except Exception as e:  # noqa: BLE001
        raise Unresolved("%s (%s)" % (expr, e))
    if isinstance(v, bool):
        v = int(v)
    if unsigned32 and v < 0:
        v &= 0xFFFFFFFF
    return v


class Symbols:
    """Values of names: the xlat files' own, then the headers'."""

    def __init__(self, xlat_values, headers):
        self.xlat = xlat_values
        self.headers = headers
        self.cache = {}

    def lookup(self, name, depth=0):
        if name in self.cache:
            return self.cache[name]
        expr = self.xlat.get(name)
        if expr is None:
            expr = self.headers.get(name)
        if expr is None:
            # <stdint.h>'s limits, which btrfs' tables list by name
            # (btrfs_key_types' UINT32_MAX, btrfs_tree_objectids'
            # UINT64_MAX): no uapi header defines them.
            return C_LIMITS.get(name)
        try:
            v = evaluate(expr, self.lookup, depth)
        except Unresolved:
            return None
        self.cache[name] = v
        return v


# ---- xlat files ----------------------------------------------------------

# Macros the kernel's uapi headers define (filled by build_tables): an
# xlat file's `#ifndef WSTOPPED` holds for a libc without the name only.
HEADER_MACROS = set()


def cond_true(cond, arch):
    """Evaluates an `#if` condition for `arch` (defined-tests only)."""
    defined = {"__x86_64__", "X86_64"} if arch == "x86_64" else {"__i386__", "I386"}
    defined = defined | {m for m in HEADER_MACROS if not m.startswith("__")}
    c = re.sub(r"defined\s*\(\s*(\w+)\s*\)", r"defined \1", cond)
    c = re.sub(r"defined\s+(\w+)", lambda m: " 1 " if m.group(1) in defined else " 0 ", c)
    c = c.replace("&&", " and ").replace("||", " or ")
    c = re.sub(r"!(?!=)", " not ", c)
    # Remaining identifiers (SIZEOF_LONG...): unknown, false.
    c = re.sub(r"[A-Za-z_]\w*", lambda m: m.group(0) if m.group(0) in ("and", "or", "not") else "0", c)
    try:
        return bool(eval(c, {"__builtins__": {}}, {}))  # noqa: S307
    except Exception:  # noqa: BLE001
        return False


def parse_xlat(path, arch):
    """[(name, expr or None)] of one .in file for one arch."""
    entries = []
    stack = []  # (this branch active, some branch taken)
    active = True
    for raw in strip_comments(open(path, encoding="latin-1").read()).splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            words = line[1:].strip().split(None, 1)
            d = words[0] if words else ""
            arg = words[1] if len(words) > 1 else ""
            if d in ("if", "ifdef", "ifndef"):
                if d == "ifdef":
                    t = cond_true("defined " + arg, arch)
                elif d == "ifndef":
                    t = not cond_true("defined " + arg, arch)
                else:
                    t = cond_true(arg, arch)
                stack.append((active, t))
                active = active and t
            elif d == "elif":
                outer, taken = stack[-1]
                t = (not taken) and cond_true(arg, arch)
                stack[-1] = (outer, taken or t)
                active = outer and t
            elif d == "else":
                outer, taken = stack[-1]
                stack[-1] = (outer, True)
                active = outer and not taken
            elif d == "endif":
                outer, _ = stack.pop()
                active = outer
            continue
        if not active:
            continue
        # `1 << NAME` (spaces around the shift): the whole line is the
        # name strace prints, its value the shift of NAME's.
        m = re.match(r"^1\s+<<\s+([A-Za-z_]\w*)$", line)
        if m:
            entries.append((line, "1 << " + m.group(1)))
            continue
        m = re.match(r"(\S+)(?:\s+(.+))?$", line)
        name, expr = m.group(1), m.group(2)
        entries.append((name, expr))
    return entries


def rust_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def camel(name):
    parts = re.split(r"[_\W]+", name)
    s = "".join(p[:1].upper() + p[1:] for p in parts if p)
    if s[0].isdigit():
        s = "T" + s
    return s


def common_prefix_dflt(names):
    names = [n for n in names if re.match(r"^[A-Z_0-9]+$", n)]
    if not names:
        return ""
    p = os.path.commonprefix(names)
    cut = p.rfind("_")
    return p[: cut + 1] + "???" if cut > 0 else ""


def decoder_sources(src):
    """The text of each of strace's decoders (src/*.c), comments
    stripped, in name order."""
    sdir = os.path.join(src, "src")
    for fn in sorted(os.listdir(sdir)):
        if not fn.endswith(".c"):
            continue
        try:
            yield strip_comments(open(os.path.join(sdir, fn), encoding="latin-1").read())
        except OSError:
            continue


def decoder_funcs(src):
    """NAME -> (params, body) of the function-like macros of strace's
    decoders (src/*.c), for the xlat values written with them."""
    funcs = {}
    for text in decoder_sources(src):
        for line in text.replace("\\\n", " ").splitlines():
            m = FUNC_DEFINE_RE.match(line)
            if m and m.group(1).endswith("_CMD") and m.group(1) not in funcs:
                params = [a.strip() for a in m.group(2).split(",") if a.strip()]
                funcs[m.group(1)] = (params, m.group(3))
    return funcs


def decoder_values(src, names):
    """NAME -> value of the object-like macros of strace's decoders
    (src/*.c) for the xlat names `names` no header defines (dm_flags'
    DM_EXISTS_FLAG, which dm.c takes from lvm2): facts of strace's source,
    a plain number only."""
    values = {}
    for text in decoder_sources(src):
        for line in text.splitlines():
            m = DEFINE_RE.match(line)
            if m and m.group(1) in names and re.fullmatch(r"0[xX][0-9a-fA-F]+|\d+", m.group(2)):
                values.setdefault(m.group(1), m.group(2))
    return values


def expression_entry(name, expr, lookup):
    """The value of an entry named by an expression (`LOGLEVEL_DEBUG+1  7`,
    `IPV4_DEVCONF_FORWARDING-1  1`): as strace's generator reads it, the
    value column defines the name's identifier, and the entry is worth the
    name's expression (8 and 0 here, not 7 and 1)."""
    ident = re.search(r"[A-Za-z_]\w*", name)
    if ident is None:
        return evaluate(expr, lookup)
    ident = ident.group(0)

    def with_ident(n, depth=0):
        v = lookup(n, depth)
        if v is None and n == ident:
            return evaluate(expr, lookup)
        return v

    try:
        return evaluate(name, with_ident)
    except Unresolved:
        return evaluate(expr, lookup)


def build_tables(src, warnings):
    xdir = os.path.join(src, "src/xlat")
    headers, funcs = header_defines()
    FUNCS.update(funcs)
    # Function-like macros an xlat file uses that the decoder including it
    # defines, not a header (quotacmds' OLD_CMD/NEW_CMD: the encodings of
    # the old and the new quota commands): facts of strace's source too.
    for name, f in decoder_funcs(src).items():
        FUNCS.setdefault(name, f)
    HEADER_MACROS.update(headers)
    per_arch = {}
    for arch in ARCHES:
        # First pass: every explicit value of every xlat file, for this arch.
        values = {}
        parsed = {}
        for fn in sorted(os.listdir(xdir)):
            if not fn.endswith(".in"):
                continue
            ents = parse_xlat(os.path.join(xdir, fn), arch)
            parsed[fn[:-3]] = ents
            for name, expr in ents:
                if expr is not None and re.match(r"^[A-Za-z_]\w*$", name):
                    values.setdefault(name, expr)
        for table, names in HEADER_ONLY_TABLES.items():
            parsed[table] = [(n, None) for n in names]
        wanted = {n for table, _ in TABLES for n, e in parsed.get(table, []) if e is None}
        missing = {n for n in wanted if n not in headers and n not in values}
        for n, v in decoder_values(src, missing).items():
            values.setdefault(n, v)
        syms = Symbols(values, headers)
        tabs = {}
        for table, _ in TABLES:
            if table not in parsed:
                warnings.append("no xlat file %s.in" % table)
                continue
            out = []
            for name, expr in parsed[table]:
                try:
                    if expr is not None and not re.match(r"^[A-Za-z_]\w*$", name):
                        v = expression_entry(name, expr, syms.lookup)
                    elif expr is not None:
                        v = evaluate(expr, syms.lookup)
                    elif re.match(r"^[A-Za-z_]\w*$", name):
                        v = syms.lookup(name)
                        if v is None:
                            raise Unresolved(name)
                    else:
                        # `A|B`: an expression of names is its own value.
                        v = evaluate(name, syms.lookup)
                except Unresolved as e:
                    if arch == "x86_64":
                        warnings.append("%s: %s unresolved (%s)" % (table, name, e))
                    continue
                out.append((v & 0xFFFFFFFFFFFFFFFF, name))
            tabs[table] = out
        per_arch[arch] = tabs
    return per_arch


def gen_tables_rs(per_arch, src_version):
    lines = [
        "// @generated by scripts/gen-xlat.py from strace %s's src/xlat/*.in" % src_version,
        "// (names and values) and the linux-libc-dev uapi headers. Do not edit:",
        "// change the TABLES list in the script and run `python3 scripts/gen-xlat.py`.",
        "//! Named-constant tables (generated; see `scripts/gen-xlat.py`).",
        "",
        "use serde::{Deserialize, Serialize};",
        "",
        "use super::Xlat;",
        "",
    ]
    variants = []
    for table, dflt in TABLES:
        if table not in per_arch["x86_64"]:
            continue
        x = per_arch["x86_64"][table]
        i = per_arch["i386"][table]
        if dflt is None:
            dflt = common_prefix_dflt([n for _, n in x]) or "???"
        ident = table.upper()
        lines.append("/// strace's `%s` on x86_64." % table)
        lines.append("pub(crate) const %s_X86_64: &[(u64, &str)] = &[" % ident)
        for v, n in x:
            lines.append("    (%#x, %s)," % (v, rust_str(n)))
        lines.append("];")
        i_ref = "%s_X86_64" % ident
        if i != x:
            i_ref = "%s_I386" % ident
            lines.append("/// strace's `%s` on i386." % table)
            lines.append("pub(crate) const %s_I386: &[(u64, &str)] = &[" % ident)
            for v, n in i:
                lines.append("    (%#x, %s)," % (v, rust_str(n)))
            lines.append("];")
        lines.append("static %s: Xlat = Xlat {" % ident)
        lines.append("    name: %s," % rust_str(table))
        lines.append("    dflt: %s," % rust_str(dflt))
        lines.append("    x86_64: %s_X86_64," % ident)
        lines.append("    i386: %s," % i_ref)
        lines.append("};")
        lines.append("")
        variants.append((table, camel(table), ident))
    lines.append("/// A named-constant table, as named in `data/prototypes.txt`")
    lines.append("/// (`xlat(resources)`): one per strace xlat file generated.")
    lines.append("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]")
    lines.append("pub enum Table {")
    for table, cam, _ in variants:
        lines.append("    /// strace's `%s` table." % table)
        lines.append("    %s," % cam)
    lines.append("}")
    lines.append("")
    lines.append("impl Table {")
    lines.append("    /// Every table, in generation order.")
    lines.append("    pub const ALL: [Table; %d] = [" % len(variants))
    for _, cam, _ in variants:
        lines.append("        Table::%s," % cam)
    lines.append("    ];")
    lines.append("")
    lines.append("    /// The table's names and values.")
    lines.append("    pub fn xlat(self) -> &'static Xlat {")
    lines.append("        match self {")
    for _, cam, ident in variants:
        lines.append("            Table::%s => &%s," % (cam, ident))
    lines.append("        }")
    lines.append("    }")
    lines.append("")
    lines.append("    /// The table of the xlat file `name` (`resources`).")
    lines.append("    pub fn from_name(name: &str) -> Option<Table> {")
    lines.append("        Some(match name {")
    for table, cam, _ in variants:
        lines.append("            %s => Table::%s," % (rust_str(table), cam))
    lines.append("            _ => return None,")
    lines.append("        })")
    lines.append("    }")
    lines.append("}")
    return "\n".join(lines) + "\n"


IOCTL_RE = re.compile(r'\{\s*"[^"]*",\s*"(\w+)",\s*([^,]+),\s*([0-9a-fA-FxX()<>| ]+),\s*(0x[0-9a-fA-F]+|\d+)\s*\}')
NUM_EXPR_RE = re.compile(r"^[0-9a-fA-FxX()<>| ]+$")


def num_expr(text):
    """The value of a type-and-number field: a hex number, or an
    expression of numbers, shifts and ors (ioctls_zfs.h's
    `(0x12 << 8) | 125`)."""
    if not NUM_EXPR_RE.match(text):
        raise ValueError(text)
    return eval(text, {"__builtins__": {}})  # digits and operators only
IOC_DIR = {"0": 0, "_IOC_NONE": 0, "_IOC_WRITE": 1, "_IOC_READ": 2}


def ioctl_entries(paths):
    seen = {}
    for p in paths:
        for m in IOCTL_RE.finditer(open(p, encoding="latin-1").read()):
            name, d, tnr, size = m.groups()
            dv = 0
            for part in d.split("|"):
                dv |= IOC_DIR.get(part.strip(), 0)
            code = (dv << 30) | (int(size, 0) << 16) | num_expr(tnr)
            seen.setdefault((code, name), None)
    return sorted(seen)


def gen_ioctls_rs(src, src_version):
    l = os.path.join(src, "src/linux")
    # OpenZFS's requests, which strace lists on every architecture.
    zfs = os.path.join(src, "src/ioctls_zfs.h")
    x = ioctl_entries([os.path.join(l, "64/ioctls_inc.h"), os.path.join(l, "x86_64/ioctls_arch0.h"), zfs])
    i = ioctl_entries([os.path.join(l, "32/ioctls_inc_align32.h"), os.path.join(l, "i386/ioctls_arch0.h"), zfs])
    both = sorted(set(x) & set(i))
    only_x = sorted(set(x) - set(i))
    only_i = sorted(set(i) - set(x))
    lines = [
        "// @generated by scripts/gen-xlat.py from strace %s's lists of the kernel's" % src_version,
        "// ioctl definitions (src/linux/{64,32}/ioctls_inc*.h, */ioctls_arch0.h). Do not",
        "// edit: run `python3 scripts/gen-xlat.py`.",
        "//! ioctl request names by number (generated): the requests both ABIs",
        "//! share, then each ABI's own (structure sizes differ), each list",
        "//! sorted by number.",
        "",
    ]

    def table(name, doc, entries):
        out = ["/// %s" % doc, "pub static %s: &[(u32, &str)] = &[" % name]
        out += ["    (%#x, %s)," % (c, rust_str(n)) for c, n in entries]
        return out + ["];", ""]

    lines += table("IOCTLS_COMMON", "Requests with the same number on x86_64 and i386.", both)
    lines += table("IOCTLS_X86_64", "Requests only x86_64 has at these numbers.", only_x)
    lines += table("IOCTLS_I386", "Requests only i386 has at these numbers (32-bit sizes).", only_i)
    lines = lines[:-1]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", help="strace source directory (default: fetched)")
    ap.add_argument("--check", action="store_true", help="compare with the committed files")
    ap.add_argument("--verbose", action="store_true", help="list unresolved names")
    args = ap.parse_args()
    src = args.src or locate_src()
    version = os.path.basename(os.path.normpath(src)).replace("strace-", "")
    warnings = []
    per_arch = build_tables(src, warnings)
    outputs = {
        OUT_TABLES: gen_tables_rs(per_arch, version),
        OUT_IOCTLS: gen_ioctls_rs(src, version),
    }
    if args.verbose:
        for w in warnings:
            print("gen-xlat: " + w, file=sys.stderr)
    else:
        print("gen-xlat: %d names unresolved (--verbose lists them)" % len(warnings), file=sys.stderr)
    status = 0
    for path, text in outputs.items():
        if args.check:
            old = open(path).read() if os.path.exists(path) else ""
            if old != text:
                print("gen-xlat: %s is out of date" % path, file=sys.stderr)
                status = 1
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
    sys.exit(status)


if __name__ == "__main__":
    main()
