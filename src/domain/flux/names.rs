//! Names derived from a HelmRelease (flux-facts §3.2): release name (with the 53-character
//! shortening), release and storage namespaces, and the generated HelmChart.

use sha2::{Digest, Sha256};

use super::helmrelease::HelmRelease;
use super::kinds::{FluxKind, ObjectKey};

const MAX_RELEASE_NAME: usize = 53;
const SHORT_HASH: usize = 12;

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}

fn hr_namespace(hr: &HelmRelease) -> &str {
    hr.metadata.namespace.as_deref().unwrap_or("")
}

fn hr_name(hr: &HelmRelease) -> &str {
    hr.metadata.name.as_deref().unwrap_or("")
}

/// Shorten a release name longer than 53 characters to its first 40 characters, `-`, and
/// the first 12 hex digits of the SHA-256 of the full name (helm-controller
/// `internal/release/name.go`).
pub fn shorten_release_name(name: &str) -> String {
    if name.len() <= MAX_RELEASE_NAME {
        return name.to_string();
    }
    let digest = hex::encode(Sha256::digest(name.as_bytes()));
    let keep: String = name
        .chars()
        .take(MAX_RELEASE_NAME - SHORT_HASH - 1)
        .collect();
    format!("{keep}-{}", &digest[..SHORT_HASH])
}

/// The release name the spec asks for: `spec.releaseName`, else `<targetNamespace>-<name>`
/// when a target namespace is set, else the object name; shortened when too long.
pub fn desired_release_name(hr: &HelmRelease) -> String {
    let full = match (
        non_empty(hr.spec.release_name.as_deref()),
        non_empty(hr.spec.target_namespace.as_deref()),
    ) {
        (Some(name), _) => name.to_string(),
        (None, Some(target)) => format!("{target}-{}", hr_name(hr)),
        (None, None) => hr_name(hr).to_string(),
    };
    shorten_release_name(&full)
}

/// The release name in use: the latest history snapshot's name when known, else the
/// derived one.
pub fn release_name(hr: &HelmRelease) -> String {
    hr.status
        .as_ref()
        .and_then(|s| s.latest())
        .map(|s| s.name.as_str())
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| desired_release_name(hr))
}

/// Where the release's objects go: `spec.targetNamespace` or the HelmRelease namespace.
pub fn release_namespace(hr: &HelmRelease) -> String {
    non_empty(hr.spec.target_namespace.as_deref())
        .unwrap_or_else(|| hr_namespace(hr))
        .to_string()
}

/// Where the Helm storage Secrets live: `status.storageNamespace`, else
/// `spec.storageNamespace`, else the HelmRelease namespace.
pub fn storage_namespace(hr: &HelmRelease) -> String {
    non_empty(
        hr.status
            .as_ref()
            .and_then(|s| s.storage_namespace.as_deref()),
    )
    .or_else(|| non_empty(hr.spec.storage_namespace.as_deref()))
    .unwrap_or_else(|| hr_namespace(hr))
    .to_string()
}

/// Name of the HelmChart generated from `spec.chart`: `<namespace>-<name>`.
pub fn helm_chart_name(hr: &HelmRelease) -> String {
    format!("{}-{}", hr_namespace(hr), hr_name(hr))
}

/// The HelmChart this HelmRelease uses: `status.helmChart` when recorded, else the one
/// generated from `spec.chart` (in the chart source's namespace), else a `chartRef` of kind
/// HelmChart. `None` for OCIRepository / ExternalArtifact chart refs.
pub fn helm_chart_key(hr: &HelmRelease) -> Option<ObjectKey> {
    if let Some((ns, name)) = hr
        .status
        .as_ref()
        .and_then(|s| s.helm_chart.as_deref())
        .and_then(|s| s.split_once('/'))
        .filter(|(ns, name)| !ns.is_empty() && !name.is_empty())
    {
        return Some(ObjectKey::flux(FluxKind::HelmChart, ns, name));
    }
    if let Some(chart) = &hr.spec.chart {
        let ns = non_empty(chart.spec.source_ref.namespace.as_deref())
            .unwrap_or_else(|| hr_namespace(hr));
        return Some(ObjectKey::flux(
            FluxKind::HelmChart,
            ns,
            &helm_chart_name(hr),
        ));
    }
    let chart_ref = hr.spec.chart_ref.as_ref()?;
    if chart_ref.kind != FluxKind::HelmChart.as_str() {
        return None;
    }
    let ns = non_empty(chart_ref.namespace.as_deref()).unwrap_or_else(|| hr_namespace(hr));
    Some(ObjectKey::flux(FluxKind::HelmChart, ns, &chart_ref.name))
}

/// A namespace name: an RFC 1123 label (lower-case letters, digits and `-`, starting and
/// ending with a letter or digit, at most 63 characters).
pub fn namespace_name(text: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && text.len() <= 63
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-');
    if ok {
        Ok(text.to_string())
    } else {
        Err(
            "not a namespace name: use at most 63 lower-case letters, digits and '-', \
             starting and ending with a letter or digit"
                .to_string(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hr(yaml: &str) -> HelmRelease {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn release_names_follow_the_controller() {
        let cases = [
            ("metadata: {name: podinfo, namespace: apps}", "podinfo"),
            (
                "metadata: {name: podinfo, namespace: apps}\nspec: {targetNamespace: prod}",
                "prod-podinfo",
            ),
            (
                "metadata: {name: podinfo, namespace: apps}\nspec: {targetNamespace: prod, releaseName: web}",
                "web",
            ),
            (
                "metadata: {name: a-nice-object-name, namespace: apps}\nspec: {targetNamespace: a-very-lengthy-target-namespace-with}",
                "a-very-lengthy-target-namespace-with-a-n-97af5d7f41f3",
            ),
        ];
        for (yaml, want) in cases {
            let got = desired_release_name(&hr(yaml));
            assert_eq!(got, want, "{yaml}");
            assert!(got.len() <= 53);
        }
    }

    #[test]
    fn shortening_keeps_short_names_and_hashes_long_ones() {
        let exact = "a".repeat(53);
        assert_eq!(shorten_release_name(&exact), exact);
        let long = "a".repeat(54);
        let short = shorten_release_name(&long);
        assert_eq!(short.len(), 53);
        assert!(short.starts_with(&"a".repeat(40)));
        assert_eq!(&short[40..41], "-");
    }

    #[test]
    fn history_name_and_status_namespace_win() {
        let h = hr("metadata: {name: podinfo, namespace: apps}
spec: {storageNamespace: store, targetNamespace: prod}
status:
  storageNamespace: recorded
  helmChart: flux-system/apps-podinfo
  history:
    - {name: old-name, version: 1}
    - {name: new-name, version: 2}
");
        assert_eq!(release_name(&h), "new-name");
        assert_eq!(storage_namespace(&h), "recorded");
        assert_eq!(release_namespace(&h), "prod");
        assert_eq!(
            helm_chart_key(&h),
            Some(ObjectKey::flux(
                FluxKind::HelmChart,
                "flux-system",
                "apps-podinfo"
            ))
        );
        let fresh = hr("metadata: {name: podinfo, namespace: apps}
spec:
  storageNamespace: store
  chart: {spec: {chart: podinfo, sourceRef: {kind: HelmRepository, name: repo, namespace: flux-system}}}
");
        assert_eq!(storage_namespace(&fresh), "store");
        assert_eq!(release_namespace(&fresh), "apps");
        assert_eq!(
            helm_chart_key(&fresh),
            Some(ObjectKey::flux(
                FluxKind::HelmChart,
                "flux-system",
                "apps-podinfo"
            ))
        );
        let oci = hr("metadata: {name: podinfo, namespace: apps}
spec: {chartRef: {kind: OCIRepository, name: podinfo}}
");
        assert_eq!(helm_chart_key(&oci), None);
    }
}
