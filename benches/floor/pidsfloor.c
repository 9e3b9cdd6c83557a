/* pids NAME floor: walk /proc once, match each process's netns against
   RUN_DIR/NAME, either by fstatat (what ip and rnetns do) or by readlinkat
   "net:[INO]" (no nsfs dentry, no link follow). argv: NAME stat|readlink */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
int main(int c, char **v) {
  char p[512]; snprintf(p, sizeof p, "/run/netns/%s", v[1]);
  struct stat t; if (stat(p, &t)) return 1;
  int rl = !strcmp(v[2], "readlink"); char want[64]; snprintf(want, sizeof want, "net:[%lu]", (unsigned long)t.st_ino);
  DIR *d = opendir("/proc"); int fd = dirfd(d); struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    char q[64]; snprintf(q, sizeof q, "%s/ns/net", e->d_name);
    if (rl) { char b[64]; ssize_t n = readlinkat(fd, q, b, sizeof b - 1); if (n > 0) { b[n] = 0; if (!strcmp(b, want)) puts(e->d_name); } }
    else { struct stat s; if (!fstatat(fd, q, &s, 0) && s.st_dev == t.st_dev && s.st_ino == t.st_ino) puts(e->d_name); }
  }
  return 0;
}
