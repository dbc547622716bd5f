use super::*;
use proptest::prelude::*;
use serde_json::json;

fn hr(spec: Value) -> HelmRelease {
    serde_json::from_value(json!({"metadata": {"name": "app", "namespace": "ns"}, "spec": spec}))
        .unwrap()
}

fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn sources() -> Sources {
    let mut s = Sources::default();
    s.config_maps.insert(
        "base".into(),
        data(&[
            (
                "values.yaml",
                "a: 1\nnested: {x: base, y: base}\nlist: [1, 2]\n",
            ),
            ("other.yaml", "a: 2\nnested: {x: other}\n"),
            ("host", "db.local"),
            ("count", "3"),
            ("flag", "true"),
            ("nothing", "null"),
            ("quoted", "\"42\""),
            ("single", "'true'"),
            ("commas", "x,y"),
            ("notamap", "- a\n- b\n"),
        ]),
    );
    s.secrets.insert(
        "creds".into(),
        data(&[
            ("values.yaml", "db: {password: s3cret}\n"),
            ("pw", "hunter2"),
        ]),
    );
    s
}

fn cm(name: &str, key: &str) -> Origin {
    Origin::Ref {
        kind: "ConfigMap".into(),
        name: name.into(),
        key: key.into(),
    }
}

#[test]
fn refs_merge_in_order_and_inline_wins_last() {
    let h = hr(json!({
        "values": {"nested": {"y": "inline"}},
        "valuesFrom": [
            {"kind": "ConfigMap", "name": "base"},
            {"kind": "ConfigMap", "name": "base", "valuesKey": "other.yaml"},
        ]
    }));
    let c = compose("ns", &h, &sources()).unwrap();
    assert_eq!(
        Value::Object(c.values.clone()),
        json!({"a": 2, "nested": {"x": "other", "y": "inline"}, "list": [1, 2]})
    );
    assert_eq!(c.refs, 2);
    assert_eq!(c.origin_of("/a"), Some(&cm("base", "other.yaml")));
    assert_eq!(c.origin_of("/nested/x"), Some(&cm("base", "other.yaml")));
    assert_eq!(c.origin_of("/nested/y"), Some(&Origin::Inline));
    assert_eq!(c.origin_of("/list"), Some(&cm("base", "values.yaml")));
    assert_eq!(c.origin_of("/list/1"), Some(&cm("base", "values.yaml")));
    assert_eq!(c.origin_of("/missing"), None);
    assert_eq!(c.describe(), "spec.values + 2 valuesFrom");
}

#[test]
fn reversed_order_gives_the_other_answer() {
    let h = hr(json!({"valuesFrom": [
        {"kind": "ConfigMap", "name": "base", "valuesKey": "other.yaml"},
        {"kind": "ConfigMap", "name": "base"},
    ]}));
    let c = compose("ns", &h, &sources()).unwrap();
    assert_eq!(c.values["a"], json!(1));
    assert_eq!(c.values["nested"], json!({"x": "base", "y": "base"}));
    assert_eq!(c.describe(), "2 valuesFrom");
}

#[test]
fn optional_missing_object_and_key_are_skipped() {
    let h = hr(json!({"valuesFrom": [
        {"kind": "Secret", "name": "absent", "optional": true},
        {"kind": "ConfigMap", "name": "base", "valuesKey": "nope", "optional": true},
    ]}));
    let c = compose("ns", &h, &sources()).unwrap();
    assert!(c.values.is_empty());
    assert_eq!(c.refs, 0);
    assert_eq!(c.describe(), "no values");
}

#[test]
fn required_missing_object_and_key_fail_as_the_controller_says() {
    let e = |spec: Value| compose("ns", &hr(spec), &sources()).unwrap_err();
    assert_eq!(
        e(json!({"valuesFrom": [{"kind": "Secret", "name": "absent"}]})),
        "could not resolve Secret chart values reference 'ns/absent' with key 'values.yaml': secrets \"absent\" not found"
    );
    assert_eq!(
        e(json!({"valuesFrom": [{"kind": "ConfigMap", "name": "absent", "valuesKey": "v"}]})),
        "could not resolve ConfigMap chart values reference 'ns/absent' with key 'v': configmaps \"absent\" not found"
    );
    assert_eq!(
        e(json!({"valuesFrom": [{"kind": "ConfigMap", "name": "base", "valuesKey": "nope"}]})),
        "could not resolve ConfigMap chart values reference 'ns/base' with key 'nope': key not found"
    );
    // Read once: a second, required reference to an object found missing names no API error.
    assert_eq!(
        e(json!({"valuesFrom": [
            {"kind": "Secret", "name": "absent", "optional": true},
            {"kind": "Secret", "name": "absent"},
        ]})),
        "could not resolve Secret chart values reference 'ns/absent' with key 'values.yaml': resource not found"
    );
    assert_eq!(
        e(json!({"valuesFrom": [{"kind": "Bucket", "name": "x"}]})),
        "could not resolve Bucket chart values reference 'ns/x' with key 'values.yaml': unsupported values reference kind"
    );
    assert_eq!(
        e(
            json!({"valuesFrom": [{"kind": "ConfigMap", "name": "base", "valuesKey": "notamap", "optional": true}]})
        ),
        "could not resolve optional ConfigMap chart values reference 'ns/base' with key 'notamap': error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type chartutil.Values"
    );
    assert!(
        e(json!({"valuesFrom": [{"kind": "ConfigMap", "name": "base", "valuesKey": "commas", "targetPath": "p"}]}))
            .ends_with("with key 'commas': key \"y\" has no value")
    );
}

#[test]
fn target_path_wins_over_inline_at_the_same_path() {
    let h = hr(json!({
        "values": {"db": {"host": "inline", "port": 5432}},
        "valuesFrom": [
            {"kind": "ConfigMap", "name": "base", "valuesKey": "host", "targetPath": "db.host"},
        ]
    }));
    let c = compose("ns", &h, &sources()).unwrap();
    assert_eq!(
        Value::Object(c.values.clone()),
        json!({"db": {"host": "db.local", "port": 5432}})
    );
    let tp = Origin::TargetPath {
        kind: "ConfigMap".into(),
        name: "base".into(),
        key: "host".into(),
        path: "db.host".into(),
    };
    assert_eq!(c.origin_of("/db/host"), Some(&tp));
    assert_eq!(c.origin_of("/db/port"), Some(&Origin::Inline));
}

#[test]
fn a_target_path_written_into_the_inline_map_outlives_a_later_ref() {
    let mut s = sources();
    s.config_maps.insert(
        "late".into(),
        data(&[("values.yaml", "db: {host: late}\n")]),
    );
    let h = hr(json!({
        "values": {"db": {"port": 1}},
        "valuesFrom": [
            {"kind": "ConfigMap", "name": "base", "valuesKey": "host", "targetPath": "db.host"},
            {"kind": "ConfigMap", "name": "late"},
        ]
    }));
    let c = compose("ns", &h, &s).unwrap();
    assert_eq!(
        Value::Object(c.values.clone()),
        json!({"db": {"host": "db.local", "port": 1}})
    );
    assert!(matches!(
        c.origin_of("/db/host"),
        Some(Origin::TargetPath { .. })
    ));
    assert_eq!(c.origin_of("/db/port"), Some(&Origin::Inline));
}

#[test]
fn inline_wins_when_an_earlier_ref_made_the_parent_map_a_new_one() {
    // The Secret's `db` and the inline `db` are merged into a new map before the targetPath
    // is set there; the inline map itself is untouched, so merging it last restores its host.
    let h = hr(json!({
        "values": {"db": {"host": "inline"}},
        "valuesFrom": [
            {"kind": "Secret", "name": "creds"},
            {"kind": "ConfigMap", "name": "base", "valuesKey": "host", "targetPath": "db.host"},
        ]
    }));
    let c = compose("ns", &h, &sources()).unwrap();
    assert_eq!(
        Value::Object(c.values.clone()),
        json!({"db": {"host": "inline", "password": "s3cret"}})
    );
    assert_eq!(c.origin_of("/db/host"), Some(&Origin::Inline));
    assert!(c.origin_of("/db/password").unwrap().is_secret());
}

#[test]
fn target_path_precedence_over_all_as_upstream_tests_it() {
    let mut s = Sources::default();
    s.config_maps.insert(
        "values".into(),
        data(&[(
            "values.yaml",
            "flat: value\nnested:\n  configuration:\n  - one\n  - two\n  - three\n",
        )]),
    );
    s.secrets.insert("values".into(), data(&[("key", "value")]));
    let h = hr(json!({
        "values": {"nested": {"configuration": ["list", "item", "option"]}},
        "valuesFrom": [
            {"kind": "Secret", "name": "values", "valuesKey": "key", "targetPath": "nested.configuration[0]"},
            {"kind": "ConfigMap", "name": "values"},
        ]
    }));
    let c = compose("ns", &h, &s).unwrap();
    assert_eq!(
        Value::Object(c.values.clone()),
        json!({"flat": "value", "nested": {"configuration": ["value", "item", "option"]}})
    );
    assert!(c.origin_of("/nested/configuration/0").unwrap().is_secret());
    assert_eq!(
        c.origin_of("/nested/configuration/1"),
        Some(&Origin::Inline)
    );
    assert_eq!(
        c.secret_pointers(),
        vec!["/nested/configuration/0".to_string()]
    );
}

#[test]
fn a_later_root_ref_overrides_a_target_path_the_inline_values_do_not_hold() {
    let h = hr(json!({
        "values": {"other": 1},
        "valuesFrom": [
            {"kind": "ConfigMap", "name": "base", "valuesKey": "host", "targetPath": "a"},
            {"kind": "ConfigMap", "name": "base"},
        ]
    }));
    let c = compose("ns", &h, &sources()).unwrap();
    assert_eq!(c.values["a"], json!(1));
    assert_eq!(c.origin_of("/a"), Some(&cm("base", "values.yaml")));
}

#[test]
fn target_path_list_indexes_escapes_and_types() {
    let h = hr(json!({"valuesFrom": [
        {"kind": "ConfigMap", "name": "base", "valuesKey": "host", "targetPath": "a.b[1].c"},
        {"kind": "ConfigMap", "name": "base", "valuesKey": "host", "targetPath": "annotations.example\\.com/x"},
        {"kind": "ConfigMap", "name": "base", "valuesKey": "count", "targetPath": "n"},
        {"kind": "ConfigMap", "name": "base", "valuesKey": "flag", "targetPath": "f"},
        {"kind": "ConfigMap", "name": "base", "valuesKey": "nothing", "targetPath": "z"},
        {"kind": "ConfigMap", "name": "base", "valuesKey": "quoted", "targetPath": "q"},
        {"kind": "ConfigMap", "name": "base", "valuesKey": "single", "targetPath": "s"},
        {"kind": "ConfigMap", "name": "base", "valuesKey": "commas", "targetPath": "l", "literal": true},
        {"kind": "ConfigMap", "name": "base", "valuesKey": "count", "targetPath": "lit", "literal": true},
    ]}));
    let c = compose("ns", &h, &sources()).unwrap();
    assert_eq!(
        Value::Object(c.values.clone()),
        json!({
            "a": {"b": [null, {"c": "db.local"}]},
            "annotations": {"example.com/x": "db.local"},
            "n": 3, "f": true, "z": null, "q": "42", "s": "true",
            "l": "x,y", "lit": "3",
        })
    );
    assert_eq!(
        c.origin_of("/annotations/example.com~1x")
            .map(Origin::label),
        Some("ConfigMap/base[host] → annotations.example\\.com/x".to_string())
    );
    assert_eq!(
        c.origin_of("/a/b/1/c").map(Origin::label).as_deref(),
        Some("ConfigMap/base[host] → a.b[1].c")
    );
}

#[test]
fn spec_values_that_are_not_a_map_count_as_none() {
    let c = compose("ns", &hr(json!({"values": [1, 2]})), &sources()).unwrap();
    assert!(c.values.is_empty());
    assert_eq!(c.describe(), "no values");
}

#[test]
fn describe_and_labels() {
    let inline_only = compose("ns", &hr(json!({"values": {"a": 1}})), &sources()).unwrap();
    assert_eq!(inline_only.describe(), "spec.values");
    let one = compose(
        "ns",
        &hr(json!({"valuesFrom": [{"kind": "Secret", "name": "creds"}]})),
        &sources(),
    )
    .unwrap();
    assert_eq!(one.describe(), "1 valuesFrom");
    assert_eq!(one.secret_pointers(), vec!["/db/password".to_string()]);
    assert_eq!(Origin::Inline.label(), "spec.values");
    assert_eq!(
        one.origin_of("/db/password").map(Origin::label).as_deref(),
        Some("Secret/creds[values.yaml]")
    );
}

#[test]
fn origin_of_takes_the_longest_recorded_prefix() {
    let mut c = Composed::default();
    c.origins.insert("/a".into(), Origin::Inline);
    c.origins.insert("/a/b/1".into(), cm("x", "k"));
    assert_eq!(c.origin_of("/a/b/1/c"), Some(&cm("x", "k")));
    assert_eq!(c.origin_of("/a/b/0"), Some(&Origin::Inline));
    assert_eq!(c.origin_of("/ab"), None);
    assert_eq!(c.origin_of(""), None);
}

#[test]
fn references_are_ordered_and_deduplicated() {
    let h = hr(json!({"valuesFrom": [
        {"kind": "ConfigMap", "name": "b"},
        {"kind": "Secret", "name": "b"},
        {"kind": "ConfigMap", "name": "a"},
        {"kind": "ConfigMap", "name": "b", "valuesKey": "x"},
    ]}));
    assert_eq!(
        references(&h),
        vec![
            ("ConfigMap".to_string(), "b".to_string()),
            ("Secret".to_string(), "b".to_string()),
            ("ConfigMap".to_string(), "a".to_string()),
        ]
    );
}

#[test]
fn coalesce_follows_helm() {
    let defaults = json!({
        "image": {"repo": "nginx", "tag": "1.0", "pull": null},
        "list": [1, 2, 3],
        "drop": "me",
        "gone": null,
        "table": {"k": "v"},
    });
    let config = json!({
        "image": {"tag": "2.0"},
        "list": [9],
        "drop": null,
        "table": "scalar",
        "extra": {"x": 1},
    });
    let out = coalesce(defaults.as_object().unwrap(), config.as_object().unwrap());
    assert_eq!(
        Value::Object(out),
        json!({
            "image": {"repo": "nginx", "tag": "2.0"},
            "list": [9],
            "table": "scalar",
            "extra": {"x": 1},
        })
    );
}

#[test]
fn same_compares_numbers_by_value() {
    assert!(same(
        &json!({"a": 1, "b": [1.0, "x"]}),
        &json!({"b": [1, "x"], "a": 1.0})
    ));
    assert!(!same(&json!({"a": 1}), &json!({"a": 2})));
    assert!(!same(&json!({"a": 1}), &json!({"a": 1, "b": 1})));
    assert!(!same(&json!([1]), &json!(["1"])));
}

#[test]
fn yaml_lines_sort_keys_and_tag_pointers() {
    let v = json!({
        "z": 1,
        "a": {"y": "x", "b": true},
        "list": [{"k2": 2, "k1": "v"}, "s", [], {}],
        "empty": {},
        "quoted": "true",
        "multi": "one\ntwo\n",
        "a/b": null,
    });
    let lines = yaml_lines(&v);
    let text: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(
        text,
        vec![
            "a:",
            "  b: true",
            "  y: x",
            "a/b: null",
            "empty: {}",
            "list:",
            "- k1: v",
            "  k2: 2",
            "- s",
            "- []",
            "- {}",
            "multi: |",
            "  one",
            "  two",
            "quoted: 'true'",
            "z: 1",
        ]
    );
    let pointers: Vec<&str> = lines.iter().map(|l| l.pointer.as_str()).collect();
    assert_eq!(
        pointers,
        vec![
            "/a",
            "/a/b",
            "/a/y",
            "/a~1b",
            "/empty",
            "/list",
            "/list/0/k1",
            "/list/0/k2",
            "/list/1",
            "/list/2",
            "/list/3",
            "/multi",
            "/multi",
            "/multi",
            "/quoted",
            "/z",
        ]
    );
    assert_eq!(yaml_lines(&json!({}))[0].text, "{}");
    assert_eq!(yaml_lines(&json!("x"))[0].text, "x");
}

#[test]
fn yaml_lines_keep_awkward_strings_on_one_honest_line() {
    let v = json!({"k": " leading\nspace", "t": "tab\there"});
    let lines = yaml_lines(&v);
    assert_eq!(lines.len(), 2);
    let text: String = lines.iter().map(|l| format!("{}\n", l.text)).collect();
    let back: Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(back, v);
}

#[test]
fn mask_is_salted_and_equal_exactly_for_equal_secrets() {
    let mut v = json!({"a": "s1", "b": "s1", "c": "s2", "d": {"x": 1}, "keep": "plain"});
    let ptrs: Vec<String> = ["/a", "/b", "/c", "/d", "/nope"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    mask(&mut v, &ptrs, 7, false);
    let s = |p: &str| v.pointer(p).and_then(Value::as_str).unwrap().to_string();
    assert!(s("/a").starts_with("•••••• #"));
    assert_eq!(s("/a"), s("/b"));
    assert_ne!(s("/a"), s("/c"));
    assert_ne!(s("/a"), s("/d"));
    assert_eq!(s("/keep"), "plain");
    let mut w = json!({"a": "s1"});
    mask(&mut w, &["/a".to_string()], 8, true);
    assert!(w["a"].as_str().unwrap().starts_with("****** #"));
    let tag = |m: &str| m.rsplit('#').next().unwrap_or_default().to_string();
    assert_eq!(tag(&s("/a")).len(), 4);
    assert_ne!(
        tag(w["a"].as_str().unwrap()),
        tag(&s("/a")),
        "the salt changes the tag"
    );
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>().prop_map(Value::String),
        "[a-z0-9 :#'\"\\-\n]{0,12}".prop_map(Value::String),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ]
}

fn tree() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn yaml_lines_parse_back_to_the_same_value(
        m in prop::collection::btree_map("[a-zA-Z0-9_./~ -]{0,8}", tree(), 0..6)
    ) {
        let v = Value::Object(m.into_iter().collect());
        let text: String = yaml_lines(&v).iter().map(|l| format!("{}\n", l.text)).collect();
        let back: Value = serde_yaml::from_str(&text)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(back, v, "{}", text);
    }
}

#[test]
fn line_separators_in_keys_and_values_are_escaped() {
    let v = serde_json::json!({"": {"\u{2028}": "a\u{2029}b"}});
    let text: String = yaml_lines(&v)
        .iter()
        .map(|l| format!("{}\n", l.text))
        .collect();
    let back: Value = serde_yaml::from_str(&text).expect("parses");
    assert_eq!(back, v, "{text}");
}
