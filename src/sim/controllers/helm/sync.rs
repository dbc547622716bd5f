//! The in-sync state of the simulated helm-controller: drift detection (warn/enabled),
//! delayed drift correction, and the Ready summary of an unchanged release.

use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::{DRIFT_CORRECT_DELAY, Desired, drift, release, render};
use crate::sim::controllers::Ctx;
use crate::sim::controllers::conditions::{self as c, s};
use crate::sim::controllers::events::{self, Kind};
use crate::sim::controllers::queue::Work;
use crate::sim::registry::ids;

impl Ctx {
    pub(super) fn in_sync(
        &mut self,
        d: &Desired,
        mut st: Map<String, Value>,
        latest: &crate::domain::helm_storage::Release,
    ) {
        let mode = s(&d.hr, "/spec/driftDetection/mode").to_string();
        if mode == "warn" || mode == "enabled" {
            let objs = render::manifest_objects(&latest.manifest)
                .into_iter()
                .map(|o| release::with_helm_metadata(o, d))
                .collect::<Vec<_>>();
            let drifts = drift::detect(
                &self.store,
                &objs,
                &d.hr["spec"]["driftDetection"]["ignore"],
            );
            let rel = latest.full_name();
            if drifts.is_empty() {
                self.helm.drift_due.remove(&d.key);
                c::set(
                    &mut st,
                    "Drifted",
                    "False",
                    "NoDriftDetected",
                    "No drift detected against the cluster state",
                    d.generation,
                );
            } else {
                let lines: Vec<String> = drifts.iter().map(|x| x.line.clone()).collect();
                let msg = format!(
                    "Cluster state of release {rel} has drifted from the desired state:\n{}",
                    lines.join("\n")
                );
                let before = c::get(&d.hr, "Drifted").map(|x| x["message"].clone());
                c::set(
                    &mut st,
                    "Drifted",
                    "True",
                    "DriftDetected",
                    &msg,
                    d.generation,
                );
                if before != Some(json!(msg)) {
                    self.events.emit(
                        &self.store,
                        &d.hr,
                        Kind::Warning,
                        "DriftDetected",
                        &msg,
                        events::HELM,
                        release::event_annotations(latest),
                    );
                }
                if mode == "enabled" {
                    let now = Instant::now();
                    let due = *self
                        .helm
                        .drift_due
                        .entry(d.key.clone())
                        .or_insert(now + self.clock.scaled(DRIFT_CORRECT_DELAY));
                    if now >= due {
                        self.helm.drift_due.remove(&d.key);
                        let (done, errors) = drift::correct(&self.store, &drifts);
                        for x in &drifts {
                            if let Ok((r, k)) = crate::sim::scenario::object_identity(&x.object)
                                && let Some(o) = self.store.get(&r, &k)
                            {
                                self.helm.note_own(&r, &o);
                            }
                        }
                        if errors.is_empty() {
                            let text = format!(
                                "Cluster state of release {rel} has been corrected:\n{}",
                                done.join("\n")
                            );
                            self.events.emit(
                                &self.store,
                                &d.hr,
                                Kind::Normal,
                                "DriftCorrected",
                                &text,
                                events::HELM,
                                release::event_annotations(latest),
                            );
                            c::set(
                                &mut st,
                                "Drifted",
                                "False",
                                "NoDriftDetected",
                                "No drift detected against the cluster state",
                                d.generation,
                            );
                        } else {
                            let text = format!(
                                "Failed to correct cluster state of release {rel}:\n{}",
                                errors.join("\n")
                            );
                            self.events.emit(
                                &self.store,
                                &d.hr,
                                Kind::Warning,
                                "DriftCorrectionFailed",
                                &text,
                                events::HELM,
                                Map::new(),
                            );
                        }
                    } else {
                        self.queue.push_after(Work::Hr(d.key.clone()), due - now);
                    }
                }
            }
        } else {
            c::remove(&mut st, "Drifted");
        }
        if !c::is_true(&d.hr, "Ready")
            && c::get(&d.hr, "Remediated").is_none()
            && let Some(rc) = c::get(&d.hr, "Released").cloned()
        {
            c::set(
                &mut st,
                "Ready",
                s(&rc, "/status"),
                s(&rc, "/reason"),
                s(&rc, "/message"),
                d.generation,
            );
        }
        c::remove(&mut st, "Reconciling");
        if c::is_true(&d.hr, "Ready") || c::get(&d.hr, "Remediated").is_none() {
            st.insert("observedGeneration".into(), json!(d.generation));
        }
        let _ = self.write_status(&ids::helmreleases(), &d.key, st);
    }
}
