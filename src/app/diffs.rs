//! The values diff (`v`) and the drift diff (`D`) of a HelmRelease: opened from the tree, the
//! details, the why view or the history, first as "loading", filled in when the executor's
//! answer arrives (answers about another object, or after the view was closed, are dropped).
//!
//! Both diffs read left to right as "what the cluster has" → "what Flux will apply": the
//! deployed release's values → the desired values; the live object → the apply dry-run.

use crate::actions::diffs::{DriftData, DriftObject, ValuesData};
use crate::app::keys::View;
use crate::domain::diff::DiffDoc;
use crate::domain::drift::ObjectDrift;
use crate::domain::flux::ObjectKey;

use super::diff::DiffView;
use super::history::helmrelease;
use super::msg::Effect;
use super::state::{AppState, Overlay};

/// `v`: the desired values of the HelmRelease in `view` against its deployed release's.
pub(crate) fn open_values(state: &mut AppState, view: View) -> Vec<Effect> {
    let Some(key) = helmrelease(state, view, "values") else {
        return Vec::new();
    };
    let title = format!("values · {key}");
    open(state, DiffView::loading(title).with_key(key.clone()));
    vec![Effect::FetchValuesDiff(key)]
}

/// `D`: the live objects of the HelmRelease in `view` against what helm-controller would
/// apply.
pub(crate) fn open_drift(state: &mut AppState, view: View) -> Vec<Effect> {
    let Some(key) = helmrelease(state, view, "drift") else {
        return Vec::new();
    };
    let title = format!("drift · {key}");
    open(
        state,
        DiffView::loading(title).listed().with_key(key.clone()),
    );
    vec![Effect::FetchDrift(key)]
}

fn open(state: &mut AppState, mut view: DiffView) {
    // Opened over the history: Esc goes back to it.
    if let Some(o @ Overlay::History(_)) = state.overlay.take() {
        view.back = Some(Box::new(o));
    }
    state.overlay = Some(Overlay::Diff(view));
    state.dirty = true;
}

/// The open diff view about `key`, if any.
fn view_for<'a>(state: &'a mut AppState, key: &ObjectKey) -> Option<&'a mut DiffView> {
    match state.overlay.as_mut() {
        Some(Overlay::Diff(d)) if d.key.as_ref() == Some(key) => Some(d),
        _ => None,
    }
}

impl AppState {
    /// The answer to [`Effect::FetchValuesDiff`].
    pub(crate) fn values_diff_loaded(
        &mut self,
        key: ObjectKey,
        result: Result<Box<ValuesData>, String>,
    ) {
        let Some(view) = view_for(self, &key) else {
            return;
        };
        match result.map(|d| values_docs(*d)) {
            Ok(Ok((docs, alternate))) => view.loaded(docs, alternate),
            Ok(Err(e)) | Err(e) => view.failed(e),
        }
        self.dirty = true;
    }

    /// The answer to [`Effect::FetchDrift`].
    pub(crate) fn drift_loaded(&mut self, key: ObjectKey, result: Result<Box<DriftData>, String>) {
        let Some(view) = view_for(self, &key) else {
            return;
        };
        match result {
            Ok(d) => match drift_docs(*d) {
                Ok(docs) => view.loaded(docs, None),
                Err(e) => view.failed(e),
            },
            Err(e) => view.failed(e),
        }
        self.dirty = true;
    }
}

type Docs = (Vec<DiffDoc>, Option<(String, Vec<DiffDoc>)>);

/// The values diff, and the computed values (chart defaults coalesced) as the alternate set.
fn values_docs(d: ValuesData) -> Result<Docs, String> {
    let values = match (d.values, &d.desired, &d.deployed) {
        (Ok(t), _, _) => t,
        (Err(e), Err(desired), _) => {
            return Err(format!(
                "the desired values cannot be composed (helm-controller would fail the same way):\n{desired}\n\n{e}"
            ));
        }
        (Err(e), _, _) => return Err(e),
    };
    let computed = d
        .computed
        .ok()
        .map(|t| ("computed values".to_string(), vec![t]));
    Ok((vec![values], computed))
}

/// Drifted and removed objects first, then excluded, then unchanged; errors as notes.
fn drift_docs(d: DriftData) -> Result<Vec<DiffDoc>, String> {
    if d.objects.is_empty() {
        return Err(if d.errors.is_empty() {
            format!("release {} has no objects in its manifest", d.release)
        } else {
            d.errors.join("\n")
        });
    }
    let rank = |o: &DriftObject| match o.report.drift {
        ObjectDrift::Changed { .. } | ObjectDrift::Removed => 0,
        ObjectDrift::Excluded => 1,
        ObjectDrift::None => 2,
    };
    let mut objects = d.objects;
    objects.sort_by_key(rank);
    let mut common = Vec::new();
    if d.mode == "disabled" {
        common.push(
            "driftDetection is disabled for this release: helm-controller neither reports nor corrects drift; this is what it would find".to_string(),
        );
    }
    if let Some(reason) = &d.approximate {
        common.push(format!(
            "approximate: {reason}; only the fields the manifest sets are compared"
        ));
    }
    common.extend(d.errors.iter().map(|e| format!("error: {e}")));
    Ok(objects
        .into_iter()
        .map(|o| {
            let mut t = o.texts;
            if t.heading.is_empty() {
                t.heading = o.report.line();
            }
            let mut notes = common.clone();
            if o.approximate && d.approximate.is_none() {
                notes.push("approximate: only the fields the manifest sets are compared".into());
            }
            notes.append(&mut t.notes);
            t.notes = notes;
            t
        })
        .collect())
}
