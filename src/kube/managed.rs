//! The stored form of a managed (non-Flux) object: its JSON pruned to what fluxdeck reads
//! from it. A Deployment keeps its identity, generation, replica counts, container names and
//! images and its whole status; its pod template, labels, annotations and a ConfigMap's
//! `data` are not kept. Views that need the whole object fetch it live (the YAML view, drift,
//! evidence).
//!
//! [`KEPT`] lists every path kept and the reader that needs it. A reader of the stored form
//! that reads a new field must add its path there (the tests in `managed/tests.rs` compare
//! what the readers see of full and pruned objects).

use std::sync::LazyLock;

use serde_json::{Map, Value};

/// Every path of a managed object that a reader of its stored form reads (the stored form
/// is `Snapshot::managed`). `a.b` is field `b` of map `a`; `a[].b` is field `b` of every
/// element of array `a`. A path kept keeps everything below it.
pub const KEPT: &[&str] = &[
    // Identity: `snapshot::key_of` (the snapshot's key of the object); kstatus reads the
    // group of `apiVersion` and `kind` to pick its reader, `health::stuck_workload` and the
    // details pane read `kind`.
    "apiVersion",
    "kind",
    "metadata.name",
    "metadata.namespace",
    // `details::resource_version`: the details pane reloads events when it changes.
    "metadata.resourceVersion",
    // kstatus (LatestGenerationNotObserved, DaemonSet NoGeneration), details ("generation").
    "metadata.generation",
    // kstatus: Terminating.
    "metadata.deletionTimestamp",
    // kstatus: a Pod's unschedulable grace; `health::stuck_workload`: how long a workload
    // without a Ready-like condition has not been ready.
    "metadata.creationTimestamp",
    // kstatus (observedGeneration, conditions, replica counts, phase, containerStatuses,
    // Job times and counts, DaemonSet numbers, StatefulSet revisions), `health::managed_health`
    // (conditions' lastTransitionTime), details (counts, observedGeneration, conditions).
    "status",
    // kstatus: Deployment, StatefulSet, ReplicaSet; details: "replicas".
    "spec.replicas",
    // kstatus: a Deployment without a progress deadline counts as progressing.
    "spec.progressDeadlineSeconds",
    // kstatus: a StatefulSet with the OnDelete strategy is current; a partitioned rollout.
    "spec.updateStrategy.type",
    "spec.updateStrategy.rollingUpdate.partition",
    // kstatus: a suspended Job is current.
    "spec.suspend",
    // kstatus: a LoadBalancer Service without a cluster IP is in progress.
    "spec.type",
    "spec.clusterIP",
    // details: "image" lines of workloads (pod template), CronJobs and Pods.
    "spec.template.spec.containers[].name",
    "spec.template.spec.containers[].image",
    "spec.jobTemplate.spec.template.spec.containers[].name",
    "spec.jobTemplate.spec.template.spec.containers[].image",
    "spec.containers[].name",
    "spec.containers[].image",
];

/// What of a value is kept.
#[derive(Debug, PartialEq)]
pub(crate) enum Keep {
    /// All of it.
    All,
    /// These fields of a map, each pruned as given.
    Fields(Vec<(String, Keep)>),
    /// Every element of an array, pruned as given.
    Each(Box<Keep>),
}

/// One step of a path: a field of a map, or every element of an array.
enum Step<'a> {
    Field(&'a str),
    Each,
}

fn steps(path: &str) -> impl Iterator<Item = Step<'_>> {
    path.split('.').flat_map(|segment| {
        let (field, each) = match segment.strip_suffix("[]") {
            Some(f) => (f, true),
            None => (segment, false),
        };
        std::iter::once(Step::Field(field)).chain(each.then_some(Step::Each))
    })
}

impl Keep {
    /// What the paths keep. Where two paths disagree on the shape of a value (a map and an
    /// array), all of it is kept.
    pub(crate) fn of<'a>(paths: impl IntoIterator<Item = &'a str>) -> Keep {
        let mut root = Keep::Fields(Vec::new());
        for path in paths {
            root.add(steps(path));
        }
        root
    }

    fn add<'a>(&mut self, mut steps: impl Iterator<Item = Step<'a>>) {
        let Some(step) = steps.next() else {
            *self = Keep::All;
            return;
        };
        match (&mut *self, step) {
            (Keep::All, _) => {}
            (Keep::Fields(fields), Step::Field(name)) => {
                match fields.iter_mut().find(|(f, _)| f == name) {
                    Some((_, keep)) => keep.add(steps),
                    None => {
                        let mut keep = Keep::Fields(Vec::new());
                        keep.add(steps);
                        fields.push((name.to_string(), keep));
                    }
                }
            }
            (Keep::Fields(fields), Step::Each) if fields.is_empty() => {
                let mut keep = Keep::Fields(Vec::new());
                keep.add(steps);
                *self = Keep::Each(Box::new(keep));
            }
            (Keep::Each(item), Step::Each) => item.add(steps),
            _ => *self = Keep::All,
        }
    }

    /// `value` with only what this keeps. A value of another shape than expected (a map
    /// where an array is kept, a string where a map is) gives `None`: no reader finds a
    /// kept path below it either way.
    pub(crate) fn prune(&self, value: Value) -> Option<Value> {
        match (self, value) {
            (Keep::All, v) => Some(v),
            (Keep::Fields(fields), Value::Object(map)) => {
                let kept: Vec<(String, Value)> = map
                    .into_iter()
                    .filter_map(|(k, v)| {
                        let (_, keep) = fields.iter().find(|(f, _)| *f == k)?;
                        Some((k, keep.prune(v)?))
                    })
                    .collect();
                let mut out = Map::with_capacity(kept.len());
                out.extend(kept);
                Some(Value::Object(out))
            }
            // Elements keep their places (an element of another shape becomes null).
            (Keep::Each(item), Value::Array(items)) => Some(Value::Array(
                items
                    .into_iter()
                    .map(|v| item.prune(v).unwrap_or(Value::Null))
                    .collect(),
            )),
            _ => None,
        }
    }
}

static KEEP: LazyLock<Keep> = LazyLock::new(|| Keep::of(KEPT.iter().copied()));

/// The stored form of a managed object: only the paths in [`KEPT`].
pub fn prune(value: Value) -> Value {
    KEEP.prune(value).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests;
