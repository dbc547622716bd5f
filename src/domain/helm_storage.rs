//! Helm release storage: the Secret driver format (name, labels, base64 + gzip + JSON) and the
//! typed release record (Helm 4 `release/v1` JSON). Used by the TUI to read history and by the
//! simulated cluster to write records that the real `helm` client can read.
//!
//! On the wire a Secret's `data.release` is base64 twice: the API's own layer for Secret data
//! and Helm's layer. [`decode_release`] and [`encode_release`] handle Helm's layer only.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, FixedOffset, SecondsFormat};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The Secret `type` of Helm release records.
pub const SECRET_TYPE: &str = "helm.sh/release.v1";
/// The digest of zero bytes, used for empty values.
pub const EMPTY_DIGEST: &str =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

#[derive(Debug, thiserror::Error)]
pub enum HelmStorageError {
    #[error("release data is not valid base64: {0}")]
    Base64(#[from] base64::DecodeError),
    #[error("release data is not valid gzip: {0}")]
    Gzip(std::io::Error),
    #[error("release JSON is invalid: {0}")]
    Json(#[from] serde_json::Error),
    #[error("release data is larger than {limit} bytes once decompressed; refused")]
    TooLarge { limit: usize },
}

/// Largest release JSON [`decode_release`] accepts (after gunzip). Kubernetes refuses a Secret
/// over 1 MiB, so a stored record is at most 1 MiB of gzip; Helm writes records at best
/// compression, and chart files are base64 inside the JSON, so real records decompress to a
/// few times their stored size. 32 MiB leaves room for that and refuses gzip bombs before
/// they cost memory.
pub const MAX_RELEASE_JSON: usize = 32 * 1024 * 1024;

/// `info.status` of a release record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReleaseStatus {
    Deployed,
    Uninstalled,
    Superseded,
    Failed,
    Uninstalling,
    PendingInstall,
    PendingUpgrade,
    PendingRollback,
    #[default]
    #[serde(other)]
    Unknown,
}

impl ReleaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseStatus::Unknown => "unknown",
            ReleaseStatus::Deployed => "deployed",
            ReleaseStatus::Uninstalled => "uninstalled",
            ReleaseStatus::Superseded => "superseded",
            ReleaseStatus::Failed => "failed",
            ReleaseStatus::Uninstalling => "uninstalling",
            ReleaseStatus::PendingInstall => "pending-install",
            ReleaseStatus::PendingUpgrade => "pending-upgrade",
            ReleaseStatus::PendingRollback => "pending-rollback",
        }
    }

    /// The three `pending-*` states ("locked").
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            ReleaseStatus::PendingInstall
                | ReleaseStatus::PendingUpgrade
                | ReleaseStatus::PendingRollback
        )
    }
}

impl std::fmt::Display for ReleaseStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A time that may be written as RFC 3339, `""`, `null` or be missing (zero time).
pub type HelmTime = Option<DateTime<FixedOffset>>;

fn de_time<'de, D: Deserializer<'de>>(d: D) -> Result<HelmTime, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    match s.as_deref() {
        None | Some("") | Some("0001-01-01T00:00:00Z") => Ok(None),
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

fn ser_time<S: Serializer>(t: &HelmTime, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        None => s.serialize_none(),
    }
}

fn de_null_map<'de, D: Deserializer<'de>>(d: D) -> Result<Map<String, Value>, D::Error> {
    Ok(Option::<Map<String, Value>>::deserialize(d)?.unwrap_or_default())
}

fn de_null_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

fn de_null_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// `info` of a release record.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Info {
    #[serde(
        default,
        deserialize_with = "de_time",
        serialize_with = "ser_time",
        skip_serializing_if = "Option::is_none"
    )]
    pub first_deployed: HelmTime,
    #[serde(
        default,
        deserialize_with = "de_time",
        serialize_with = "ser_time",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_deployed: HelmTime,
    #[serde(
        default,
        deserialize_with = "de_time",
        serialize_with = "ser_time",
        skip_serializing_if = "Option::is_none"
    )]
    pub deleted: HelmTime,
    #[serde(default, deserialize_with = "de_null_string")]
    pub description: String,
    #[serde(default)]
    pub status: ReleaseStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_revision: Option<i64>,
    #[serde(
        default,
        deserialize_with = "de_null_string",
        skip_serializing_if = "String::is_empty"
    )]
    pub notes: String,
}

/// `chart.metadata` (Chart.yaml).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChartMetadata {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub app_version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub type_: String,
    /// Other Chart.yaml fields, kept as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A file of a chart (`templates[]`, `files[]`); `data` is base64 as Go writes `[]byte`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChartFile {
    pub name: String,
    #[serde(default, deserialize_with = "de_null_string")]
    pub data: String,
}

/// `chart` of a release record.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    #[serde(default)]
    pub metadata: ChartMetadata,
    #[serde(default)]
    pub lock: Value,
    #[serde(default, deserialize_with = "de_null_vec")]
    pub templates: Vec<ChartFile>,
    #[serde(default, deserialize_with = "de_null_map")]
    pub values: Map<String, Value>,
    #[serde(default)]
    pub schema: Value,
    #[serde(default, deserialize_with = "de_null_vec")]
    pub files: Vec<ChartFile>,
}

/// A Helm release record (`release/v1` JSON).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Release {
    pub name: String,
    #[serde(default)]
    pub info: Info,
    #[serde(default)]
    pub chart: Chart,
    /// User-supplied values.
    #[serde(default, deserialize_with = "de_null_map")]
    pub config: Map<String, Value>,
    #[serde(default, deserialize_with = "de_null_string")]
    pub manifest: String,
    #[serde(
        default,
        deserialize_with = "de_null_vec",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub hooks: Vec<Value>,
    pub version: i64,
    /// The release (target) namespace.
    #[serde(default, deserialize_with = "de_null_string")]
    pub namespace: String,
    /// `ssa` or `csa` (Helm 4 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_method: Option<String>,
}

impl Release {
    /// `<namespace>/<name>.v<version>`, as helm-controller writes it in messages.
    pub fn full_name(&self) -> String {
        full_release_name(&self.namespace, &self.name, self.version)
    }

    /// `<chart>@<version>`.
    pub fn chart_ref(&self) -> String {
        format!(
            "{}@{}",
            self.chart.metadata.name, self.chart.metadata.version
        )
    }
}

/// `<namespace>/<name>.v<version>`.
pub fn full_release_name(namespace: &str, name: &str, version: i64) -> String {
    format!("{namespace}/{name}.v{version}")
}

/// The Secret name of a release record: `sh.helm.release.v1.<name>.v<version>`.
pub fn secret_name(release_name: &str, version: i64) -> String {
    format!("sh.helm.release.v1.{release_name}.v{version}")
}

/// The labels Helm's Secret driver writes: `owner`, `name`, `status`, `version`, and
/// `createdAt` (on create) or `modifiedAt` (on update), both unix seconds.
pub fn storage_labels(
    release: &Release,
    created_at: Option<i64>,
    modified_at: Option<i64>,
) -> BTreeMap<String, String> {
    let mut l = BTreeMap::new();
    l.insert("owner".to_string(), "helm".to_string());
    l.insert("name".to_string(), release.name.clone());
    l.insert(
        "status".to_string(),
        release.info.status.as_str().to_string(),
    );
    l.insert("version".to_string(), release.version.to_string());
    if let Some(t) = created_at {
        l.insert("createdAt".to_string(), t.to_string());
    }
    if let Some(t) = modified_at {
        l.insert("modifiedAt".to_string(), t.to_string());
    }
    l
}

/// Helm's encoding of a record: base64(gzip(JSON)), gzip at best compression.
pub fn encode_release(release: &Release) -> Result<String, HelmStorageError> {
    let json = serde_json::to_vec(release)?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&json).map_err(HelmStorageError::Gzip)?;
    let bytes = gz.finish().map_err(HelmStorageError::Gzip)?;
    Ok(STANDARD.encode(bytes))
}

/// Decode Helm's layer of a record (the API's base64 layer already removed): base64, then
/// gunzip when the data starts with the gzip magic, then JSON. Refuses JSON larger than
/// [`MAX_RELEASE_JSON`].
pub fn decode_release(helm_b64: &[u8]) -> Result<Release, HelmStorageError> {
    decode_release_limited(helm_b64, MAX_RELEASE_JSON)
}

fn decode_release_limited(helm_b64: &[u8], limit: usize) -> Result<Release, HelmStorageError> {
    let trimmed: Vec<u8> = helm_b64
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let raw = STANDARD.decode(trimmed)?;
    let json = if raw.starts_with(&[0x1f, 0x8b, 0x08]) {
        // Read at most one byte past the limit: enough to tell that it is over.
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(raw.as_slice())
            .take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1))
            .read_to_end(&mut out)
            .map_err(HelmStorageError::Gzip)?;
        out
    } else {
        raw
    };
    if json.len() > limit {
        return Err(HelmStorageError::TooLarge { limit });
    }
    Ok(serde_json::from_slice(&json)?)
}

fn sha256_hex(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Recursively sort map keys (also inside lists).
pub fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Digest of user-supplied values: SHA-256 of the key-sorted YAML, or of zero bytes for an
/// empty map. Structurally equal values give equal digests.
pub fn config_digest(config: &Map<String, Value>) -> String {
    if config.is_empty() {
        return EMPTY_DIGEST.to_string();
    }
    let yaml = serde_yaml::to_string(&sorted(&Value::Object(config.clone()))).unwrap_or_default();
    sha256_hex(yaml.as_bytes())
}

/// Digest of an observation of a record (name, namespace, version, info, chart metadata,
/// config, manifest): changes whenever any of these change, independent of the encoding.
pub fn observation_digest(release: &Release) -> String {
    let obs = serde_json::json!({
        "name": release.name,
        "namespace": release.namespace,
        "version": release.version,
        "info": release.info,
        "chartMetadata": release.chart.metadata,
        "config": sorted(&Value::Object(release.config.clone())),
        "manifest": release.manifest,
    });
    sha256_hex(obs.to_string().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Release {
        let t = DateTime::parse_from_rfc3339("2026-05-07T04:54:21.1Z").unwrap();
        Release {
            name: "podinfo".into(),
            namespace: "apps".into(),
            version: 3,
            info: Info {
                first_deployed: Some(t),
                last_deployed: Some(t),
                deleted: None,
                description: "Upgrade complete".into(),
                status: ReleaseStatus::Deployed,
                rollback_revision: None,
                notes: String::new(),
            },
            chart: Chart {
                metadata: ChartMetadata {
                    name: "podinfo".into(),
                    version: "6.6.1".into(),
                    app_version: "6.6.1".into(),
                    api_version: "v2".into(),
                    ..Default::default()
                },
                templates: vec![ChartFile {
                    name: "templates/deployment.yaml".into(),
                    data: STANDARD.encode("kind: Deployment"),
                }],
                values: json!({"replicaCount": 1}).as_object().unwrap().clone(),
                ..Default::default()
            },
            config: json!({"replicaCount": 2}).as_object().unwrap().clone(),
            manifest: "---\n# Source: podinfo/templates/deployment.yaml\nkind: Deployment\n".into(),
            hooks: vec![],
            apply_method: Some("ssa".into()),
        }
    }

    #[test]
    fn round_trip() {
        let r = sample();
        let enc = encode_release(&r).unwrap();
        let raw = STANDARD.decode(&enc).unwrap();
        assert_eq!(&raw[..3], &[0x1f, 0x8b, 0x08]);
        assert_eq!(decode_release(enc.as_bytes()).unwrap(), r);
    }

    #[test]
    fn decodes_plain_json_without_gzip() {
        let json = json!({"name": "x", "version": 1, "info": {"status": "failed"}});
        let b64 = STANDARD.encode(json.to_string());
        let r = decode_release(b64.as_bytes()).unwrap();
        assert_eq!(r.info.status, ReleaseStatus::Failed);
        assert_eq!(r.version, 1);
        assert!(r.config.is_empty());
    }

    #[test]
    fn times_accept_empty_null_missing_and_rfc3339() {
        let json = json!({"name": "x", "version": 2, "config": null, "manifest": null,
            "info": {"first_deployed": "", "last_deployed": "2026-01-02T03:04:05.123456789+02:00",
                     "deleted": null, "status": "superseded"}});
        let b64 = STANDARD.encode(json.to_string());
        let r = decode_release(b64.as_bytes()).unwrap();
        assert_eq!(r.info.first_deployed, None);
        assert_eq!(r.info.deleted, None);
        assert_eq!(
            r.info.last_deployed.unwrap().timestamp_subsec_nanos(),
            123_456_789
        );
        let json = json!({"name": "x", "version": 2, "info": {"status": "pending-upgrade"}});
        let r = decode_release(STANDARD.encode(json.to_string()).as_bytes()).unwrap();
        assert_eq!(r.info.last_deployed, None);
        assert!(r.info.status.is_pending());
    }

    #[test]
    fn unknown_status_and_bad_input_are_handled() {
        let json = json!({"name": "x", "version": 2, "info": {"status": "weird"}});
        let r = decode_release(STANDARD.encode(json.to_string()).as_bytes()).unwrap();
        assert_eq!(r.info.status, ReleaseStatus::Unknown);
        assert!(matches!(
            decode_release(b"!!!"),
            Err(HelmStorageError::Base64(_))
        ));
        assert!(matches!(
            decode_release(STANDARD.encode("{").as_bytes()),
            Err(HelmStorageError::Json(_))
        ));
    }

    #[test]
    fn zero_times_are_omitted_when_encoding() {
        let mut r = sample();
        r.info.deleted = None;
        let v = serde_json::to_value(&r).unwrap();
        assert!(v["info"].get("deleted").is_none());
        assert_eq!(v["info"]["status"], "deployed");
        assert_eq!(v["apply_method"], "ssa");
        assert_eq!(v["chart"]["metadata"]["appVersion"], "6.6.1");
    }

    #[test]
    fn names_and_labels() {
        let r = sample();
        assert_eq!(secret_name("podinfo", 3), "sh.helm.release.v1.podinfo.v3");
        assert_eq!(r.full_name(), "apps/podinfo.v3");
        assert_eq!(r.chart_ref(), "podinfo@6.6.1");
        let l = storage_labels(&r, Some(100), None);
        assert_eq!(l["owner"], "helm");
        assert_eq!(l["name"], "podinfo");
        assert_eq!(l["status"], "deployed");
        assert_eq!(l["version"], "3");
        assert_eq!(l["createdAt"], "100");
        assert!(!l.contains_key("modifiedAt"));
    }

    #[test]
    fn digests_follow_content() {
        assert_eq!(config_digest(&Map::new()), EMPTY_DIGEST);
        let a = json!({"b": 1, "a": {"y": 1, "x": 2}});
        let b = json!({"a": {"x": 2, "y": 1}, "b": 1});
        assert_eq!(
            config_digest(a.as_object().unwrap()),
            config_digest(b.as_object().unwrap())
        );
        let r = sample();
        let mut r2 = r.clone();
        assert_eq!(observation_digest(&r), observation_digest(&r2));
        r2.info.status = ReleaseStatus::Superseded;
        assert_ne!(observation_digest(&r), observation_digest(&r2));
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    }

    /// A record whose `manifest` holds `size` bytes, gzipped in pieces (never whole in memory).
    fn gzip_record_with_manifest(size: usize) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(br#"{"name":"bomb","version":1,"manifest":""#)
            .unwrap();
        let chunk = vec![b'a'; 1 << 20];
        let mut left = size;
        while left > 0 {
            let n = left.min(chunk.len());
            gz.write_all(&chunk[..n]).unwrap();
            left -= n;
        }
        gz.write_all(br#""}"#).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn a_gzip_bomb_is_refused_with_a_clear_error() {
        // 50 MB of manifest: about 50 KB stored, over the limit once decompressed.
        let bomb = gzip_record_with_manifest(50 * 1000 * 1000);
        assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
        let err = decode_release(STANDARD.encode(&bomb).as_bytes()).unwrap_err();
        assert!(
            matches!(err, HelmStorageError::TooLarge { limit } if limit == MAX_RELEASE_JSON),
            "{err}"
        );
        assert!(
            err.to_string().contains("larger than 33554432 bytes"),
            "{err}"
        );
        // Plain (not gzipped) JSON over the limit is refused the same way.
        let err = decode_release_limited(STANDARD.encode("{}").as_bytes(), 1).unwrap_err();
        assert!(
            matches!(err, HelmStorageError::TooLarge { limit: 1 }),
            "{err}"
        );
    }

    #[test]
    fn records_up_to_the_limit_decode() {
        // A large but plausible record (4 MB of manifest) decodes.
        let r = decode_release(
            STANDARD
                .encode(gzip_record_with_manifest(4_000_000))
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(r.manifest.len(), 4_000_000);
        // The limit is inclusive: exactly `limit` bytes of JSON pass, one more is refused.
        let json = br#"{"name":"x","version":1}"#;
        let b64 = STANDARD.encode(gzip(json));
        assert!(decode_release_limited(b64.as_bytes(), json.len()).is_ok());
        assert!(matches!(
            decode_release_limited(b64.as_bytes(), json.len() - 1),
            Err(HelmStorageError::TooLarge { .. })
        ));
    }

    mod prop {
        use super::*;
        use proptest::collection::{btree_map, vec};
        use proptest::prelude::*;

        /// JSON values without floats (whose text form need not round-trip exactly).
        fn json_value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                "\\PC{0,12}".prop_map(Value::from),
            ];
            leaf.prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    vec(inner.clone(), 0..4).prop_map(Value::Array),
                    btree_map("[a-zA-Z_.-]{1,8}", inner, 0..4)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        fn json_map() -> impl Strategy<Value = Map<String, Value>> {
            btree_map("[a-zA-Z_.-]{1,8}", json_value(), 0..4).prop_map(|m| m.into_iter().collect())
        }

        fn status() -> impl Strategy<Value = ReleaseStatus> {
            prop_oneof![
                Just(ReleaseStatus::Unknown),
                Just(ReleaseStatus::Deployed),
                Just(ReleaseStatus::Uninstalled),
                Just(ReleaseStatus::Superseded),
                Just(ReleaseStatus::Failed),
                Just(ReleaseStatus::Uninstalling),
                Just(ReleaseStatus::PendingInstall),
                Just(ReleaseStatus::PendingUpgrade),
                Just(ReleaseStatus::PendingRollback),
            ]
        }

        /// Times with a random instant (to the nanosecond) and offset, or none.
        fn time() -> impl Strategy<Value = HelmTime> {
            proptest::option::of(
                (0i64..4_102_444_800, 0u32..1_000_000_000, -840i32..=840).prop_map(
                    |(secs, nanos, offset_minutes)| {
                        // RFC 3339 offsets are whole minutes.
                        let utc = DateTime::from_timestamp(secs, nanos).unwrap();
                        let offset = FixedOffset::east_opt(offset_minutes * 60).unwrap();
                        Some(utc.with_timezone(&offset))
                    },
                ),
            )
            .prop_map(Option::flatten)
        }

        fn chart_file() -> impl Strategy<Value = ChartFile> {
            ("[a-z/._-]{1,20}", vec(any::<u8>(), 0..40)).prop_map(|(name, data)| ChartFile {
                name,
                data: STANDARD.encode(data),
            })
        }

        fn release() -> impl Strategy<Value = Release> {
            let info = (
                (time(), time(), time()),
                "\\PC{0,30}",
                status(),
                proptest::option::of(1i64..100),
                "\\PC{0,30}",
            )
                .prop_map(
                    |((first, last, deleted), description, status, rb, notes)| Info {
                        first_deployed: first,
                        last_deployed: last,
                        deleted,
                        description,
                        status,
                        rollback_revision: rb,
                        notes,
                    },
                );
            let chart = (
                (
                    "[a-z0-9-]{0,12}",
                    "[0-9.+a-z-]{0,12}",
                    "[0-9.]{0,6}",
                    "\\PC{0,20}",
                ),
                btree_map("x-[a-z]{1,6}", json_value(), 0..3),
                vec(chart_file(), 0..3),
                json_map(),
                vec(chart_file(), 0..2),
            )
                .prop_map(
                    |((name, version, app, desc), extra, templates, values, files)| Chart {
                        metadata: ChartMetadata {
                            name,
                            version,
                            app_version: app,
                            api_version: "v2".into(),
                            description: desc,
                            type_: String::new(),
                            extra: extra.into_iter().collect(),
                        },
                        lock: Value::Null,
                        templates,
                        values,
                        schema: Value::Null,
                        files,
                    },
                );
            (
                ("[a-z0-9-]{1,20}", "[a-z0-9-]{0,20}", 1i64..10_000),
                info,
                chart,
                json_map(),
                "\\PC{0,200}",
                vec(json_value(), 0..2),
                proptest::option::of(prop_oneof![
                    Just("ssa".to_string()),
                    Just("csa".to_string())
                ]),
            )
                .prop_map(
                    |((name, namespace, version), info, chart, config, manifest, hooks, apply)| {
                        Release {
                            name,
                            info,
                            chart,
                            config,
                            manifest,
                            hooks,
                            version,
                            namespace,
                            apply_method: apply,
                        }
                    },
                )
        }

        /// A release as Helm 3 writes it (zero times as `""`, no Helm 4 fields) or as Helm 4
        /// does (zero times omitted, `apply_method`, `rollback_revision`).
        fn helm_shape(r: &Release, helm3: bool) -> Value {
            let mut v = serde_json::to_value(r).unwrap();
            if helm3 {
                let info = v["info"].as_object_mut().unwrap();
                for t in ["first_deployed", "last_deployed", "deleted"] {
                    info.entry(t).or_insert(json!(""));
                }
                info.remove("rollback_revision");
                v.as_object_mut().unwrap().remove("apply_method");
            }
            v
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(128))]

            #[test]
            fn encode_then_decode_is_identity(r in release()) {
                let enc = encode_release(&r).unwrap();
                prop_assert_eq!(decode_release(enc.as_bytes()).unwrap(), r);
            }

            #[test]
            fn helm3_and_helm4_shapes_decode(r in release(), helm3 in any::<bool>(), gz in any::<bool>()) {
                let v = helm_shape(&r, helm3);
                let json = serde_json::to_vec(&v).unwrap();
                let data = if gz { gzip(&json) } else { json };
                let got = decode_release(STANDARD.encode(data).as_bytes()).unwrap();
                let mut want = r;
                if helm3 {
                    want.info.rollback_revision = None;
                    want.apply_method = None;
                }
                prop_assert_eq!(got, want);
            }

            #[test]
            fn random_bytes_are_an_error_or_a_record(bytes in vec(any::<u8>(), 0..600)) {
                // Never a panic: as given, as base64, and behind the gzip magic.
                let _ = decode_release(&bytes);
                let _ = decode_release(STANDARD.encode(&bytes).as_bytes());
                let mut magic = vec![0x1f, 0x8b, 0x08];
                magic.extend_from_slice(&bytes);
                prop_assert!(decode_release(STANDARD.encode(&magic).as_bytes()).is_err());
            }

            #[test]
            fn truncated_gzip_is_an_error(r in release(), cut in 0.0f64..1.0) {
                let gz = STANDARD.decode(encode_release(&r).unwrap()).unwrap();
                let at = ((gz.len() as f64) * cut) as usize;
                let res = decode_release(STANDARD.encode(&gz[..at.min(gz.len() - 1)]).as_bytes());
                prop_assert!(res.is_err(), "{} of {} bytes decoded", at, gz.len());
            }

            #[test]
            fn gzip_of_invalid_json_is_a_json_error(text in "\\PC{0,200}") {
                prop_assume!(serde_json::from_str::<Release>(&text).is_err());
                let res = decode_release(STANDARD.encode(gzip(text.as_bytes())).as_bytes());
                prop_assert!(matches!(res, Err(HelmStorageError::Json(_))), "{:?}", res);
            }

            #[test]
            fn missing_or_null_fields_take_defaults(
                r in release(),
                drop in vec(any::<bool>(), 9),
                null in any::<bool>(),
            ) {
                // Drop (or null) any of the optional fields: still a record; without
                // `name` or `version` it is an error.
                let mut v = serde_json::to_value(&r).unwrap();
                let fields = ["info", "chart", "config", "manifest", "hooks", "namespace",
                              "apply_method", "name", "version"];
                let obj = v.as_object_mut().unwrap();
                for (f, d) in fields.iter().zip(&drop) {
                    if *d {
                        if null && !matches!(*f, "info" | "chart" | "name" | "version") {
                            obj.insert(f.to_string(), Value::Null);
                        } else {
                            obj.remove(*f);
                        }
                    }
                }
                let required_missing = drop[7] || drop[8];
                let res = decode_release(STANDARD.encode(gzip(&serde_json::to_vec(&v).unwrap())).as_bytes());
                if required_missing {
                    prop_assert!(matches!(res, Err(HelmStorageError::Json(_))), "{:?}", res);
                } else {
                    let got = res.unwrap();
                    prop_assert_eq!(&got.name, &r.name);
                    prop_assert_eq!(got.version, r.version);
                    if drop[2] { prop_assert!(got.config.is_empty()); }
                    if drop[3] { prop_assert_eq!(got.manifest, ""); }
                    if drop[0] { prop_assert_eq!(got.info, Info::default()); }
                }
            }

            #[test]
            fn deep_nesting_is_an_error_not_a_stack_overflow(depth in 200usize..5000) {
                let json = format!(
                    "{{\"name\":\"x\",\"version\":1,\"config\":{{\"a\":{}{}}}}}",
                    "[".repeat(depth),
                    "]".repeat(depth)
                );
                let res = decode_release(STANDARD.encode(gzip(json.as_bytes())).as_bytes());
                prop_assert!(matches!(res, Err(HelmStorageError::Json(_))), "{:?}", res);
            }
        }
    }
}
