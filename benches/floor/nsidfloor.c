/* Kernel floor for `list`: open every /run/netns entry, ask every NSID with
   RTM_GETNSID (NETNSA_FD) in batches of 64 requests per sendmsg, read the
   replies with recvmmsg, print "name (id: N)". No error handling beyond need. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#define B 64
struct req { struct nlmsghdr n; struct rtgenmsg g; char pad[3]; struct nlattr a; __u32 fd; };
int main(void) {
  static char names[20000][64]; static int fds[20000]; static int ids[20000]; int n = 0;
  DIR *d = opendir("/run/netns"); struct dirent *e;
  while ((e = readdir(d))) { if (e->d_name[0]=='.' && (!e->d_name[1] || (e->d_name[1]=='.' && !e->d_name[2]))) continue;
    strncpy(names[n], e->d_name, 63); fds[n] = openat(dirfd(d), e->d_name, O_RDONLY|O_CLOEXEC); ids[n] = -1; n++; }
  int s = socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_ROUTE); int rb = 1<<20;
  setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rb, sizeof rb);
  struct sockaddr_nl sa = { .nl_family = AF_NETLINK }; bind(s, (void*)&sa, sizeof sa);
  static struct req rq[B]; static char bufs[B][256]; struct mmsghdr mm[B]; struct iovec iv[B];
  for (int base = 0; base < n; base += B) {
    int k = 0;
    for (int i = base; i < n && k < B; i++) { if (fds[i] < 0) continue; struct req *r = &rq[k++]; memset(r, 0, sizeof *r);
      r->n.nlmsg_len = sizeof *r; r->n.nlmsg_type = RTM_GETNSID; r->n.nlmsg_flags = NLM_F_REQUEST; r->n.nlmsg_seq = i + 1;
      r->g.rtgen_family = AF_UNSPEC; r->a.nla_len = 8; r->a.nla_type = NETNSA_FD; r->fd = fds[i]; }
    send(s, rq, k * sizeof(struct req), 0);
    int got = 0;
    while (got < k) {
      for (int j = 0; j < B; j++) { iv[j].iov_base = bufs[j]; iv[j].iov_len = 256; memset(&mm[j].msg_hdr, 0, sizeof mm[j].msg_hdr); mm[j].msg_hdr.msg_iov = &iv[j]; mm[j].msg_hdr.msg_iovlen = 1; }
      int m = recvmmsg(s, mm, k - got, 0, NULL);
      for (int j = 0; j < m; j++) { struct nlmsghdr *h = (void*)bufs[j]; int i = h->nlmsg_seq - 1;
        if (h->nlmsg_type == RTM_NEWNSID) { struct nlattr *a = (void*)((char*)NLMSG_DATA(h) + NLMSG_ALIGN(sizeof(struct rtgenmsg)));
          int left = h->nlmsg_len - NLMSG_HDRLEN - NLMSG_ALIGN(sizeof(struct rtgenmsg));
          while (left >= 4 && a->nla_len >= 4) { if (a->nla_type == NETNSA_NSID) ids[i] = *(int*)(a+1); left -= NLA_ALIGN(a->nla_len); a = (void*)((char*)a + NLA_ALIGN(a->nla_len)); } } }
      got += m;
    }
  }
  char out[1<<16]; setvbuf(stdout, out, _IOFBF, sizeof out);
  for (int i = 0; i < n; i++) { if (ids[i] >= 0) printf("%s (id: %d)\n", names[i], ids[i]); else printf("%s\n", names[i]); }
  return 0;
}
