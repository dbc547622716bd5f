//! One-off reads the views ask for: the Events about an object, an object's YAML, the
//! namespaces the command line completes.

use k8s_openapi::api::core::v1::{Event, Namespace};
use k8s_openapi::jiff::Timestamp;
use kube::api::{DynamicObject, ListParams};
use kube::{Api, Client};

use super::client::error_chain;
use super::discovery::{Discovery, Resolved};
use crate::domain::events::EventRow;
use crate::domain::flux::ObjectKey;
use crate::domain::secrets::{self, SecretValues};

/// How many Events the details pane shows.
const MAX_EVENTS: usize = 20;

fn describe(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) if s.code == 403 => format!("forbidden: {}", s.message),
        kube::Error::Api(s) => format!("{} ({})", s.message, s.code),
        other => error_chain(other),
    }
}

/// The names of the cluster's namespaces, sorted (metadata only).
pub async fn namespaces(client: Client) -> Result<Vec<String>, String> {
    let api: Api<Namespace> = Api::all(client);
    let list = api
        .list_metadata(&ListParams::default())
        .await
        .map_err(|e| describe(&e))?;
    let mut names: Vec<String> = list
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    names.sort();
    Ok(names)
}

/// The latest Events whose involvedObject is `key`, newest first.
pub async fn events(client: Client, key: &ObjectKey) -> Result<Vec<EventRow>, String> {
    let api: Api<Event> = if key.namespace.is_empty() {
        Api::all(client)
    } else {
        Api::namespaced(client, &key.namespace)
    };
    let mut fields = format!(
        "involvedObject.name={},involvedObject.kind={}",
        key.name,
        key.kind.kind()
    );
    if !key.namespace.is_empty() {
        fields.push_str(&format!(",involvedObject.namespace={}", key.namespace));
    }
    let list = api
        .list(&ListParams::default().fields(&fields))
        .await
        .map_err(|e| describe(&e))?;
    let mut rows: Vec<EventRow> = list
        .items
        .into_iter()
        .map(|e| {
            let last_seen: Option<Timestamp> = e
                .last_timestamp
                .map(|t| t.0)
                .or(e.event_time.map(|t| t.0))
                .or(e.first_timestamp.map(|t| t.0));
            EventRow {
                type_: e.type_.unwrap_or_default(),
                reason: e.reason.unwrap_or_default(),
                message: e.message.unwrap_or_default(),
                count: e.count.unwrap_or(1),
                last_seen,
                source: e
                    .source
                    .and_then(|s| s.component)
                    .or(e.reporting_component)
                    .unwrap_or_default(),
            }
        })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.last_seen));
    rows.truncate(MAX_EVENTS);
    Ok(rows)
}

/// The object as YAML, without `metadata.managedFields`, its secret content masked
/// ([`secrets::mask`]: Secret values unless `values` shows them, Helm release records always).
/// One GET of that object, also for Secrets, which are never watched.
pub async fn yaml(
    client: Client,
    discovery: &Discovery,
    key: &ObjectKey,
    values: SecretValues,
) -> Result<String, String> {
    let preferred: Vec<&str> = key
        .kind
        .flux()
        .map(|k| k.versions().to_vec())
        .unwrap_or_default();
    let resolved = discovery
        .resolve(key.kind.group(), key.kind.kind(), &preferred)
        .await
        .map_err(|e| e.to_string())?;
    let Resolved::Served {
        resource,
        namespaced,
    } = resolved
    else {
        return Err(format!("{} is not served by this cluster", key.kind.kind()));
    };
    let api: Api<DynamicObject> = if namespaced {
        Api::namespaced_with(client, &key.namespace, &resource)
    } else {
        Api::all_with(client, &resource)
    };
    let mut obj = api.get(&key.name).await.map_err(|e| describe(&e))?;
    obj.metadata.managed_fields = None;
    let mut value = serde_json::to_value(&obj).map_err(|e| e.to_string())?;
    if let Some(m) = value.as_object_mut() {
        m.entry("apiVersion")
            .or_insert_with(|| resource.api_version.clone().into());
        m.entry("kind")
            .or_insert_with(|| resource.kind.clone().into());
    }
    secrets::mask(&mut value, values);
    serde_yaml::to_string(&value).map_err(|e| e.to_string())
}
