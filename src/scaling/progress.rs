//! What one invocation is doing and what it has created so far.
//!
//! The handler may have to stop an operation at the deadline or after a panic. It then needs
//! to say which AWS step was still waiting, and to remove whatever a failed Create made: both
//! are read from here, because the operation itself is gone by then.

use crate::properties::VariantId;
use std::sync::{Mutex, MutexGuard, PoisonError};

#[derive(Debug, Default)]
pub struct Progress {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    in_flight: Vec<String>,
    last_finished: Option<String>,
    created: Option<Created>,
}

/// An endpoint variant this invocation is configuring from nothing, with the alarm it puts.
/// Only such a variant is removed when the operation fails: a variant that existed before
/// (adopted, or configured by an earlier run of the same request) is never torn down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Created {
    pub variant: VariantId,
    pub alarm_name: Option<String>,
}

impl Progress {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves plain data behind; it is still worth reading.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks an AWS call as waiting; the returned guard marks it finished when dropped.
    pub fn begin(&self, step: String) -> StepGuard<'_> {
        self.state().in_flight.push(step.clone());
        StepGuard {
            progress: self,
            step,
        }
    }

    /// Records, before the first call that creates anything, what a failure must remove.
    pub fn creating(&self, created: Created) {
        self.state().created = Some(created);
    }

    /// What a failed operation must remove, taken so that it is removed once.
    pub fn take_created(&self) -> Option<Created> {
        self.state().created.take()
    }

    /// The step a stopped operation was at, for a Reason a user can act on.
    pub fn describe_step(&self) -> String {
        let state = self.state();
        match (state.in_flight.as_slice(), &state.last_finished) {
            ([], None) => "before its first AWS call".to_owned(),
            ([], Some(last)) => format!("after {last}, before its next AWS call"),
            (waiting, _) => format!("while waiting for {}", waiting.join(" and ")),
        }
    }
}

pub struct StepGuard<'a> {
    progress: &'a Progress,
    step: String,
}

impl Drop for StepGuard<'_> {
    fn drop(&mut self) {
        let mut state = self.progress.state();
        if let Some(index) = state.in_flight.iter().position(|s| *s == self.step) {
            state.in_flight.remove(index);
        }
        state.last_finished = Some(std::mem::take(&mut self.step));
    }
}
