//! The simulated API server at the HTTP level: `Status` errors and their codes, discovery,
//! OpenAPI, CRD registration, raw watch streams (bookmarks, Table rows, selectors) and
//! garbage input that must never break the server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/sim_server.rs"]
mod sim_server;

use std::sync::Arc;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};
use sim_server::Sim;

use fluxdeck::sim::registry::ids;
use fluxdeck::sim::store::{ObjKey, WriteOpts};

fn cm(name: &str, v: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": name, "namespace": "default", "labels": {"app": "demo"}},
           "data": {"k": v}})
}

fn api_code(e: kube::Error) -> u16 {
    match e {
        kube::Error::Api(s) => s.code,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn watch_gone_fault_answers_an_error_event() {
    let sim = Sim::start().await;
    sim.faults.update(|f| f.watch_gone = true);
    let r = sim
        .get("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1")
        .await;
    assert_eq!(r.status, 200);
    let lines = r.lines();
    assert_eq!(lines[0]["type"], "ERROR");
    assert_eq!(lines[0]["object"]["code"], 410);
    assert_eq!(lines[0]["object"]["reason"], "Expired");
}

#[tokio::test]
async fn errors_are_status_objects_with_the_right_codes() {
    let sim = Sim::start().await;
    let api: Api<ConfigMap> = Api::namespaced(sim.client(), "default");
    sim.store
        .create(&ids::configmaps(), cm("e", "1"), WriteOpts::default())
        .unwrap();

    // 409: stale PUT, and AlreadyExists.
    let mut cur = api.get("e").await.unwrap();
    let stale = cur.clone();
    cur.data = Some([("k".to_string(), "2".to_string())].into());
    api.replace("e", &PostParams::default(), &cur)
        .await
        .unwrap();
    let err = api
        .replace("e", &PostParams::default(), &stale)
        .await
        .unwrap_err();
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 409);
            assert_eq!(s.reason, "Conflict");
        }
        other => panic!("{other:?}"),
    }
    let err = api
        .create(
            &PostParams::default(),
            &serde_json::from_value(cm("e", "1")).unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(api_code(err), 409);

    // 404 for a missing object, with details.
    let r = sim
        .get("/api/v1/namespaces/default/configmaps/missing")
        .await;
    assert_eq!(r.status, 404);
    let s = r.json();
    assert_eq!(s["kind"], "Status");
    assert_eq!(s["reason"], "NotFound");
    assert_eq!(s["details"]["name"], "missing");
    assert_eq!(s["details"]["kind"], "configmaps");

    // 422: no name; kind not matching the path.
    let ct = [("Content-Type", "application/json")];
    let r = sim
        .request(
            "POST",
            "/api/v1/namespaces/default/configmaps",
            &ct,
            br#"{"metadata":{}}"#,
        )
        .await;
    assert_eq!(
        (r.status, r.json()["reason"].as_str()),
        (422, Some("Invalid"))
    );
    let r = sim
        .request(
            "POST",
            "/api/v1/namespaces/default/configmaps",
            &ct,
            br#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"q"}}"#,
        )
        .await;
    assert_eq!(r.status, 422);

    // 415 for protobuf and unknown types.
    let r = sim
        .request(
            "POST",
            "/api/v1/namespaces/default/secrets",
            &[("Content-Type", "application/vnd.kubernetes.protobuf")],
            b"k8s\x00\x0a",
        )
        .await;
    assert_eq!(r.status, 415);
    assert_eq!(r.json()["reason"], "UnsupportedMediaType");
    let r = sim
        .request(
            "PATCH",
            "/api/v1/namespaces/default/configmaps/e",
            &[("Content-Type", "text/plain")],
            b"{}",
        )
        .await;
    assert_eq!(r.status, 415);

    // 413 for a body over 3 MiB.
    let big = format!(
        r#"{{"metadata":{{"name":"big"}},"data":{{"k":"{}"}}}}"#,
        "x".repeat(4 << 20)
    );
    let r = sim
        .request(
            "POST",
            "/api/v1/namespaces/default/configmaps",
            &ct,
            big.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 413, "{r:?}");
    assert_eq!(r.json()["reason"], "RequestEntityTooLarge");

    // 400 malformed JSON, 405 verb not allowed.
    let r = sim
        .request(
            "POST",
            "/api/v1/namespaces/default/configmaps",
            &ct,
            b"{not json",
        )
        .await;
    assert_eq!(r.status, 400);
    let r = sim
        .request(
            "POST",
            "/api/v1/namespaces/default/configmaps/e",
            &ct,
            b"{}",
        )
        .await;
    assert_eq!(r.status, 405);

    // 500 injected.
    sim.faults.update(|f| f.error_rate = 1.0);
    assert_eq!(api_code(api.get("e").await.unwrap_err()), 500);
    sim.faults.update(|f| f.error_rate = 0.0);
    assert!(api.get("e").await.is_ok());
}

#[tokio::test]
async fn crds_register_and_unregister_resources() {
    let sim = Sim::start().await;
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "shortNames": ["wd"]},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}]}]}
    });
    let ct = [("Content-Type", "application/json")];
    let r = sim
        .request(
            "POST",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            &ct,
            crd.to_string().as_bytes(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["status"]["conditions"][1]["type"], "Established");
    let disc = sim.get("/apis/example.com/v1").await.json();
    assert_eq!(disc["resources"][0]["shortNames"], json!(["wd"]));
    let w = json!({"apiVersion": "example.com/v1", "kind": "Widget",
                   "metadata": {"name": "w1"}, "spec": {"size": 3}});
    let r = sim
        .request(
            "POST",
            "/apis/example.com/v1/namespaces/default/widgets",
            &ct,
            w.to_string().as_bytes(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let table = sim
        .request(
            "GET",
            "/apis/example.com/v1/namespaces/default/widgets",
            &[(
                "Accept",
                "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
            )],
            b"",
        )
        .await
        .json();
    assert_eq!(table["columnDefinitions"][1]["name"], "Size");
    assert_eq!(table["rows"][0]["cells"], json!(["w1", 3]));

    let r = sim
        .request(
            "DELETE",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com",
            &[],
            b"",
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        sim.get("/apis/example.com/v1/namespaces/default/widgets")
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn watch_streams_bookmarks_tables_and_initial_events() {
    let sim = Sim::start().await;
    sim.store
        .create(&ids::configmaps(), cm("a", "1"), WriteOpts::default())
        .unwrap();
    let r = sim
        .get("/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=1")
        .await;
    let lines = r.lines();
    assert_eq!(lines[0]["type"], "ADDED");
    assert_eq!(lines[0]["object"]["kind"], "ConfigMap");
    assert_eq!(lines[1]["type"], "BOOKMARK");
    assert_eq!(
        lines[1]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );

    // A watch from a version replays later events only; Table watches carry rows.
    let rv = sim.store.resource_version();
    sim.store
        .create(&ids::configmaps(), cm("b", "1"), WriteOpts::default())
        .unwrap();
    let r = sim
        .request(
            "GET",
            &format!("/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={rv}&timeoutSeconds=1"),
            &[("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")],
            b"",
        )
        .await;
    let lines = r.lines();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["object"]["kind"], "Table");
    assert_eq!(lines[0]["object"]["rows"][0]["cells"][0], "b");

    // With a selector, an object that stops matching is DELETED, and ADDED when it matches again.
    let rv = sim.store.resource_version();
    for labels in [json!({}), json!({"app": "demo"})] {
        sim.store
            .modify(
                &ids::configmaps(),
                &ObjKey::new("default", "a"),
                fluxdeck::sim::store::WritePart::All,
                WriteOpts::default(),
                |cur| {
                    let mut n = cur.clone();
                    n["metadata"]["labels"] = labels.clone();
                    Ok(Some(n))
                },
            )
            .unwrap();
    }
    let r = sim
        .get(&format!(
            "/api/v1/namespaces/default/configmaps?watch=true&labelSelector=app%3Ddemo&resourceVersion={rv}&timeoutSeconds=1"
        ))
        .await;
    let types: Vec<String> = r
        .lines()
        .iter()
        .map(|l| l["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(types, ["DELETED", "ADDED"]);

    // Bad selectors and versions are 400, not a broken stream.
    assert_eq!(
        sim.get("/api/v1/configmaps?watch=true&labelSelector=a%20in%20(")
            .await
            .status,
        400
    );
    assert_eq!(
        sim.get("/api/v1/configmaps?watch=true&resourceVersion=abc")
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn garbage_never_breaks_the_server() {
    let sim = Sim::start().await;
    let junk: &[&[u8]] = &[
        b"\x00\x01\x02garbage\r\n\r\n",
        b"GET /api/v1/namespaces/%ZZ/configmaps HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /api/v1/configmaps?limit=-1&labelSelector=%%% HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"PATCH /api/v1/namespaces/default/configmaps/x HTTP/1.1\r\nHost: x\r\nContent-Type: application/apply-patch+yaml\r\nContent-Length: 9\r\nConnection: close\r\n\r\n: - : - :",
        b"PUT /apis/nope/v1/things/x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
        b"GET /api/v1/namespaces/default/configmaps?fieldSelector=spec.x%3D1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ];
    for j in junk {
        let r = sim.raw(j).await;
        assert!(r.status == 0 || (400..500).contains(&r.status), "{r:?}");
    }
    let r = sim.get("/version").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["gitVersion"], "v1.33.0");
}

#[tokio::test]
async fn discovery_openapi_and_legacy_versions() {
    let sim = Sim::start().await;
    let client = sim.client();
    let d = kube::Discovery::new(client.clone()).run().await.unwrap();
    assert!(d.has_group("helm.toolkit.fluxcd.io"));
    let d = kube::Discovery::new(client).run_aggregated().await.unwrap();
    let (ar, caps) = d
        .groups()
        .find(|g| g.name() == "kustomize.toolkit.fluxcd.io")
        .unwrap()
        .recommended_kind("Kustomization")
        .unwrap();
    assert_eq!(ar.plural, "kustomizations");
    assert!(
        caps.subresources
            .iter()
            .any(|(s, _)| s.plural == "kustomizations/status" || s.plural == "status")
    );
    let idx = sim.get("/openapi/v3").await.json();
    let url = idx["paths"]["api/v1"]["serverRelativeURL"]
        .as_str()
        .unwrap()
        .to_string();
    let doc = sim.get(&url).await.json();
    assert_eq!(doc["openapi"], "3.0.0");
    assert_eq!(sim.get("/openapi/v2").await.status, 404);

    // A Legacy cluster serves HelmRelease v2beta2 only, rewriting stored objects' version.
    let legacy = Sim::start_with(
        fluxdeck::sim::registry::FluxApiLevel::Legacy,
        fluxdeck::sim::store::Store::new(),
    )
    .await;
    legacy
        .store
        .create(
            &ids::helmreleases(),
            json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                   "metadata": {"name": "h", "namespace": "a"}, "spec": {}}),
            WriteOpts::default(),
        )
        .unwrap();
    assert_eq!(
        legacy
            .get("/apis/helm.toolkit.fluxcd.io/v2/namespaces/a/helmreleases/h")
            .await
            .status,
        404
    );
    let r = legacy
        .get("/apis/helm.toolkit.fluxcd.io/v2beta2/namespaces/a/helmreleases")
        .await
        .json();
    assert_eq!(r["kind"], "HelmReleaseList");
    assert_eq!(
        r["items"][0]["apiVersion"],
        "helm.toolkit.fluxcd.io/v2beta2"
    );
}

#[tokio::test]
async fn start_refuses_non_loopback_addresses() {
    let err = fluxdeck::sim::server::start(
        Arc::new(fluxdeck::sim::store::Store::new()),
        Arc::new(fluxdeck::sim::registry::Registry::new(Default::default())),
        Arc::new(fluxdeck::sim::faults::Faults::default()),
        fluxdeck::sim::server::ServerOptions {
            listen: "0.0.0.0:0".parse().unwrap(),
            access_log: None,
        },
    )
    .await;
    assert!(matches!(
        err,
        Err(fluxdeck::sim::server::ServerError::NotLoopback(_))
    ));
}
