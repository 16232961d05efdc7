//! Where each executor's inbox is: [`Endpoints`], and [`InprocEndpoints`] for a topology
//! whose executors all run in one process (`WorkerEndpoints` adds tcp between workers).

use crate::topology::WorkerKey;

/// Where each executor's inbox is.
pub trait Endpoints: Send + Sync {
    /// The endpoint executor `executor` binds its inbox to and others connect to.
    fn inbox(&self, executor: usize) -> String;
    /// Every endpoint a local executor's inbox binds (other workers may reach it by tcp).
    fn binds(&self, executor: usize) -> Vec<String> {
        vec![self.inbox(executor)]
    }
    /// The key pair securing `tcp://` links with CURVE (none: plain tcp).
    fn curve(&self) -> Option<&WorkerKey> {
        None
    }
}

/// Every executor in this process, over `inproc://`.
pub struct InprocEndpoints {
    prefix: String,
}

impl InprocEndpoints {
    /// Unique names per running topology, so two topologies in one context do not meet.
    pub fn new(topology: &str) -> InprocEndpoints {
        InprocEndpoints { prefix: format!("inproc://sockflow-{topology}-{:016x}", fastrand::u64(..)) }
    }
}

impl Endpoints for InprocEndpoints {
    fn inbox(&self, executor: usize) -> String {
        format!("{}-{executor}", self.prefix)
    }
}
