//! Flattening the tree into visible rows for a set of expanded node paths.

use std::collections::HashSet;

use super::{Node, Tree};

/// One visible row.
#[derive(Clone, Debug, PartialEq)]
pub struct Row<'a> {
    /// Ids from the root to this node.
    pub path: Vec<String>,
    /// 0 for roots.
    pub depth: usize,
    pub node: &'a Node,
    pub expanded: bool,
    pub has_children: bool,
    /// For every level from the root to this node: whether the node on the path at that level
    /// is the last of its siblings (to draw tree lines).
    pub last: Vec<bool>,
}

impl Row<'_> {
    /// The tree-line prefix as `flux tree` draws it: nothing for roots, then `│   ` or
    /// four spaces per ancestor level and `├── ` / `└── ` (ASCII: `|   `, `|-- `, `` `-- ``).
    pub fn prefix(&self, ascii: bool) -> String {
        let (pipe, tee, corner) = if ascii {
            ("|   ", "|-- ", "`-- ")
        } else {
            ("│   ", "├── ", "└── ")
        };
        let mut out = String::new();
        if self.depth == 0 {
            return out;
        }
        for &last in &self.last[1..self.depth] {
            out.push_str(if last { "    " } else { pipe });
        }
        out.push_str(if self.last[self.depth] { corner } else { tee });
        out
    }
}

impl Tree {
    /// The visible rows: roots, and the children of every node whose path is in `expanded`
    /// (and whose ancestors are all expanded).
    pub fn rows(&self, expanded: &HashSet<Vec<String>>) -> Vec<Row<'_>> {
        let mut out = Vec::new();
        let mut path = Vec::new();
        let mut last = Vec::new();
        push_rows(
            &self.roots,
            &mut path,
            &mut last,
            &mut |p| expanded.contains(p),
            &mut out,
        );
        out
    }

    /// Every node as a row, fully expanded.
    pub fn all_rows(&self) -> Vec<Row<'_>> {
        let mut out = Vec::new();
        let mut path = Vec::new();
        let mut last = Vec::new();
        push_rows(&self.roots, &mut path, &mut last, &mut |_| true, &mut out);
        out
    }
}

fn push_rows<'a>(
    nodes: &'a [Node],
    path: &mut Vec<String>,
    last: &mut Vec<bool>,
    is_expanded: &mut dyn FnMut(&Vec<String>) -> bool,
    out: &mut Vec<Row<'a>>,
) {
    let count = nodes.len();
    for (i, node) in nodes.iter().enumerate() {
        path.push(node.id().into_owned());
        last.push(i + 1 == count);
        let has_children = !node.children.is_empty();
        let expanded = has_children && is_expanded(path);
        out.push(Row {
            path: path.clone(),
            depth: path.len() - 1,
            node,
            expanded,
            has_children,
            last: last.clone(),
        });
        if expanded {
            push_rows(&node.children, path, last, is_expanded, out);
        }
        path.pop();
        last.pop();
    }
}
