//! The "why" view of one object: its verdict, each hop towards the root cause with the
//! controller rule that fails and its message, the root cause and its own reason (telling
//! waiting on progress apart from being blocked), the loop for cycle members, and what the
//! object reads (upstream) and what waits on it (downstream, its blast radius).
//!
//! The lines are rebuilt from the dependency analysis of every new snapshot, for the same
//! object; an object that went away is said so.

use crate::domain::deps::{Analysis, Hop, RootCause, Verdict, Via, Why, loop_text, verdict_of};
use crate::domain::evidence::Subject;
use crate::domain::flux::{FluxKind, FluxObject, ObjectKey};
use crate::domain::health::{Health, HealthInfo};
use crate::domain::report::ascii_text;
use crate::domain::tree::{Node, Relation, Snapshot, Tree};

use super::text::{Seg, TextLine, Tone};

/// Indent of the text under a hop or list entry.
const INDENT: usize = 5;

/// The why overlay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WhyView {
    pub key: ObjectKey,
    /// First wrapped row shown.
    pub scroll: usize,
    pub lines: Vec<TextLine>,
    /// The selected line that names an object (`n`/`N` move it, `Enter` goes to its row):
    /// at first the root cause's.
    pub selected: Option<usize>,
    /// The evidence below the failing root cause (or the object itself).
    pub evidence: super::evidence::EvidenceState,
}

impl WhyView {
    pub fn new(key: ObjectKey) -> WhyView {
        WhyView {
            key,
            scroll: 0,
            lines: Vec::new(),
            selected: None,
            evidence: Default::default(),
        }
    }

    /// The object of the selected line.
    pub fn selected_link(&self) -> Option<&ObjectKey> {
        self.selected
            .and_then(|i| self.lines.get(i))
            .and_then(|l| l.link.as_ref())
    }

    /// Take new lines, keeping the selection on the same object (the line naming it nearest
    /// to where it was), or starting at `first` (the root cause, in its section) when there
    /// was none.
    fn set_lines(&mut self, lines: Vec<TextLine>, first: Option<&ObjectKey>) {
        let keep = self.selected_link().cloned();
        let at = self.selected.unwrap_or(0);
        self.lines = lines;
        let named = |key: &ObjectKey| {
            let same = |i: &usize| self.lines[*i].link.as_ref() == Some(key);
            let near = (at..self.lines.len()).find(same);
            near.or_else(|| (0..self.lines.len()).find(same))
        };
        let root_section = self
            .lines
            .iter()
            .position(|l| l.text().starts_with("Root cause"))
            .unwrap_or(0);
        let in_root_section = |key: &ObjectKey| {
            (root_section..self.lines.len())
                .find(|i| self.lines[*i].link.as_ref() == Some(key))
                .or_else(|| named(key))
        };
        self.selected = keep
            .as_ref()
            .and_then(named)
            .or_else(|| first.and_then(in_root_section))
            .or_else(|| self.lines.iter().position(|l| l.link.is_some()));
    }

    /// Move the selection to the next (`forward`) or previous line naming an object;
    /// whether it moved.
    pub fn step_link(&mut self, forward: bool) -> bool {
        let linked = |i: &usize| self.lines[*i].link.is_some();
        let next = match (self.selected, forward) {
            (None, _) => (0..self.lines.len()).find(linked),
            (Some(at), true) => (at + 1..self.lines.len()).find(linked),
            (Some(at), false) => (0..at).rev().find(linked),
        };
        match next {
            Some(i) => {
                self.selected = Some(i);
                true
            }
            None => false,
        }
    }

    /// Scroll so the selected line is on screen (`cols` wide, `page` rows high).
    pub fn show_selected(&mut self, cols: usize, page: usize) {
        let Some(at) = self.selected else {
            return;
        };
        let top = super::text::wrapped_len(&self.lines[..at.min(self.lines.len())], cols);
        let height = self
            .lines
            .get(at)
            .map_or(1, |l| super::text::wrap(l, cols).len());
        if top < self.scroll {
            self.scroll = top;
        } else if top + height > self.scroll + page {
            self.scroll = (top + height).saturating_sub(page.max(1));
        }
    }
}

/// Whether the why view explains this object: Flux objects (Kustomizations and
/// HelmReleases wait on dependencies and sources; sources are judged and have dependents).
pub fn explains(key: &ObjectKey) -> bool {
    key.flux_kind().is_some()
}

/// `→`, or `->` in ASCII mode.
fn arrow(ascii: bool) -> &'static str {
    if ascii { "->" } else { "→" }
}

fn glyph(health: Health, ascii: bool) -> &'static str {
    if ascii {
        health.ascii_glyph()
    } else {
        health.glyph()
    }
}

/// The nearest Kustomization above the object in the tree (the one whose inventory lists
/// it, directly or through a HelmRelease). Source lines under a HelmRelease do not count:
/// they show what the release reads, not who manages the source.
pub fn owner_of(tree: &Tree, key: &ObjectKey) -> Option<ObjectKey> {
    fn walk(
        nodes: &[Node],
        key: &ObjectKey,
        owner: Option<&ObjectKey>,
    ) -> Option<Option<ObjectKey>> {
        for n in nodes {
            if n.relation == Relation::Source {
                continue;
            }
            if n.key.as_ref() == Some(key) {
                return Some(owner.cloned());
            }
            let below = match &n.key {
                Some(k) if k.flux_kind() == Some(FluxKind::Kustomization) => Some(k),
                _ => owner,
            };
            if let Some(found) = walk(&n.children, key, below) {
                return Some(found);
            }
        }
        None
    }
    walk(&tree.roots, key, None).flatten()
}

/// What the verdict means, in one sentence.
fn meaning(verdict: Verdict, workload: bool) -> &'static str {
    match verdict {
        Verdict::Ready if workload => "Ready: nothing holds it now.",
        Verdict::Ready => "Ready.",
        Verdict::Progressing if workload => {
            "Reconciling: not waiting on any dependency or source; it is reconciling (or not \
             reconciled yet)."
        }
        Verdict::Progressing => "Reconciling: not ready yet, and not failing.",
        Verdict::Waiting => {
            "Pending: something it needs is still progressing. This clears on its own once \
             that becomes ready."
        }
        Verdict::Blocked => {
            "Blocked: something it needs is stuck (failing, suspended, missing or in a \
             cycle). It stays blocked until the root cause below is fixed."
        }
        Verdict::Cycle => {
            "Dependency cycle: the objects in the loop wait on each other, so none of them \
             becomes ready until one dependsOn entry in the loop is removed."
        }
        Verdict::Failing if workload => {
            "Failed on its own account: what it needs passes the checks; its own \
             reconcile fails."
        }
        Verdict::Failing => "Failed on its own account.",
        Verdict::Suspended => {
            "Suspended (spec.suspend): the controller does not reconcile it; whatever waits \
             on it is blocked."
        }
        Verdict::NotFound => {
            "Unknown (not found): it is referenced (as a dependency or source) but does not exist."
        }
    }
}

/// The Ready reason the object reports for a failing source check (flux-facts §3.4).
fn source_reason(hop: &Hop) -> &'static str {
    match (hop.from.flux_kind(), hop.rule) {
        (Some(FluxKind::HelmRelease), crate::domain::deps::Rule::NotFound) => "ArtifactFailed",
        (Some(FluxKind::Kustomization), _) => "ArtifactFailed",
        _ => "SourceNotReady",
    }
}

fn hop_lines(out: &mut Vec<TextLine>, n: usize, hop: &Hop, ascii: bool) {
    let lead = format!("  {n}. ");
    let pad = " ".repeat(INDENT);
    out.push(
        TextLine::new(vec![
            Seg::new(lead, Tone::Dim),
            Seg::new(hop.from.to_string(), Tone::Text),
            Seg::new(format!(" {} ", arrow(ascii)), Tone::Dim),
            Seg::new(hop.to.to_string(), Tone::Text),
        ])
        .indent(INDENT)
        .link(hop.to.clone()),
    );
    let via = match hop.via {
        Via::DependsOn => "dependsOn".to_string(),
        Via::Source => format!("source ({})", source_reason(hop)),
    };
    out.push(
        TextLine::new(vec![
            Seg::new(pad.clone(), Tone::Text),
            Seg::new(format!("{via}: "), Tone::Key),
            Seg::new(hop.rule.describe(), Tone::Warning),
        ])
        .indent(INDENT + 2),
    );
    if let Some(expr) = &hop.ready_expr {
        out.push(
            TextLine::new(vec![
                Seg::new(format!("{pad}readyExpr: "), Tone::Dim),
                Seg::new(expr.clone(), Tone::Text),
            ])
            .indent(INDENT + 2),
        );
    }
    for line in hop.message.lines().filter(|l| !l.trim().is_empty()) {
        out.push(
            TextLine::plain(format!("{pad}{}", ascii_text(line, ascii)), Tone::Text).indent(INDENT),
        );
    }
}

/// `✗ Failed  HelmRelease/staging/redis` and its reason and message, indented.
fn root_lines(
    out: &mut Vec<TextLine>,
    root: &RootCause,
    analysis: &Analysis,
    tree: &Tree,
    ascii: bool,
) {
    out.push(
        TextLine::new(vec![
            Seg::new("  ", Tone::Text),
            Seg::new(
                format!("{} {}", glyph(root.health, ascii), root.health.word()),
                Tone::State(root.health),
            ),
            Seg::new("  ", Tone::Text),
            Seg::new(root.key.to_string(), Tone::Text),
        ])
        .indent(INDENT)
        .link(root.key.clone()),
    );
    let pad = " ".repeat(INDENT);
    let mut message = root.message.lines().filter(|l| !l.trim().is_empty());
    let first = message.next().unwrap_or("");
    let head = match (root.reason.is_empty(), first.is_empty()) {
        (false, false) => format!("{}: {first}", root.reason),
        (false, true) => root.reason.clone(),
        (true, _) => first.to_string(),
    };
    if !head.is_empty() {
        out.push(
            TextLine::plain(format!("{pad}{}", ascii_text(&head, ascii)), Tone::Text)
                .indent(INDENT),
        );
    }
    for line in message {
        out.push(
            TextLine::plain(format!("{pad}{}", ascii_text(line, ascii)), Tone::Text).indent(INDENT),
        );
    }
    if root.verdict == Verdict::Progressing {
        out.push(
            TextLine::plain(
                format!("{pad}still progressing: not stuck, only not ready yet"),
                Tone::Dim,
            )
            .indent(INDENT),
        );
    }
    if let Some(owner) = owner_of(tree, &root.key) {
        out.push(
            TextLine::plain(
                format!("{pad}in Kustomization {}/{}", owner.namespace, owner.name),
                Tone::Dim,
            )
            .indent(INDENT),
        );
    }
    let blocks = analysis.blocks(&root.key);
    if blocks > 0 {
        out.push(
            TextLine::plain(
                format!(
                    "{pad}{}",
                    blocks_text(blocks, root.verdict.is_stuck(), false)
                ),
                Tone::Dim,
            )
            .indent(INDENT),
        );
    }
}

/// `blocks 3 objects that wait on it` for a stuck object, `1 Kustomization or HelmRelease
/// waits on it` for one that is progressing; `(see downstream)` when the downstream list
/// below is this object's (so the two numbers are the same).
fn blocks_text(n: usize, stuck: bool, listed_below: bool) -> String {
    let see = if listed_below {
        " (see downstream)"
    } else {
        ""
    };
    match (n == 1, stuck) {
        (true, true) => format!("blocks 1 object that waits on it{see}"),
        (false, true) => format!("blocks {n} objects that wait on it{see}"),
        (true, false) => format!("1 Kustomization or HelmRelease waits on it{see}"),
        (false, false) => format!("{n} Kustomizations and HelmReleases wait on it{see}"),
    }
}

/// A titled list of objects with their verdicts.
fn list_lines(
    out: &mut Vec<TextLine>,
    title: &str,
    keys: &[ObjectKey],
    note: &dyn Fn(&ObjectKey) -> String,
    analysis: &Analysis,
    ascii: bool,
) {
    out.push(TextLine::blank());
    let mut head = vec![Seg::new(format!("{title} ({})", keys.len()), Tone::Title)];
    if keys.is_empty() {
        head.push(Seg::new(": none", Tone::Dim));
    }
    out.push(TextLine::new(head));
    for k in keys {
        let (health, word) = match verdict_of(analysis, k) {
            Some(v) => (v.state.health, v.state.word()),
            None => (Health::Unknown, Health::Unknown.word()),
        };
        let mut segs = vec![
            Seg::new("  ", Tone::Text),
            Seg::new(
                format!("{} {:<11} ", glyph(health, ascii), word),
                Tone::State(health),
            ),
            Seg::new(k.to_string(), Tone::Text),
        ];
        let note = note(k);
        if !note.is_empty() {
            segs.push(Seg::new(format!("  {note}"), Tone::Dim));
        }
        out.push(TextLine::new(segs).indent(INDENT + 12).link(k.clone()));
    }
}

/// How the object reads a direct upstream: `dependsOn` (`, other namespace` when it is in
/// another namespace) or `source`; empty for what it reads through those.
fn upstream_note(snap: Option<&Snapshot>, key: &ObjectKey) -> impl Fn(&ObjectKey) -> String {
    let obj = snap.and_then(|s| s.flux.get(key)).map(|o| &**o);
    let deps = obj.map(FluxObject::dependency_keys).unwrap_or_default();
    let sources = obj.map(FluxObject::source_refs).unwrap_or_default();
    let ns = key.namespace.clone();
    move |k: &ObjectKey| {
        if deps.contains(k) {
            if k.namespace == ns {
                "dependsOn".to_string()
            } else {
                "dependsOn, other namespace".to_string()
            }
        } else if sources.contains(k) {
            "source".to_string()
        } else {
            String::new()
        }
    }
}

fn title(key: &ObjectKey, state: Option<&HealthInfo>, ascii: bool) -> TextLine {
    let mut segs = vec![Seg::new(key.to_string(), Tone::Title)];
    if let Some(state) = state {
        let health = state.health;
        segs.push(Seg::new("  ", Tone::Text));
        segs.push(Seg::new(
            format!("{} {}", glyph(health, ascii), state.word()),
            Tone::State(health),
        ));
    }
    TextLine::new(segs).indent(2).link(key.clone())
}

/// The lines of the why view of `key`.
pub fn lines(
    key: &ObjectKey,
    analysis: Option<&Analysis>,
    snap: Option<&Snapshot>,
    tree: &Tree,
    ascii: bool,
) -> Vec<TextLine> {
    let Some(analysis) = analysis else {
        return vec![
            title(key, None, ascii),
            TextLine::plain(
                format!("loading the cluster{}", if ascii { "..." } else { "…" }),
                Tone::Dim,
            ),
        ];
    };
    match analysis.why(key) {
        Some(why) => why_lines(&why, analysis, snap, tree, ascii),
        None => vec![
            title(key, None, ascii),
            TextLine::blank(),
            TextLine::plain(
                "No longer in the cluster: it was deleted, or is outside the watched scope, \
                 and nothing refers to it. This view follows it if it comes back.",
                Tone::Warning,
            ),
        ],
    }
}

fn why_lines(
    why: &Why,
    analysis: &Analysis,
    snap: Option<&Snapshot>,
    tree: &Tree,
    ascii: bool,
) -> Vec<TextLine> {
    let workload = matches!(
        why.key.flux_kind(),
        Some(FluxKind::Kustomization | FluxKind::HelmRelease)
    );
    let mut out = vec![title(&why.key, Some(&why.state), ascii)];
    out.push(
        TextLine::plain(format!("  {}", meaning(why.verdict, workload)), Tone::Text).indent(2),
    );
    if !workload {
        out.push(
            TextLine::plain(
                "  A source does not wait on dependencies: shown are its own state and the \
                 objects that read it.",
                Tone::Dim,
            )
            .indent(2),
        );
    }
    match owner_of(tree, &why.key) {
        Some(owner) => out.push(
            TextLine::plain(
                format!("  in Kustomization {}/{}", owner.namespace, owner.name),
                Tone::Dim,
            )
            .indent(2),
        ),
        None if why.key.flux_kind() != Some(FluxKind::Kustomization)
            && tree.path_of(&why.key).is_some() =>
        {
            out.push(
                TextLine::plain("  not listed in any Kustomization's inventory", Tone::Dim)
                    .indent(2),
            )
        }
        None => {}
    }
    let own = &why.health;
    let mut own_lines = own.message.lines().filter(|l| !l.trim().is_empty());
    let first = own_lines.next().unwrap_or("");
    let own_text = match (own.reason.is_empty(), first.is_empty()) {
        (false, false) => format!("{}: {first}", own.reason),
        (false, true) => own.reason.to_string(),
        (true, _) => first.to_string(),
    };
    out.push(
        TextLine::new(vec![
            Seg::new("  status: ", Tone::Dim),
            Seg::new(ascii_text(&own_text, ascii), Tone::Text),
        ])
        .indent(INDENT),
    );
    for line in own_lines {
        out.push(
            TextLine::plain(
                format!("{}{}", " ".repeat(INDENT), ascii_text(line, ascii)),
                Tone::Text,
            )
            .indent(INDENT),
        );
    }

    if let Some(cycle) = &why.cycle {
        out.push(TextLine::blank());
        out.push(TextLine::plain("Dependency cycle", Tone::Title));
        out.push(
            TextLine::plain(
                format!("  {}", loop_text(cycle, ascii)),
                Tone::State(Health::Cycle),
            )
            .indent(4),
        );
        let blocks = why.downstream.len();
        if blocks > 0 {
            out.push(
                TextLine::plain(format!("  {}", blocks_text(blocks, true, true)), Tone::Dim)
                    .indent(4),
            );
        }
    }
    if !why.hops.is_empty() {
        out.push(TextLine::blank());
        let heading = match why.verdict {
            Verdict::Ready => "Its next reconcile would wait on",
            Verdict::Cycle => "Around the loop",
            _ => "Path to the root cause",
        };
        out.push(TextLine::plain(heading, Tone::Title));
        for (n, hop) in why.hops.iter().enumerate() {
            hop_lines(&mut out, n + 1, hop, ascii);
        }
    }
    match &why.root {
        Some(root) if root.key == why.key && root.verdict != Verdict::Cycle => {
            out.push(TextLine::blank());
            out.push(TextLine::plain("Root cause", Tone::Title));
            let text = if root.verdict == Verdict::Progressing {
                "  Not waiting on any dependency or source: still progressing."
            } else {
                "  This object is the root cause: it does not wait on any dependency or source."
            };
            out.push(TextLine::plain(text, Tone::Text).indent(2));
            let blocks = why.downstream.len();
            if blocks > 0 && root.verdict.is_stuck() {
                out.push(
                    TextLine::plain(format!("  {}", blocks_text(blocks, true, true)), Tone::Dim)
                        .indent(2),
                );
            }
        }
        // The loop is the root cause; it is spelled out above.
        Some(_) if why.verdict == Verdict::Cycle => {}
        Some(root) => {
            out.push(TextLine::blank());
            let heading = if why.verdict == Verdict::Waiting {
                "Root cause (still progressing: pending, not blocked)"
            } else {
                "Root cause"
            };
            out.push(TextLine::plain(heading, Tone::Title));
            root_lines(&mut out, root, analysis, tree, ascii);
        }
        None => {}
    }
    if !why.other_roots.is_empty() {
        out.push(TextLine::blank());
        out.push(TextLine::plain("Also waiting on", Tone::Title));
        for other in &why.other_roots {
            root_lines(&mut out, other, analysis, tree, ascii);
        }
    }
    if !why.unevaluated.is_empty() {
        out.push(TextLine::blank());
        out.push(TextLine::plain("readyExpr not evaluated", Tone::Title));
        for (n, hop) in why.unevaluated.iter().enumerate() {
            hop_lines(&mut out, n + 1, hop, ascii);
        }
    }
    list_lines(
        &mut out,
        "Upstream: what it reads",
        &why.upstream,
        &upstream_note(snap, &why.key),
        analysis,
        ascii,
    );
    list_lines(
        &mut out,
        "Downstream: what waits on it (blast radius)",
        &why.downstream,
        &|_| String::new(),
        analysis,
        ascii,
    );
    out
}

impl super::state::AppState {
    /// Rebuild the why view's lines from the current analysis (same object), keep its
    /// scroll inside the content; dirty when the lines changed.
    pub(crate) fn refresh_why(&mut self) {
        let Some(super::state::Overlay::Why(view)) = self.overlay.as_ref() else {
            return;
        };
        let mut lines = lines(
            &view.key,
            self.analysis.as_deref(),
            self.snapshot.as_deref(),
            &self.tree,
            self.ascii,
        );
        let why = self.analysis.as_deref().and_then(|a| a.why(&view.key));
        if why.is_some() {
            let tree = &self.tree;
            super::evidence::insert(&mut lines, &view.evidence, self.ascii, &|s| {
                tree_key(tree, s)
            });
        }
        let root = why.and_then(|w| w.root).map(|r| r.key);
        let screen = self.screen();
        let cols = usize::from(screen.body.width.saturating_sub(2));
        let page = usize::from(screen.body.height.saturating_sub(2)).max(1);
        let max = super::text::wrapped_len(&lines, cols).saturating_sub(page);
        if let Some(super::state::Overlay::Why(view)) = self.overlay.as_mut() {
            if view.lines != lines {
                let first = view.lines.is_empty();
                view.set_lines(lines, root.as_ref());
                if first {
                    view.show_selected(cols, page);
                }
                self.dirty = true;
            }
            view.scroll = view.scroll.min(max);
        }
    }

    /// `n`/`N` in the why view: select the next or previous line naming an object.
    pub(crate) fn why_step_link(&mut self, forward: bool) {
        let screen = self.screen();
        let cols = usize::from(screen.body.width.saturating_sub(2));
        let page = usize::from(screen.body.height.saturating_sub(2)).max(1);
        if let Some(super::state::Overlay::Why(view)) = self.overlay.as_mut()
            && view.step_link(forward)
        {
            view.show_selected(cols, page);
            self.dirty = true;
        }
    }

    /// `Enter` in the why view: close it and select the row of the object the selected
    /// line names, expanding what is needed (and leaving a filter or problems mode that
    /// hides it); said so when it has no row.
    #[must_use = "the effects (managed-object watches, details) must be carried out"]
    pub(crate) fn why_follow_link(&mut self) -> Vec<super::msg::Effect> {
        let Some(super::state::Overlay::Why(view)) = self.overlay.as_ref() else {
            return Vec::new();
        };
        let Some(key) = view.selected_link().cloned() else {
            self.flash_with(
                super::state::FlashLevel::Info,
                "select an object with n/N first",
            );
            return Vec::new();
        };
        self.go_to_object(&key)
    }
}

impl super::state::AppState {
    /// Close the overlay and select the row of `key`, expanding its ancestors; when a filter
    /// or problems mode hides it, leave them first. Said so when it has no row at all.
    #[must_use = "the effects (managed-object watches, details) must be carried out"]
    pub(crate) fn go_to_object(&mut self, key: &ObjectKey) -> Vec<super::msg::Effect> {
        use super::state::FlashLevel;
        let mut effects = Vec::new();
        // A finding names a kind without its API group: the row's own key.
        let resolved = match self.tree.path_of(key) {
            Some(_) => None,
            None => tree_key(&self.tree, &Subject::of_key(key)),
        };
        let key = resolved.as_ref().unwrap_or(key);
        if self.shown_tree().path_of(key).is_none() && self.tree.path_of(key).is_some() {
            let left = match (self.problems, self.filter_text.is_empty()) {
                (true, true) => "problems mode",
                (false, _) => "the filter",
                (true, false) => "problems mode and the filter",
            };
            let problems = std::mem::take(&mut self.problems);
            let cleared = self.clear_filter();
            if cleared.is_empty() && problems {
                effects.extend(self.narrowing_changed());
            }
            effects.extend(cleared);
            self.flash_with(FlashLevel::Info, format!("left {left} to show {key}"));
        }
        let path = match self.shown_tree().path_of(key) {
            Some(path) => path,
            None => {
                // A workload whose row is not loaded: go to the release whose evidence
                // named it, expand it (its objects get watched) and select the workload
                // when its row appears.
                let owner = match self.overlay.as_ref() {
                    Some(super::state::Overlay::Why(view)) => view.evidence.key().cloned(),
                    _ => None,
                };
                let Some(path) = owner
                    .filter(|o| o != key)
                    .and_then(|o| self.shown_tree().path_of(&o))
                else {
                    self.flash_with(
                        FlashLevel::Info,
                        format!("{key} has no row in the tree (outside the namespaces in view)"),
                    );
                    return effects;
                };
                self.set_expanded(&path, true);
                self.pending_row = Some(key.clone());
                self.flash_with(FlashLevel::Info, format!("loading the row of {key}"));
                path
            }
        };
        self.overlay = None;
        effects.extend(self.select_revealed(path));
        effects
    }

    /// Select the node at `path`, expanding its ancestors; the details follow.
    #[must_use = "the effects (details) must be carried out"]
    fn select_revealed(&mut self, path: Vec<String>) -> Vec<super::msg::Effect> {
        self.selected = Some(path);
        self.rebuild_rows();
        self.dirty = true;
        self.sync_details()
    }

    /// Select the row the why view asked for once it is loaded (when the selection has
    /// not moved meanwhile: any key forgets it).
    #[must_use = "the effects (managed-object watches, details) must be carried out"]
    pub(crate) fn reach_pending_row(&mut self) -> Vec<super::msg::Effect> {
        let Some(key) = self.pending_row.clone() else {
            return Vec::new();
        };
        let Some(found) = tree_key(self.shown_tree(), &Subject::of_key(&key)) else {
            return Vec::new();
        };
        self.pending_row = None;
        let Some(path) = self.shown_tree().path_of(&found) else {
            return Vec::new();
        };
        self.select_revealed(path)
    }
}

/// The tree's key of the object a finding is about (the first row that shows it).
pub fn tree_key(tree: &Tree, subject: &Subject) -> Option<ObjectKey> {
    fn walk(nodes: &[Node], s: &Subject) -> Option<ObjectKey> {
        nodes.iter().find_map(|n| {
            n.key
                .as_ref()
                .filter(|k| {
                    k.kind.kind() == s.kind && k.namespace == s.namespace && k.name == s.name
                })
                .cloned()
                .or_else(|| walk(&n.children, s))
        })
    }
    walk(&tree.roots, subject)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::jiff::Timestamp;
    use serde_json::Value;

    use super::*;
    use crate::domain::deps::analyze;
    use crate::domain::tree::build_with;

    fn demo() -> (Snapshot, Analysis, Tree) {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/app/demo-cluster.yaml"
        ))
        .unwrap();
        let list: Value = serde_yaml::from_str(&text).unwrap();
        let now: Timestamp = "2026-11-22T06:45:00Z".parse().unwrap();
        let (snap, _) = Snapshot::from_objects(list["items"].as_array().unwrap().clone(), now);
        let analysis = analyze(&snap);
        let tree = build_with(&snap, &analysis);
        (snap, analysis, tree)
    }

    fn text(lines: &[TextLine]) -> Vec<String> {
        lines.iter().map(TextLine::text).collect()
    }

    #[test]
    fn owner_is_the_nearest_kustomization_above() {
        let (_, _, tree) = demo();
        let hr = ObjectKey::flux(FluxKind::HelmRelease, "staging", "redis");
        assert_eq!(
            owner_of(&tree, &hr),
            Some(ObjectKey::flux(
                FluxKind::Kustomization,
                "flux-system",
                "staging"
            ))
        );
        let root = ObjectKey::flux(FluxKind::Kustomization, "flux-system", "flux-system");
        assert_eq!(owner_of(&tree, &root), None);
        let git = ObjectKey::flux(FluxKind::GitRepository, "flux-system", "flux-system");
        assert_eq!(owner_of(&tree, &git), None, "unmanaged");
    }

    #[test]
    fn unknown_and_loading_objects_are_said_so() {
        let (snap, analysis, tree) = demo();
        let ghost = ObjectKey::flux(FluxKind::HelmRelease, "nowhere", "ghost");
        let gone = text(&lines(&ghost, Some(&analysis), Some(&snap), &tree, false));
        assert_eq!(gone[0], "HelmRelease/nowhere/ghost");
        assert!(gone[2].starts_with("No longer in the cluster"), "{gone:?}");
        let loading = text(&lines(&ghost, None, None, &Tree::default(), true));
        assert_eq!(loading[1], "loading the cluster...");
    }

    #[test]
    fn upstream_notes_name_direct_dependencies_and_sources() {
        let (snap, _, _) = demo();
        let grafana = ObjectKey::flux(FluxKind::HelmRelease, "default", "grafana");
        let note = upstream_note(Some(&snap), &grafana);
        let prometheus = ObjectKey::flux(FluxKind::HelmRelease, "monitoring", "prometheus");
        assert_eq!(note(&prometheus), "dependsOn, other namespace");
        let chart = ObjectKey::flux(FluxKind::HelmChart, "flux-system", "default-grafana");
        assert_eq!(note(&chart), "source");
        let repo = ObjectKey::flux(
            FluxKind::HelmRepository,
            "flux-system",
            "prometheus-community",
        );
        assert_eq!(note(&repo), "");
        assert_eq!(upstream_note(None, &grafana)(&prometheus), "");
    }

    #[test]
    fn blast_radius_wording_follows_the_state() {
        assert_eq!(
            blocks_text(1, true, true),
            "blocks 1 object that waits on it (see downstream)"
        );
        assert_eq!(
            blocks_text(3, true, false),
            "blocks 3 objects that wait on it"
        );
        assert_eq!(
            blocks_text(2, false, false),
            "2 Kustomizations and HelmReleases wait on it"
        );
    }

    #[test]
    fn source_hops_name_the_reason_the_object_reports() {
        let hop = |from: ObjectKey, rule| Hop {
            to: ObjectKey::flux(FluxKind::GitRepository, "flux-system", "x"),
            from,
            via: Via::Source,
            rule,
            message: String::new(),
            ready_expr: None,
        };
        let hr = ObjectKey::flux(FluxKind::HelmRelease, "a", "b");
        let ks = ObjectKey::flux(FluxKind::Kustomization, "a", "b");
        assert_eq!(
            source_reason(&hop(hr.clone(), crate::domain::deps::Rule::NotReady)),
            "SourceNotReady"
        );
        assert_eq!(
            source_reason(&hop(hr, crate::domain::deps::Rule::NotFound)),
            "ArtifactFailed"
        );
        assert_eq!(
            source_reason(&hop(ks, crate::domain::deps::Rule::NotReady)),
            "ArtifactFailed"
        );
    }
}
