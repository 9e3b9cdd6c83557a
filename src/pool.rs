//! New network namespaces made ahead on worker threads, for the `add`
//! lines of a batch (issue 6). `unshare(CLONE_NEWNET)` is nearly all of an
//! `add`'s time (the kernel registers the namespace's sysctl tables, proc
//! entries and loopback device), and two threads make namespaces about
//! 1.5 times as fast as one; the main thread only binds each one onto its
//! entry, in batch order, as a single `add` would.
//!
//! The pool makes at most as many namespaces ahead as it has handed out,
//! and never more than [`AHEAD`], so a run of adds wastes at most that
//! many (closed, so torn down by the kernel, when the pool is dropped). It lives only while consecutive `add` lines run:
//! the dispatcher drops it before any other line, so `exec`, `-n` and the
//! rest still run single-threaded. Syscalls per namespace, on a worker:
//! unshare, open(/proc/thread-self/ns/net), setns back.

use nix::errno::Errno;
use nix::sched::{setns, unshare, CloneFlags};
use std::fs::File;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

/// Namespaces made beyond those taken: enough to keep two workers busy.
pub const AHEAD: usize = 4;

struct Shared {
    /// Namespaces the workers may still make.
    credits: Mutex<usize>,
    cv: Condvar,
    stop: AtomicBool,
}

pub struct Pool {
    /// Namespaces granted beyond those taken.
    ahead: usize,
    rx: Option<Receiver<Result<File, Errno>>>,
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

impl Pool {
    /// Starts `workers` threads (in the calling thread's netns, which the
    /// new namespaces are made from); `None` when no thread could start.
    pub fn start(workers: usize) -> Option<Pool> {
        let shared = Arc::new(Shared {
            credits: Mutex::new(0),
            cv: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let (tx, rx) = sync_channel(AHEAD + workers);
        let mut pool = Pool {
            ahead: 0,
            rx: Some(rx),
            shared: shared.clone(),
            workers: Vec::new(),
        };
        for _ in 0..workers {
            let (tx, shared) = (tx.clone(), shared.clone());
            let Ok(h) = std::thread::Builder::new()
                .name("rnetns-pool".into())
                .stack_size(64 * 1024)
                .spawn(move || work(&shared, &tx))
            else {
                break;
            };
            pool.workers.push(h);
        }
        (!pool.workers.is_empty()).then_some(pool)
    }

    /// The next new namespace (an open nsfs file), or the error a worker's
    /// `unshare` met (the caller then drops the pool and makes one itself,
    /// so the message is the one a single `add` gives).
    pub fn take(&mut self) -> Result<File, Errno> {
        let grant = if self.ahead < AHEAD {
            self.ahead += 1;
            2
        } else {
            1
        };
        *self
            .shared
            .credits
            .lock()
            .unwrap_or_else(|e| e.into_inner()) += grant;
        self.shared.cv.notify_all();
        match self.rx.as_ref().map(Receiver::recv) {
            Some(Ok(r)) => r,
            _ => Err(Errno::EAGAIN),
        }
    }
}

impl Drop for Pool {
    /// Stops the workers (each finishes the namespace it is making) and
    /// closes the namespaces nobody took.
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.cv.notify_all();
        drop(self.rx.take());
        for h in self.workers.drain(..) {
            let _ = h.join();
        }
    }
}

fn work(shared: &Shared, tx: &std::sync::mpsc::SyncSender<Result<File, Errno>>) {
    let Ok(home) = File::open("/proc/thread-self/ns/net") else {
        let _ = tx.send(Err(Errno::EAGAIN));
        return;
    };
    loop {
        {
            let mut credits = shared.credits.lock().unwrap_or_else(|e| e.into_inner());
            while *credits == 0 && !shared.stop.load(Ordering::SeqCst) {
                credits = shared.cv.wait(credits).unwrap_or_else(|e| e.into_inner());
            }
            if shared.stop.load(Ordering::SeqCst) {
                return;
            }
            *credits -= 1;
        }
        let made = unshare(CloneFlags::CLONE_NEWNET).and_then(|()| {
            File::open("/proc/thread-self/ns/net")
                .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
        });
        // Back home, so the thread pins no namespace it handed out.
        let home_again = setns(&home, CloneFlags::CLONE_NEWNET);
        let failed = made.is_err() || home_again.is_err();
        let sent = match home_again {
            Ok(()) => made,
            Err(e) => Err(e),
        };
        if tx.send(sent).is_err() || failed {
            return;
        }
    }
}
