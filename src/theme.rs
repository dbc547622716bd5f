//! Semantic styles for every widget, loaded from YAML themes.
//!
//! Widgets never pick colours: they ask the theme for a meaning (`theme.state(Health::Failed)`,
//! `theme.diff(DiffKind::Added)`, `theme.border(focused)`) and get a [`Style`]. The built-in
//! themes live in `themes/*.yaml` and are embedded in the binary; a user theme file overrides
//! part of one (`extends: NAME`, `dark` when not given). The file format is described at the top
//! of `themes/dark.yaml`.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::domain::health::Health;

/// The theme used when none is chosen.
pub const DEFAULT_THEME: &str = "dark";
/// The theme used when `NO_COLOR` is set and no theme is chosen.
pub const NO_COLOR_THEME: &str = "mono";

const EMBEDDED: [(&str, &str); 4] = [
    ("dark", include_str!("../themes/dark.yaml")),
    ("light", include_str!("../themes/light.yaml")),
    (
        "high-contrast",
        include_str!("../themes/high-contrast.yaml"),
    ),
    ("mono", include_str!("../themes/mono.yaml")),
];

/// Which side of a diff a line belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DiffKind {
    Added,
    Removed,
    Changed,
    Context,
    HunkHeader,
    /// The changed words inside a changed line, old side.
    RemovedWord,
    /// The changed words inside a changed line, new side.
    AddedWord,
}

/// Why a theme could not be loaded. Every variant names the file (or built-in theme) at fault.
#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error(
        "unknown theme {name:?}: built-in themes are {available}; a theme file is a path to a .yaml file"
    )]
    Unknown { name: String, available: String },
    #[error("cannot read theme file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{origin}: {message}")]
    Parse {
        origin: String,
        line: Option<usize>,
        column: Option<usize>,
        message: String,
    },
    #[error(
        "{origin}: `extends: {name}` is not a built-in theme (built-in themes are {available})"
    )]
    UnknownBase {
        origin: String,
        name: String,
        available: String,
    },
    #[error("{origin}: the `extends` chain loops back on itself")]
    ExtendsCycle { origin: String },
    #[error("{origin}: does not define {}", missing.join(", "))]
    Incomplete {
        origin: String,
        missing: Vec<String>,
    },
}

impl ThemeError {
    /// The 1-based line of a parse error, when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            ThemeError::Parse { line, .. } => *line,
            _ => None,
        }
    }
}

/// A modifier name as written in a theme file.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum ModifierName {
    Bold,
    Dim,
    Italic,
    Underlined,
    Reversed,
    CrossedOut,
}

impl ModifierName {
    fn modifier(self) -> Modifier {
        match self {
            ModifierName::Bold => Modifier::BOLD,
            ModifierName::Dim => Modifier::DIM,
            ModifierName::Italic => Modifier::ITALIC,
            ModifierName::Underlined => Modifier::UNDERLINED,
            ModifierName::Reversed => Modifier::REVERSED,
            ModifierName::CrossedOut => Modifier::CROSSED_OUT,
        }
    }
}

struct ColorVisitor;

impl Visitor<'_> for ColorVisitor {
    type Value = Color;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a colour: a name such as red or lightblue, \"#rrggbb\", or an index 0-255")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Color, E> {
        u8::try_from(v)
            .map(Color::Indexed)
            .map_err(|_| E::custom(format!("colour index {v} is out of range 0-255")))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Color, E> {
        u8::try_from(v)
            .map(Color::Indexed)
            .map_err(|_| E::custom(format!("colour index {v} is out of range 0-255")))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Color, E> {
        Color::from_str(v).map_err(|_| {
            E::custom(format!(
                "unknown colour {v:?} (use a name such as red or lightblue, \"#rrggbb\", or 0-255)"
            ))
        })
    }
}

fn de_color<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Color>, D::Error> {
    d.deserialize_any(ColorVisitor).map(Some)
}

/// One style as written in a theme file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StyleSpec {
    #[serde(default, deserialize_with = "de_color")]
    fg: Option<Color>,
    #[serde(default, deserialize_with = "de_color")]
    bg: Option<Color>,
    #[serde(default)]
    modifiers: Vec<ModifierName>,
}

impl StyleSpec {
    fn style(&self) -> Style {
        let mut style = Style::default();
        if let Some(fg) = self.fg {
            style = style.fg(fg);
        }
        if let Some(bg) = self.bg {
            style = style.bg(bg);
        }
        self.modifiers
            .iter()
            .fold(style, |s, m| s.add_modifier(m.modifier()))
    }
}

/// Declares one group of slots: the file form (all optional) and the resolved form.
macro_rules! slot_group {
    ($spec:ident, $styles:ident, $group:literal, { $($field:ident => $key:literal),* $(,)? }) => {
        #[derive(Clone, Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct $spec {
            $( #[serde(rename = $key, default)] $field: Option<StyleSpec>, )*
        }

        #[derive(Clone, Debug, PartialEq, Eq)]
        struct $styles {
            $( $field: Style, )*
        }

        impl $spec {
            /// Slots set in `over` replace the ones here.
            fn overlay(&mut self, over: $spec) {
                $( if over.$field.is_some() { self.$field = over.$field; } )*
            }

            /// The styles, or the names of the slots that are not set.
            fn resolve(&self) -> Result<$styles, Vec<String>> {
                let mut missing = Vec::new();
                $(
                    let $field = self.$field.as_ref().map(StyleSpec::style);
                    if $field.is_none() {
                        missing.push(format!("{}.{}", $group, $key));
                    }
                )*
                match ($( $field, )*) {
                    ($( Some($field), )*) => Ok($styles { $( $field, )* }),
                    _ => Err(missing),
                }
            }
        }
    };
}

slot_group!(UiSpec, UiStyles, "ui", {
    text => "text",
    title => "title",
    header => "header",
    border => "border",
    border_focused => "border-focused",
    selection => "selection",
    dim => "dim",
    key_hint => "key-hint",
    badge_read_only => "badge-read-only",
    warning => "warning",
    error => "error",
    info => "info",
    stale => "stale",
    tree_lines => "tree-lines",
    matched => "match",
});

slot_group!(StateSpec, StateStyles, "states", {
    ready => "ready",
    failed => "failed",
    reconciling => "reconciling",
    suspended => "suspended",
    blocked => "blocked",
    cycle => "cycle",
    drifted => "drifted",
    pending => "pending",
    unknown => "unknown",
    deleting => "deleting",
});

slot_group!(DiffSpec, DiffStyles, "diff", {
    added => "added",
    removed => "removed",
    changed => "changed",
    context => "context",
    hunk_header => "hunk-header",
    removed_word => "removed-word",
    added_word => "added-word",
});

/// A theme file as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    #[serde(default)]
    extends: Option<String>,
    #[serde(default)]
    ui: UiSpec,
    #[serde(default)]
    states: StateSpec,
    #[serde(default)]
    diff: DiffSpec,
}

impl ThemeFile {
    fn parse(text: &str, origin: &str) -> Result<ThemeFile, ThemeError> {
        // A file holding only comments is an empty theme, not an error.
        let has_content = text
            .lines()
            .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
        if !has_content {
            return Ok(ThemeFile::default());
        }
        serde_yaml::from_str(text).map_err(|e| ThemeError::Parse {
            origin: origin.to_string(),
            line: e.location().map(|l| l.line()),
            column: e.location().map(|l| l.column()),
            message: e.to_string(),
        })
    }

    fn overlay(&mut self, over: ThemeFile) {
        self.ui.overlay(over.ui);
        self.states.overlay(over.states);
        self.diff.overlay(over.diff);
    }
}

/// A loaded theme: one [`Style`] per meaning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Theme {
    name: String,
    ui: UiStyles,
    states: StateStyles,
    diff: DiffStyles,
}

fn available() -> String {
    Theme::embedded_names().join(", ")
}

fn embedded_source(name: &str) -> Option<&'static str> {
    EMBEDDED.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

fn embedded_origin(name: &str) -> String {
    format!("built-in theme {name}")
}

/// The merged slots of a built-in theme, following its `extends` chain.
fn embedded_spec(name: &str, depth: usize) -> Result<ThemeFile, ThemeError> {
    let origin = embedded_origin(name);
    if depth > EMBEDDED.len() {
        return Err(ThemeError::ExtendsCycle { origin });
    }
    let source = embedded_source(name).ok_or_else(|| ThemeError::Unknown {
        name: name.to_string(),
        available: available(),
    })?;
    let file = ThemeFile::parse(source, &origin)?;
    match file.extends.clone() {
        None => Ok(file),
        Some(base) => {
            if embedded_source(&base).is_none() {
                return Err(ThemeError::UnknownBase {
                    origin,
                    name: base,
                    available: available(),
                });
            }
            let mut spec = embedded_spec(&base, depth + 1)?;
            spec.overlay(file);
            Ok(spec)
        }
    }
}

fn looks_like_path(s: &str) -> bool {
    s.contains('/')
        || s.contains('\\')
        || s.ends_with(".yaml")
        || s.ends_with(".yml")
        || Path::new(s).is_file()
}

impl Theme {
    /// The names of the built-in themes.
    pub fn embedded_names() -> Vec<&'static str> {
        EMBEDDED.iter().map(|(n, _)| *n).collect()
    }

    /// Whether `name` is a built-in theme.
    pub fn is_embedded(name: &str) -> bool {
        embedded_source(name).is_some()
    }

    /// Load a theme by built-in name or file path. With none given, `dark`, or `mono` when
    /// `no_color` is set (pass `no_color_requested()`); a theme chosen explicitly (flag or
    /// config) wins over `NO_COLOR`, as no-color.org asks.
    pub fn load(name_or_path: Option<&str>, no_color: bool) -> Result<Theme, ThemeError> {
        let choice = match name_or_path {
            Some(s) => s,
            None if no_color => NO_COLOR_THEME,
            None => DEFAULT_THEME,
        };
        if Theme::is_embedded(choice) {
            return Theme::embedded(choice);
        }
        if !looks_like_path(choice) {
            return Err(ThemeError::Unknown {
                name: choice.to_string(),
                available: available(),
            });
        }
        Theme::from_file(Path::new(choice))
    }

    /// A built-in theme by name.
    pub fn embedded(name: &str) -> Result<Theme, ThemeError> {
        let spec = embedded_spec(name, 0)?;
        Theme::resolve(name, &embedded_origin(name), &spec)
    }

    /// A user theme file: its slots over its `extends` theme (`dark` when not given).
    pub fn from_file(path: &Path) -> Result<Theme, ThemeError> {
        let text = std::fs::read_to_string(path).map_err(|source| ThemeError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        Theme::from_user_yaml(&name, &path.display().to_string(), &text)
    }

    /// A user theme given as text; `origin` names it in errors (usually the file path).
    pub fn from_user_yaml(name: &str, origin: &str, text: &str) -> Result<Theme, ThemeError> {
        let file = ThemeFile::parse(text, origin)?;
        let base = file
            .extends
            .clone()
            .unwrap_or_else(|| DEFAULT_THEME.to_string());
        if !Theme::is_embedded(&base) {
            return Err(ThemeError::UnknownBase {
                origin: origin.to_string(),
                name: base,
                available: available(),
            });
        }
        let mut spec = embedded_spec(&base, 0)?;
        spec.overlay(file);
        Theme::resolve(name, origin, &spec)
    }

    fn resolve(name: &str, origin: &str, spec: &ThemeFile) -> Result<Theme, ThemeError> {
        let mut missing = Vec::new();
        let ui = spec.ui.resolve().map_err(|m| missing.extend(m)).ok();
        let states = spec.states.resolve().map_err(|m| missing.extend(m)).ok();
        let diff = spec.diff.resolve().map_err(|m| missing.extend(m)).ok();
        match (ui, states, diff) {
            (Some(ui), Some(states), Some(diff)) => Ok(Theme {
                name: name.to_string(),
                ui,
                states,
                diff,
            }),
            _ => Err(ThemeError::Incomplete {
                origin: origin.to_string(),
                missing,
            }),
        }
    }

    /// The theme's name (a built-in name, or the file's stem).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The style of a health state (used with its glyph and word, never alone).
    pub fn state(&self, health: Health) -> Style {
        let s = &self.states;
        match health {
            Health::Ready => s.ready,
            Health::Failed => s.failed,
            Health::Reconciling => s.reconciling,
            Health::Suspended => s.suspended,
            Health::Blocked => s.blocked,
            Health::Cycle => s.cycle,
            Health::Drifted => s.drifted,
            Health::Pending => s.pending,
            Health::Unknown => s.unknown,
            Health::Deleting => s.deleting,
        }
    }

    /// The style of a diff line.
    pub fn diff(&self, kind: DiffKind) -> Style {
        let d = &self.diff;
        match kind {
            DiffKind::Added => d.added,
            DiffKind::Removed => d.removed,
            DiffKind::Changed => d.changed,
            DiffKind::Context => d.context,
            DiffKind::HunkHeader => d.hunk_header,
            DiffKind::RemovedWord => d.removed_word,
            DiffKind::AddedWord => d.added_word,
        }
    }

    /// Pane borders; the focused pane stands out.
    pub fn border(&self, focused: bool) -> Style {
        if focused {
            self.ui.border_focused
        } else {
            self.ui.border
        }
    }

    /// Plain text.
    pub fn text(&self) -> Style {
        self.ui.text
    }
    /// Pane titles.
    pub fn title(&self) -> Style {
        self.ui.title
    }
    /// The header bar (context, namespace, counts).
    pub fn header(&self) -> Style {
        self.ui.header
    }
    /// The READ-ONLY badge in the header.
    pub fn badge_read_only(&self) -> Style {
        self.ui.badge_read_only
    }
    /// The selected row.
    pub fn selection(&self) -> Style {
        self.ui.selection
    }
    /// Secondary text (ages, namespaces, descriptions).
    pub fn dim(&self) -> Style {
        self.ui.dim
    }
    /// Keys in the hint bar and the help screen.
    pub fn key_hint(&self) -> Style {
        self.ui.key_hint
    }
    /// Warnings (flash messages, keymap warnings).
    pub fn warning(&self) -> Style {
        self.ui.warning
    }
    /// Errors (failed actions, unreachable API).
    pub fn error(&self) -> Style {
        self.ui.error
    }
    /// Neutral notices.
    pub fn info(&self) -> Style {
        self.ui.info
    }
    /// Data that may be out of date (watch reconnecting).
    pub fn stale(&self) -> Style {
        self.ui.stale
    }
    /// Tree guide lines.
    pub fn tree_lines(&self) -> Style {
        self.ui.tree_lines
    }
    /// Text matching the current filter.
    pub fn matched(&self) -> Style {
        self.ui.matched
    }
}

/// Whether `NO_COLOR` asks for no colour: set and not empty (no-color.org).
pub fn no_color_requested(value: Option<&std::ffi::OsStr>) -> bool {
    value.is_some_and(|v| !v.is_empty())
}

#[cfg(test)]
mod tests;
