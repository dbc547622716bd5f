//! Parsing of request paths and query strings into routes and options. Pure functions: no
//! registry, no store; every input (however malformed) gives a value or an error.

/// What a path addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    Version,
    /// `/healthz`, `/livez`, `/readyz` (and their sub-checks).
    Health,
    /// `/api`
    CoreVersions,
    /// `/apis`
    GroupList,
    /// `/apis/GROUP`
    Group(String),
    /// `/api/v1`, `/apis/GROUP/VERSION`
    ResourceList {
        group: String,
        version: String,
    },
    Resource(ResourcePath),
    OpenApiV3Index,
    /// `/openapi/v3/api/v1`, `/openapi/v3/apis/GROUP/VERSION`
    OpenApiV3Doc {
        group: String,
        version: String,
    },
    OpenApiV2,
}

/// A path to a resource collection, an object or an object's subresource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourcePath {
    pub group: String,
    pub version: String,
    pub namespace: Option<String>,
    pub plural: String,
    pub name: Option<String>,
    pub subresource: Option<String>,
    /// Reached through the legacy `/watch/` prefix.
    pub watch: bool,
}

/// Decodes `%XX` escapes; `None` for a broken escape or invalid UTF-8.
pub fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_string());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The route a path addresses, or `None` when the server serves nothing there.
pub fn parse_path(path: &str) -> Option<Route> {
    let mut segs = Vec::new();
    for s in path.split('/').filter(|s| !s.is_empty()) {
        let d = percent_decode(s)?;
        if d.is_empty() || d.contains('/') || d == "." || d == ".." {
            return None;
        }
        segs.push(d);
    }
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    match s.as_slice() {
        ["version"] => Some(Route::Version),
        ["healthz" | "livez" | "readyz", ..] => Some(Route::Health),
        ["api"] => Some(Route::CoreVersions),
        ["apis"] => Some(Route::GroupList),
        ["apis", g] => Some(Route::Group(g.to_string())),
        ["openapi", "v2"] => Some(Route::OpenApiV2),
        ["openapi", "v3"] => Some(Route::OpenApiV3Index),
        ["openapi", "v3", "api", v] => Some(Route::OpenApiV3Doc {
            group: String::new(),
            version: v.to_string(),
        }),
        ["openapi", "v3", "apis", g, v] => Some(Route::OpenApiV3Doc {
            group: g.to_string(),
            version: v.to_string(),
        }),
        ["api", v] => Some(Route::ResourceList {
            group: String::new(),
            version: v.to_string(),
        }),
        ["apis", g, v] => Some(Route::ResourceList {
            group: g.to_string(),
            version: v.to_string(),
        }),
        ["api", v, rest @ ..] => resource_path("", v, rest),
        ["apis", g, v, rest @ ..] => resource_path(g, v, rest),
        _ => None,
    }
}

fn resource_path(group: &str, version: &str, rest: &[&str]) -> Option<Route> {
    let (watch, rest) = match rest {
        ["watch", tail @ ..] => (true, tail),
        _ => (false, rest),
    };
    let (namespace, rest): (Option<String>, &[&str]) = match rest {
        // `/namespaces/NAME` and `/namespaces/NAME/status` address the Namespace object.
        ["namespaces", ns, tail @ ..] if !matches!(tail, [] | ["status" | "finalize"]) => {
            (Some(ns.to_string()), tail)
        }
        _ => (None, rest),
    };
    let (plural, name, subresource) = match rest {
        [p] => (*p, None, None),
        [p, n] => (*p, Some(n.to_string()), None),
        [p, n, sub] => (*p, Some(n.to_string()), Some(sub.to_string())),
        _ => return None,
    };
    if watch && subresource.is_some() {
        return None;
    }
    Some(Route::Resource(ResourcePath {
        group: group.to_string(),
        version: version.to_string(),
        namespace,
        plural: plural.to_string(),
        name,
        subresource,
        watch,
    }))
}

/// What a Table row carries as its object (`includeObject`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IncludeObject {
    None,
    #[default]
    Metadata,
    Object,
}

/// The query parameters the server understands.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Query {
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
    pub resource_version: Option<String>,
    pub watch: bool,
    pub allow_bookmarks: bool,
    pub timeout_seconds: Option<u64>,
    pub send_initial_events: bool,
    pub dry_run: bool,
    pub field_manager: Option<String>,
    pub force: bool,
    pub include_object: IncludeObject,
}

fn parse_bool(key: &str, v: &str) -> Result<bool, String> {
    match v {
        "true" | "1" | "True" => Ok(true),
        "false" | "0" | "False" | "" => Ok(false),
        _ => Err(format!("invalid value {v:?} for {key}: expected a boolean")),
    }
}

/// Parse a query string (without the `?`). Unknown parameters are ignored, like a real
/// API server does; known ones with bad values are errors.
pub fn parse_query(q: &str) -> Result<Query, String> {
    let mut out = Query::default();
    for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
        let v = v.as_ref();
        match k.as_ref() {
            "labelSelector" => out.label_selector = Some(v.to_string()).filter(|s| !s.is_empty()),
            "fieldSelector" => out.field_selector = Some(v.to_string()).filter(|s| !s.is_empty()),
            "limit" => {
                let n: i64 = v
                    .parse()
                    .map_err(|_| format!("invalid value {v:?} for limit: expected an integer"))?;
                out.limit = usize::try_from(n).ok().filter(|n| *n > 0);
            }
            "continue" => out.continue_token = Some(v.to_string()).filter(|s| !s.is_empty()),
            "resourceVersion" => {
                out.resource_version = Some(v.to_string()).filter(|s| !s.is_empty())
            }
            "watch" => out.watch = parse_bool("watch", v)?,
            "allowWatchBookmarks" => out.allow_bookmarks = parse_bool("allowWatchBookmarks", v)?,
            "sendInitialEvents" => out.send_initial_events = parse_bool("sendInitialEvents", v)?,
            "timeoutSeconds" => {
                out.timeout_seconds = Some(v.parse().map_err(|_| {
                    format!(
                        "invalid value {v:?} for timeoutSeconds: expected a non-negative integer"
                    )
                })?)
            }
            "dryRun" => match v {
                "All" => out.dry_run = true,
                "" => {}
                _ => {
                    return Err(format!(
                        "dryRun: Unsupported value: {v:?}: supported values: \"All\""
                    ));
                }
            },
            "fieldManager" => out.field_manager = Some(v.to_string()).filter(|s| !s.is_empty()),
            "force" => out.force = parse_bool("force", v)?,
            "includeObject" => {
                out.include_object = match v {
                    "None" => IncludeObject::None,
                    "Metadata" | "" => IncludeObject::Metadata,
                    "Object" => IncludeObject::Object,
                    _ => return Err(format!("invalid value {v:?} for includeObject")),
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Parse a `resourceVersion` parameter: `None` for absent or "0" (any version).
pub fn parse_resource_version(rv: Option<&str>) -> Result<Option<u64>, String> {
    match rv {
        None | Some("0") | Some("") => Ok(None),
        Some(s) => s
            .parse::<u64>()
            .map(Some)
            .map_err(|_| format!("invalid resource version: {s:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rp(
        group: &str,
        ns: Option<&str>,
        plural: &str,
        name: Option<&str>,
        sub: Option<&str>,
    ) -> Option<Route> {
        Some(Route::Resource(ResourcePath {
            group: group.into(),
            version: if group.is_empty() { "v1" } else { "v2" }.into(),
            namespace: ns.map(String::from),
            plural: plural.into(),
            name: name.map(String::from),
            subresource: sub.map(String::from),
            watch: false,
        }))
    }

    #[test]
    fn paths() {
        assert_eq!(parse_path("/version"), Some(Route::Version));
        assert_eq!(parse_path("/readyz/ping"), Some(Route::Health));
        assert_eq!(parse_path("/api"), Some(Route::CoreVersions));
        assert_eq!(parse_path("/apis/"), Some(Route::GroupList));
        assert_eq!(
            parse_path("/api/v1/namespaces/default/configmaps/x"),
            rp("", Some("default"), "configmaps", Some("x"), None)
        );
        assert_eq!(
            parse_path("/api/v1/namespaces/default"),
            rp("", None, "namespaces", Some("default"), None)
        );
        assert_eq!(
            parse_path("/api/v1/namespaces/default/status"),
            rp("", None, "namespaces", Some("default"), Some("status"))
        );
        assert_eq!(
            parse_path("/apis/h/v2/namespaces/a/helmreleases/b/status"),
            rp("h", Some("a"), "helmreleases", Some("b"), Some("status"))
        );
        assert_eq!(
            parse_path("/apis/h/v2/helmreleases"),
            rp("h", None, "helmreleases", None, None)
        );
        let Some(Route::Resource(w)) = parse_path("/api/v1/watch/namespaces/a/pods") else {
            panic!("not a resource path")
        };
        assert!(w.watch);
        assert_eq!(parse_path("/api/v1/a/b/c/d"), None);
        assert_eq!(parse_path("/api/v1/namespaces/a/x/y/z/w"), None);
        assert_eq!(parse_path("/nope"), None);
        assert_eq!(parse_path("/api/v1/namespaces/%zz/pods"), None);
        assert_eq!(
            parse_path("/openapi/v3/apis/g/v1"),
            Some(Route::OpenApiV3Doc {
                group: "g".into(),
                version: "v1".into()
            })
        );
    }

    #[test]
    fn queries() {
        let q = parse_query(
            "labelSelector=a%3Db&limit=5&continue=x&watch=1&dryRun=All&includeObject=Object",
        )
        .unwrap();
        assert_eq!(q.label_selector.as_deref(), Some("a=b"));
        assert_eq!(q.limit, Some(5));
        assert!(q.watch && q.dry_run);
        assert_eq!(q.include_object, IncludeObject::Object);
        assert!(parse_query("limit=abc").is_err());
        assert!(parse_query("dryRun=Some").is_err());
        assert!(parse_query("watch=maybe").is_err());
        assert_eq!(parse_query("limit=0").unwrap().limit, None);
        assert_eq!(parse_resource_version(Some("0")), Ok(None));
        assert_eq!(parse_resource_version(Some("12")), Ok(Some(12)));
        assert!(parse_resource_version(Some("x")).is_err());
    }

    proptest! {
        #[test]
        fn parse_path_never_panics(s in "\\PC{0,80}") {
            let _ = parse_path(&s);
        }

        #[test]
        fn parse_path_segments(parts in proptest::collection::vec("[a-z0-9%./-]{0,12}", 0..8)) {
            let _ = parse_path(&format!("/{}", parts.join("/")));
        }

        #[test]
        fn parse_query_never_panics(s in "\\PC{0,120}") {
            let _ = parse_query(&s);
        }

        #[test]
        fn percent_decode_roundtrip(s in "[a-zA-Z0-9._~ -]{0,40}") {
            let enc: String = s.bytes().map(|b| format!("%{b:02X}")).collect();
            prop_assert_eq!(percent_decode(&enc), Some(s));
        }
    }
}
