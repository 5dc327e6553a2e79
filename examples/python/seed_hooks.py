# The seed's Python hook, unchanged: on NtCreateFile entry, the object's
# name and the access asked for go into the call's record (`hook`).
#   vstrace run --os windows ... --json --hooks examples/python/seed_hooks.py
# ObjectAttributes and FileAccessMask are provided to the file (also
# `from vstrace import ObjectAttributes, FileAccessMask`).

def enter_NtCreateFile(syscall):
    KeyHandle, DesiredAccess, object_attributes = syscall.collect_args(3)
    obj = ObjectAttributes(object_attributes, syscall.process)
    buffer = obj.ObjectName.Buffer
    access = FileAccessMask(DesiredAccess)
    syscall.hook = {
        'object_name': buffer,
        'access': access.rights
    }

# NtOpenFile takes the same first three arguments.
enter_NtOpenFile = enter_NtCreateFile
