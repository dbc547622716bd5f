//! The config file: `$XDG_CONFIG_HOME/fluxdeck/config.yaml` (or `--config PATH`).
//!
//! ```yaml
//! theme: dark                 # a built-in theme name or a theme file (relative to this file)
//! readOnly: false             # never write to any cluster
//! readOnlyContexts: [prod-*]  # read-only for contexts matching these globs
//! ascii: false                # ASCII glyphs instead of Unicode
//! keymap:                     # action id -> keys (a list, or one key); [] unbinds
//!   reconcile: [ctrl-r]
//!   quit: Q
//! ```
//!
//! A missing default file means defaults; a missing `--config` file, an unknown field or a bad
//! value is an error naming the file and line.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobMatcher};
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

use crate::theme::Theme;

/// The directory name under the XDG config and state dirs.
pub const APP_DIR: &str = "fluxdeck";
/// The config file name in the config dir.
pub const CONFIG_FILE: &str = "config.yaml";

/// Why the config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {} does not exist", path.display())]
    Missing { path: PathBuf },
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: {message}{}", path.display(), line_note(message, *line))]
    Parse {
        path: PathBuf,
        line: Option<usize>,
        column: Option<usize>,
        message: String,
    },
}

/// ` (line N)` when the parser's message does not say the line itself (it leaves out line 1,
/// column 1).
fn line_note(message: &str, line: Option<usize>) -> String {
    match line {
        Some(n) if !message.contains(" line ") => format!(" (line {n})"),
        _ => String::new(),
    }
}

impl ConfigError {
    /// The 1-based line of a parse error, when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::Parse { line, .. } => *line,
            _ => None,
        }
    }
}

/// A `readOnlyContexts` entry: the glob as written and its compiled form.
#[derive(Clone, Debug)]
pub struct ContextGlob {
    pattern: String,
    matcher: GlobMatcher,
}

impl ContextGlob {
    pub fn new(pattern: &str) -> Result<ContextGlob, globset::Error> {
        Ok(ContextGlob {
            pattern: pattern.to_string(),
            matcher: Glob::new(pattern)?.compile_matcher(),
        })
    }

    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    pub fn matches(&self, context: &str) -> bool {
        self.matcher.is_match(context)
    }
}

impl<'de> Deserialize<'de> for ContextGlob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ContextGlob, D::Error> {
        // Compiled inside the visitor so an error points at the entry's own line.
        struct V;
        impl Visitor<'_> for V {
            type Value = ContextGlob;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a context name glob such as prod-*")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ContextGlob, E> {
                ContextGlob::new(v).map_err(|e| E::custom(format!("bad glob {v:?}: {}", e.kind())))
            }
        }
        d.deserialize_str(V)
    }
}

/// Keys for one action: a single key string or a list.
struct KeyList(Vec<String>);

impl<'de> Deserialize<'de> for KeyList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<KeyList, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key such as ctrl-r, or a list of keys")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyList, E> {
                Ok(KeyList(vec![v.to_string()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<KeyList, A::Error> {
                let mut keys = Vec::new();
                while let Some(k) = seq.next_element::<String>()? {
                    keys.push(k);
                }
                Ok(KeyList(keys))
            }
        }
        d.deserialize_any(V)
    }
}

fn de_keymap<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Vec<String>>, D::Error> {
    let map = BTreeMap::<String, KeyList>::deserialize(d)?;
    Ok(map.into_iter().map(|(k, v)| (k, v.0)).collect())
}

/// The user's settings.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// A built-in theme name or a theme file path.
    #[serde(default)]
    pub theme: Option<String>,
    /// Read-only for every context.
    #[serde(default)]
    pub read_only: bool,
    /// Read-only for contexts matching any of these globs.
    #[serde(default)]
    pub read_only_contexts: Vec<ContextGlob>,
    /// Key overrides: action id -> keys (see `app::keys`).
    #[serde(default, deserialize_with = "de_keymap")]
    pub keymap: BTreeMap<String, Vec<String>>,
    /// ASCII glyphs instead of Unicode.
    #[serde(default)]
    pub ascii: bool,
    /// The file this was read from, if any.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// Why a session is read-only; shown by the header badge and the help screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadOnlyReason {
    /// `--read-only` on the command line.
    Flag,
    /// `readOnly: true` in the config file.
    Config,
    /// The context matched a `readOnlyContexts` glob.
    Context { context: String, pattern: String },
}

impl fmt::Display for ReadOnlyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadOnlyReason::Flag => f.write_str("--read-only"),
            ReadOnlyReason::Config => f.write_str("readOnly: true in the config file"),
            ReadOnlyReason::Context { context, pattern } => write!(
                f,
                "context {context:?} matches readOnlyContexts pattern {pattern:?}"
            ),
        }
    }
}

/// `$VAR` when set to an absolute path, else `home/fallback` (the XDG base directory rule).
pub fn xdg_dir(
    var: &str,
    home_fallback: &str,
    env: &dyn Fn(&str) -> Option<OsString>,
    home: Option<&Path>,
) -> Option<PathBuf> {
    env(var)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| home.map(|h| h.join(home_fallback)))
}

/// The user's home directory.
pub fn home_dir() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf())
}

/// The config file path for a given environment and home directory.
pub fn config_path_in(
    env: &dyn Fn(&str) -> Option<OsString>,
    home: Option<&Path>,
) -> Option<PathBuf> {
    xdg_dir("XDG_CONFIG_HOME", ".config", env, home).map(|d| d.join(APP_DIR).join(CONFIG_FILE))
}

/// The default config file path: `$XDG_CONFIG_HOME/fluxdeck/config.yaml`, or
/// `~/.config/fluxdeck/config.yaml`.
pub fn default_config_path() -> Option<PathBuf> {
    config_path_in(&|v| std::env::var_os(v), home_dir().as_deref())
}

impl Config {
    /// Read `path` (must exist), or the default file (defaults when it does not exist).
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        match path {
            Some(p) => Config::read(p, true),
            None => match default_config_path() {
                Some(p) => Config::read(&p, false),
                None => Ok(Config::default()),
            },
        }
    }

    fn read(path: &Path, required: bool) -> Result<Config, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::from_yaml(&text, path),
            Err(e) if e.kind() == io::ErrorKind::NotFound && !required => Ok(Config::default()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(ConfigError::Missing {
                path: path.to_path_buf(),
            }),
            Err(source) => Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Parse config text read from `path` (used in errors and to resolve a relative theme file).
    pub fn from_yaml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let has_content = text
            .lines()
            .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
        let mut config: Config = if has_content {
            serde_yaml::from_str(text).map_err(|e| ConfigError::Parse {
                path: path.to_path_buf(),
                line: e.location().map(|l| l.line()),
                column: e.location().map(|l| l.column()),
                message: e.to_string(),
            })?
        } else {
            Config::default()
        };
        if let Some(theme) = config.theme.take() {
            config.theme = Some(resolve_theme_path(
                &theme,
                path.parent(),
                home_dir().as_deref(),
            ));
        }
        config.source = Some(path.to_path_buf());
        Ok(config)
    }

    /// Whether the session is read-only, and why: the flag, then `readOnly`, then the first
    /// `readOnlyContexts` glob matching `context`.
    pub fn read_only_for(&self, cli_read_only: bool, context: &str) -> Option<ReadOnlyReason> {
        if cli_read_only {
            return Some(ReadOnlyReason::Flag);
        }
        if self.read_only {
            return Some(ReadOnlyReason::Config);
        }
        self.read_only_contexts
            .iter()
            .find(|g| g.matches(context))
            .map(|g| ReadOnlyReason::Context {
                context: context.to_string(),
                pattern: g.pattern().to_string(),
            })
    }
}

/// A theme file named in the config is relative to the config file's directory; `~/` is home.
fn resolve_theme_path(theme: &str, config_dir: Option<&Path>, home: Option<&Path>) -> String {
    if Theme::is_embedded(theme) {
        return theme.to_string();
    }
    if let (Some(rest), Some(home)) = (theme.strip_prefix("~/"), home) {
        return home.join(rest).display().to_string();
    }
    let looks_like_file =
        theme.contains('/') || theme.ends_with(".yaml") || theme.ends_with(".yml");
    match config_dir {
        Some(dir) if looks_like_file && Path::new(theme).is_relative() => {
            dir.join(theme).display().to_string()
        }
        _ => theme.to_string(),
    }
}

#[cfg(test)]
mod tests;
