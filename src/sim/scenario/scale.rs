//! The generated `scale` scenario: N HelmReleases spread over M Kustomizations and
//! namespaces, with deterministic (seeded) dependency chains, for benchmarks.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, json};

use super::{ChartSpec, Scenario, ScenarioError, TemplateSpec};

pub struct ScaleParams {
    pub hr: usize,
    pub ks: usize,
    pub seed: u64,
}

impl ScaleParams {
    /// Parse `:hr=5000,ks=500[,seed=1]` (empty = defaults hr=1000, ks=100).
    pub fn parse(s: &str) -> Result<Self, ScenarioError> {
        let mut p = ScaleParams {
            hr: 1000,
            ks: 100,
            seed: 1,
        };
        let s = s.strip_prefix(':').unwrap_or(s);
        for part in s.split(',').filter(|x| !x.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| ScenarioError::ScaleParams(format!("'{part}' is not key=value")))?;
            let n: u64 = v
                .parse()
                .map_err(|_| ScenarioError::ScaleParams(format!("'{v}' is not a number")))?;
            match k {
                "hr" => p.hr = n as usize,
                "ks" => p.ks = (n as usize).max(1),
                "seed" => p.seed = n,
                _ => {
                    return Err(ScenarioError::ScaleParams(format!(
                        "unknown parameter '{k}' (hr, ks, seed)"
                    )));
                }
            }
        }
        Ok(p)
    }
}

fn chart() -> ChartSpec {
    ChartSpec {
        name: "app".into(),
        version: "1.0.0".into(),
        app_version: "1.0.0".into(),
        description: "generated application".into(),
        values: json!({"replicaCount": 1, "image": "registry.local/app:1.0.0"}).as_object().cloned().unwrap_or_default(),
        templates: vec![
            TemplateSpec {
                name: "templates/deployment.yaml".into(),
                content: "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: {{ .Values.replicaCount }}\n  selector:\n    matchLabels:\n      app: {{ .Release.Name }}\n  template:\n    metadata:\n      labels:\n        app: {{ .Release.Name }}\n    spec:\n      containers:\n        - name: app\n          image: {{ .Values.image }}\n".into(),
            },
            TemplateSpec {
                name: "templates/service.yaml".into(),
                content: "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  ports:\n    - port: 80\n  selector:\n    app: {{ .Release.Name }}\n".into(),
            },
        ],
    }
}

/// Generate the scenario.
pub fn generate(p: &ScaleParams) -> Scenario {
    let mut rng = StdRng::seed_from_u64(p.seed);
    let mut s = Scenario {
        name: "scale".into(),
        description: format!("{} HelmReleases in {} Kustomizations", p.hr, p.ks),
        ..Default::default()
    };
    s.charts.push(chart());
    s.objects.push(json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": "flux-system", "namespace": "flux-system"},
        "spec": {"interval": "1m", "url": "https://git.example.com/fleet", "ref": {"branch": "main"}}}));
    s.objects.push(
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
        "metadata": {"name": "charts", "namespace": "flux-system"},
        "spec": {"interval": "10m", "url": "https://charts.example.com"}}),
    );
    let mut root = Vec::new();
    for k in 0..p.ks {
        let ks = format!("ks-{k:04}");
        let mut ks_obj = json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": ks, "namespace": "flux-system"},
            "spec": {"interval": "10m", "path": format!("./apps/{ks}"), "prune": true,
                     "sourceRef": {"kind": "GitRepository", "name": "flux-system"}}});
        if k > 0 && rng.random_bool(0.3) {
            ks_obj["spec"]["dependsOn"] =
                json!([{"name": format!("ks-{:04}", rng.random_range(0..k))}]);
        }
        root.push(ks_obj);
        s.kustomizations
            .insert(format!("flux-system/{ks}"), Vec::new());
    }
    for h in 0..p.hr {
        let k = h % p.ks;
        let ns = format!("team-{:03}", k % 50);
        let name = format!("app-{h:05}");
        let mut hr = json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"interval": "10m", "chart": {"spec": {"chart": "app", "version": "1.x",
                "sourceRef": {"kind": "HelmRepository", "name": "charts", "namespace": "flux-system"}}},
                "values": {"replicaCount": 1 + (h % 3)}}});
        if h >= p.ks && rng.random_bool(0.2) {
            let dep = h - p.ks * (1 + rng.random_range(0..3usize)).min(h / p.ks.max(1));
            if dep != h && (dep % p.ks.max(1)) % 50 == k % 50 {
                hr["spec"]["dependsOn"] = json!([{"name": format!("app-{dep:05}")}]);
            }
        }
        if let Some(list) = s.kustomizations.get_mut(&format!("flux-system/ks-{k:04}")) {
            list.push(hr);
        }
    }
    let mut root_ks = json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "flux-system", "namespace": "flux-system"},
        "spec": {"interval": "10m", "path": "./clusters/scale", "prune": true,
                 "sourceRef": {"kind": "GitRepository", "name": "flux-system"}}});
    root_ks["status"] = json!({"observedGeneration": -1});
    s.objects.push(root_ks);
    s.kustomizations
        .insert("flux-system/flux-system".into(), root);
    let _ = Map::<String, serde_json::Value>::new();
    s
}
