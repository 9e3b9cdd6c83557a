//! One namespace's interfaces and addresses over NETLINK_ROUTE: an
//! RTM_GETLINK dump (stats skipped) and an RTM_GETADDR dump on a socket
//! opened in the calling thread's current netns. The requests are
//! netlink-packet-route messages; the replies' attributes are walked by
//! hand (type, length, value) and only the attributes shown are kept, as bytes where the kernel hands out bytes (an interface name
//! need not be UTF-8, which the crate's typed parser would reject).
//! Memory is bounded by the kept fields: one receive buffer, one small
//! record per interface. Syscalls: socket, bind, sendto, recvfrom.
//!
//! A link dump makes the kernel allocate an NSID here for each namespace
//! that a veth, macvlan or vxlan points into (`peernet2id_alloc`), as
//! `ip link` does; nothing else is written (ledger R6).

use crate::error::NlError;
use netlink_packet_core::{NetlinkMessage, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::{LinkAttribute, LinkExtentMask, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket};

// linux/if_link.h, linux/if_addr.h, linux/rtnetlink.h (uapi numbers).
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_LINK: u16 = 5;
const IFLA_MASTER: u16 = 10;
const IFLA_OPERSTATE: u16 = 16;
const IFLA_LINKINFO: u16 = 18;
const IFLA_LINK_NETNSID: u16 = 37;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const IFLA_VXLAN_LINK: u16 = 3;
const IFLA_TUN_TYPE: u16 = 3;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const RTM_NEWLINK: u16 = 16;
const RTM_NEWADDR: u16 = 20;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

/// Kernel dump datagrams are at most 32 KiB; twice that never truncates.
pub const RECV_BUF: usize = 64 * 1024;

/// One address (`ip -j addr`'s `addr_info` entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr {
    /// 4 or 16 bytes.
    pub local: Vec<u8>,
    pub prefixlen: u8,
}

impl Addr {
    pub fn family(&self) -> &'static str {
        if self.local.len() == 4 {
            "inet"
        } else {
            "inet6"
        }
    }

    /// The address, when it has the length of one.
    fn ip(&self) -> Option<std::net::IpAddr> {
        match self.local.len() {
            4 => <[u8; 4]>::try_from(self.local.as_slice())
                .ok()
                .map(Into::into),
            16 => <[u8; 16]>::try_from(self.local.as_slice())
                .ok()
                .map(Into::into),
            _ => None,
        }
    }
}

/// `10.0.0.1` / `fe80::1`, as `ip` prints them (`?` for a malformed length).
impl std::fmt::Display for Addr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.ip() {
            Some(ip) => ip.fmt(f),
            None => f.write_str("?"),
        }
    }
}

/// One interface as the dump described it, in the dumping namespace's terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Link {
    pub ifindex: u32,
    pub ifname: Vec<u8>,
    /// ARPHRD_* (772 loopback, 1 ether, 65534 none).
    pub link_type: u16,
    pub mtu: Option<u32>,
    pub operstate: Option<u8>,
    pub address: Option<Vec<u8>>,
    pub master: Option<u32>,
    /// IFLA_LINK (veth peer, macvlan/ipvlan/vlan lower device), or for
    /// vxlan IFLA_VXLAN_LINK (the underlay device).
    pub link: Option<u32>,
    /// IFLA_LINK_NETNSID: the namespace `link` is in, as this one numbers it.
    pub link_netnsid: Option<i32>,
    /// IFLA_INFO_KIND (`veth`, `bridge`, `tun`, ...).
    pub kind: Option<String>,
    /// For `tun`: `tun` or `tap` (IFLA_TUN_TYPE).
    pub tun_type: Option<&'static str>,
    pub addrs: Vec<Addr>,
}

fn io_err(e: std::io::Error) -> NlError {
    NlError {
        errno: e.raw_os_error().unwrap_or(libc::EIO),
        extack: None,
    }
}

fn u32_of(v: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(v.get(..4)?.try_into().ok()?))
}

/// The attributes of `b` as (type without the nested/byte-order flags,
/// value); stops at the first malformed one. A plain walk: this runs for
/// every attribute of every interface, and netlink-packet-core's checked
/// iterator cost more than the rest of the parse.
fn nlas(mut b: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let len = usize::from(u16::from_ne_bytes([*b.first()?, *b.get(1)?]));
        let kind = u16::from_ne_bytes([*b.get(2)?, *b.get(3)?]) & 0x3fff;
        let value = b.get(4..len)?;
        b = b.get(((len + 3) & !3).min(b.len())..).unwrap_or_default();
        Some((kind, value))
    })
}

/// A NETLINK_ROUTE socket in the calling thread's current netns; it
/// stays in that namespace wherever the thread goes next.
/// Neither bound nor connected: the kernel binds it on the first send,
/// and an unconnected netlink socket sends to the kernel (3 syscalls
/// fewer per namespace).
pub fn socket_here() -> Result<Socket, NlError> {
    Socket::new(NETLINK_ROUTE).map_err(io_err)
}

/// The interfaces of `sock`'s netns with their addresses, in ifindex
/// order. `buf` is the receive buffer, reused across namespaces.
pub fn links_of(sock: &Socket, buf: &mut [u8]) -> Result<Vec<Link>, NlError> {
    let mut get = LinkMessage::default();
    get.attributes
        .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
    let mut links: Vec<Link> = Vec::new();
    dump(sock, buf, RouteNetlinkMessage::GetLink(get), 1, |t, p| {
        if t == RTM_NEWLINK {
            if let Some(l) = parse_link(p) {
                links.push(l);
            }
        }
    })?;
    links.sort_by_key(|l| l.ifindex);
    let get = AddressMessage::default();
    dump(
        sock,
        buf,
        RouteNetlinkMessage::GetAddress(get),
        2,
        |t, p| {
            if t != RTM_NEWADDR {
                return;
            }
            if let Some((index, addr)) = parse_addr(p) {
                if let Ok(i) = links.binary_search_by_key(&index, |l| l.ifindex) {
                    links[i].addrs.push(addr);
                }
            }
        },
    )?;
    Ok(links)
}

/// Sends one dump request and hands each reply's (type, payload) to `each`.
fn dump(
    sock: &Socket,
    buf: &mut [u8],
    body: RouteNetlinkMessage,
    seq: u32,
    mut each: impl FnMut(u16, &[u8]),
) -> Result<(), NlError> {
    let mut msg = NetlinkMessage::from(body);
    msg.header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    msg.header.sequence_number = seq;
    msg.finalize();
    let mut wbuf = vec![0u8; msg.buffer_len()];
    msg.serialize(&mut wbuf);
    sock.send(&wbuf, 0).map_err(io_err)?;
    loop {
        let n = sock.recv(&mut &mut buf[..], 0).map_err(io_err)?;
        let mut data = &buf[..n.min(buf.len())];
        while data.len() >= 16 {
            let len = u32_of(data).unwrap_or(0) as usize;
            if len < 16 || len > data.len() {
                break;
            }
            let kind = u16::from_ne_bytes([data[4], data[5]]);
            let this_seq = u32_of(&data[8..]).unwrap_or(0);
            let payload = &data[16..len];
            if this_seq == seq {
                match kind {
                    NLMSG_DONE => return Ok(()),
                    NLMSG_ERROR => {
                        let code = u32_of(payload).unwrap_or(0) as i32;
                        if code < 0 {
                            return Err(NlError {
                                errno: -code,
                                extack: None,
                            });
                        }
                        return Ok(());
                    }
                    _ => each(kind, payload),
                }
            }
            data = &data[((len + 3) & !3).min(data.len())..];
        }
    }
}

/// An ifinfomsg (16 bytes) and its attributes.
pub fn parse_link(p: &[u8]) -> Option<Link> {
    if p.len() < 16 {
        return None;
    }
    let mut l = Link {
        link_type: u16::from_ne_bytes([p[2], p[3]]),
        ifindex: u32_of(&p[4..])?,
        ..Link::default()
    };
    let mut vxlan_link = None;
    for (kind, v) in nlas(&p[16..]) {
        match kind {
            IFLA_IFNAME => l.ifname = v.split(|&b| b == 0).next().unwrap_or(v).to_vec(),
            IFLA_MTU => l.mtu = u32_of(v),
            IFLA_LINK => l.link = u32_of(v),
            IFLA_MASTER => l.master = u32_of(v),
            IFLA_OPERSTATE => l.operstate = v.first().copied(),
            IFLA_ADDRESS => l.address = Some(v.to_vec()),
            IFLA_LINK_NETNSID => l.link_netnsid = u32_of(v).map(|x| x as i32),
            IFLA_LINKINFO => {
                for (ikind, iv) in nlas(v) {
                    match ikind {
                        IFLA_INFO_KIND => {
                            let k = iv.split(|&b| b == 0).next().unwrap_or(iv);
                            l.kind = Some(String::from_utf8_lossy(k).into_owned());
                        }
                        IFLA_INFO_DATA => {
                            for (dkind, dv) in nlas(iv) {
                                match (l.kind.as_deref(), dkind) {
                                    (Some("vxlan"), IFLA_VXLAN_LINK) => vxlan_link = u32_of(dv),
                                    (Some("tun"), IFLA_TUN_TYPE) => {
                                        l.tun_type = match dv.first() {
                                            Some(1) => Some("tun"),
                                            Some(2) => Some("tap"),
                                            _ => None,
                                        }
                                    }
                                    _ => {}
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    // A vxlan's IFLA_LINK is itself; its underlay is IFLA_VXLAN_LINK, in
    // the namespace IFLA_LINK_NETNSID names.
    if l.kind.as_deref() == Some("vxlan") {
        l.link = vxlan_link;
    }
    // IFLA_LINK equal to the interface itself, in its own namespace, says
    // nothing (`ip` hides it); across namespaces the same number is a
    // different interface (two namespaces' eth0 can both be ifindex 2).
    if l.link == Some(0) || (l.link == Some(l.ifindex) && l.link_netnsid.is_none()) {
        l.link = None;
    }
    Some(l)
}

/// An ifaddrmsg (8 bytes) and its attributes: (ifindex, address). The
/// shown address is IFA_LOCAL when present (a peer address is IFA_ADDRESS),
/// as `ip addr` shows it.
pub fn parse_addr(p: &[u8]) -> Option<(u32, Addr)> {
    if p.len() < 8 {
        return None;
    }
    let (family, prefixlen) = (p[0], p[1]);
    let want = match family {
        AF_INET => 4,
        AF_INET6 => 16,
        _ => return None,
    };
    let index = u32_of(&p[4..])?;
    let (mut local, mut address) = (None, None);
    for (kind, v) in nlas(&p[8..]) {
        if v.len() != want {
            continue;
        }
        match kind {
            IFA_LOCAL => local = Some(v.to_vec()),
            IFA_ADDRESS => address = Some(v.to_vec()),
            _ => {}
        }
    }
    let local = local.or(address)?;
    Some((index, Addr { local, prefixlen }))
}

/// `ip`'s names for IF_OPER_* (RFC 2863).
pub fn operstate_name(s: Option<u8>) -> &'static str {
    match s {
        Some(1) => "NOTPRESENT",
        Some(2) => "DOWN",
        Some(3) => "LOWERLAYERDOWN",
        Some(4) => "TESTING",
        Some(5) => "DORMANT",
        Some(6) => "UP",
        _ => "UNKNOWN",
    }
}

/// `ip`'s `link_type` for the ARPHRD values an interface commonly has.
pub fn link_type_name(t: u16) -> Option<&'static str> {
    match t {
        1 => Some("ether"),
        772 => Some("loopback"),
        65534 => Some("none"),
        776 => Some("sit"),
        768 => Some("ipip"),
        778 => Some("gre"),
        823 => Some("ip6gre"),
        769 => Some("tunnel6"),
        _ => None,
    }
}

/// `aa:bb:cc:dd:ee:ff`.
pub fn mac_text(a: &[u8]) -> String {
    let mut out = String::with_capacity(a.len() * 3);
    push_mac(&mut out, a);
    out
}

/// [`mac_text`], appended to `out`.
pub fn push_mac(out: &mut String, a: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in a.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nla(kind: u16, v: &[u8]) -> Vec<u8> {
        let mut out = ((4 + v.len()) as u16).to_ne_bytes().to_vec();
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(v);
        out.resize((out.len() + 3) & !3, 0);
        out
    }

    #[test]
    fn link_with_non_utf8_name_and_vxlan_underlay() {
        let mut p = vec![0u8, 0, 1, 0];
        p.extend_from_slice(&7u32.to_ne_bytes());
        p.extend_from_slice(&[0; 8]);
        p.extend(nla(IFLA_IFNAME, b"v\xffx\0"));
        p.extend(nla(IFLA_MTU, &1450u32.to_ne_bytes()));
        p.extend(nla(IFLA_LINK_NETNSID, &3u32.to_ne_bytes()));
        let data = nla(IFLA_VXLAN_LINK, &4u32.to_ne_bytes());
        let info = [nla(IFLA_INFO_KIND, b"vxlan\0"), nla(IFLA_INFO_DATA, &data)].concat();
        p.extend(nla(IFLA_LINKINFO, &info));
        let l = parse_link(&p).unwrap();
        assert_eq!(l.ifindex, 7);
        assert_eq!(l.ifname, b"v\xffx");
        assert_eq!(l.kind.as_deref(), Some("vxlan"));
        assert_eq!(
            (l.link, l.link_netnsid, l.mtu),
            (Some(4), Some(3), Some(1450))
        );
        assert!(parse_link(&p[..10]).is_none());
    }

    #[test]
    fn address_prefers_local_and_formats() {
        let mut p = vec![AF_INET, 24, 0, 0];
        p.extend_from_slice(&5u32.to_ne_bytes());
        p.extend(nla(IFA_ADDRESS, &[10, 0, 0, 2]));
        p.extend(nla(IFA_LOCAL, &[10, 0, 0, 1]));
        let (i, a) = parse_addr(&p).unwrap();
        assert_eq!(
            (i, a.to_string(), a.prefixlen, a.family()),
            (5, "10.0.0.1".into(), 24, "inet")
        );
        assert_eq!(operstate_name(Some(6)), "UP");
        assert_eq!(mac_text(&[0, 0x1b, 0xff]), "00:1b:ff");
    }
}
