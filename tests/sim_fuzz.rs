//! Random requests against the simulated API server: paths, query strings, label and field
//! selectors, content types and bodies (patches of every kind, objects, junk). Whatever comes
//! in, the server answers (no hang, no dropped connection), never with a 5xx (no faults are
//! injected), every error is a `Status` object with the same code, and the server keeps
//! serving afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/sim_server.rs"]
mod sim_server;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};
use sim_server::{RawResponse, Sim};

use fluxdeck::sim::registry::ids;
use fluxdeck::sim::store::WriteOpts;

#[derive(Clone, Debug)]
struct Req {
    method: String,
    target: String,
    content_type: Option<String>,
    accept: Option<String>,
    body: Vec<u8>,
}

impl Req {
    fn bytes(&self) -> Vec<u8> {
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\nUser-Agent: sim-fuzz\r\nContent-Length: {}\r\n",
            self.method,
            self.target,
            self.body.len()
        );
        if let Some(ct) = &self.content_type {
            head.push_str(&format!("Content-Type: {ct}\r\n"));
        }
        if let Some(a) = &self.accept {
            head.push_str(&format!("Accept: {a}\r\n"));
        }
        head.push_str("\r\n");
        let mut b = head.into_bytes();
        b.extend_from_slice(&self.body);
        b
    }
}

/// Characters allowed in a request target, `%` included (so bad escapes are tried too).
const URI_CHARS: &str = "[A-Za-z0-9._~%!$&'()*+,;=:@-]";

/// Percent-encode everything outside the unreserved set.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "api", "apis", "v1", "v2", "v1beta2", "namespaces", "default", "flux-system",
            "configmaps", "secrets", "helmreleases", "kustomizations", "gitrepositories",
            "helm.toolkit.fluxcd.io", "source.toolkit.fluxcd.io", "apps", "deployments",
            "status", "scale", "fuzz", "events", "openapi", "v3", "version", "healthz",
            "customresourcedefinitions", "apiextensions.k8s.io", "..", ".", "%ZZ", "%2F", "%00",
            "%", "%e2%82", "",
        ])
        .prop_map(String::from),
        1 => proptest::string::string_regex(&format!("{URI_CHARS}{{0,12}}")).unwrap(),
    ]
    // The watch route streams until the client goes away; it is tested on its own.
    .prop_filter("no watch route", |s| s != "watch")
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        // Paths of served resources, so that most requests reach the verbs.
        8 => (
            prop::sample::select(vec![
                "/api/v1/namespaces/default/configmaps",
                "/api/v1/configmaps",
                "/api/v1/namespaces/default/secrets",
                "/apis/helm.toolkit.fluxcd.io/v2/namespaces/default/helmreleases",
                "/apis/helm.toolkit.fluxcd.io/v2/helmreleases",
                "/apis/apps/v1/namespaces/default/deployments",
                "/api/v1/namespaces",
            ]),
            prop::sample::select(vec![
                "", "", "/fuzz", "/fuzz", "/fuzz", "/fuzz/status", "/other", "/fuzz/scale",
                "/fuzz/x/y",
            ]),
        )
            .prop_map(|(p, tail)| format!("{p}{tail}")),
        3 => (
            prop::sample::select(vec![
                "/api/v1",
                "/api/v1/namespaces/default",
                "/apis/helm.toolkit.fluxcd.io/v2",
                "/apis/helm.toolkit.fluxcd.io/v2/namespaces/default",
                "/apis/apps/v1/namespaces/default",
                "/apis/kustomize.toolkit.fluxcd.io/v1",
                "/apis",
                "/openapi/v3",
                "",
            ]),
            vec(segment(), 0..4),
        )
            .prop_map(|(p, segs)| format!("{p}/{}", segs.join("/"))),
        1 => vec(segment(), 0..7).prop_map(|segs| format!("/{}", segs.join("/"))),
    ]
}

/// Selector text: the grammar's pieces in random order, and random text.
fn selector() -> impl Strategy<Value = String> {
    prop_oneof![
        vec(
            prop::sample::select(vec![
                "app",
                "=",
                "==",
                "!=",
                "!",
                ",",
                " in ",
                " notin ",
                "(",
                ")",
                "a",
                "b",
                "x/y",
                "metadata.name",
                "metadata.namespace",
                "status.phase",
                "spec.x",
                "",
                "example.com/long-key",
                "-",
                "_",
                ".",
            ]),
            0..8
        )
        .prop_map(|p| p.concat()),
        "\\PC{0,20}",
    ]
}

fn query() -> impl Strategy<Value = String> {
    let pair = prop_oneof![
        selector().prop_map(|s| format!("labelSelector={}", encode(&s))),
        selector().prop_map(|s| format!("fieldSelector={}", encode(&s))),
        (
            prop::sample::select(vec![
                "limit",
                "continue",
                "resourceVersion",
                "resourceVersionMatch",
                "timeoutSeconds",
                "dryRun",
                "fieldManager",
                "force",
                "propagationPolicy",
                "pretty",
                "allowWatchBookmarks",
                "includeObject",
                "fieldValidation",
                "gracePeriodSeconds",
                "orphanDependents",
            ]),
            prop_oneof![
                prop::sample::select(vec![
                    "",
                    "0",
                    "1",
                    "-1",
                    "5",
                    "true",
                    "false",
                    "All",
                    "NotOlderThan",
                    "Exact",
                    "Background",
                    "Strict",
                    "99999999999999999999",
                    "abc",
                ])
                .prop_map(String::from),
                "\\PC{0,12}".prop_map(|s| encode(&s)),
            ],
        )
            .prop_map(|(k, v)| format!("{k}={v}")),
        proptest::string::string_regex(&format!("{URI_CHARS}{{0,16}}")).unwrap(),
    ];
    vec(pair, 0..4)
        .prop_map(|p| p.join("&"))
        .prop_filter("no watch", |q| !q.to_ascii_lowercase().contains("watch="))
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "\\PC{0,10}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 20, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop::sample::select(vec![
                    "apiVersion",
                    "kind",
                    "metadata",
                    "name",
                    "namespace",
                    "labels",
                    "spec",
                    "status",
                    "data",
                    "resourceVersion",
                    "op",
                    "path",
                    "value",
                    "from",
                    "x",
                ])
                .prop_map(String::from),
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        vec(any::<u8>(), 0..200),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        // An object of the kind at hand, with random parts.
        (json_value(), json_value()).prop_map(|(data, labels)| {
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "fuzz", "namespace": "default", "labels": labels},
                   "data": data})
            .to_string()
            .into_bytes()
        }),
        // A JSON patch.
        vec(
            (
                prop::sample::select(vec![
                    "add", "remove", "replace", "move", "copy", "test", "x"
                ]),
                prop::sample::select(vec![
                    "",
                    "/",
                    "/data",
                    "/data/k",
                    "/metadata/labels/a",
                    "/metadata/name",
                    "/spec/x/0",
                    "/a~1b",
                    "/~2",
                    "data",
                    "/metadata/resourceVersion",
                ]),
                json_value(),
            ),
            0..4
        )
        .prop_map(|ops| {
            let ops: Vec<Value> = ops
                .into_iter()
                .map(|(op, path, value)| {
                    json!({"op": op, "path": path, "value": value, "from": "/data"})
                })
                .collect();
            Value::Array(ops).to_string().into_bytes()
        }),
        // Apply YAML, or something like it.
        "[ -~\n]{0,80}".prop_map(String::into_bytes),
    ]
}

fn request() -> impl Strategy<Value = Req> {
    (
        prop::sample::select(vec![
            "GET", "GET", "GET", "POST", "PUT", "PATCH", "PATCH", "DELETE", "HEAD", "OPTIONS",
            "BREW",
        ]),
        path(),
        proptest::option::of(query()),
        proptest::option::of(prop::sample::select(vec![
            "application/json",
            "application/merge-patch+json",
            "application/json-patch+json",
            "application/strategic-merge-patch+json",
            "application/apply-patch+yaml",
            "application/apply-patch+yaml; charset=utf-8",
            "application/vnd.kubernetes.protobuf",
            "application/yaml",
            "text/plain",
            "garbage/;;;",
        ])),
        proptest::option::of(prop::sample::select(vec![
            "application/json",
            "application/json;as=Table;v=v1;g=meta.k8s.io",
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
            "application/vnd.kubernetes.protobuf",
            "*/*",
            "text/html",
            ";;;",
        ])),
        body(),
    )
        .prop_map(|(method, path, query, ct, accept, body)| Req {
            method: method.to_string(),
            target: match query {
                Some(q) => format!("{path}?{q}"),
                None => path,
            },
            content_type: ct.map(String::from),
            accept: accept.map(String::from),
            body,
        })
}

/// What every answer must be like.
fn check(req: &Req, r: &RawResponse) -> Result<(), TestCaseError> {
    prop_assert!(r.status != 0, "no answer to {req:?}: {r:?}");
    prop_assert!(
        r.read_error.is_none(),
        "the answer to {req:?} broke off: {r:?}"
    );
    prop_assert!(r.status < 500, "server error for {req:?}: {r:?}");
    if r.status >= 400 && req.method != "HEAD" {
        let s: Value = serde_json::from_str(&r.body)
            .map_err(|e| TestCaseError::fail(format!("{e}: not a Status for {req:?}: {r:?}")))?;
        prop_assert_eq!(&s["kind"], "Status", "{:?}: {:?}", req, r);
        prop_assert_eq!(&s["status"], "Failure", "{:?}: {:?}", req, r);
        prop_assert_eq!(
            s["code"].as_u64(),
            Some(u64::from(r.status)),
            "{:?}: {:?}",
            req,
            r
        );
        prop_assert!(
            s["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{req:?}: {r:?}"
        );
    }
    Ok(())
}

/// The objects the requests aim at, put back when a request deleted them.
fn ensure_targets(sim: &Sim) {
    use fluxdeck::sim::store::ObjKey;
    for (res, obj) in [
        (
            ids::configmaps(),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "fuzz", "namespace": "default", "labels": {"app": "a"}},
                   "data": {"k": "v"}}),
        ),
        (
            ids::helmreleases(),
            json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                   "metadata": {"name": "fuzz", "namespace": "default"},
                   "spec": {"interval": "5m", "chart": {"spec": {"chart": "c",
                            "sourceRef": {"kind": "HelmRepository", "name": "r"}}}}}),
        ),
    ] {
        if sim
            .store
            .get(&res, &ObjKey::new("default", "fuzz"))
            .is_none()
        {
            sim.store.create(&res, obj, WriteOpts::default()).unwrap();
        }
    }
}

#[test]
fn random_requests_get_an_answer_or_a_status() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = rt.block_on(Sim::start());
    let cases = std::env::var("FLUXDECK_FUZZ_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(600);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let codes = std::cell::RefCell::new(std::collections::BTreeMap::<u16, usize>::new());
    let result = runner.run(&request(), |req| {
        ensure_targets(&sim);
        let r = rt.block_on(sim.raw(&req.bytes()));
        *codes.borrow_mut().entry(r.status).or_default() += 1;
        check(&req, &r)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // Both sides of the property were exercised, and the server still serves.
    let codes = codes.into_inner();
    eprintln!("answers by status: {codes:?}");
    assert!(
        codes.keys().any(|c| *c < 300),
        "no request succeeded: {codes:?}"
    );
    assert!(
        codes.keys().filter(|c| **c >= 400).count() >= 4,
        "too few kinds of errors: {codes:?}"
    );
    let r = rt.block_on(sim.get("/api/v1/namespaces/default/configmaps"));
    assert_eq!(r.status, 200, "{r:?}");
}

#[test]
fn hyper_level_rejections_are_not_counted_as_status_answers() {
    // A request target the HTTP layer refuses never reaches the API code: the check above
    // must only see targets that are valid HTTP. This pins that the generator's alphabet is.
    let re = regex::Regex::new(&format!("^(?:{URI_CHARS}|/|\\?)*$")).unwrap();
    let mut runner = TestRunner::new(Config {
        cases: 200,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&request(), |req| {
            prop_assert!(re.is_match(&req.target), "{}", req.target);
            Ok(())
        })
        .unwrap();
}
