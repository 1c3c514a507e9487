//! Running a plan's resources in dependency order: which instances are ready now, given what has
//! succeeded, failed or been skipped, so independent resources run concurrently, each resource
//! runs only after everything it depends on succeeded (or was skipped by its condition), and a
//! failure blocks only its dependents while independent branches finish — as Azure does.

use super::{Condition, Plan};

/// Where one resource instance stands in a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceState {
    /// Not started; waits for its dependencies.
    Waiting,
    Running,
    Succeeded,
    Failed,
    /// Not deployed because its condition is false.
    Skipped,
    /// Never started because something it depends on failed (or the deployment was canceled).
    Blocked,
}

impl ResourceState {
    pub fn is_terminal(self) -> bool {
        !matches!(self, ResourceState::Waiting | ResourceState::Running)
    }
}

/// The progress of one deployment over a plan.
#[derive(Debug, Clone)]
pub struct Schedule {
    states: Vec<ResourceState>,
    depends_on: Vec<Vec<usize>>,
    dependents: Vec<Vec<usize>>,
}

impl Schedule {
    /// A schedule where instances with a false condition are already `Skipped`.
    pub fn new(plan: &Plan) -> Schedule {
        let count = plan.resources.len();
        let mut dependents = vec![Vec::new(); count];
        for instance in &plan.resources {
            for target in &instance.depends_on {
                dependents[*target].push(instance.index);
            }
        }
        Schedule {
            states: plan
                .resources
                .iter()
                .map(|instance| {
                    if instance.condition == Condition::False {
                        ResourceState::Skipped
                    } else {
                        ResourceState::Waiting
                    }
                })
                .collect(),
            depends_on: plan
                .resources
                .iter()
                .map(|instance| instance.depends_on.clone())
                .collect(),
            dependents,
        }
    }

    pub fn state(&self, index: usize) -> ResourceState {
        self.states[index]
    }

    pub fn states(&self) -> &[ResourceState] {
        &self.states
    }

    /// Waiting instances whose dependencies all succeeded or were skipped, in template order.
    pub fn ready(&self) -> Vec<usize> {
        (0..self.states.len())
            .filter(|index| {
                self.states[*index] == ResourceState::Waiting
                    && self.depends_on[*index].iter().all(|target| {
                        matches!(
                            self.states[*target],
                            ResourceState::Succeeded | ResourceState::Skipped
                        )
                    })
            })
            .collect()
    }

    /// Marks an instance as started.
    pub fn start(&mut self, index: usize) {
        if self.states[index] == ResourceState::Waiting {
            self.states[index] = ResourceState::Running;
        }
    }

    /// Records how an instance ended; a failure blocks everything that depends on it, transitively.
    /// Returns the instances newly blocked.
    pub fn finish(&mut self, index: usize, outcome: ResourceState) -> Vec<usize> {
        self.states[index] = outcome;
        let mut blocked = Vec::new();
        if matches!(outcome, ResourceState::Failed | ResourceState::Blocked) {
            let mut stack = self.dependents[index].clone();
            while let Some(dependent) = stack.pop() {
                if self.states[dependent] == ResourceState::Waiting {
                    self.states[dependent] = ResourceState::Blocked;
                    blocked.push(dependent);
                    stack.extend(self.dependents[dependent].iter().copied());
                }
            }
        }
        blocked
    }

    /// Blocks every instance not started yet (cancel). Returns them.
    pub fn cancel_waiting(&mut self) -> Vec<usize> {
        let waiting: Vec<usize> = (0..self.states.len())
            .filter(|index| self.states[*index] == ResourceState::Waiting)
            .collect();
        for index in &waiting {
            self.states[*index] = ResourceState::Blocked;
        }
        waiting
    }

    /// Nothing runs and nothing more can start.
    pub fn is_finished(&self) -> bool {
        !self.states.contains(&ResourceState::Running) && self.ready().is_empty()
    }

    /// Every instance succeeded or was skipped.
    pub fn succeeded(&self) -> bool {
        self.states
            .iter()
            .all(|state| matches!(state, ResourceState::Succeeded | ResourceState::Skipped))
    }

    /// The plan as waves: wave `n` holds the instances whose longest dependency chain has length `n`
    /// (what runs together when everything succeeds instantly).
    pub fn waves(plan: &Plan) -> Vec<Vec<usize>> {
        let mut level = vec![0usize; plan.resources.len()];
        let mut order: Vec<usize> = Vec::with_capacity(plan.resources.len());
        let mut waiting: Vec<usize> = plan
            .resources
            .iter()
            .map(|instance| instance.depends_on.len())
            .collect();
        let mut dependents = vec![Vec::new(); plan.resources.len()];
        for instance in &plan.resources {
            for target in &instance.depends_on {
                dependents[*target].push(instance.index);
            }
        }
        let mut queue: std::collections::VecDeque<usize> = (0..plan.resources.len())
            .filter(|index| waiting[*index] == 0)
            .collect();
        while let Some(index) = queue.pop_front() {
            order.push(index);
            for dependent in &dependents[index] {
                level[*dependent] = level[*dependent].max(level[index] + 1);
                waiting[*dependent] -= 1;
                if waiting[*dependent] == 0 {
                    queue.push_back(*dependent);
                }
            }
        }
        let depth = order
            .iter()
            .map(|index| level[*index] + 1)
            .max()
            .unwrap_or(0);
        let mut waves = vec![Vec::new(); depth];
        for index in 0..plan.resources.len() {
            if order.contains(&index) {
                waves[level[index]].push(index);
            }
        }
        waves
    }
}
