//! Every conversation with the kernel's NETLINK_ROUTE, in two ways, each
//! for its reason:
//!
//! - [`nsid`]: NSIDs (spec 4.1-4.3, 4.6) with `rtnetlink`'s types over a
//!   `netlink-sys` socket driven by a current-thread tokio runtime that
//!   exists only while the calls run: `list` pipelines thousands of
//!   RTM_GETNSID requests over one connection (one round of I/O however
//!   many entries), which async I/O does without threads. It never forks
//!   or switches namespaces. [`nsid::FdQuery`] is the same requests on a
//!   socket the caller already opened in another namespace (the wiring's
//!   "which NSID does this namespace give that one").
//! - [`dump`]: one namespace's links and addresses (RTM_GETLINK and
//!   RTM_GETADDR dumps) on a plain blocking socket opened in the calling
//!   thread's current namespace: the wiring's workers each `setns` into a
//!   namespace, dump, and move on, so a socket must be made there, and a
//!   dump is one request whose replies are read to the end; an async
//!   runtime per thread would only add cost. Requests are
//!   `netlink-packet-route` messages; replies are walked by hand (names
//!   stay bytes).
//!
//! Elsewhere only the batch runner opens (and never uses) an rtnetlink
//! socket, to hold one as 6.1 does before it opens a batch file
//! (`app::batch`).

pub mod dump;
pub mod nsid;
