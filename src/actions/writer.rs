//! The [`Writer`]: the only code in fluxdeck that sends a request that changes the cluster.
//! It is built only for a session that is not read-only ([`Writer::for_session`] returns
//! `None` otherwise), and the executor drops it for good when a `:ctx` switch makes the
//! session read-only.
//!
//! The [`Reader`] sends GETs and LISTs, and one other request: [`Reader::apply_dry_run`], a
//! server-side apply PATCH with `dryRun=All`. The API server runs it through admission and
//! defaulting and answers with the object as it would be, but persists nothing; it is the only
//! way to learn what helm-controller's apply would make of an object (the drift view needs
//! exactly that), so read-only sessions may send it too.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::ApiResource;
use serde_json::Value;

use super::patch::FIELD_MANAGER;
use crate::config::ReadOnlyReason;
use crate::domain::flux::ObjectKey;
use crate::kube::discovery::{Discovery, Resolved};

/// Why an action could not run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("read-only session ({0}): nothing is written to the cluster")]
    ReadOnly(String),
    /// The object is suspended: Flux ignores reconcile requests until it is resumed.
    #[error(
        "{0} is suspended: Flux ignores reconcile requests while suspended (resume it, or resume and reconcile)"
    )]
    Suspended(String),
    #[error("{0}")]
    Unsupported(String),
    /// The object changed between the plan shown and the run: nothing was sent.
    #[error("{0}")]
    Changed(String),
    #[error("{0}")]
    Api(String),
}

fn describe(e: kube::Error, what: &str) -> ActionError {
    match e {
        kube::Error::Api(s) if s.code == 404 => ActionError::NotFound(what.to_string()),
        kube::Error::Api(s) if s.code == 403 => ActionError::Forbidden(s.message),
        kube::Error::Api(s) => ActionError::Api(format!("{what}: {} ({})", s.message, s.code)),
        other => ActionError::Api(format!(
            "{what}: {}",
            crate::kube::client::error_chain(&other)
        )),
    }
}

/// `Kind/namespace/name`.
pub fn label(key: &ObjectKey) -> String {
    format!("{}/{}/{}", key.kind.kind(), key.namespace, key.name)
}

/// Reads objects for actions: GETs and LISTs, plus the apply dry-run of
/// [`Reader::apply_dry_run`], which persists nothing.
#[derive(Clone)]
pub struct Reader {
    client: Client,
    discovery: Arc<Discovery>,
}

impl Reader {
    pub fn new(client: Client, discovery: Arc<Discovery>) -> Reader {
        Reader { client, discovery }
    }

    async fn api(&self, key: &ObjectKey) -> Result<Api<DynamicObject>, ActionError> {
        let preferred: Vec<&str> = key
            .kind
            .flux()
            .map(|k| k.versions().to_vec())
            .unwrap_or_default();
        let resolved = self
            .discovery
            .resolve(key.kind.group(), key.kind.kind(), &preferred)
            .await
            .map_err(|e| ActionError::Api(e.to_string()))?;
        let Resolved::Served {
            resource,
            namespaced,
        } = resolved
        else {
            return Err(ActionError::Unsupported(format!(
                "{} is not served by this cluster",
                key.kind.kind()
            )));
        };
        Ok(if namespaced {
            Api::namespaced_with(self.client.clone(), &key.namespace, &resource)
        } else {
            Api::all_with(self.client.clone(), &resource)
        })
    }

    /// How to reach a kind named by a manifest (`apiVersion`, `kind`) and whether it is
    /// namespaced.
    pub async fn resolve(
        &self,
        api_version: &str,
        kind: &str,
    ) -> Result<(ApiResource, bool), ActionError> {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        match self
            .discovery
            .resolve(group, kind, &[version])
            .await
            .map_err(|e| ActionError::Api(e.to_string()))?
        {
            Resolved::Served {
                resource,
                namespaced,
            } => Ok((resource, namespaced)),
            Resolved::NotInstalled => Err(ActionError::Unsupported(format!(
                "{api_version} {kind} is not served by this cluster"
            ))),
        }
    }

    /// The Secrets in `namespace` matching the label `selector`. A 403 is named as the
    /// missing permission: `forbidden: cannot list secrets in namespace X`.
    pub async fn list_secrets(
        &self,
        namespace: &str,
        selector: &str,
    ) -> Result<Vec<Secret>, ActionError> {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        match api.list(&ListParams::default().labels(selector)).await {
            Ok(list) => Ok(list.items),
            Err(kube::Error::Api(s)) if s.code == 403 => Err(ActionError::Forbidden(format!(
                "cannot list secrets in namespace {namespace}"
            ))),
            Err(e) => Err(describe(e, &format!("secrets in namespace {namespace}"))),
        }
    }

    /// The object as JSON (with apiVersion and kind).
    pub async fn get(&self, key: &ObjectKey) -> Result<Value, ActionError> {
        let api = self.api(key).await?;
        let obj = api
            .get(&key.name)
            .await
            .map_err(|e| describe(e, &label(key)))?;
        serde_json::to_value(&obj).map_err(|e| ActionError::Api(e.to_string()))
    }

    /// The live object at `resource` (as resolved by [`Reader::resolve`], so it is read in
    /// the manifest's version); `Ok(None)` when it does not exist. A 403 names the missing
    /// permission (`get` on the resource in the namespace).
    pub async fn get_object(
        &self,
        resource: &ApiResource,
        namespaced: bool,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Value>, ActionError> {
        let api: Api<DynamicObject> = if namespaced {
            Api::namespaced_with(self.client.clone(), namespace, resource)
        } else {
            Api::all_with(self.client.clone(), resource)
        };
        let what = if namespaced {
            format!("{}/{namespace}/{name}", resource.kind)
        } else {
            format!("{}/{name}", resource.kind)
        };
        match api.get_opt(name).await {
            Ok(Some(v)) => serde_json::to_value(&v)
                .map(Some)
                .map_err(|e| ActionError::Api(e.to_string())),
            Ok(None) => Ok(None),
            Err(kube::Error::Api(s)) if s.code == 403 => {
                let permission = Permission {
                    verb: "get".into(),
                    group: resource.group.clone(),
                    resource: resource.plural.clone(),
                    namespace: namespaced.then(|| namespace.to_string()),
                };
                Err(ActionError::Forbidden(format!(
                    "reading {what} needs permission to {permission}"
                )))
            }
            Err(e) => Err(describe(e, &what)),
        }
    }

    /// The objects of `resource` in `namespace` (all namespaces when empty) matching the
    /// label and field selectors, as JSON with apiVersion and kind. A 403 names the missing
    /// permission (`list` on the resource in the namespace).
    pub async fn list(
        &self,
        resource: &ApiResource,
        namespace: &str,
        labels: Option<&str>,
        fields: Option<&str>,
    ) -> Result<Vec<Value>, ActionError> {
        let api: Api<DynamicObject> = if namespace.is_empty() {
            Api::all_with(self.client.clone(), resource)
        } else {
            Api::namespaced_with(self.client.clone(), namespace, resource)
        };
        let mut params = ListParams::default();
        if let Some(l) = labels {
            params = params.labels(l);
        }
        if let Some(f) = fields {
            params = params.fields(f);
        }
        match api.list(&params).await {
            Ok(list) => list
                .items
                .into_iter()
                .map(|o| {
                    let mut v =
                        serde_json::to_value(&o).map_err(|e| ActionError::Api(e.to_string()))?;
                    if let Some(m) = v.as_object_mut() {
                        m.entry("apiVersion")
                            .or_insert_with(|| resource.api_version.clone().into());
                        m.entry("kind")
                            .or_insert_with(|| resource.kind.clone().into());
                    }
                    Ok(v)
                })
                .collect(),
            Err(kube::Error::Api(s)) if s.code == 403 => {
                let permission = Permission {
                    verb: "list".into(),
                    group: resource.group.clone(),
                    resource: resource.plural.clone(),
                    namespace: (!namespace.is_empty()).then(|| namespace.to_string()),
                };
                Err(ActionError::Forbidden(format!(
                    "needs permission to {permission}"
                )))
            }
            Err(e) => Err(describe(
                e,
                &format!("{} in namespace {namespace}", resource.plural),
            )),
        }
    }

    /// Whether the object exists, read as metadata only (for a Secret: never its content).
    /// A 403 names the missing permission (`get` on the resource in the namespace).
    pub async fn exists(
        &self,
        resource: &ApiResource,
        namespace: &str,
        name: &str,
    ) -> Result<bool, ActionError> {
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), namespace, resource);
        match api.get_metadata_opt(name).await {
            Ok(found) => Ok(found.is_some()),
            Err(kube::Error::Api(s)) if s.code == 403 => {
                let permission = Permission {
                    verb: "get".into(),
                    group: resource.group.clone(),
                    resource: resource.plural.clone(),
                    namespace: Some(namespace.to_string()),
                };
                Err(ActionError::Forbidden(format!(
                    "needs permission to {permission}"
                )))
            }
            Err(e) => Err(describe(
                e,
                &format!("{}/{namespace}/{name}", resource.kind),
            )),
        }
    }

    /// What a server-side apply of `obj` as `field_manager`, conflicts forced, would make of
    /// the object: a PATCH of type apply with `dryRun=All`. The API server validates and
    /// defaults it and answers with the result, but persists nothing (the one request of a
    /// [`Reader`] that is not a GET or LIST, hence allowed in read-only sessions). The kind is
    /// resolved through discovery. A 403 names the missing permission (`patch` on the
    /// resource in the namespace).
    pub async fn apply_dry_run(
        &self,
        obj: &Value,
        field_manager: &str,
    ) -> Result<Value, ActionError> {
        let text = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or_default();
        let (api_version, kind, name, ns) = (
            text("/apiVersion"),
            text("/kind"),
            text("/metadata/name"),
            text("/metadata/namespace"),
        );
        if api_version.is_empty() || kind.is_empty() || name.is_empty() {
            return Err(ActionError::Unsupported(
                "an object to apply needs apiVersion, kind and metadata.name".to_string(),
            ));
        }
        let (resource, namespaced) = self.resolve(api_version, kind).await?;
        let api: Api<DynamicObject> = if namespaced {
            Api::namespaced_with(self.client.clone(), ns, &resource)
        } else {
            Api::all_with(self.client.clone(), &resource)
        };
        let what = if namespaced {
            format!("{kind}/{ns}/{name}")
        } else {
            format!("{kind}/{name}")
        };
        let params = PatchParams::apply(field_manager).force().dry_run();
        match api.patch(name, &params, &Patch::Apply(obj)).await {
            Ok(v) => serde_json::to_value(&v).map_err(|e| ActionError::Api(e.to_string())),
            Err(kube::Error::Api(s)) if s.code == 403 => {
                let permission = Permission {
                    verb: "patch".into(),
                    group: resource.group.clone(),
                    resource: resource.plural.clone(),
                    namespace: namespaced.then(|| ns.to_string()),
                };
                Err(ActionError::Forbidden(format!(
                    "the apply dry-run of {what} needs permission to {permission}"
                )))
            }
            Err(e) => Err(describe(e, &what)),
        }
    }
}

/// One permission to ask the API server about (a SelfSubjectAccessReview).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Permission {
    pub verb: String,
    pub group: String,
    /// Resource plural, e.g. `helmreleases`.
    pub resource: String,
    /// `None`: cluster-wide.
    pub namespace: Option<String>,
}

impl Permission {
    /// `patch` on a Flux object's kind in its namespace (what reconcile, suspend and resume
    /// need).
    pub fn patch(key: &ObjectKey) -> Option<Permission> {
        let kind = key.kind.flux()?;
        Some(Permission {
            verb: "patch".into(),
            group: kind.group().into(),
            resource: kind.plural().into(),
            namespace: (!key.namespace.is_empty()).then(|| key.namespace.to_string()),
        })
    }
}

impl Permission {
    /// What a Flux-safe rollback needs besides patching the HelmRelease: reading and writing
    /// the Helm release records (Secrets) in the storage namespace. (Applying and deleting the
    /// manifest's objects is left to the API server to refuse: their kinds are only known
    /// once the records are decoded.)
    pub fn release_records(storage_namespace: &str) -> Vec<Permission> {
        ["list", "get", "create", "update"]
            .into_iter()
            .map(|verb| Permission {
                verb: verb.into(),
                group: String::new(),
                resource: "secrets".into(),
                namespace: Some(storage_namespace.to_string()),
            })
            .collect()
    }
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let res = if self.group.is_empty() {
            self.resource.clone()
        } else {
            format!("{}.{}", self.resource, self.group)
        };
        match &self.namespace {
            Some(ns) => write!(f, "{} {res} in namespace {ns}", self.verb),
            None => write!(f, "{} {res} (cluster-wide)", self.verb),
        }
    }
}

/// The field manager of the release objects a rollback applies: helm-controller's, so the
/// controller keeps owning the fields it owned (flux-facts §6.3 "Native").
pub const HELM_FIELD_MANAGER: &str = "helm-controller";

/// Sends patches, and for a rollback: release records, server-side applies and deletes.
/// Only [`Writer::for_session`] makes one.
pub struct Writer {
    reader: Reader,
}

impl Writer {
    /// The session's writer, or `None` when the session is read-only.
    pub fn for_session(
        client: Client,
        discovery: Arc<Discovery>,
        read_only: Option<&ReadOnlyReason>,
    ) -> Option<Writer> {
        match read_only {
            Some(_) => None,
            None => Some(Writer {
                reader: Reader::new(client, discovery),
            }),
        }
    }

    pub fn reader(&self) -> &Reader {
        &self.reader
    }

    /// Ask the API server whether this session may do `p` (a SelfSubjectAccessReview, which
    /// is a create: only a writer sends one, so a read-only session sends none).
    pub async fn may(&self, p: &Permission) -> Result<bool, ActionError> {
        use k8s_openapi::api::authorization::v1::{
            ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
        };
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    verb: Some(p.verb.clone()),
                    group: Some(p.group.clone()),
                    resource: Some(p.resource.clone()),
                    namespace: p.namespace.clone(),
                    ..ResourceAttributes::default()
                }),
                ..SelfSubjectAccessReviewSpec::default()
            },
            ..SelfSubjectAccessReview::default()
        };
        let api: Api<SelfSubjectAccessReview> = Api::all(self.reader.client.clone());
        let answer = api
            .create(&kube::api::PostParams::default(), &review)
            .await
            .map_err(|e| describe(e, "access review"))?;
        Ok(answer.status.is_some_and(|s| s.allowed))
    }

    /// Send a JSON merge patch (field manager [`FIELD_MANAGER`]); returns the patched object.
    pub async fn merge_patch(&self, key: &ObjectKey, patch: &Value) -> Result<Value, ActionError> {
        let api = self.reader.api(key).await?;
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_string()),
            ..PatchParams::default()
        };
        let obj = api
            .patch(&key.name, &params, &Patch::Merge(patch))
            .await
            .map_err(|e| describe(e, &label(key)))?;
        serde_json::to_value(&obj).map_err(|e| ActionError::Api(e.to_string()))
    }

    fn secrets(&self, namespace: &str) -> Api<Secret> {
        Api::namespaced(self.reader.client.clone(), namespace)
    }

    /// Create a Secret (a Helm release record).
    pub async fn create_secret(&self, secret: &Secret) -> Result<Secret, ActionError> {
        let ns = secret.metadata.namespace.clone().unwrap_or_default();
        let name = secret.metadata.name.clone().unwrap_or_default();
        self.secrets(&ns)
            .create(&PostParams::default(), secret)
            .await
            .map_err(|e| describe(e, &format!("Secret/{ns}/{name}")))
    }

    /// Replace a Secret; its `metadata.resourceVersion` makes the update conditional.
    pub async fn replace_secret(&self, secret: &Secret) -> Result<Secret, ActionError> {
        let ns = secret.metadata.namespace.clone().unwrap_or_default();
        let name = secret.metadata.name.clone().unwrap_or_default();
        self.secrets(&ns)
            .replace(&name, &PostParams::default(), secret)
            .await
            .map_err(|e| describe(e, &format!("Secret/{ns}/{name}")))
    }

    /// Server-side apply `obj` as [`HELM_FIELD_MANAGER`] with conflicts forced, as
    /// helm-controller applies release objects.
    pub async fn apply(
        &self,
        resource: &ApiResource,
        namespaced: bool,
        obj: &Value,
    ) -> Result<Value, ActionError> {
        let name = obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let ns = obj
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let api = self.dynamic(resource, namespaced, ns);
        let params = PatchParams::apply(HELM_FIELD_MANAGER).force();
        let what = format!(
            "{}/{}",
            resource.kind,
            if ns.is_empty() {
                name.to_string()
            } else {
                format!("{ns}/{name}")
            }
        );
        let applied = api
            .patch(name, &params, &Patch::Apply(obj))
            .await
            .map_err(|e| describe(e, &what))?;
        serde_json::to_value(&applied).map_err(|e| ActionError::Api(e.to_string()))
    }

    /// Delete an object with background propagation; `Ok(false)` when it was already gone.
    pub async fn delete(
        &self,
        resource: &ApiResource,
        namespaced: bool,
        namespace: &str,
        name: &str,
    ) -> Result<bool, ActionError> {
        let api = self.dynamic(resource, namespaced, namespace);
        match api.delete(name, &DeleteParams::background()).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
            Err(e) => Err(describe(
                e,
                &format!("{}/{namespace}/{name}", resource.kind),
            )),
        }
    }

    fn dynamic(&self, resource: &ApiResource, namespaced: bool, ns: &str) -> Api<DynamicObject> {
        if namespaced {
            Api::namespaced_with(self.reader.client.clone(), ns, resource)
        } else {
            Api::all_with(self.reader.client.clone(), resource)
        }
    }
}
