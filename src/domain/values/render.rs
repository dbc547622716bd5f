//! Values as YAML lines that know which value they show, and masking of values by pointer.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::domain::helm_storage::sorted;

/// One line of YAML and the JSON pointer of the value it shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YamlLine {
    pub text: String,
    pub pointer: String,
}

/// YAML with sorted keys, one entry per line, each line tagged with the JSON pointer of the
/// value it shows (for origins and masking).
///
/// Block style; keys sorted at every depth; scalars written as serde_yaml writes them;
/// multi-line strings as `|` blocks (one line per line of text, all tagged with the string's
/// pointer), or double-quoted on one line when a block cannot hold them; `{}` and `[]` for
/// empty maps and lists. Joined with newlines (and a final newline) the lines parse back to
/// the same value.
pub fn yaml_lines(v: &Value) -> Vec<YamlLine> {
    let mut out = Vec::new();
    node(&mut out, v, 0, "");
    out
}

fn segment(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

fn push(out: &mut Vec<YamlLine>, text: String, pointer: &str) {
    out.push(YamlLine {
        text,
        pointer: pointer.to_string(),
    });
}

/// A value as a node starting at `indent`.
fn node(out: &mut Vec<YamlLine>, v: &Value, indent: usize, pointer: &str) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) if !m.is_empty() => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            for k in keys {
                let Some(child) = m.get(k) else { continue };
                entry(
                    out,
                    &pad,
                    indent,
                    k,
                    child,
                    &format!("{pointer}/{}", segment(k)),
                );
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                let p = format!("{pointer}/{i}");
                let mut lines = Vec::new();
                node(&mut lines, item, indent + 2, &p);
                for (n, mut line) in lines.into_iter().enumerate() {
                    if n == 0 {
                        let rest = line.text.get(indent + 2..).unwrap_or_default();
                        line.text = format!("{pad}- {rest}");
                    }
                    out.push(line);
                }
            }
        }
        _ => {
            let (first, block) = scalar(v);
            push(out, format!("{pad}{first}"), pointer);
            block_lines(out, &block, indent + 2, pointer);
        }
    }
}

fn entry(out: &mut Vec<YamlLine>, pad: &str, indent: usize, k: &str, v: &Value, pointer: &str) {
    let key = key_text(k);
    match v {
        Value::Object(m) if !m.is_empty() => {
            push(out, format!("{pad}{key}:"), pointer);
            node(out, v, indent + 2, pointer);
        }
        Value::Array(items) if !items.is_empty() => {
            push(out, format!("{pad}{key}:"), pointer);
            node(out, v, indent, pointer);
        }
        _ => {
            let (first, block) = scalar(v);
            push(out, format!("{pad}{key}: {first}"), pointer);
            block_lines(out, &block, indent + 2, pointer);
        }
    }
}

fn block_lines(out: &mut Vec<YamlLine>, block: &[String], indent: usize, pointer: &str) {
    let pad = " ".repeat(indent);
    for line in block {
        let text = if line.is_empty() {
            String::new()
        } else {
            format!("{pad}{line}")
        };
        push(out, text, pointer);
    }
}

/// A key as serde_yaml writes it, on one line.
fn key_text(k: &str) -> String {
    if k.chars().any(|c| !printable(c)) {
        return double_quoted(k);
    }
    match serde_yaml::to_string(k) {
        Ok(s) => {
            let s = s.strip_suffix('\n').unwrap_or(&s);
            if s.contains('\n') || s.starts_with('|') {
                double_quoted(k)
            } else {
                s.to_string()
            }
        }
        Err(_) => double_quoted(k),
    }
}

/// A scalar (or empty map/list) as serde_yaml writes it: the text after `key: ` and, for a
/// block string, the lines of the block without their indentation.
fn scalar(v: &Value) -> (String, Vec<String>) {
    match v {
        Value::Object(_) => return ("{}".to_string(), Vec::new()),
        Value::Array(_) => return ("[]".to_string(), Vec::new()),
        Value::String(s) if s.chars().any(|c| c != '\n' && !printable(c)) => {
            return (double_quoted(s), Vec::new());
        }
        _ => {}
    }
    let Ok(text) = serde_yaml::to_string(v) else {
        return (serde_json::to_string(v).unwrap_or_default(), Vec::new());
    };
    let text = text.strip_suffix('\n').unwrap_or(&text);
    let mut lines = text.split('\n');
    let first = lines.next().unwrap_or_default().to_string();
    let rest: Vec<&str> = lines.collect();
    if rest.is_empty() {
        return (first, Vec::new());
    }
    let simple_block = matches!(first.as_str(), "|" | "|-" | "|+");
    let indented = rest.iter().all(|l| l.is_empty() || l.starts_with("  "));
    match v {
        Value::String(s) if !(simple_block && indented) => (double_quoted(s), Vec::new()),
        _ if simple_block && indented => (
            first,
            rest.iter()
                .map(|l| l.get(2..).unwrap_or_default().to_string())
                .collect(),
        ),
        _ => (serde_json::to_string(v).unwrap_or_default(), Vec::new()),
    }
}

/// A YAML double-quoted scalar on one line.
fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if printable(c) => out.push(c),
            c if (c as u32) <= 0xFFFF => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// YAML's printable characters, minus the line breaks a one-line form must escape.
fn printable(c: char) -> bool {
    matches!(c as u32,
        0x20..=0x7E | 0xA0..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF)
        && c != '\u{2028}'
        && c != '\u{2029}'
}

/// Keys sorted at every depth, so equal values hash equally.
fn canonical(v: &Value) -> String {
    serde_json::to_string(&sorted(v)).unwrap_or_default()
}

/// Replace the values at these pointers with "•••••• #xxxx" (4 hex of a salted hash, so two
/// masked values differ exactly when the secrets differ); ASCII form "****** #xxxx".
pub fn mask(v: &mut Value, pointers: &[String], salt: u64, ascii: bool) {
    let mut ordered: Vec<&String> = pointers.iter().collect();
    // Outer values first: a masked map or list hides what a longer pointer would name.
    ordered.sort_by_key(|p| (p.matches('/').count(), p.len()));
    let dots = if ascii {
        "******"
    } else {
        "••••••"
    };
    for p in ordered {
        let Some(target) = v.pointer_mut(p) else {
            continue;
        };
        let mut h = Sha256::new();
        h.update(salt.to_le_bytes());
        h.update(canonical(target).as_bytes());
        let d = h.finalize();
        let tag = format!("{:02x}{:02x}", d[0], d[1]);
        *target = Value::String(format!("{dots} #{tag}"));
    }
}
