//! The evidence below a failing object, as the why view and the details pane show it: asked
//! for once when the view opens ([`Effect::FetchEvidence`]), never watched; one line per
//! finding, indented by how deep below the object it is, the most specific last.

use crate::domain::evidence::{self, Evidence, Level, Subject};
use crate::domain::flux::{FluxKind, ObjectKey};
use crate::domain::health::Health;
use crate::domain::report::ascii_text;

use super::msg::Effect;
use super::state::{AppState, DetailsPane, Overlay};
use super::text::{Seg, TextLine, Tone};

/// Where the evidence of a view stands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum EvidenceState {
    /// Nothing fails: no evidence is asked for.
    #[default]
    None,
    Loading(ObjectKey),
    Loaded(ObjectKey, Box<Evidence>),
    Failed(ObjectKey, String),
}

impl EvidenceState {
    pub fn key(&self) -> Option<&ObjectKey> {
        match self {
            EvidenceState::None => None,
            EvidenceState::Loading(k)
            | EvidenceState::Loaded(k, _)
            | EvidenceState::Failed(k, _) => Some(k),
        }
    }

    fn answer(&mut self, key: &ObjectKey, result: &Result<Box<Evidence>, String>) -> bool {
        if self.key() != Some(key) {
            return false;
        }
        *self = match result {
            Ok(e) => EvidenceState::Loaded(key.clone(), e.clone()),
            Err(e) => EvidenceState::Failed(key.clone(), e.clone()),
        };
        true
    }
}

fn marker(level: Level, ascii: bool) -> (&'static str, Tone) {
    match (level, ascii) {
        (Level::Error, false) => (Health::Failed.glyph(), Tone::Error),
        (Level::Error, true) => (Health::Failed.ascii_glyph(), Tone::Error),
        (Level::Warning, _) => ("!", Tone::Warning),
        (Level::Info, false) => ("·", Tone::Dim),
        (Level::Info, true) => ("-", Tone::Dim),
    }
}

/// The "Evidence" section: a title naming the object, then the findings (or that they are
/// being gathered, or why they could not be). Empty for [`EvidenceState::None`].
pub fn lines(state: &EvidenceState, ascii: bool) -> Vec<TextLine> {
    let Some(key) = state.key() else {
        return Vec::new();
    };
    let mut out = vec![
        TextLine::blank(),
        TextLine::new(vec![
            Seg::new("Evidence", Tone::Title),
            Seg::new(format!("  {key}"), Tone::Dim),
        ]),
    ];
    match state {
        EvidenceState::None => {}
        EvidenceState::Loading(_) => out.push(
            TextLine::plain(
                format!("  gathering{}", if ascii { "..." } else { "…" }),
                Tone::Dim,
            )
            .indent(2),
        ),
        EvidenceState::Failed(_, e) => out.push(
            TextLine::plain(format!("  could not gather the evidence: {e}"), Tone::Error).indent(2),
        ),
        EvidenceState::Loaded(_, ev) if ev.is_empty() => {
            out.push(TextLine::plain("  nothing below it explains more", Tone::Dim).indent(2))
        }
        EvidenceState::Loaded(_, ev) => {
            for f in &ev.findings {
                let pad = 2 + 2 * f.depth;
                let (glyph, tone) = marker(f.level, ascii);
                let mut segs = vec![
                    Seg::new(" ".repeat(pad), Tone::Text),
                    Seg::new(format!("{glyph} "), tone),
                    Seg::new(f.subject.to_string(), Tone::Text),
                    Seg::new(format!(" {}", f.state), tone),
                ];
                if !f.message.is_empty() {
                    segs.push(Seg::new(
                        format!(": {}", ascii_text(&f.message, ascii)),
                        Tone::Text,
                    ));
                }
                out.push(TextLine::new(segs).indent(pad + 2));
            }
        }
    }
    out
}

/// Put the evidence section into the why view's lines: after the path to the root cause,
/// before the upstream and downstream lists (at the end when those are missing).
///
/// Each finding's line names the object it is about: its row as `row_of` finds it, or the
/// kind, namespace and name when it has no row yet; a pod's or release record's line names
/// what the line above names.
pub fn insert(
    lines: &mut Vec<TextLine>,
    state: &EvidenceState,
    ascii: bool,
    row_of: &dyn Fn(&Subject) -> Option<ObjectKey>,
) {
    let mut section = self::lines(state, ascii);
    if section.is_empty() {
        return;
    }
    if let EvidenceState::Loaded(_, ev) = state
        && !ev.is_empty()
    {
        // One line per finding after the blank line and the title. Pods and release
        // records have no rows: their lines go where the line above goes. Other objects go
        // to their row, or (not loaded yet) name the object to be found once it is.
        let mut above: Option<ObjectKey> = None;
        for (f, line) in ev.findings.iter().zip(section.iter_mut().skip(2)) {
            let s = &f.subject;
            let link = match s.kind.as_str() {
                "Pod" | "Release" => above.clone(),
                _ => row_of(s).or_else(|| Some(ObjectKey::new("", &s.kind, &s.namespace, &s.name))),
            };
            line.link = link.clone();
            above = link;
        }
    }
    let at = lines
        .iter()
        .position(|l| l.text().starts_with("Upstream"))
        .map(|i| i.saturating_sub(1))
        .unwrap_or(lines.len());
    lines.splice(at..at, section);
}

impl AppState {
    /// Ask for the evidence of the open why view's failing root cause (or of the object
    /// itself); none when nothing fails. Asked again only when that target changes (a root
    /// cause that starts failing while the view is open, or another one).
    pub(crate) fn why_evidence(&mut self) -> Vec<Effect> {
        let Some(Overlay::Why(view)) = self.overlay.as_ref() else {
            return Vec::new();
        };
        let target = self
            .analysis
            .as_deref()
            .and_then(|a| a.why(&view.key))
            .and_then(|w| evidence::target(&w));
        if target.as_ref() == view.evidence.key() {
            return Vec::new();
        }
        let Some(target) = target else {
            // The root cause recovered: its evidence no longer explains anything.
            if let Some(Overlay::Why(view)) = self.overlay.as_mut() {
                view.evidence = EvidenceState::None;
            }
            self.refresh_why();
            return Vec::new();
        };
        if let Some(Overlay::Why(view)) = self.overlay.as_mut() {
            view.evidence = EvidenceState::Loading(target.clone());
        }
        self.refresh_why();
        vec![Effect::FetchEvidence(target)]
    }

    /// The details pane of a failing HelmRelease asks for its evidence once when it shows
    /// it; other objects have none.
    pub(crate) fn details_evidence(&self, pane: &mut DetailsPane) -> Option<Effect> {
        let target = pane.key.as_ref().filter(|k| {
            k.flux_kind() == Some(FluxKind::HelmRelease)
                && self
                    .analysis
                    .as_deref()
                    .and_then(|a| a.verdict(k))
                    .is_some_and(|v| v.health() == Health::Failed)
        });
        match target {
            None => {
                pane.evidence = EvidenceState::None;
                None
            }
            Some(k) if pane.evidence.key() == Some(k) => None,
            Some(k) => {
                pane.evidence = EvidenceState::Loading(k.clone());
                Some(Effect::FetchEvidence(k.clone()))
            }
        }
    }

    /// The answer to [`Effect::FetchEvidence`], for whichever view asked for it.
    pub(crate) fn evidence_loaded(
        &mut self,
        key: ObjectKey,
        result: Result<Box<Evidence>, String>,
    ) {
        if let Some(Overlay::Why(view)) = self.overlay.as_mut()
            && view.evidence.answer(&key, &result)
        {
            self.refresh_why();
            self.dirty = true;
        }
        if let Some(pane) = self.details.as_mut()
            && pane.evidence.answer(&key, &result)
        {
            self.refresh_details_lines();
            self.dirty = true;
        }
    }
}
