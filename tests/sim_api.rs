//! The simulated API server against a real kube-rs client: reflectors through creates,
//! updates, deletes, 410s and dropped streams; pagination; status subresource; dry runs;
//! patches; the permission policy; and the access log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/sim_server.rs"]
mod sim_server;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use serde_json::{Value, json};
use sim_server::{Sim, wait_until};
use std::collections::BTreeSet;

use fluxdeck::sim::faults::ForbiddenRule;
use fluxdeck::sim::registry::ids;
use fluxdeck::sim::store::{ObjKey, WriteOpts};

fn cm(name: &str, v: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": name, "namespace": "default", "labels": {"app": "demo"}},
           "data": {"k": v}})
}

fn hr_api(client: kube::Client, ns: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("helm.toolkit.fluxcd.io", "v2", "HelmRelease");
    let ar = ApiResource::from_gvk_with_plural(&gvk, "helmreleases");
    Api::namespaced_with(client, ns, &ar)
}

fn api_code(e: kube::Error) -> u16 {
    match e {
        kube::Error::Api(s) => s.code,
        other => panic!("expected an API error, got {other:?}"),
    }
}

type Reader = reflector::Store<ConfigMap>;

fn start_reflector(sim: &Sim) -> (Reader, tokio::task::JoinHandle<()>) {
    let api: Api<ConfigMap> = Api::namespaced(sim.client(), "default");
    let (reader, writer) = reflector::store();
    let stream = reflector(writer, watcher(api, watcher::Config::default()))
        .default_backoff()
        .applied_objects();
    let task = tokio::spawn(async move {
        futures::pin_mut!(stream);
        while stream.next().await.is_some() {}
    });
    (reader, task)
}

fn names(reader: &Reader) -> BTreeSet<String> {
    reader
        .state()
        .iter()
        .filter_map(|c| c.metadata.name.clone())
        .collect()
}

fn data_of(reader: &Reader, name: &str) -> Option<String> {
    reader
        .state()
        .iter()
        .find(|c| c.metadata.name.as_deref() == Some(name))
        .and_then(|c| c.data.as_ref()?.get("k").cloned())
}

fn list_requests(sim: &Sim) -> usize {
    sim.access_log()
        .iter()
        .filter(|e| {
            e.method == "GET"
                && e.path.starts_with("/api/v1/namespaces/default/configmaps?")
                && !e.path.contains("watch=true")
        })
        .count()
}

fn watch_requests(sim: &Sim) -> usize {
    sim.access_log()
        .iter()
        .filter(|e| {
            e.path.starts_with("/api/v1/namespaces/default/configmaps?")
                && e.path.contains("watch=true")
        })
        .count()
}

#[tokio::test]
async fn reflector_follows_creates_updates_and_deletes() {
    let sim = Sim::start().await;
    sim.store
        .create(&ids::configmaps(), cm("before", "1"), WriteOpts::default())
        .unwrap();
    let (reader, task) = start_reflector(&sim);
    wait_until("initial list", || names(&reader).contains("before")).await;

    let api: Api<ConfigMap> = Api::namespaced(sim.client(), "default");
    let created: ConfigMap = serde_json::from_value(cm("a", "1")).unwrap();
    api.create(&PostParams::default(), &created).await.unwrap();
    wait_until("created object", || names(&reader).contains("a")).await;

    sim.store
        .modify(
            &ids::configmaps(),
            &ObjKey::new("default", "a"),
            fluxdeck::sim::store::WritePart::All,
            WriteOpts::default(),
            |cur| {
                let mut n = cur.clone();
                n["data"]["k"] = json!("2");
                Ok(Some(n))
            },
        )
        .unwrap();
    wait_until("update", || data_of(&reader, "a").as_deref() == Some("2")).await;

    api.delete("before", &DeleteParams::default())
        .await
        .unwrap();
    wait_until("delete", || !names(&reader).contains("before")).await;
    task.abort();
}

#[tokio::test]
async fn reflector_relists_after_gone_and_reconnects_after_dropped_streams() {
    let sim = Sim::start().await;
    sim.store
        .create(&ids::configmaps(), cm("x", "1"), WriteOpts::default())
        .unwrap();
    let (reader, task) = start_reflector(&sim);
    wait_until("initial list", || names(&reader).contains("x")).await;
    wait_until("first watch", || watch_requests(&sim) >= 1).await;
    let lists = list_requests(&sim);

    // Listener down: the client loses its watch. Changes happen, history is compacted, so
    // the watch from the old version gets 410 and the client must list again.
    sim.handle.stop_listener().await;
    sim.store
        .delete(
            &ids::configmaps(),
            &ObjKey::new("default", "x"),
            WriteOpts::default(),
        )
        .unwrap();
    sim.store
        .create(&ids::configmaps(), cm("y", "1"), WriteOpts::default())
        .unwrap();
    sim.store.compact();
    sim.handle.restart_listener().await.unwrap();
    wait_until("relist after 410", || {
        let n = names(&reader);
        n.contains("y") && !n.contains("x")
    })
    .await;
    assert!(
        list_requests(&sim) > lists,
        "a new list request was expected"
    );

    // Streams closed by the server every second: the client watches again and keeps up.
    sim.faults
        .update(|f| f.close_watches_every_seconds = Some(1));
    let watches = watch_requests(&sim);
    wait_until("a re-watch", || watch_requests(&sim) >= watches + 2).await;
    sim.store
        .create(&ids::configmaps(), cm("z", "1"), WriteOpts::default())
        .unwrap();
    wait_until("event after re-watch", || names(&reader).contains("z")).await;

    // Every watch answered with 410: the client keeps relisting and still converges.
    sim.faults.update(|f| {
        f.close_watches_every_seconds = None;
        f.watch_gone = true;
    });
    let lists = list_requests(&sim);
    wait_until("relists while watches are gone", || {
        list_requests(&sim) > lists
    })
    .await;
    sim.store
        .create(&ids::configmaps(), cm("w", "1"), WriteOpts::default())
        .unwrap();
    wait_until("object seen through relists", || {
        names(&reader).contains("w")
    })
    .await;
    task.abort();
}

#[tokio::test]
async fn pagination_with_continue_tokens() {
    let sim = Sim::start().await;
    for i in 0..25 {
        sim.store
            .create(
                &ids::configmaps(),
                cm(&format!("cm-{i:02}"), "v"),
                WriteOpts::default(),
            )
            .unwrap();
    }
    let api: Api<ConfigMap> = Api::namespaced(sim.client(), "default");
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    let mut first_rv = None;
    loop {
        let mut lp = ListParams::default().limit(10);
        if let Some(t) = &token {
            lp = lp.continue_token(t);
        }
        let page = api.list(&lp).await.unwrap();
        pages += 1;
        let rv = page.metadata.resource_version.clone();
        assert!(rv.is_some());
        first_rv.get_or_insert(rv.clone());
        assert_eq!(first_rv.as_ref(), Some(&rv), "pages share the list version");
        seen.extend(page.items.iter().filter_map(|c| c.metadata.name.clone()));
        token = page.metadata.continue_.filter(|t| !t.is_empty());
        if token.is_none() {
            break;
        }
        // A change between pages does not disturb the walk.
        if pages == 1 {
            sim.store
                .create(&ids::configmaps(), cm("zz-late", "v"), WriteOpts::default())
                .unwrap();
        }
    }
    assert_eq!(pages, 3);
    let unique: BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len());
    assert!(unique.contains("cm-00") && unique.contains("cm-24"));

    // Selectors combine with pagination.
    let lp = ListParams::default()
        .labels("app=demo")
        .fields("metadata.name=cm-03");
    assert_eq!(api.list(&lp).await.unwrap().items.len(), 1);
    let lp = ListParams::default().labels("app notin (demo)");
    assert!(api.list(&lp).await.unwrap().items.is_empty());

    // A token from before a compaction is expired; a garbage one is a bad request.
    let page = api.list(&ListParams::default().limit(5)).await.unwrap();
    let stale = page.metadata.continue_.unwrap();
    sim.store
        .create(&ids::configmaps(), cm("zz-new", "v"), WriteOpts::default())
        .unwrap();
    sim.store.compact();
    let err = api
        .list(&ListParams::default().limit(5).continue_token(&stale))
        .await
        .unwrap_err();
    assert_eq!(api_code(err), 410);
    let err = api
        .list(&ListParams::default().continue_token("%%%"))
        .await
        .unwrap_err();
    assert_eq!(api_code(err), 400);
}

#[tokio::test]
async fn status_subresource_rules() {
    let sim = Sim::start().await;
    let api = hr_api(sim.client(), "apps");
    let obj: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {"interval": "5m"},
        "status": {"observedGeneration": 99}
    }))
    .unwrap();
    let created = api.create(&PostParams::default(), &obj).await.unwrap();
    assert!(
        created.data.get("status").is_none(),
        "status is dropped on create"
    );
    assert_eq!(created.metadata.generation, Some(1));

    let status = json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]},
                        "spec": {"interval": "1h"}});
    let after = api
        .patch_status("web", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
    assert_eq!(after.data["status"]["conditions"][0]["type"], "Ready");
    assert_eq!(
        after.data["spec"]["interval"], "5m",
        "status writes leave spec"
    );
    assert_eq!(after.metadata.generation, Some(1));
    let got = api.get_status("web").await.unwrap();
    assert_eq!(got.data["status"]["conditions"][0]["status"], "True");

    let mut main = after.clone();
    main.data["spec"]["interval"] = json!("10m");
    main.data["status"] = json!({"conditions": []});
    let replaced = api
        .replace("web", &PostParams::default(), &main)
        .await
        .unwrap();
    assert_eq!(replaced.data["spec"]["interval"], "10m");
    assert_eq!(replaced.data["status"]["conditions"][0]["type"], "Ready");
    assert_eq!(replaced.metadata.generation, Some(2));
    assert_eq!(
        replaced.types.as_ref().unwrap().api_version,
        "helm.toolkit.fluxcd.io/v2"
    );
}

#[tokio::test]
async fn dry_run_stores_nothing() {
    let sim = Sim::start().await;
    let api: Api<ConfigMap> = Api::namespaced(sim.client(), "default");
    let dry = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let rv0 = sim.store.resource_version();
    let out = api
        .create(&dry, &serde_json::from_value(cm("d", "1")).unwrap())
        .await
        .unwrap();
    assert_eq!(out.metadata.name.as_deref(), Some("d"));
    assert!(
        sim.store
            .get(&ids::configmaps(), &ObjKey::new("default", "d"))
            .is_none()
    );
    assert_eq!(sim.store.resource_version(), rv0);

    sim.store
        .create(&ids::configmaps(), cm("d", "1"), WriteOpts::default())
        .unwrap();
    let rv1 = sim.store.resource_version();
    let pp = PatchParams {
        dry_run: true,
        ..Default::default()
    };
    let patched = api
        .patch("d", &pp, &Patch::Merge(json!({"data": {"k": "2"}})))
        .await
        .unwrap();
    assert_eq!(patched.data.unwrap()["k"], "2");
    let applied = api
        .patch(
            "d",
            &PatchParams::apply("dry").dry_run(),
            &Patch::Apply(cm("d", "3")),
        )
        .await
        .unwrap();
    assert_eq!(applied.data.unwrap()["k"], "3");
    let dp = DeleteParams {
        dry_run: true,
        ..Default::default()
    };
    api.delete("d", &dp).await.unwrap();
    let stored = sim
        .store
        .get(&ids::configmaps(), &ObjKey::new("default", "d"))
        .unwrap();
    assert_eq!(stored["data"]["k"], "1");
    assert_eq!(sim.store.resource_version(), rv1);
    assert!(
        sim.access_log()
            .iter()
            .filter(|e| e.path.contains("dryRun=All"))
            .count()
            >= 3
    );
}

#[tokio::test]
async fn merge_json_and_apply_patches() {
    let sim = Sim::start().await;
    let api: Api<ConfigMap> = Api::namespaced(sim.client(), "default");
    sim.store
        .create(&ids::configmaps(), cm("p", "1"), WriteOpts::default())
        .unwrap();

    let merged = api
        .patch(
            "p",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"extra": "x", "k": null}})),
        )
        .await
        .unwrap();
    let data = merged.data.unwrap();
    assert_eq!(data.get("extra").map(String::as_str), Some("x"));
    assert!(!data.contains_key("k"));

    let ops: json_patch::Patch = serde_json::from_value(json!([
        {"op": "add", "path": "/metadata/annotations", "value": {"a": "b"}},
        {"op": "replace", "path": "/data/extra", "value": "y"}
    ]))
    .unwrap();
    let patched = api
        .patch("p", &PatchParams::default(), &Patch::Json::<()>(ops))
        .await
        .unwrap();
    assert_eq!(patched.data.unwrap()["extra"], "y");
    assert_eq!(patched.metadata.annotations.unwrap()["a"], "b");

    let bad: json_patch::Patch =
        serde_json::from_value(json!([{"op": "test", "path": "/data/extra", "value": "nope"}]))
            .unwrap();
    let err = api
        .patch("p", &PatchParams::default(), &Patch::Json::<()>(bad))
        .await
        .unwrap_err();
    assert_eq!(api_code(err), 422);

    // Server-side apply: creates when absent, records the manager, drops fields the same
    // manager stops applying.
    let ssa = PatchParams::apply("fluxdeck").force();
    let mut first = cm("s", "1");
    first["data"]["gone"] = json!("soon");
    let created = api.patch("s", &ssa, &Patch::Apply(&first)).await.unwrap();
    assert_eq!(created.data.as_ref().unwrap()["gone"], "soon");
    let mf = created.metadata.managed_fields.unwrap();
    assert_eq!(mf[0].manager.as_deref(), Some("fluxdeck"));
    assert_eq!(mf[0].operation.as_deref(), Some("Apply"));
    let second = api
        .patch("s", &ssa, &Patch::Apply(cm("s", "2")))
        .await
        .unwrap();
    let data = second.data.unwrap();
    assert_eq!(data["k"], "2");
    assert!(!data.contains_key("gone"));

    // Apply without a field manager is invalid.
    let err = api
        .patch("s", &PatchParams::default(), &Patch::Apply(cm("s", "3")))
        .await
        .unwrap_err();
    assert_eq!(api_code(err), 422);

    // The access log shows what the client sent.
    let log = sim.access_log();
    assert!(log.iter().any(|e| e.method == "PATCH"
        && e.content_type.as_deref() == Some("application/merge-patch+json")
        && e.path == "/api/v1/namespaces/default/configmaps/p?"
        && e.status == 200));
    assert!(log.iter().any(|e| e.method == "PATCH"
        && e.content_type.as_deref() == Some("application/apply-patch+yaml")
        && e.path.contains("fieldManager=fluxdeck")
        && e.path.contains("force=true")
        && e.status == 201));
}

#[tokio::test]
async fn permission_policy_forbids_and_answers_access_reviews() {
    let sim = Sim::start().await;
    sim.faults.update(|f| {
        f.forbidden.push(ForbiddenRule {
            resource: "secrets".into(),
            namespace: Some("locked".into()),
            verbs: vec!["list".into(), "get".into()],
        })
    });
    let locked: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(sim.client(), "locked");
    let err = locked.list(&ListParams::default()).await.unwrap_err();
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 403);
            assert_eq!(s.reason, "Forbidden");
        }
        other => panic!("{other:?}"),
    }
    let open: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(sim.client(), "open");
    assert!(open.list(&ListParams::default()).await.is_ok());

    use k8s_openapi::api::authorization::v1::{
        ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
    };
    let reviews: Api<SelfSubjectAccessReview> = Api::all(sim.client());
    let review = |ns: &str, verb: &str| SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                namespace: Some(ns.into()),
                verb: Some(verb.into()),
                resource: Some("secrets".into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let denied = reviews
        .create(&PostParams::default(), &review("locked", "list"))
        .await
        .unwrap();
    assert!(!denied.status.unwrap().allowed);
    let allowed = reviews
        .create(&PostParams::default(), &review("locked", "patch"))
        .await
        .unwrap();
    assert!(allowed.status.unwrap().allowed);
}

#[tokio::test]
async fn streaming_list_reflector_and_crds_already_in_the_store() {
    let store = fluxdeck::sim::store::Store::new();
    store
        .create(
            &fluxdeck::sim::store::ResourceId::new(
                "apiextensions.k8s.io",
                "customresourcedefinitions",
            ),
            json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                   "metadata": {"name": "gadgets.example.com"},
                   "spec": {"group": "example.com", "scope": "Cluster",
                            "names": {"kind": "Gadget", "plural": "gadgets"},
                            "versions": [{"name": "v1alpha1", "served": true, "storage": true}]}}),
            WriteOpts::default(),
        )
        .unwrap();
    store
        .create(&ids::configmaps(), cm("s1", "1"), WriteOpts::default())
        .unwrap();
    let sim = Sim::start_with(Default::default(), store).await;
    let disc = sim.get("/apis/example.com/v1alpha1").await.json();
    assert_eq!(disc["resources"][0]["namespaced"], false);

    let api: Api<ConfigMap> = Api::namespaced(sim.client(), "default");
    let (reader, writer) = reflector::store();
    let stream = reflector(
        writer,
        watcher(api, watcher::Config::default().streaming_lists()),
    )
    .default_backoff()
    .applied_objects();
    let task = tokio::spawn(async move {
        futures::pin_mut!(stream);
        while stream.next().await.is_some() {}
    });
    wait_until("streamed initial objects", || names(&reader).contains("s1")).await;
    sim.store
        .create(&ids::configmaps(), cm("s2", "1"), WriteOpts::default())
        .unwrap();
    wait_until("a live event", || names(&reader).contains("s2")).await;
    assert!(
        sim.access_log()
            .iter()
            .any(|e| e.path.contains("sendInitialEvents=true"))
    );
    task.abort();
}

#[tokio::test]
async fn dry_run_put_and_delete_collection() {
    let sim = Sim::start().await;
    for n in ["a", "b"] {
        sim.store
            .create(&ids::configmaps(), cm(n, "1"), WriteOpts::default())
            .unwrap();
    }
    let api: Api<ConfigMap> = Api::namespaced(sim.client(), "default");
    let mut cur = api.get("a").await.unwrap();
    cur.data = Some([("k".to_string(), "dry".to_string())].into());
    let pp = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let out = api.replace("a", &pp, &cur).await.unwrap();
    assert_eq!(out.data.unwrap()["k"], "dry");
    assert_eq!(api.get("a").await.unwrap().data.unwrap()["k"], "1");

    api.delete_collection(
        &DeleteParams::default(),
        &ListParams::default().fields("metadata.name=b"),
    )
    .await
    .unwrap();
    let left: Vec<_> = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .collect();
    assert_eq!(left, ["a"]);
}

#[tokio::test]
async fn kube_client_from_the_written_kubeconfig() {
    let sim = Sim::start().await;
    let path = sim.dir.path().join("kubeconfig");
    fluxdeck::sim::kubeconfig::write_kubeconfig(&path, &sim.handle.url()).unwrap();
    let kc = kube::config::Kubeconfig::read_from(&path).unwrap();
    let config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await
            .unwrap();
    assert_eq!(config.default_namespace, "default");
    let client = kube::Client::try_from(config).unwrap();
    let v = client.apiserver_version().await.unwrap();
    assert_eq!(v.git_version, "v1.33.0");
    let api: Api<ConfigMap> = Api::default_namespaced(client);
    assert!(
        api.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
}
