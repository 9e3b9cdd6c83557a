# The cgroup hierarchy rnetns walks for containers: the first `0::` or
# `name=systemd` line of our cgroup file (else the first line), mounted at
# its root. Sets $ctl and $mnt; without one, the script exits 80.
ctl=$(awk -F: '$2=="" || $2=="name=systemd" {print $2; exit}' /proc/self/cgroup)
mnt=$(awk -v want="$ctl" '{
  for (i = 7; i <= NF && $i != "-"; i++) ;
  t = $(i+1); o = "," $(i+3) ",";
  if ($4 != "/") next;
  if (want == "" && t == "cgroup2") { print $5; exit }
  if (want != "" && t == "cgroup" && index(o, "," want ",")) { print $5; exit }
}' /proc/self/mountinfo)
[ -n "$mnt" ] && [ -d "$mnt" ] || { echo "no container hierarchy (ctl=$ctl)" >&2; exit 80; }
