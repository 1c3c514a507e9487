//! Background work a reset must stop first: an in-process registry of the job runs under way, so
//! that `/_galleryd/reset` can interrupt the runs working on what it is about to remove and wait
//! until they have let go, before it deletes rows and blobs.
//!
//! Why: a copy in flight writes blobs and, at its end, records its content. Were the reset to delete
//! rows and blobs under it, the copy would go on writing objects no row names (orphans until garbage
//! collection's grace period) or record its content again after the reset. Every step of a job is
//! idempotent and a dropped run is safe (shutdown drops runs the same way), so a reset interrupts the
//! runs in its scope, waits for them to be dropped, holds new runs in its scope back while it
//! deletes, then lets them go on: they find their resource gone and end.
//!
//! Runs outside the scope are left alone. The registry lives with the [`Store`](crate::Store) handle
//! because the front end and the workers of one process share that handle; work of other processes
//! on a shared database is not fenced (see the reset's documentation).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{Notify, watch};

/// Where a reset applies: resource keys starting with this prefix (lower-cased), or every key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyScope {
    Everything,
    Prefix(String),
}

impl KeyScope {
    fn covers(&self, resource_key: &str) -> bool {
        match self {
            KeyScope::Everything => true,
            KeyScope::Prefix(prefix) => resource_key.starts_with(prefix.as_str()),
        }
    }
}

struct Run {
    resource_key: String,
    interrupt: watch::Sender<bool>,
}

#[derive(Default)]
struct Registry {
    runs: HashMap<u64, Run>,
    /// Scopes of the resets under way: runs in them wait before they start.
    holds: Vec<(u64, KeyScope)>,
}

/// The registry of job runs of this process (see the module documentation).
#[derive(Default)]
pub struct WorkFence {
    registry: Mutex<Registry>,
    next_id: AtomicU64,
    /// Signalled whenever a run ends or a hold is released.
    changed: Notify,
}

impl std::fmt::Debug for WorkFence {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("WorkFence").finish_non_exhaustive()
    }
}

/// A job run's registration: drop it when the run ends. [`WorkPass::interrupted`] resolves when a
/// reset wants the run to stop.
pub struct WorkPass<'fence> {
    fence: &'fence WorkFence,
    id: u64,
    interrupted: watch::Receiver<bool>,
}

impl WorkPass<'_> {
    /// Resolves once a reset asks this run to stop (never otherwise).
    pub async fn interrupted(&mut self) {
        if self
            .interrupted
            .wait_for(|interrupted| *interrupted)
            .await
            .is_err()
        {
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for WorkPass<'_> {
    fn drop(&mut self) {
        self.fence.lock().runs.remove(&self.id);
        self.fence.changed.notify_waiters();
    }
}

/// A reset's hold over its scope: runs in it wait until it is dropped.
pub(crate) struct Hold<'fence> {
    fence: &'fence WorkFence,
    id: u64,
}

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        self.fence.lock().holds.retain(|(id, _)| *id != self.id);
        self.fence.changed.notify_waiters();
    }
}

impl WorkFence {
    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a run working on `resource_key`, first waiting while a reset holds its scope.
    pub async fn enter(&self, resource_key: &str) -> WorkPass<'_> {
        let key = resource_key.to_lowercase();
        loop {
            let changed = self.changed.notified();
            {
                let mut registry = self.lock();
                if !registry.holds.iter().any(|(_, scope)| scope.covers(&key)) {
                    let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                    let (interrupt, interrupted) = watch::channel(false);
                    registry.runs.insert(
                        id,
                        Run {
                            resource_key: key,
                            interrupt,
                        },
                    );
                    return WorkPass {
                        fence: self,
                        id,
                        interrupted,
                    };
                }
            }
            changed.await;
        }
    }

    /// Holds `scope`: runs in it are asked to stop, and this returns once none is left; new runs in
    /// it wait until the hold is dropped.
    pub(crate) async fn hold(&self, scope: KeyScope) -> Hold<'_> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        {
            let mut registry = self.lock();
            registry.holds.push((id, scope.clone()));
        }
        let hold = Hold { fence: self, id };
        loop {
            let changed = self.changed.notified();
            let busy = {
                let registry = self.lock();
                let mut busy = false;
                for run in registry
                    .runs
                    .values()
                    .filter(|run| scope.covers(&run.resource_key))
                {
                    run.interrupt.send_replace(true);
                    busy = true;
                }
                busy
            };
            if !busy {
                return hold;
            }
            changed.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn a_hold_interrupts_runs_in_its_scope_only_and_waits_for_them() {
        let fence = Arc::new(WorkFence::default());
        let inside = {
            let fence = fence.clone();
            tokio::spawn(async move {
                let mut pass = fence.enter("/subscriptions/a/resourcegroups/rg/x").await;
                pass.interrupted().await;
                tokio::time::sleep(Duration::from_millis(20)).await;
                "stopped"
            })
        };
        let mut outside = fence.enter("/subscriptions/b/resourcegroups/rg/x").await;
        tokio::time::sleep(Duration::from_millis(10)).await;
        let hold = fence
            .hold(KeyScope::Prefix("/subscriptions/a/".to_string()))
            .await;
        assert_eq!(
            fence
                .lock()
                .runs
                .values()
                .filter(|run| run.resource_key.starts_with("/subscriptions/a/"))
                .count(),
            0,
            "the hold returned before the run let go"
        );
        assert_eq!(inside.await.unwrap(), "stopped");
        let not_interrupted =
            tokio::time::timeout(Duration::from_millis(20), outside.interrupted()).await;
        assert!(
            not_interrupted.is_err(),
            "a run outside the scope was interrupted"
        );

        // A new run in the scope waits until the hold ends.
        let waiting = {
            let fence = fence.clone();
            tokio::spawn(async move {
                let _pass = fence.enter("/subscriptions/a/x").await;
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished());
        drop(hold);
        tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .expect("the run starts once the hold ends")
            .unwrap();
    }
}
