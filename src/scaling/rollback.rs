//! What a failing request must remove: the record a request keeps of what it made from
//! nothing.
//!
//! The operation writes it before its first call that creates anything; the handler reads it
//! when the operation failed, panicked or was stopped at the deadline, when the operation
//! itself is gone. Only what this request created is ever removed: a target or an alarm that
//! existed before (adopted, or made by an earlier run of the same request) is never torn down.

use super::plan::Created;
use std::sync::{Arc, Mutex, PoisonError};

#[derive(Clone, Debug, Default)]
pub struct Rollback {
    created: Arc<Mutex<Option<Created>>>,
}

impl Rollback {
    pub fn record(&self, created: Created) {
        *self.created.lock().unwrap_or_else(PoisonError::into_inner) = Some(created);
    }

    /// What to remove, taken so that it is removed once.
    pub fn take(&self) -> Option<Created> {
        // A panic while holding this lock leaves plain data behind; it is still worth reading.
        self.created
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}
