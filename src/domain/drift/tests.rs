use serde_json::{Value, json};

use super::*;

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "backend",
            "namespace": "default",
            "labels": {"app": "backend", "tier": "api"},
            "annotations": {"team": "core"}
        },
        "spec": {
            "replicas": 1,
            "template": {"spec": {"containers": [
                {"name": "app", "image": "app:1", "env": [{"name": "MESSAGE", "value": "hello"}]}
            ]}}
        }
    })
}

/// The live object as the API server returns it (server metadata and status added).
fn live_of(d: &Value) -> Value {
    let mut l = d.clone();
    let m = l["metadata"].as_object_mut().unwrap();
    m.insert("resourceVersion".into(), json!("42"));
    m.insert("uid".into(), json!("u-1"));
    m.insert("generation".into(), json!(3));
    m.insert("creationTimestamp".into(), json!("2024-01-01T00:00:00Z"));
    m.insert(
        "managedFields".into(),
        json!([{"manager": "helm-controller"}]),
    );
    l["status"] = json!({"readyReplicas": 1});
    l
}

fn rule(paths: &[&str], target: Option<Value>) -> DriftIgnoreRule {
    DriftIgnoreRule {
        paths: paths.iter().map(|p| p.to_string()).collect(),
        target: target.map(|t| serde_json::from_value(t).unwrap()),
    }
}

fn ignored(target: Value, obj: &Value) -> bool {
    !ignored_pointers(&[rule(&["/x"], Some(target))], obj)
        .unwrap()
        .is_empty()
}

fn changed(a: usize, c: usize, r: usize) -> ObjectDrift {
    ObjectDrift::Changed {
        additions: a,
        changes: c,
        removals: r,
    }
}

/// compare() with the dry-run result = desired over live (what SSA returns for a merge).
fn cmp(desired: &Value, live: &Value, rules: &[DriftIgnoreRule]) -> ObjectReport {
    let mut dry = live.clone();
    dry["spec"] = desired["spec"].clone();
    for k in ["labels", "annotations"] {
        if let Some(Value::Object(want)) = desired["metadata"].get(k) {
            let have = dry["metadata"][k].as_object().cloned().unwrap_or_default();
            let mut merged = have;
            merged.extend(want.clone());
            dry["metadata"][k] = Value::Object(merged);
        }
    }
    compare(desired, Some(&dry), Some(live), rules).unwrap()
}

#[test]
fn rules_without_target_apply_to_all_and_combine_in_order() {
    let d = deployment();
    let rules = [
        rule(&["/spec/replicas"], None),
        rule(&["/a"], Some(json!({"kind": "Service"}))),
        rule(&["/b", "/c"], Some(json!({"kind": "Deployment"}))),
    ];
    assert_eq!(
        ignored_pointers(&rules, &d).unwrap(),
        ["/spec/replicas", "/b", "/c"]
    );
    assert!(ignored_pointers(&[], &d).unwrap().is_empty());
}

#[test]
fn each_target_field_matches() {
    let d = deployment();
    assert!(ignored(json!({"group": "apps"}), &d));
    assert!(!ignored(json!({"group": "batch"}), &d));
    assert!(ignored(json!({"version": "v1"}), &d));
    assert!(!ignored(json!({"version": "v2"}), &d));
    assert!(ignored(json!({"kind": "Deploy.*"}), &d));
    assert!(!ignored(json!({"kind": "StatefulSet"}), &d));
    assert!(ignored(json!({"name": "back.*"}), &d));
    assert!(!ignored(json!({"name": "front.*"}), &d));
    assert!(ignored(json!({"namespace": "default"}), &d));
    assert!(!ignored(json!({"namespace": "kube-system"}), &d));
    // Core group is "" (apiVersion "v1").
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    assert!(ignored(json!({"group": "", "version": "v1"}), &cm));
    assert!(!ignored(json!({"group": "apps"}), &cm));
    // Empty fields match everything; all fields must match.
    assert!(ignored(json!({"kind": "", "name": ""}), &d));
    assert!(!ignored(json!({"kind": "Deployment", "name": "other"}), &d));
}

#[test]
fn regexes_are_anchored() {
    let d = deployment();
    assert!(!ignored(json!({"name": "back"}), &d));
    assert!(!ignored(json!({"name": "ackend"}), &d));
    assert!(!ignored(
        json!({"kind": "Deployment|x"}),
        &json!({"kind": "xDeployment"})
    ));
    assert!(ignored(json!({"name": "backend|frontend"}), &d));
    assert!(!ignored(json!({"group": "app"}), &d));
}

#[test]
fn bad_regex_or_selector_is_an_error() {
    let d = deployment();
    for t in [
        json!({"kind": "("}),
        json!({"name": "[a-"}),
        json!({"group": "*"}),
        json!({"labelSelector": "a in (b"}),
        json!({"annotationSelector": "=x"}),
    ] {
        let rules = [rule(&["/x"], Some(t.clone()))];
        assert!(ignored_pointers(&rules, &d).is_err(), "{t}");
    }
    // Even a rule that would not match fails the whole set, as in the controller.
    let rules = [
        rule(&["/x"], None),
        rule(&["/y"], Some(json!({"kind": "Service", "name": "("}))),
    ];
    let e = ignored_pointers(&rules, &d).unwrap_err();
    assert!(e.contains("name regex"), "{e}");
    assert!(compare(&d, Some(&live_of(&d)), Some(&live_of(&d)), &rules).is_err());
    assert!(compare_approximate(&d, Some(&live_of(&d)), &rules).is_err());
}

#[test]
fn label_and_annotation_selectors_of_every_operator() {
    let d = deployment();
    for (sel, yes) in [
        ("app=backend", true),
        ("app==backend", true),
        ("app=frontend", false),
        ("app!=frontend", true),
        ("app!=backend", false),
        ("missing!=x", true),
        ("tier in (api, web)", true),
        ("tier in (web)", false),
        ("tier notin (web)", true),
        ("tier notin (api)", false),
        ("app", true),
        ("missing", false),
        ("!missing", true),
        ("!app", false),
        ("app=backend,tier=api", true),
        ("app=backend,tier=web", false),
    ] {
        assert_eq!(
            ignored(json!({"labelSelector": sel}), &d),
            yes,
            "labels {sel}"
        );
    }
    // Annotations are matched by annotationSelector, labels by labelSelector only.
    assert!(ignored(json!({"annotationSelector": "team=core"}), &d));
    assert!(!ignored(json!({"annotationSelector": "app=backend"}), &d));
    assert!(!ignored(json!({"labelSelector": "team=core"}), &d));
    assert!(ignored(
        json!({"annotationSelector": "team in (core, edge)"}),
        &d
    ));
    assert!(ignored(json!({"annotationSelector": "!app"}), &d));
    // An object without labels: only negative requirements hold.
    let bare = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    assert!(ignored(json!({"labelSelector": "!a"}), &bare));
    assert!(ignored(json!({"labelSelector": "a notin (b)"}), &bare));
    assert!(!ignored(json!({"labelSelector": "a"}), &bare));
}

#[test]
fn exclusion_by_label_or_annotation_on_desired_or_live() {
    let d = deployment();
    let live = live_of(&d);
    assert!(!is_excluded(&d, Some(&live), &[]));
    for place in ["labels", "annotations"] {
        for value in ["disabled", "Disabled", "DISABLED"] {
            let mut x = d.clone();
            x["metadata"][place][DRIFT_DETECTION_KEY] = json!(value);
            assert!(is_excluded(&x, Some(&live), &[]), "desired {place} {value}");
            assert!(is_excluded(&d, Some(&x), &[]), "live {place} {value}");
        }
    }
    let mut other = d.clone();
    other["metadata"]["labels"][DRIFT_DETECTION_KEY] = json!("enabled");
    assert!(!is_excluded(&other, Some(&other), &[]));
    assert!(is_excluded(&d, None, &["".to_string()]));
    assert!(!is_excluded(&d, None, &["/spec".to_string()]));

    let mut excluded_live = live.clone();
    excluded_live["metadata"]["annotations"][DRIFT_DETECTION_KEY] = json!("disabled");
    excluded_live["spec"]["replicas"] = json!(9);
    let r = compare(&d, Some(&excluded_live), Some(&excluded_live), &[]).unwrap();
    assert_eq!(r.drift, ObjectDrift::Excluded);
    assert_eq!(r.line(), "Deployment/default/backend excluded");
    let r = compare(&d, None, Some(&live), &[rule(&[""], None)]).unwrap();
    assert_eq!(r.drift, ObjectDrift::Excluded);
}

#[test]
fn counts_additions_changes_and_removals() {
    let d = deployment();
    let mut live = live_of(&d);
    assert_eq!(cmp(&d, &live, &[]).drift, ObjectDrift::None);

    live["spec"]["replicas"] = json!(3);
    let r = cmp(&d, &live, &[]);
    assert_eq!(r.drift, changed(0, 1, 0));
    assert_eq!(r.ops, ["replace /spec/replicas"]);
    assert_eq!(
        r.line(),
        "Deployment/default/backend changed (0 additions, 1 changes, 0 removals)"
    );

    // A field only the live object has is removed by the dry-run's desired body.
    let mut live = live_of(&d);
    live["spec"]["paused"] = json!(true);
    let mut dry = live.clone();
    dry["spec"].as_object_mut().unwrap().shift_remove("paused");
    dry["spec"]["minReadySeconds"] = json!(5);
    let r = compare(&d, Some(&dry), Some(&live), &[]).unwrap();
    assert_eq!(r.drift, changed(1, 0, 1));
    assert_eq!(r.ops, ["add /spec/minReadySeconds", "remove /spec/paused"]);
}

#[test]
fn metadata_removals_and_server_fields_are_not_drift() {
    let d = deployment();
    let mut live = live_of(&d);
    // Another controller added a label and an annotation: not drift (removals ignored).
    live["metadata"]["labels"]["added-by"] = json!("someone");
    live["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = json!("3");
    live["metadata"]["finalizers"] = json!(["x"]);
    let dry = live.clone();
    let mut live2 = live.clone();
    live2["metadata"]["resourceVersion"] = json!("43");
    live2["metadata"]["generation"] = json!(4);
    live2["status"] = json!({"readyReplicas": 0});
    let r = compare(&d, Some(&dry), Some(&live2), &[]).unwrap();
    assert_eq!(r.drift, ObjectDrift::None);
    // Normalized: no status, no server metadata; the rest stays.
    let shown = r.live.unwrap();
    assert!(shown.get("status").is_none());
    for k in SERVER_METADATA {
        assert!(shown["metadata"].get(*k).is_none(), "{k}");
        assert!(r.desired["metadata"].get(*k).is_none(), "{k}");
    }
    assert_eq!(shown["metadata"]["finalizers"], json!(["x"]));

    // A changed or added label/annotation is drift.
    let mut live = live_of(&d);
    live["metadata"]["labels"]["tier"] = json!("web");
    live["metadata"]["annotations"]
        .as_object_mut()
        .unwrap()
        .shift_remove("team");
    let r = cmp(&d, &live, &[]);
    // Two small operations cost more than replacing the whole (small) metadata, so the
    // controller's rationalized patch is one replace.
    assert_eq!(r.drift, changed(0, 1, 0));
    assert_eq!(r.ops, ["replace /metadata"]);
    // With more metadata the operations stay separate.
    let mut d = deployment();
    d["metadata"]["annotations"]["description"] = json!("x".repeat(80));
    let mut live = live_of(&d);
    live["metadata"]["labels"]["tier"] = json!("web");
    live["metadata"]["annotations"]
        .as_object_mut()
        .unwrap()
        .shift_remove("team");
    let r = cmp(&d, &live, &[]);
    assert_eq!(r.drift, changed(1, 1, 0));
    assert_eq!(
        r.ops,
        [
            "add /metadata/annotations/team",
            "replace /metadata/labels/tier"
        ]
    );
}

#[test]
fn ignored_pointers_are_removed_from_both_sides() {
    let mut d = deployment();
    d["metadata"]["annotations"]["a/b~c"] = json!("want");
    let mut live = live_of(&d);
    live["spec"]["replicas"] = json!(5);
    live["metadata"]["annotations"]["a/b~c"] = json!("have");
    live["spec"]["template"]["spec"]["containers"][0]["image"] = json!("app:2");
    let r = cmp(&d, &live, &[]);
    assert_eq!(r.drift, changed(0, 3, 0));
    let rules = [
        rule(&["/spec/replicas"], None),
        rule(
            &["/metadata/annotations/a~1b~0c"],
            Some(json!({"kind": "Deployment"})),
        ),
        rule(
            &["/spec/template/spec/containers/0/image"],
            Some(json!({"kind": "Service"})),
        ),
    ];
    let r = cmp(&d, &live, &rules);
    assert_eq!(r.drift, changed(0, 1, 0));
    assert_eq!(r.ops, ["replace /spec/template/spec/containers/0/image"]);
    assert!(r.desired["spec"].get("replicas").is_none());
    assert!(r.live.as_ref().unwrap()["spec"].get("replicas").is_none());
    assert!(r.desired["metadata"]["annotations"].get("a/b~c").is_none());
    // Missing paths are fine; a pointer without a leading slash is an error.
    assert_eq!(
        cmp(&d, &live_of(&d), &[rule(&["/no/such/path"], None)]).drift,
        ObjectDrift::None
    );
    let mut dry = live_of(&d);
    assert!(compare(&d, Some(&dry.clone()), Some(&dry), &[rule(&["spec"], None)]).is_err());
    // Array items by index, negative from the end; a non-numeric index is an error.
    remove_pointer(&mut dry, "/spec/template/spec/containers/-1").unwrap();
    assert_eq!(dry["spec"]["template"]["spec"]["containers"], json!([]));
    assert!(remove_pointer(&mut json!({"a": [1]}), "/a/x").is_err());
    let mut v = json!({"a": [1, 2]});
    remove_pointer(&mut v, "/a/5").unwrap();
    remove_pointer(&mut v, "/a/0").unwrap();
    assert_eq!(v, json!({"a": [2]}));
}

#[test]
fn removed_when_missing_from_the_cluster() {
    let d = deployment();
    let r = compare(&d, None, None, &[]).unwrap();
    assert_eq!(r.drift, ObjectDrift::Removed);
    assert_eq!(r.line(), "Deployment/default/backend removed");
    assert!(r.live.is_none());
    // A dry-run result without resourceVersion: the object would be created.
    let r = compare(&d, Some(&d), None, &[]).unwrap();
    assert_eq!(r.drift, ObjectDrift::Removed);
    let mut created = d.clone();
    created["metadata"]["resourceVersion"] = json!("");
    let live = live_of(&d);
    assert_eq!(
        compare(&d, Some(&created), Some(&live), &[]).unwrap().drift,
        ObjectDrift::Removed
    );
    assert_eq!(
        compare_approximate(&d, None, &[]).unwrap().drift,
        ObjectDrift::Removed
    );
    // Exclusion wins over removal.
    let mut x = d.clone();
    x["metadata"]["labels"][DRIFT_DETECTION_KEY] = json!("disabled");
    assert_eq!(
        compare(&x, None, None, &[]).unwrap().drift,
        ObjectDrift::Excluded
    );
}

#[test]
fn cluster_scoped_lines_have_no_namespace() {
    let d = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "reader"}, "rules": [{"verbs": ["get"]}]});
    let mut live = live_of(&d);
    live["rules"] = json!([{"verbs": ["get", "list"]}]);
    let mut dry = live.clone();
    dry["rules"] = d["rules"].clone();
    let r = compare(&d, Some(&dry), Some(&live), &[]).unwrap();
    assert_eq!(r.namespace, None);
    assert_eq!(r.id(), "ClusterRole/reader");
    assert_eq!(
        r.line(),
        "ClusterRole/reader changed (0 additions, 0 changes, 1 removals)"
    );
    assert_eq!(r.ops, ["remove /rules/0/verbs/1"]);
    assert_eq!(
        compare(&d, None, None, &[]).unwrap().line(),
        "ClusterRole/reader removed"
    );
}

#[test]
fn summary_text_is_the_controllers() {
    let d = deployment();
    let mut live = live_of(&d);
    live["spec"]["replicas"] = json!(3);
    let changed = cmp(&d, &live, &[]);
    let same = cmp(&d, &live_of(&d), &[]);
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "apps"}});
    let removed = compare(&svc, None, None, &[]).unwrap();
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps",
        "annotations": {DRIFT_DETECTION_KEY: "disabled"}}});
    let excluded = compare(&ns, None, None, &[]).unwrap();

    assert_eq!(
        summary("default/backend.v3", std::slice::from_ref(&same)),
        None
    );
    assert_eq!(
        summary("default/backend.v3", &[same.clone(), excluded.clone()]),
        None
    );
    assert_eq!(summary("default/backend.v3", &[]), None);
    assert_eq!(
        summary("default/backend.v3", &[changed, same, removed, excluded]).unwrap(),
        "Cluster state of release default/backend.v3 has drifted from the desired state:\n\
         Deployment/default/backend changed (0 additions, 1 changes, 0 removals)\n\
         Service/apps/web removed\n\
         Namespace/apps excluded"
    );
}

#[test]
fn patch_turns_live_into_desired() {
    let d = deployment();
    let mut live = live_of(&d);
    live["spec"]["replicas"] = json!(3);
    live["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] = json!("edited");
    live["metadata"]["labels"]["extra"] = json!("kept");
    let r = cmp(&d, &live, &[rule(&["/spec/replicas"], None)]);
    assert_eq!(r.drift, changed(0, 1, 0));
    let mut fixed = live.clone();
    json_patch::patch(&mut fixed, &r.patch().unwrap()).unwrap();
    assert_eq!(
        fixed["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"],
        "hello"
    );
    assert_eq!(fixed["spec"]["replicas"], 3, "ignored path stays");
    assert_eq!(fixed["metadata"]["labels"]["extra"], "kept");
    assert_eq!(fixed["status"], live["status"]);
    assert!(cmp(&d, &live_of(&d), &[]).patch().unwrap().0.is_empty());
}

#[test]
fn approximate_compares_only_the_manifest_fields() {
    let d = deployment();
    let mut live = live_of(&d);
    // Server defaults and fields of other managers: not compared.
    live["spec"]["strategy"] = json!({"type": "RollingUpdate"});
    live["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!("IfNotPresent");
    live["spec"]["template"]["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .insert(0, json!({"name": "sidecar", "image": "proxy:1"}));
    live["metadata"]["labels"]["added-by"] = json!("someone");
    let r = compare_approximate(&d, Some(&live), &[]).unwrap();
    assert_eq!(r.drift, ObjectDrift::None, "{:?}", r.ops);
    assert_eq!(r.live.as_ref(), Some(&r.desired));
    assert_eq!(r.desired, normalize(&d));

    // A changed field the manifest sets is drift, found by container name.
    live["spec"]["template"]["spec"]["containers"][1]["image"] = json!("app:2");
    live["spec"]["replicas"] = json!(4);
    let r = compare_approximate(&d, Some(&live), &[rule(&["/spec/replicas"], None)]).unwrap();
    assert_eq!(r.drift, changed(0, 1, 0));
    assert_eq!(r.ops, ["replace /spec/template/spec/containers/0/image"]);

    // Lists of scalars are compared whole; missing fields are additions.
    let mut d2 = d.clone();
    d2["spec"]["template"]["spec"]["containers"][0]["args"] = json!(["--a"]);
    d2["spec"]["minReadySeconds"] = json!(5);
    let mut live = live_of(&d2);
    live["spec"]["template"]["spec"]["containers"][0]["args"] = json!(["--a", "--b"]);
    live["spec"]
        .as_object_mut()
        .unwrap()
        .shift_remove("minReadySeconds");
    let r = compare_approximate(&d2, Some(&live), &[]).unwrap();
    assert_eq!(r.drift, changed(1, 0, 1));
    assert_eq!(
        r.ops,
        [
            "add /spec/minReadySeconds",
            "remove /spec/template/spec/containers/0/args/1"
        ]
    );

    // Exclusion applies in approximate mode too.
    let mut x = live_of(&d);
    x["metadata"]["labels"][DRIFT_DETECTION_KEY] = json!("disabled");
    assert_eq!(
        compare_approximate(&d, Some(&x), &[]).unwrap().drift,
        ObjectDrift::Excluded
    );
}

#[test]
fn approximate_named_item_missing_from_live() {
    let d = deployment();
    let mut live = live_of(&d);
    live["spec"]["template"]["spec"]["containers"] = json!([{"name": "other", "image": "x"}]);
    let r = compare_approximate(&d, Some(&live), &[]).unwrap();
    assert!(r.drift.is_drift());
    assert_eq!(
        r.live.unwrap()["spec"]["template"]["spec"]["containers"],
        json!([null])
    );
}
