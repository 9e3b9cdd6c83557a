//! NSIDs over rtnetlink (spec 4.1-4.3, 4.6): RTM_GETNSID by file
//! descriptor, RTM_NEWNSID, and the RTM_GETNSID dump, built by hand from the
//! store's fds (the crates' helpers hard-code `/run/netns`). A
//! current-thread tokio runtime exists only while these calls run, and many
//! queries are pipelined over one connection: `list` costs one round of I/O
//! however many entries there are.

use crate::error::NlError;
use futures::stream::StreamExt;
use netlink_packet_core::{
    NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_DUMP,
    NLM_F_REQUEST,
};
use netlink_packet_route::nsid::{NsidAttribute, NsidMessage};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, AsyncSocket, Socket, SocketAddr};
use std::future::Future;
use std::os::fd::RawFd;

/// How many requests go in one datagram: enough to amortise the syscalls,
/// few enough that their replies always fit in the 1 MiB receive buffer.
const WINDOW: usize = 256;

/// One datagram per reply: an RTM_NEWNSID or an error carrying our 28-byte
/// request and the extack text, a few hundred bytes at most. Kept small
/// because every `list` worker has one, and it counts in peak RSS.
const REPLY_BUF: usize = 8192;

/// One nsid as the kernel reports it (`None` is "unassigned", i.e. -1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NsidReply {
    pub nsid: Option<i32>,
    /// NETNSA_CURRENT_NSID, present only when a target nsid was asked for.
    pub current: Option<Option<i32>>,
}

/// A dump that the kernel ended with an error ("Dump terminated").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpError {
    pub partial: Vec<NsidReply>,
    pub error: NlError,
}

type Msg = NetlinkMessage<RouteNetlinkMessage>;

fn request(attrs: Vec<NsidAttribute>, flags: u16, new: bool) -> Msg {
    let mut body = NsidMessage::default();
    body.attributes = attrs;
    let inner = if new {
        RouteNetlinkMessage::NewNsId(body)
    } else {
        RouteNetlinkMessage::GetNsId(body)
    };
    let mut msg = NetlinkMessage::from(inner);
    msg.header.flags = flags;
    msg.finalize();
    msg
}

/// Runs `f` with a fresh rtnetlink connection on a current-thread runtime.
fn with_handle<F, Fut, T>(strict: bool, f: F) -> Result<T, NlError>
where
    F: FnOnce(rtnetlink::Handle) -> Fut,
    Fut: Future<Output = T>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(NlError::from)?;
    rt.block_on(async {
        let (mut conn, handle, _) = rtnetlink::new_connection().map_err(NlError::from)?;
        // A dump's NLMSG_DONE carries its error code and extack.
        conn.set_forward_done(true);
        let sock = conn.socket_mut().socket_mut();
        sock.set_ext_ack(true).map_err(NlError::from)?;
        let _ = sock.set_rx_buf_sz(1 << 20);
        // The dump only honours NETNSA_TARGET_NSID under strict checking,
        // which iproute2 enables on its main socket.
        if strict {
            sock.set_netlink_get_strict_chk(true)
                .map_err(NlError::from)?;
        }
        tokio::spawn(conn);
        Ok(f(handle).await)
    })
}

/// The extack message in an error's payload (NLMSGERR_ATTR_MSG), if any.
fn extack_text(flags: u16, payload: &[u8]) -> Option<String> {
    if flags & NLM_F_ACK_TLVS == 0 {
        return None;
    }
    let skip = if flags & NLM_F_CAPPED != 0 {
        16
    } else {
        let len = u32::from_ne_bytes(payload.get(..4)?.try_into().ok()?) as usize;
        (len + 3) & !3
    };
    tlv_text(payload.get(skip..)?)
}

/// Finds NLMSGERR_ATTR_MSG (type 1) in a run of netlink attributes.
fn tlv_text(mut tlvs: &[u8]) -> Option<String> {
    while tlvs.len() >= 4 {
        let len = u16::from_ne_bytes([tlvs[0], tlvs[1]]) as usize;
        let kind = u16::from_ne_bytes([tlvs[2], tlvs[3]]) & 0x3fff;
        if len < 4 || len > tlvs.len() {
            return None;
        }
        if kind == 1 {
            let v = &tlvs[4..len];
            let v = v.split(|&b| b == 0).next().unwrap_or(v);
            return Some(String::from_utf8_lossy(v).into_owned());
        }
        tlvs = tlvs.get((len + 3) & !3..).unwrap_or(&[]);
    }
    None
}

fn nl_error(msg: &Msg) -> Option<NlError> {
    match &msg.payload {
        NetlinkPayload::Error(e) if e.code.is_some() => Some(NlError {
            errno: -e.raw_code(),
            extack: extack_text(msg.header.flags, &e.header),
        }),
        NetlinkPayload::Done(d) if d.code < 0 => Some(NlError {
            errno: -d.code,
            extack: tlv_text(&d.extended_ack),
        }),
        _ => None,
    }
}

fn reply_of(msg: &Msg) -> Option<NsidReply> {
    let NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewNsId(m)) = &msg.payload else {
        return None;
    };
    let mut r = NsidReply {
        nsid: None,
        current: None,
    };
    for a in &m.attributes {
        match a {
            NsidAttribute::Id(v) => r.nsid = (*v >= 0).then_some(*v),
            NsidAttribute::CurrentNsid(v) => r.current = Some((*v >= 0).then_some(*v)),
            _ => {}
        }
    }
    Some(r)
}

/// Sends one request and returns its replies (or the kernel's error).
async fn call(mut handle: rtnetlink::Handle, msg: Msg) -> Result<Vec<NsidReply>, DumpError> {
    let mut replies = Vec::new();
    let mut stream = match handle.request(msg) {
        Ok(s) => s,
        Err(_) => {
            return Err(DumpError {
                partial: replies,
                error: NlError::lost(),
            })
        }
    };
    while let Some(m) = stream.next().await {
        if let Some(error) = nl_error(&m) {
            return Err(DumpError {
                partial: replies,
                error,
            });
        }
        if let Some(r) = reply_of(&m) {
            replies.push(r);
        }
    }
    Ok(replies)
}

/// A netlink socket for RTM_GETNSID by fd, used synchronously (no runtime).
/// The requests are packed [`WINDOW`] to a datagram: the kernel answers
/// every message of a datagram within one sendto, so 10,000 entries cost a
/// few dozen sends instead of 10,000 round trips. One socket serves every
/// batch of a listing.
pub struct FdQuery {
    sock: Socket,
    rbuf: Vec<u8>,
}

impl FdQuery {
    /// Queries over an already connected NETLINK_ROUTE socket: the NSIDs
    /// are those of the namespace the socket was opened in, wherever the
    /// caller is now (crate::wiring keeps one per namespace it dumped).
    pub fn with_socket(sock: Socket) -> Self {
        FdQuery {
            sock,
            rbuf: vec![0u8; REPLY_BUF],
        }
    }

    pub fn open() -> Result<Self, NlError> {
        let mut sock = Socket::new(NETLINK_ROUTE).map_err(NlError::from)?;
        sock.bind_auto().map_err(NlError::from)?;
        sock.set_ext_ack(true).map_err(NlError::from)?;
        let _ = sock.set_rx_buf_sz(1 << 20);
        sock.connect(&SocketAddr::new(0, 0))
            .map_err(NlError::from)?;
        Ok(FdQuery {
            sock,
            rbuf: vec![0u8; REPLY_BUF],
        })
    }

    /// The nsid of each fd, in the order given. `Ok(None)`: the namespace
    /// has no nsid in ours.
    pub fn query(&mut self, fds: &[RawFd]) -> Result<Vec<Result<Option<i32>, NlError>>, NlError> {
        let mut out: Vec<Option<Result<Option<i32>, NlError>>> = vec![None; fds.len()];
        for (c, chunk) in fds.chunks(WINDOW).enumerate() {
            self.exchange(c * WINDOW, chunk, &mut out)?;
        }
        Ok(out
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(NlError::lost())))
            .collect())
    }

    /// One datagram of requests (sequence numbers base+1..) and its replies.
    fn exchange(
        &mut self,
        base: usize,
        chunk: &[RawFd],
        out: &mut [Option<Result<Option<i32>, NlError>>],
    ) -> Result<(), NlError> {
        let mut wbuf = Vec::with_capacity(chunk.len() * 32);
        for (i, &fd) in chunk.iter().enumerate() {
            let mut msg = request(vec![NsidAttribute::Fd(fd as u32)], NLM_F_REQUEST, false);
            msg.header.sequence_number = (base + i + 1) as u32;
            let start = wbuf.len();
            wbuf.resize(start + msg.buffer_len(), 0);
            msg.serialize(&mut wbuf[start..]);
        }
        self.sock.send(&wbuf, 0).map_err(NlError::from)?;
        let mut pending = chunk.len();
        while pending > 0 {
            let n = self
                .sock
                .recv(&mut &mut self.rbuf[..], 0)
                .map_err(NlError::from)?;
            let mut data = &self.rbuf[..n];
            while data.len() >= 16 {
                let len = u32::from_ne_bytes(data[..4].try_into().unwrap_or_default()) as usize;
                if len < 16 || len > data.len() {
                    break;
                }
                if let Ok(msg) = Msg::deserialize(&data[..len]) {
                    let seq = msg.header.sequence_number as usize;
                    if (base + 1..=base + chunk.len()).contains(&seq) && out[seq - 1].is_none() {
                        out[seq - 1] = Some(match nl_error(&msg) {
                            Some(e) => Err(e),
                            None => Ok(reply_of(&msg).and_then(|r| r.nsid)),
                        });
                        pending -= 1;
                    }
                }
                data = &data[((len + 3) & !3).min(data.len())..];
            }
        }
        Ok(())
    }
}

/// The nsid of each fd (RTM_GETNSID with NETNSA_FD) over a fresh socket.
pub fn query_fds(fds: &[RawFd]) -> Result<Vec<Result<Option<i32>, NlError>>, NlError> {
    if fds.is_empty() {
        return Ok(Vec::new());
    }
    FdQuery::open()?.query(fds)
}

/// RTM_NEWNSID: assign `nsid` (-1 lets the kernel choose) to the netns of `fd`.
pub fn set(fd: RawFd, nsid: i32) -> Result<(), NlError> {
    let msg = request(
        vec![NsidAttribute::Fd(fd as u32), NsidAttribute::Id(nsid)],
        NLM_F_REQUEST | NLM_F_ACK,
        true,
    );
    with_handle(false, |h| call(h, msg))?
        .map(|_| ())
        .map_err(|e| e.error)
}

/// The RTM_GETNSID dump, optionally as seen from `target`.
pub fn dump(target: Option<i32>) -> Result<Vec<NsidReply>, DumpError> {
    let attrs = target.map(NsidAttribute::TargetNsid).into_iter().collect();
    let msg = request(attrs, NLM_F_REQUEST | NLM_F_DUMP, false);
    with_handle(true, |h| call(h, msg)).map_err(|error| DumpError {
        partial: vec![],
        error,
    })?
}

/// RTM_GETNSID for one nsid (`list-id nsid N`).
pub fn get(nsid: i32, target: Option<i32>) -> Result<NsidReply, NlError> {
    let mut attrs = vec![NsidAttribute::Id(nsid)];
    attrs.extend(target.map(NsidAttribute::TargetNsid));
    let msg = request(attrs, NLM_F_REQUEST, false);
    let replies = with_handle(false, |h| call(h, msg))?.map_err(|e| e.error)?;
    replies.into_iter().next().ok_or_else(NlError::lost)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extack_message_after_the_echoed_request() {
        // 20-byte echoed request (len 20), then NLMSGERR_ATTR_MSG "bad".
        let mut p = vec![20, 0, 0, 0];
        p.extend_from_slice(&[0; 16]);
        p.extend_from_slice(&[8, 0, 1, 0, b'b', b'a', b'd', 0]);
        assert_eq!(extack_text(NLM_F_ACK_TLVS, &p).as_deref(), Some("bad"));
        assert_eq!(extack_text(0, &p), None);
        let capped = [&p[..16], &p[20..]].concat();
        assert_eq!(
            extack_text(NLM_F_ACK_TLVS | NLM_F_CAPPED, &capped).as_deref(),
            Some("bad")
        );
    }
}
