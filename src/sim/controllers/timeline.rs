//! The scenario timeline: steps at scaled times (optionally repeating) that commit to
//! sources, edit live objects by hand, and make sources fail or recover.

use serde_json::Value;

use super::Ctx;
use super::clock::parse_duration;
use super::queue::Work;
use crate::sim::scenario::{Action, parse_ns_name, parse_ref};
use crate::sim::store::{WriteOpts, WritePart};

impl Ctx {
    pub(crate) fn schedule_timeline(&mut self) {
        for (i, step) in self.scenario.timeline.iter().enumerate() {
            if let Some(d) = parse_duration(&step.at) {
                let delay = self.clock.scaled(d);
                self.queue.push_after(Work::Step(i), delay);
            }
        }
    }

    pub(crate) fn run_step(&mut self, i: usize) {
        let Some(step) = self.scenario.timeline.get(i).cloned() else {
            return;
        };
        let fired = self.helm.step_fired(i);
        let pick = |patches: &[Value]| -> Option<Value> {
            (!patches.is_empty()).then(|| patches[fired % patches.len()].clone())
        };
        match &step.action {
            Action::Commit {
                source,
                kustomization,
                target,
                patches,
            } => {
                if let (Some(ks), Some(t), Some(p)) = (kustomization, target, pick(patches))
                    && let (Ok(ks), Ok(t)) = (parse_ns_name(ks), parse_ref(t))
                    && let Some(objs) = self.kustomize.content.get_mut(&ks)
                {
                    for o in objs.iter_mut() {
                        let ns = o
                            .pointer("/metadata/namespace")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        let name = o
                            .pointer("/metadata/name")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        if o["kind"] == t.kind.as_str()
                            && ns == t.key.namespace
                            && name == t.key.name
                        {
                            json_patch::merge(o, &p);
                        }
                    }
                }
                if let Ok(src) = parse_ref(source) {
                    self.sources.commit(&src.resource, &src.key);
                    self.queue.push_now(Work::Source(src.resource, src.key));
                }
            }
            Action::Edit { target, patches } => {
                if let (Ok(t), Some(p)) = (parse_ref(target), pick(patches)) {
                    let _ = self.store.modify(
                        &t.resource,
                        &t.key,
                        WritePart::Main,
                        WriteOpts::default(),
                        |cur| {
                            let mut n = cur.clone();
                            json_patch::merge(&mut n, &p);
                            Ok(Some(n))
                        },
                    );
                }
            }
            Action::SourceFail {
                source,
                reason,
                message,
            } => {
                if let Ok(src) = parse_ref(source) {
                    self.sources.fail(&src.resource, &src.key, reason, message);
                    self.queue.push_now(Work::Source(src.resource, src.key));
                }
            }
            Action::SourceRecover { source } => {
                if let Ok(src) = parse_ref(source) {
                    self.sources.recover(&src.resource, &src.key);
                    self.queue.push_now(Work::Source(src.resource, src.key));
                }
            }
        }
        if let Some(every) = step.every.as_deref().and_then(parse_duration)
            && !every.is_zero()
        {
            let delay = self.clock.scaled(every);
            self.queue.push_after(Work::Step(i), delay);
        }
    }
}
