//! What the diff views and `fluxdeck diff` show, read from the cluster: a HelmRelease's
//! desired values (composed from `spec.values` and the ConfigMaps and Secrets its
//! `valuesFrom` names) against the values of its deployed Helm release, the values and
//! manifests of two revisions, and the drift of the release's objects (the live object
//! against what helm-controller's server-side apply would make of the manifest).
//!
//! Everything here reads (GET and LIST), except the drift's server-side apply dry-runs, which
//! persist nothing (see [`Reader::apply_dry_run`]). The results are plain data with the texts
//! to diff ready: values as YAML with sorted keys, values from Secrets and Secret data masked
//! unless the user asked to see them.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use super::history::{self, History, Record};
use super::writer::{ActionError, HELM_FIELD_MANAGER, Reader, label};
use crate::domain::diff::{DiffDoc, yaml};
use crate::domain::drift::{self, ObjectReport};
use crate::domain::flux::{DriftIgnoreRule, HelmRelease, ObjectKey};
use crate::domain::helm_history::{HistoryRow, Ownership, object_to_apply, split_manifest};
use crate::domain::helm_storage::{Release, ReleaseStatus};
use crate::domain::values::{self, Composed, Sources};

/// How secret values are shown in the texts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiffOptions {
    /// Show values from Secrets and Secret data as they are (`--show-secrets`).
    pub show_secrets: bool,
    /// Masks in ASCII (`****** #xxxx`) instead of `•••••• #xxxx`.
    pub ascii: bool,
    /// A read-only session: no server-side apply dry-run either (a PATCH, even though it
    /// persists nothing); the drift is compared on the fields the manifest sets.
    pub read_only: bool,
}

/// Two texts to diff and what they are (`old` on the left, `new` on the right): the one
/// document type of the diff view.
pub type DiffTexts = DiffDoc;

/// The values of one Helm release record.
#[derive(Clone, Debug, PartialEq)]
pub struct RevisionValues {
    pub revision: i64,
    pub status: ReleaseStatus,
    /// `<chart>@<version>`.
    pub chart: String,
    /// The user-supplied values (`config`).
    pub config: Map<String, Value>,
    /// The chart's default values (`chart.values`; subcharts' defaults are not stored).
    pub chart_values: Map<String, Value>,
    pub manifest: String,
}

impl RevisionValues {
    fn from_record(r: &Record) -> Result<RevisionValues, String> {
        let rel: &Release = r.release()?;
        Ok(RevisionValues {
            revision: r.meta.version,
            status: r.meta.status,
            chart: rel.chart_ref(),
            config: rel.config.clone(),
            chart_values: rel.chart.values.clone(),
            manifest: rel.manifest.clone(),
        })
    }

    /// Helm's computed values: `config` coalesced over the chart defaults.
    pub fn computed(&self) -> Map<String, Value> {
        values::coalesce(&self.chart_values, &self.config)
    }
}

/// The desired values as helm-controller would compose them now.
#[derive(Clone, Debug, PartialEq)]
pub struct Desired {
    pub values: Map<String, Value>,
    /// "spec.values + 2 valuesFrom", "spec.values", "1 valuesFrom", "no values".
    pub describe: String,
    /// JSON pointers whose value came from a Secret.
    pub secret_pointers: Vec<String>,
    /// The origin label of each JSON pointer the composition recorded.
    pub origins: BTreeMap<String, String>,
}

impl Desired {
    fn from_composed(c: &Composed) -> Desired {
        Desired {
            values: c.values.clone(),
            describe: c.describe(),
            secret_pointers: c.secret_pointers(),
            origins: c
                .origins
                .iter()
                .map(|(p, o)| (p.clone(), o.label()))
                .collect(),
        }
    }

    /// The origin label of the value at `pointer`: that of its longest recorded prefix.
    pub fn origin_of(&self, pointer: &str) -> Option<&str> {
        let mut p = pointer;
        loop {
            if let Some(o) = self.origins.get(p) {
                return Some(o);
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return None,
            }
        }
    }
}

/// A HelmRelease's values: desired (composed now) and deployed (the newest `deployed`
/// record), with the texts of the values view.
#[derive(Clone, Debug, PartialEq)]
pub struct ValuesData {
    pub key: ObjectKey,
    pub release_name: String,
    pub release_namespace: String,
    pub storage_namespace: String,
    /// The desired values; `Err` is why they cannot be composed (the controller's error for a
    /// missing reference, or a ConfigMap/Secret that could not be read).
    pub desired: Result<Desired, String>,
    /// The newest record with status `deployed`; `Err` says there is none, or why it cannot be
    /// read.
    pub deployed: Result<RevisionValues, String>,
    /// Every storage record, oldest first.
    pub rows: Vec<HistoryRow>,
    /// Desired values vs the deployed `config` (left: deployed, right: desired; line notes:
    /// the origin of each desired line). `Err` when either side is unknown.
    pub values: Result<DiffTexts, String>,
    /// The same, computed: each side coalesced over the deployed record's chart defaults.
    pub computed: Result<DiffTexts, String>,
}

impl ValuesData {
    /// Whether the desired values differ from the deployed `config` (numbers equal by value);
    /// `None` when either side is unknown.
    pub fn pending(&self) -> Option<bool> {
        let (Ok(d), Ok(r)) = (&self.desired, &self.deployed) else {
            return None;
        };
        Some(!values::same(
            &Value::Object(d.values.clone()),
            &Value::Object(r.config.clone()),
        ))
    }
}

/// Two revisions' values and manifests.
#[derive(Clone, Debug, PartialEq)]
pub struct RevisionsData {
    pub key: ObjectKey,
    pub release_name: String,
    pub a: RevisionValues,
    pub b: RevisionValues,
    /// The revision that is deployed, if any.
    pub deployed: Option<i64>,
    /// `config` of A (left) vs B (right).
    pub values: DiffTexts,
    /// Computed values, each coalesced over its own record's chart defaults.
    pub computed: DiffTexts,
    /// The manifests, object by object as YAML with sorted keys (Secret data masked).
    pub manifests: DiffTexts,
}

/// A release's drift: one report per object of the latest record's manifest.
#[derive(Clone, Debug, PartialEq)]
pub struct DriftData {
    pub key: ObjectKey,
    /// `<namespace>/<name>.v<revision>` as the controller names it.
    pub release: String,
    pub revision: i64,
    /// `spec.driftDetection.mode` (`disabled` when absent).
    pub mode: String,
    /// Why the comparison is approximate (a dry-run was forbidden or failed): then only the
    /// fields the manifest sets are compared for the objects listed in [`DriftObject`].
    pub approximate: Option<String>,
    pub objects: Vec<DriftObject>,
    /// Objects that could not be compared (`Kind/ns/name: reason`).
    pub errors: Vec<String>,
}

/// One object's drift and its texts.
#[derive(Clone, Debug, PartialEq)]
pub struct DriftObject {
    pub report: ObjectReport,
    /// Compared without a dry-run (only the fields the manifest sets).
    pub approximate: bool,
    /// Live (left) vs desired (right), YAML with sorted keys; Secret data masked unless
    /// secrets are shown.
    pub texts: DiffTexts,
}

impl DriftData {
    pub fn reports(&self) -> Vec<ObjectReport> {
        self.objects.iter().map(|o| o.report.clone()).collect()
    }

    /// The controller's summary ("Cluster state of release … has drifted …"); `None` when
    /// nothing drifted.
    pub fn summary(&self) -> Option<String> {
        drift::summary(&self.release, &self.reports())
    }

    /// Whether any object changed or is missing.
    pub fn drifted(&self) -> bool {
        self.objects.iter().any(|o| o.report.drift.is_drift())
    }
}

/// A salt for masks, new for each load: masks compare within one view, and say nothing
/// across loads.
fn salt() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0x5eed);
    h.finish()
}

/// ConfigMap or Secret data as read: `Ok(None)` when the object does not exist.
async fn read_data(
    reader: &Reader,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Result<Option<BTreeMap<String, String>>, ActionError> {
    let (resource, namespaced) = reader.resolve("v1", kind).await?;
    let Some(obj) = reader
        .get_object(&resource, namespaced, namespace, name)
        .await?
    else {
        return Ok(None);
    };
    let mut out = BTreeMap::new();
    let Some(data) = obj.get("data").and_then(Value::as_object) else {
        return Ok(Some(out));
    };
    for (k, v) in data {
        let text = v.as_str().unwrap_or_default();
        let value = if kind == "Secret" {
            let bytes = STANDARD.decode(text.as_bytes()).map_err(|e| {
                ActionError::Api(format!(
                    "Secret/{namespace}/{name}: key {k:?} is not valid base64: {e}"
                ))
            })?;
            String::from_utf8(bytes).map_err(|_| {
                ActionError::Api(format!(
                    "Secret/{namespace}/{name}: the value of key {k:?} is not UTF-8 text"
                ))
            })?
        } else {
            text.to_string()
        };
        out.insert(k.clone(), value);
    }
    Ok(Some(out))
}

/// Read the ConfigMaps and Secrets the HelmRelease's `valuesFrom` names (in its namespace).
/// An object that does not exist is left out (the composition decides whether that is an
/// error); a 403 names the missing permission.
pub async fn fetch_sources(reader: &Reader, hr: &HelmRelease) -> Result<Sources, ActionError> {
    let ns = hr.metadata.namespace.clone().unwrap_or_default();
    let mut config_maps = BTreeMap::new();
    let mut secrets = BTreeMap::new();
    for (kind, name) in values::references(hr) {
        let into = match kind.as_str() {
            "ConfigMap" => &mut config_maps,
            "Secret" => &mut secrets,
            // An unsupported kind: the composition reports it as the controller does.
            _ => continue,
        };
        if let Some(data) = read_data(reader, &kind, &ns, &name).await? {
            into.insert(name, data);
        }
    }
    Ok(Sources {
        config_maps,
        secrets,
    })
}

/// Masked copies of `v` at `pointers` (unless secrets are shown).
fn masked(v: &Map<String, Value>, pointers: &[String], salt: u64, opts: DiffOptions) -> Value {
    let mut v = Value::Object(v.clone());
    if !opts.show_secrets && !pointers.is_empty() {
        values::mask(&mut v, pointers, salt, opts.ascii);
    }
    v
}

/// YAML text (sorted keys, one entry a line) and the JSON pointer of each line.
fn yaml_text(v: &Value) -> (String, Vec<String>) {
    let lines = values::yaml_lines(v);
    let mut text = String::new();
    let mut pointers = Vec::with_capacity(lines.len());
    for l in lines {
        text.push_str(&l.text);
        text.push('\n');
        pointers.push(l.pointer);
    }
    (text, pointers)
}

fn deployed_label(r: &RevisionValues) -> String {
    format!("deployed rev {} ({})", r.revision, r.chart)
}

/// Deployed (left) vs desired (right), plain or computed over the deployed chart defaults.
fn desired_texts(
    desired: &Desired,
    deployed: &RevisionValues,
    computed: bool,
    salt: u64,
    opts: DiffOptions,
) -> DiffTexts {
    let (old, new) = if computed {
        (
            deployed.computed(),
            values::coalesce(&deployed.chart_values, &desired.values),
        )
    } else {
        (deployed.config.clone(), desired.values.clone())
    };
    let pointers = &desired.secret_pointers;
    let (old, _) = yaml_text(&masked(&old, pointers, salt, opts));
    let (new, new_pointers) = yaml_text(&masked(&new, pointers, salt, opts));
    let line_notes = new_pointers
        .iter()
        .map(|p| match desired.origin_of(p) {
            Some(o) => Some(o.to_string()),
            None if computed => Some(format!("chart default (rev {})", deployed.revision)),
            None => None,
        })
        .collect();
    let which = if computed {
        "computed values"
    } else {
        "values"
    };
    DiffTexts {
        heading: format!("{which}: deployed rev {} → desired", deployed.revision),
        left_label: if computed {
            format!("{} computed", deployed_label(deployed))
        } else {
            deployed_label(deployed)
        },
        right_label: if computed {
            format!(
                "desired: {} (computed with rev {}'s chart defaults)",
                desired.describe, deployed.revision
            )
        } else {
            format!("desired: {}", desired.describe)
        },
        old,
        new,
        notes: Vec::new(),
        line_notes,
    }
}

/// The desired values against nothing, when no revision is deployed (`why`).
fn undeployed_texts(desired: &Desired, why: &str, salt: u64, opts: DiffOptions) -> DiffTexts {
    let (new, pointers) = yaml_text(&masked(
        &desired.values,
        &desired.secret_pointers,
        salt,
        opts,
    ));
    DiffTexts {
        heading: "values: nothing deployed → desired".to_string(),
        left_label: "nothing deployed".to_string(),
        right_label: format!("desired: {}", desired.describe),
        old: String::new(),
        new,
        notes: vec![why.to_string()],
        line_notes: pointers
            .iter()
            .map(|p| desired.origin_of(p).map(str::to_string))
            .collect(),
    }
}

/// The newest record with status `deployed`.
fn deployed_record(h: &History) -> Result<RevisionValues, String> {
    let record = h
        .records
        .iter()
        .rev()
        .find(|r| r.meta.status == ReleaseStatus::Deployed)
        .ok_or_else(|| {
            if h.records.is_empty() {
                format!(
                    "release {}/{} has no records in namespace {}: it was never installed",
                    h.release_namespace, h.release_name, h.storage_namespace
                )
            } else {
                format!(
                    "release {}/{} has no deployed revision (latest: revision {}, {})",
                    h.release_namespace,
                    h.release_name,
                    h.records.last().map_or(0, |r: &Record| r.meta.version),
                    h.records
                        .last()
                        .map_or("", |r: &Record| r.meta.status.as_str())
                )
            }
        })?;
    RevisionValues::from_record(record)
}

/// Compose the desired values now (`Err`: the reason they cannot be).
async fn desired_values(reader: &Reader, h: &History) -> Result<Desired, String> {
    let sources = fetch_sources(reader, &h.hr)
        .await
        .map_err(|e| e.to_string())?;
    let composed = values::compose(&h.key.namespace, &h.hr, &sources)?;
    Ok(Desired::from_composed(&composed))
}

/// A HelmRelease's desired and deployed values, Secret values masked (see
/// [`load_values_with`]).
pub async fn load_values(reader: &Reader, key: &ObjectKey) -> Result<ValuesData, ActionError> {
    load_values_with(reader, key, DiffOptions::default()).await
}

/// A HelmRelease's desired values (composed from the objects as they are now) and the values
/// of its deployed release. `Err` only when the HelmRelease or its storage records cannot be
/// read; a composition error or a release without a deployed revision is in the data.
pub async fn load_values_with(
    reader: &Reader,
    key: &ObjectKey,
    opts: DiffOptions,
) -> Result<ValuesData, ActionError> {
    let h = history::load(reader, key).await?;
    let desired = desired_values(reader, &h).await;
    let deployed = deployed_record(&h);
    let salt = salt();
    let texts = |computed: bool| match (&desired, &deployed) {
        (Ok(d), Ok(r)) => Ok(desired_texts(d, r, computed, salt, opts)),
        // Nothing deployed yet: the values the next install would pass, against nothing.
        (Ok(d), Err(why)) if !computed => Ok(undeployed_texts(d, why, salt, opts)),
        (Err(e), _) | (_, Err(e)) => Err(e.clone()),
    };
    Ok(ValuesData {
        key: key.clone(),
        release_name: h.release_name.clone(),
        release_namespace: h.release_namespace.clone(),
        storage_namespace: h.storage_namespace.clone(),
        values: texts(false),
        computed: texts(true),
        rows: h.rows(),
        desired,
        deployed,
    })
}

fn revision_label(r: &RevisionValues, deployed: Option<i64>) -> String {
    if Some(r.revision) == deployed {
        deployed_label(r)
    } else {
        format!("rev {} ({}, {})", r.revision, r.chart, r.status.as_str())
    }
}

/// The pointers of a Secret object's values (`data`, `stringData`) and of the last-applied
/// annotation, which repeats them.
fn secret_object_pointers(obj: &Value) -> Vec<String> {
    let is_secret = obj.get("kind").and_then(Value::as_str) == Some("Secret")
        && obj.get("apiVersion").and_then(Value::as_str) == Some("v1");
    if !is_secret {
        return Vec::new();
    }
    let mut out = Vec::new();
    for field in ["data", "stringData"] {
        if let Some(m) = obj.get(field).and_then(Value::as_object) {
            for k in m.keys() {
                out.push(format!(
                    "/{field}/{}",
                    k.replace('~', "~0").replace('/', "~1")
                ));
            }
        }
    }
    if obj
        .pointer("/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration")
        .is_some()
    {
        out.push("/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration".into());
    }
    out
}

/// An object as YAML with sorted keys, Secret values masked unless shown.
fn object_yaml(obj: &Value, salt: u64, opts: DiffOptions) -> String {
    let pointers = secret_object_pointers(obj);
    if opts.show_secrets || pointers.is_empty() {
        return yaml(obj);
    }
    let mut v = obj.clone();
    values::mask(&mut v, &pointers, salt, opts.ascii);
    yaml(&v)
}

/// A manifest as the diff shows it: each object as YAML with sorted keys, `---` between them.
/// A manifest that cannot be split is shown as it is.
fn manifest_text(manifest: &str, salt: u64, opts: DiffOptions) -> String {
    match split_manifest(manifest) {
        Ok(objects) => objects
            .iter()
            .map(|o| object_yaml(&o.value, salt, opts))
            .collect::<Vec<_>>()
            .join("---\n"),
        Err(_) => manifest.to_string(),
    }
}

/// The values and manifests of revisions `a` and `b` (`None`: the deployed revision). Values
/// are masked at the pointers whose value the HelmRelease now takes from a Secret (the
/// records do not say where their values came from).
pub async fn load_revisions(
    reader: &Reader,
    key: &ObjectKey,
    a: i64,
    b: Option<i64>,
    opts: DiffOptions,
) -> Result<RevisionsData, ActionError> {
    let h = history::load(reader, key).await?;
    let deployed = deployed_record(&h).ok().map(|r| r.revision);
    let b = match b.or(deployed) {
        Some(b) => b,
        None => {
            return Err(ActionError::Unsupported(format!(
                "release {}/{} has no deployed revision: name two revisions (A..B)",
                h.release_namespace, h.release_name
            )));
        }
    };
    let revision = |v: i64| -> Result<RevisionValues, ActionError> {
        let r = h.record(v).ok_or_else(|| {
            ActionError::NotFound(format!(
                "revision {v} of release {}/{} (revisions in storage: {})",
                h.release_namespace,
                h.release_name,
                h.records
                    .iter()
                    .map(|r| r.meta.version.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        RevisionValues::from_record(r).map_err(ActionError::Api)
    };
    let (ra, rb) = (revision(a)?, revision(b)?);
    let pointers = desired_values(reader, &h)
        .await
        .map(|d| d.secret_pointers)
        .unwrap_or_default();
    let salt = salt();
    let (la, lb) = (revision_label(&ra, deployed), revision_label(&rb, deployed));
    let values_texts = |computed: bool| {
        let (x, y) = if computed {
            (ra.computed(), rb.computed())
        } else {
            (ra.config.clone(), rb.config.clone())
        };
        let which = if computed {
            "computed values"
        } else {
            "values"
        };
        DiffTexts {
            heading: format!(
                "{which}: revision {} → revision {}",
                ra.revision, rb.revision
            ),
            left_label: la.clone(),
            right_label: lb.clone(),
            old: yaml_text(&masked(&x, &pointers, salt, opts)).0,
            new: yaml_text(&masked(&y, &pointers, salt, opts)).0,
            notes: Vec::new(),
            line_notes: Vec::new(),
        }
    };
    let manifests = DiffTexts {
        heading: format!(
            "manifest: revision {} → revision {}",
            ra.revision, rb.revision
        ),
        left_label: la.clone(),
        right_label: lb.clone(),
        old: manifest_text(&ra.manifest, salt, opts),
        new: manifest_text(&rb.manifest, salt, opts),
        notes: Vec::new(),
        line_notes: Vec::new(),
    };
    Ok(RevisionsData {
        key: key.clone(),
        release_name: h.release_name.clone(),
        values: values_texts(false),
        computed: values_texts(true),
        manifests,
        deployed,
        a: ra,
        b: rb,
    })
}

/// The drift of a HelmRelease's objects, Secret data masked (see [`load_drift_with`]).
pub async fn load_drift(reader: &Reader, key: &ObjectKey) -> Result<DriftData, ActionError> {
    load_drift_with(reader, key, DiffOptions::default()).await
}

/// The drift of a HelmRelease's objects, as helm-controller detects it (flux-facts §7): each
/// object of the latest record's manifest (hooks are not in it), with Helm's ownership
/// metadata and the release namespace for namespaced objects without one, is read live and
/// applied in a dry-run as `helm-controller` with force; the result is compared with the live
/// object, honouring `driftDetection.ignore` and the exclusion label/annotation. When a
/// dry-run is forbidden or fails, that object is compared approximately (the fields the
/// manifest sets) and the data says why.
pub async fn load_drift_with(
    reader: &Reader,
    key: &ObjectKey,
    opts: DiffOptions,
) -> Result<DriftData, ActionError> {
    let h = history::load(reader, key).await?;
    let latest = h.latest().ok_or_else(|| {
        ActionError::Unsupported(format!(
            "{}: release {}/{} has no records in namespace {}: nothing is deployed",
            label(key),
            h.release_namespace,
            h.release_name,
            h.storage_namespace
        ))
    })?;
    let rel = latest.release().map_err(ActionError::Api)?;
    let objects = split_manifest(&rel.manifest)
        .map_err(|e| ActionError::Api(format!("{}: {e}", latest.meta.secret)))?;
    let detection = h.hr.spec.drift_detection.clone().unwrap_or_default();
    let rules: Vec<DriftIgnoreRule> = detection.ignore.clone();
    let release_namespace = if rel.namespace.is_empty() {
        h.release_namespace.clone()
    } else {
        rel.namespace.clone()
    };
    let owner = Ownership {
        release_name: h.release_name.clone(),
        release_namespace: release_namespace.clone(),
        helm_release: (key.namespace.to_string(), key.name.to_string()),
    };
    let salt = salt();
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut approximate: Option<String> = None;
    for obj in &objects {
        let (resource, namespaced) = match reader.resolve(&obj.api_version, &obj.kind).await {
            Ok(r) => r,
            Err(e) => {
                errors.push(format!("{}/{}: {e}", obj.kind, obj.name));
                continue;
            }
        };
        let desired = object_to_apply(obj, namespaced, &owner);
        let id = obj.id(namespaced, &release_namespace);
        let shown_id = if id.namespace.is_empty() {
            format!("{}/{}", obj.kind, obj.name)
        } else {
            format!("{}/{}/{}", obj.kind, id.namespace, obj.name)
        };
        let live = match reader
            .get_object(&resource, namespaced, &id.namespace, &obj.name)
            .await
        {
            Ok(l) => l,
            Err(e) => {
                errors.push(format!("{shown_id}: {e}"));
                continue;
            }
        };
        let mut approx = false;
        // An excluded object needs no dry-run (the controller sends none).
        let ignored = drift::ignored_pointers(&rules, &desired).unwrap_or_default();
        let excluded = drift::is_excluded(&desired, live.as_ref(), &ignored);
        let compared = match &live {
            None => drift::compare(&desired, None, None, &rules),
            Some(l) if excluded => drift::compare(&desired, None, Some(l), &rules),
            Some(l) if opts.read_only => {
                approx = true;
                approximate.get_or_insert_with(|| {
                    "read-only session: no apply dry-run is sent, so the fields the manifest \
                     sets are compared"
                        .to_string()
                });
                drift::compare_approximate(&desired, Some(l), &rules)
            }
            Some(l) => match reader.apply_dry_run(&desired, HELM_FIELD_MANAGER).await {
                Ok(dry) => drift::compare(&desired, Some(&dry), Some(l), &rules),
                Err(e) => {
                    approx = true;
                    approximate.get_or_insert_with(|| {
                        format!("the apply dry-run of {shown_id} failed: {e}")
                    });
                    drift::compare_approximate(&desired, Some(l), &rules)
                }
            },
        };
        let report = match compared {
            Ok(r) => r,
            Err(e) => {
                errors.push(format!("{shown_id}: {e}"));
                continue;
            }
        };
        let mut texts = drift_texts(&report, approx, salt, opts);
        if !excluded && !ignored.is_empty() {
            texts.notes.insert(
                0,
                format!("ignored (driftDetection.ignore): {}", ignored.join(", ")),
            );
        }
        out.push(DriftObject {
            report,
            approximate: approx,
            texts,
        });
    }
    Ok(DriftData {
        key: key.clone(),
        release: rel.full_name(),
        revision: rel.version,
        mode: detection.mode.unwrap_or_else(|| "disabled".to_string()),
        approximate,
        objects: out,
        errors,
    })
}

fn drift_texts(
    report: &ObjectReport,
    approximate: bool,
    salt: u64,
    opts: DiffOptions,
) -> DiffTexts {
    // Mask both sides at the same pointers, so that a changed value shows a changed mask.
    let mut pointers = secret_object_pointers(&report.desired);
    if let Some(live) = &report.live {
        for p in secret_object_pointers(live) {
            if !pointers.contains(&p) {
                pointers.push(p);
            }
        }
    }
    let show = |v: &Value| {
        let mut v = v.clone();
        if !opts.show_secrets && !pointers.is_empty() {
            values::mask(&mut v, &pointers, salt, opts.ascii);
        }
        yaml(&v)
    };
    DiffTexts {
        heading: report.line(),
        left_label: match &report.live {
            Some(_) => format!("{} (live)", report.id()),
            None => format!("{} (missing from the cluster)", report.id()),
        },
        right_label: if approximate {
            format!("{} (manifest: approximate)", report.id())
        } else {
            format!(
                "{} (desired: apply dry-run as {HELM_FIELD_MANAGER})",
                report.id()
            )
        },
        old: report.live.as_ref().map(&show).unwrap_or_default(),
        new: show(&report.desired),
        notes: report.ops.clone(),
        line_notes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn secret_report(live: &str, desired: &str) -> ObjectReport {
        let secret = |v: &str| {
            json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "db", "namespace": "apps"},
                "data": {"password": STANDARD.encode(v), "user": STANDARD.encode("app")},
            })
        };
        ObjectReport {
            kind: "Secret".into(),
            namespace: Some("apps".into()),
            name: "db".into(),
            drift: drift::ObjectDrift::Changed {
                additions: 0,
                changes: 1,
                removals: 0,
            },
            live: Some(secret(live)),
            desired: secret(desired),
            ops: vec!["replace /data/password".into()],
        }
    }

    #[test]
    fn secret_data_is_masked_on_both_sides_and_the_mask_shows_a_change() {
        let opts = DiffOptions::default();
        let t = drift_texts(&secret_report("hunter2", "hunter3"), false, 7, opts);
        let all = format!("{}{}", t.old, t.new);
        assert!(!all.contains(&STANDARD.encode("hunter2")), "{all}");
        assert!(!all.contains(&STANDARD.encode("app")), "{all}");
        let line = |text: &str, key: &str| {
            text.lines()
                .find(|l| l.trim_start().starts_with(key))
                .unwrap()
                .to_string()
        };
        assert!(line(&t.old, "password:").contains("•••••• #"), "{}", t.old);
        assert_ne!(line(&t.old, "password:"), line(&t.new, "password:"));
        assert_eq!(line(&t.old, "user:"), line(&t.new, "user:"));
        assert_eq!(t.notes, ["replace /data/password"]);
        assert!(
            t.right_label.contains("dry-run as helm-controller"),
            "{t:?}"
        );

        let ascii = DiffOptions {
            ascii: true,
            ..opts
        };
        let t = drift_texts(&secret_report("a", "a"), true, 7, ascii);
        assert!(t.old.contains("****** #") && !t.differs(), "{}", t.old);
        assert!(t.right_label.contains("approximate"), "{t:?}");

        let shown = DiffOptions {
            show_secrets: true,
            ..opts
        };
        let t = drift_texts(&secret_report("hunter2", "hunter3"), false, 7, shown);
        assert!(t.old.contains(&STANDARD.encode("hunter2")), "{}", t.old);
    }

    #[test]
    fn only_core_secrets_have_secret_pointers() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"}});
        assert!(secret_object_pointers(&cm).is_empty());
        let s = json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
            "data": {"a/b": "eA=="}, "stringData": {"c": "d"},
        });
        assert_eq!(
            secret_object_pointers(&s),
            [
                "/data/a~1b",
                "/stringData/c",
                "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration"
            ]
        );
    }

    #[test]
    fn manifests_show_objects_with_sorted_keys_and_masked_secret_data() {
        let manifest = "---\n# Source: x/templates/s.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  token: abc\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  z: \"1\"\n  a: \"2\"\n";
        let text = manifest_text(manifest, 1, DiffOptions::default());
        assert!(!text.contains("abc"), "{text}");
        assert!(text.contains("token: '•••••• #"), "{text}");
        assert!(text.contains("---\n"), "{text}");
        let a = text.find("  a: ").unwrap();
        assert!(a < text.find("  z: ").unwrap(), "{text}");
        // Not a manifest: shown as it is.
        assert_eq!(manifest_text("- 1\n", 1, DiffOptions::default()), "- 1\n");
    }
}
