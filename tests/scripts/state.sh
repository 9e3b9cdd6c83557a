# state: what a command may change in a sandbox, as text that compares
# equal across runs (no inode numbers, mount ids or times), so that a run
# of rnetns can be held against a run of iproute2 on the same input and
# a refused command against the state before it. It covers the run dir
# itself (type, mode, owner), its entries (mode, owner, name or symlink
# target) and the mounts at and under /run and /etc (mount point and the
# two fields after the optional ones: type and source). Shared by the
# sandboxed tests through sandbox::STATE_FN.
state() {
  {
    stat -c '%F %a %U' /run/netns
    ls -laU --time-style=+ /run/netns | awk 'NR > 1 {print $1, $3, $NF}' | sort
    grep -E ' /(run|etc)(/| )' /proc/self/mountinfo | awk '{print $5, $9, $10}' | sort
  } 2>&1
}
