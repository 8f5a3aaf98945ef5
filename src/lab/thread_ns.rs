//! A thread moved into a lab host's network namespace (`setns(2)` with `CLONE_NEWNET`, which
//! moves the calling thread only): the sockets it opens from then on are the host's, so code of
//! this process — a test's WebDriver client, say — reaches a service on that host's own
//! loopback without any path out of the lab. Dropping the guard moves the thread back.

use std::fs::File;
use std::marker::PhantomData;
use std::os::fd::AsRawFd;

use super::{Lab, LabError};

/// The calling thread inside a lab host until dropped (it cannot move to another thread).
#[derive(Debug)]
pub struct InHost {
    home: File,
    _thread_bound: PhantomData<*const ()>,
}

fn setns(file: &File, what: &str) -> Result<(), LabError> {
    // SAFETY: setns only reads the descriptor, which `file` keeps open for the call.
    if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } == 0 {
        return Ok(());
    }
    let e = std::io::Error::last_os_error();
    Err(LabError::Tool { cmd: format!("setns into {what}"), message: e.to_string() })
}

impl Lab {
    /// Moves the calling thread into host `name`'s network namespace (see [`InHost`]).
    pub fn enter(&self, name: &str) -> Result<InHost, LabError> {
        let ns = &self.host(name)?.ns;
        let open = |path: String| {
            File::open(&path).map_err(|e| LabError::Tool { cmd: format!("open {path}"), message: e.to_string() })
        };
        let home = open("/proc/thread-self/ns/net".into())?;
        setns(&open(format!("/run/netns/{ns}"))?, ns)?;
        Ok(InHost { home, _thread_bound: PhantomData })
    }
}

impl Drop for InHost {
    fn drop(&mut self) {
        if let Err(e) = setns(&self.home, "the thread's own namespace") {
            tracing::warn!(cause = %e, "leaving a lab host");
        }
    }
}
