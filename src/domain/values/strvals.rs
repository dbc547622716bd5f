//! Values as helm-controller holds them while composing: maps and lists are shared by
//! reference, the way Go maps and slices are, so that writing at a `targetPath` reaches
//! every map that shares the written node (this is why a `targetPath` value outlives the
//! inline values merged on top). Plus Helm's `--set` path syntax (`strvals`) over that tree.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use serde_json::{Map, Value};

pub(super) type MapRef = Rc<RefCell<BTreeMap<String, Node>>>;
pub(super) type ListRef = Rc<RefCell<Vec<Node>>>;

/// A value whose maps and lists are shared on clone.
#[derive(Clone, Debug)]
pub(super) enum Node {
    Scalar(Value),
    Map(MapRef),
    List(ListRef),
}

impl Node {
    pub(super) fn from_value(v: &Value) -> Node {
        match v {
            Value::Object(m) => Node::Map(map_from(m)),
            Value::Array(items) => Node::List(Rc::new(RefCell::new(
                items.iter().map(Node::from_value).collect(),
            ))),
            other => Node::Scalar(other.clone()),
        }
    }

    pub(super) fn to_value(&self) -> Value {
        match self {
            Node::Scalar(v) => v.clone(),
            Node::Map(m) => Value::Object(map_to(m)),
            Node::List(l) => Value::Array(l.borrow().iter().map(Node::to_value).collect()),
        }
    }

    /// The Go type name, as a failed type assertion names it.
    fn go_type(&self) -> &'static str {
        match self {
            Node::Scalar(Value::Null) => "nil",
            Node::Scalar(Value::Bool(_)) => "bool",
            Node::Scalar(Value::Number(n)) if n.is_f64() => "float64",
            Node::Scalar(Value::Number(_)) => "int64",
            Node::Scalar(_) => "string",
            Node::Map(_) => "map[string]interface {}",
            Node::List(_) => "[]interface {}",
        }
    }
}

pub(super) fn new_map() -> MapRef {
    Rc::new(RefCell::new(BTreeMap::new()))
}

pub(super) fn map_from(m: &Map<String, Value>) -> MapRef {
    Rc::new(RefCell::new(
        m.iter()
            .map(|(k, v)| (k.clone(), Node::from_value(v)))
            .collect(),
    ))
}

pub(super) fn map_to(m: &MapRef) -> Map<String, Value> {
    m.borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.to_value()))
        .collect()
}

/// fluxcd/pkg `MergeMaps`: a new map holding `a`'s entries, then `b`'s; where both hold a
/// map the two are merged into a new map, otherwise `b`'s value is taken (shared, not copied).
pub(super) fn merge_maps(a: &MapRef, b: &MapRef) -> MapRef {
    let mut out = a.borrow().clone();
    for (k, v) in b.borrow().iter() {
        if let (Node::Map(bv), Some(Node::Map(av))) = (v, out.get(k)) {
            let merged = merge_maps(av, bv);
            out.insert(k.clone(), Node::Map(merged));
            continue;
        }
        out.insert(k.clone(), v.clone());
    }
    Rc::new(RefCell::new(out))
}

/// How the value after `=` is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    /// `--set`: `true`/`false`/`null` and integers are typed, `{a,b}` is a list.
    Typed,
    /// `--set-string`: like `Typed` but every scalar stays a string.
    String,
    /// `--set-literal`: the whole rest is one string; no escapes, no lists.
    Literal,
}

enum Stop {
    Eof,
    Msg(String),
}

/// Helm's `MaxIndex`.
const MAX_INDEX: i64 = 65536;
/// Helm's `MaxNestedNameLevel`.
const MAX_NESTED: usize = 30;

/// Go's `%q` for the strings these messages quote.
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

fn conversion(found: &Node, want: &str) -> String {
    format!(
        "unable to parse key: interface conversion: interface {{}} is {}, not {want}",
        found.go_type()
    )
}

const GO_MAP: &str = "map[string]interface {}";
const GO_LIST: &str = "[]interface {}";

/// `strvals.typedVal`.
fn typed(raw: &str, as_string: bool) -> Node {
    if as_string {
        return Node::Scalar(Value::String(raw.to_string()));
    }
    let v = if raw.eq_ignore_ascii_case("true") {
        Value::Bool(true)
    } else if raw.eq_ignore_ascii_case("false") {
        Value::Bool(false)
    } else if raw.eq_ignore_ascii_case("null") {
        Value::Null
    } else if raw == "0" {
        Value::from(0)
    } else if !raw.is_empty() && !raw.starts_with('0') {
        match raw.parse::<i64>() {
            Ok(i) => Value::from(i),
            Err(_) => Value::String(raw.to_string()),
        }
    } else {
        Value::String(raw.to_string())
    };
    Node::Scalar(v)
}

fn json_pointer_segment(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Parses one `--set` line into a map, mutating shared nodes in place as Helm does.
pub(super) struct SetParser {
    chars: Vec<char>,
    pos: usize,
    mode: Mode,
    /// JSON pointers of the values written, in order.
    pub(super) written: Vec<String>,
}

impl SetParser {
    pub(super) fn new(line: &str, mode: Mode) -> SetParser {
        SetParser {
            chars: line.chars().collect(),
            pos: 0,
            mode,
            written: Vec::new(),
        }
    }

    /// Parse the whole line into `data`; `Err` is Helm's error message.
    pub(super) fn parse_into(&mut self, data: &MapRef) -> Result<(), String> {
        loop {
            match self.key(data, 0, "") {
                Ok(()) => continue,
                Err(Stop::Eof) => return Ok(()),
                Err(Stop::Msg(m)) => return Err(m),
            }
        }
    }

    fn read(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn unread(&mut self) {
        self.pos = self.pos.saturating_sub(1);
    }

    /// `runesUntil`: the text before the first stop rune, and that rune (`None` at the end).
    fn until(&mut self, stop: &[char]) -> (String, Option<char>) {
        let mut v = String::new();
        loop {
            match self.read() {
                None => return (v, None),
                Some(c) if stop.contains(&c) => return (v, Some(c)),
                Some('\\') if self.mode != Mode::Literal => match self.read() {
                    None => return (v, None),
                    Some(next) => v.push(next),
                },
                Some(c) => v.push(c),
            }
        }
    }

    fn key(&mut self, data: &MapRef, level: usize, prefix: &str) -> Result<(), Stop> {
        let stop: &[char] = if self.mode == Mode::Literal {
            &['=', '[', '.']
        } else {
            &['=', '[', ',', '.']
        };
        let (k, last) = self.until(stop);
        let here = format!("{prefix}/{}", json_pointer_segment(&k));
        match last {
            None if k.is_empty() => Err(Stop::Eof),
            None => Err(Stop::Msg(format!("key {} has no value", quote(&k)))),
            Some('[') => {
                let i = self
                    .key_index()
                    .map_err(|e| Stop::Msg(format!("error parsing index: {e}")))?;
                let existing = data.borrow().get(&k).cloned();
                let list = match existing {
                    None => Rc::new(RefCell::new(Vec::new())),
                    Some(Node::List(l)) => l,
                    Some(other) => return Err(Stop::Msg(conversion(&other, GO_LIST))),
                };
                let (list, res) = self.list_item(list, i, level, &here);
                if let Some(list) = list {
                    set(data, &k, Node::List(list));
                }
                res
            }
            Some('=') => {
                if self.mode == Mode::Literal {
                    let rest: String = self.chars[self.pos..].iter().collect();
                    self.pos = self.chars.len();
                    self.assign(data, &k, Node::Scalar(Value::String(rest)), &here);
                    return Ok(());
                }
                match self.val_list() {
                    Ok(list) => {
                        self.assign(data, &k, list, &here);
                        Ok(())
                    }
                    Err(ValList::Eof) => {
                        self.assign(data, &k, Node::Scalar(Value::String(String::new())), &here);
                        Err(Stop::Eof)
                    }
                    Err(ValList::NotList) => {
                        let (raw, _) = self.until(&[',']);
                        let v = typed(&raw, self.mode == Mode::String);
                        self.assign(data, &k, v, &here);
                        Ok(())
                    }
                    Err(ValList::Msg(m)) => Err(Stop::Msg(m)),
                }
            }
            Some(',') => {
                set(data, &k, Node::Scalar(Value::String(String::new())));
                Err(Stop::Msg(format!(
                    "key {} has no value (cannot end with ,)",
                    quote(&k)
                )))
            }
            Some(_) => {
                let level = level + 1;
                if level > MAX_NESTED {
                    return Err(Stop::Msg(format!(
                        "value name nested level is greater than maximum supported nested level of {MAX_NESTED}"
                    )));
                }
                let existing = data.borrow().get(&k).cloned();
                let inner = match existing {
                    None => new_map(),
                    Some(Node::Map(m)) => m,
                    Some(other) => return Err(Stop::Msg(conversion(&other, GO_MAP))),
                };
                let res = self.key(&inner, level, &here);
                let empty = inner.borrow().is_empty();
                if res.is_ok() && empty {
                    return Err(Stop::Msg(format!("key map {} has no value", quote(&k))));
                }
                if !empty {
                    set(data, &k, Node::Map(inner));
                }
                res
            }
        }
    }

    fn assign(&mut self, data: &MapRef, key: &str, v: Node, pointer: &str) {
        if key.is_empty() {
            return;
        }
        set(data, key, v);
        self.written.push(pointer.to_string());
    }

    fn key_index(&mut self) -> Result<i64, String> {
        let (v, last) = self.until(&[']']);
        if last.is_none() {
            return Err("EOF".to_string());
        }
        let digits = v.strip_prefix(['+', '-']).unwrap_or(&v);
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!(
                "strconv.Atoi: parsing {}: invalid syntax",
                quote(&v)
            ));
        }
        v.parse::<i64>()
            .map_err(|_| format!("strconv.Atoi: parsing {}: value out of range", quote(&v)))
    }

    /// `listItem`: the list to store (`None` when Helm would store nothing useful) and the
    /// outcome.
    fn list_item(
        &mut self,
        list: ListRef,
        i: i64,
        level: usize,
        prefix: &str,
    ) -> (Option<ListRef>, Result<(), Stop>) {
        if i < 0 {
            return (
                Some(list),
                Err(Stop::Msg(format!("negative {i} index not allowed"))),
            );
        }
        let here = format!("{prefix}/{i}");
        let (k, last) = self.until(&['[', '.', '=']);
        if !k.is_empty() {
            return (
                Some(list),
                Err(Stop::Msg(format!(
                    "unexpected data at end of array index: {}",
                    quote(&k)
                ))),
            );
        }
        let idx = usize::try_from(i).unwrap_or(usize::MAX);
        match last {
            None => (Some(list), Err(Stop::Eof)),
            Some('=') => {
                let v = if self.mode == Mode::Literal {
                    let rest: String = self.chars[self.pos..].iter().collect();
                    self.pos = self.chars.len();
                    Node::Scalar(Value::String(rest))
                } else {
                    match self.val_list() {
                        Ok(l) => l,
                        Err(ValList::Eof) => Node::Scalar(Value::String(String::new())),
                        Err(ValList::NotList) => {
                            let (raw, _) = self.until(&[',']);
                            typed(&raw, self.mode == Mode::String)
                        }
                        Err(ValList::Msg(m)) => return (Some(list), Err(Stop::Msg(m))),
                    }
                };
                match set_index(list, i, v) {
                    Ok(l) => {
                        self.written.push(here);
                        (Some(l), Ok(()))
                    }
                    Err((l, m)) => (Some(l), Err(Stop::Msg(m))),
                }
            }
            Some('[') => {
                let next = match self.key_index() {
                    Ok(n) => n,
                    Err(e) => {
                        return (
                            Some(list),
                            Err(Stop::Msg(format!("error parsing index: {e}"))),
                        );
                    }
                };
                let existed = list.borrow().get(idx).cloned();
                let current = match existed {
                    None | Some(Node::Scalar(Value::Null)) => Rc::new(RefCell::new(Vec::new())),
                    Some(Node::List(l)) => l,
                    Some(other) => {
                        return (Some(list), Err(Stop::Msg(conversion(&other, GO_LIST))));
                    }
                };
                let (inner, res) = self.list_item(current, next, level, &here);
                if let Err(e) = res {
                    return (Some(list), Err(e));
                }
                let inner = inner.unwrap_or_else(|| Rc::new(RefCell::new(Vec::new())));
                match set_index(list, i, Node::List(inner)) {
                    Ok(l) => (Some(l), Ok(())),
                    Err((l, m)) => (Some(l), Err(Stop::Msg(m))),
                }
            }
            Some(_) => {
                let existed = list.borrow().get(idx).cloned();
                let inner = match existed {
                    None => new_map(),
                    Some(Node::Map(m)) => m,
                    Some(_) => {
                        let m = new_map();
                        if let Some(slot) = list.borrow_mut().get_mut(idx) {
                            *slot = Node::Map(m.clone());
                        }
                        m
                    }
                };
                if let Err(e) = self.key(&inner, level, &here) {
                    return (Some(list), Err(e));
                }
                match set_index(list, i, Node::Map(inner)) {
                    Ok(l) => (Some(l), Ok(())),
                    Err((l, m)) => (Some(l), Err(Stop::Msg(m))),
                }
            }
        }
    }

    /// `valList`: `{a,b,c}` as a list.
    fn val_list(&mut self) -> Result<Node, ValList> {
        match self.read() {
            None => return Err(ValList::Eof),
            Some('{') => {}
            Some(_) => {
                self.unread();
                return Err(ValList::NotList);
            }
        }
        let mut items = Vec::new();
        loop {
            let (raw, last) = self.until(&[',', '}']);
            match last {
                None => return Err(ValList::Msg("list must terminate with '}'".to_string())),
                Some('}') => {
                    if let Some(c) = self.read()
                        && c != ','
                    {
                        self.unread();
                    }
                    items.push(typed(&raw, self.mode == Mode::String));
                    return Ok(Node::List(Rc::new(RefCell::new(items))));
                }
                Some(_) => items.push(typed(&raw, self.mode == Mode::String)),
            }
        }
    }
}

enum ValList {
    Eof,
    NotList,
    Msg(String),
}

fn set(data: &MapRef, key: &str, v: Node) {
    if key.is_empty() {
        return;
    }
    data.borrow_mut().insert(key.to_string(), v);
}

/// `setIndex`: in place when the index is inside the list (so a shared list changes for
/// every holder), otherwise a new, longer list padded with nulls.
fn set_index(list: ListRef, index: i64, v: Node) -> Result<ListRef, (ListRef, String)> {
    if index < 0 {
        return Err((list, format!("negative {index} index not allowed")));
    }
    if index > MAX_INDEX {
        return Err((
            list,
            format!("index of {index} is greater than maximum supported index of {MAX_INDEX}"),
        ));
    }
    let idx = usize::try_from(index).unwrap_or(0);
    let len = list.borrow().len();
    if idx < len {
        if let Some(slot) = list.borrow_mut().get_mut(idx) {
            *slot = v;
        }
        return Ok(list);
    }
    let mut grown = list.borrow().clone();
    grown.resize(idx + 1, Node::Scalar(Value::Null));
    grown[idx] = v;
    Ok(Rc::new(RefCell::new(grown)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set_line(start: Value, line: &str, mode: Mode) -> Result<Value, String> {
        let Value::Object(m) = start else {
            return Err("not a map".into());
        };
        let root = map_from(&m);
        SetParser::new(line, mode).parse_into(&root)?;
        Ok(Value::Object(map_to(&root)))
    }

    #[test]
    fn set_syntax_matches_helm() {
        let t = |line: &str| set_line(json!({}), line, Mode::Typed).unwrap();
        assert_eq!(t("a.b=c"), json!({"a": {"b": "c"}}));
        assert_eq!(t("a[2]=x"), json!({"a": [null, null, "x"]}));
        assert_eq!(t("a.b[1].c=1"), json!({"a": {"b": [null, {"c": 1}]}}));
        assert_eq!(
            t(r"n.kubernetes\.io/role=m"),
            json!({"n": {"kubernetes.io/role": "m"}})
        );
        assert_eq!(t("x={a,b,3}"), json!({"x": ["a", "b", 3]}));
        assert_eq!(t(r"x=v1\,v2"), json!({"x": "v1,v2"}));
        assert_eq!(t("x=TRUE"), json!({"x": true}));
        assert_eq!(t("x=Null"), json!({"x": null}));
        assert_eq!(t("x=007"), json!({"x": "007"}));
        assert_eq!(t("x=0"), json!({"x": 0}));
        assert_eq!(t("x=-12"), json!({"x": -12}));
        assert_eq!(t("x=1.5"), json!({"x": "1.5"}));
        assert_eq!(t("x="), json!({"x": ""}));
        assert_eq!(t("a[0][1]=z"), json!({"a": [[null, "z"]]}));
        assert_eq!(
            set_line(json!({}), "x=true", Mode::String).unwrap(),
            json!({"x": "true"})
        );
        assert_eq!(
            set_line(json!({}), r"a\.b.c=x,y={z}", Mode::Literal).unwrap(),
            json!({"a\\": {"b": {"c": "x,y={z}"}}})
        );
    }

    #[test]
    fn set_errors_match_helm() {
        let e = |start: Value, line: &str| set_line(start, line, Mode::Typed).unwrap_err();
        assert_eq!(e(json!({}), "x=a,b"), "key \"b\" has no value");
        assert_eq!(
            e(json!({"a": "s"}), "a.b=1"),
            "unable to parse key: interface conversion: interface {} is string, not map[string]interface {}"
        );
        assert_eq!(
            e(json!({"a": {"b": 1}}), "a[0]=1"),
            "unable to parse key: interface conversion: interface {} is map[string]interface {}, not []interface {}"
        );
        assert_eq!(
            e(json!({}), "a[x]=1"),
            "error parsing index: strconv.Atoi: parsing \"x\": invalid syntax"
        );
        assert_eq!(e(json!({}), "a[-1]=1"), "negative -1 index not allowed");
        assert_eq!(
            e(json!({}), "a[70000]=1"),
            "index of 70000 is greater than maximum supported index of 65536"
        );
        assert_eq!(e(json!({}), "x={a,b"), "list must terminate with '}'");
    }

    #[test]
    fn writes_reach_shared_nodes() {
        let shared = map_from(&serde_json::Map::from_iter([(
            "inner".to_string(),
            json!({"k": "old"}),
        )]));
        let merged = merge_maps(&new_map(), &shared);
        SetParser::new("inner.k=new", Mode::Typed)
            .parse_into(&merged)
            .unwrap();
        assert_eq!(
            Value::Object(map_to(&shared)),
            json!({"inner": {"k": "new"}})
        );
    }
}
