//! Command-line interface: the TUI (default), `demo`, `sim`, and the one-shot commands
//! (`tree`, `status`, `why`, `diff`, the actions).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// A terminal UI for Flux CD: the live tree of Kustomizations, HelmReleases and the objects
/// they manage, with health, dependencies, diffs and safe actions.
///
/// Without a subcommand, fluxdeck opens the TUI on the current kube context.
#[derive(Debug, Parser)]
#[command(name = "fluxdeck", version, after_help = after_help())]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Global flags that mean nothing to the simulated cluster (`fluxdeck sim`): hidden from its
/// help, refused when given.
const NOT_FOR_SIM: [&str; 8] = [
    "kubeconfig",
    "context",
    "namespace",
    "read_only",
    "theme",
    "show_secrets",
    "ascii",
    "config",
];

/// Global flags that a subcommand never reads, hidden from its help: the TUI's look
/// (`--theme`) means nothing to a one-shot command, `--ascii` nothing to one that prints no
/// glyphs, the demo connects to its own cluster (no kubeconfig or context). `sim` is
/// [`NOT_FOR_SIM`] (there they are refused too).
fn unused_flags(path: &[&str]) -> &'static [&'static str] {
    match path {
        ["sim"] => &NOT_FOR_SIM,
        ["demo"] => &["kubeconfig", "context"],
        ["tree" | "status" | "why"] => &["theme", "show_secrets"],
        ["reconcile" | "suspend" | "resume" | "rollback"] => {
            &["theme", "show_secrets", "ascii", "namespace"]
        }
        ["history"] => &["theme", "show_secrets", "ascii", "namespace", "read_only"],
        // A read-only session's drift sends no apply dry-run.
        ["diff", "drift"] => &["theme", "namespace"],
        ["diff", ..] => &["theme", "read_only", "namespace"],
        _ => &[],
    }
}

/// The command line as clap sees it: [`Cli`], with the global flags a subcommand does not
/// read hidden from its help ([`unused_flags`]).
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    // Building propagates the global flags into the subcommands, where they can be hidden.
    cmd.build();
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        cmd = cmd.mut_subcommand(&name, |sub| hide_unused(sub, &[name.as_str()]));
    }
    cmd
}

fn hide_unused(mut sub: clap::Command, path: &[&str]) -> clap::Command {
    let unused = unused_flags(path);
    sub = sub.mut_args(|a| {
        let hide = a.is_hide_set() || unused.contains(&a.get_id().as_str());
        a.hide(hide)
    });
    let names: Vec<String> = sub
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        let mut deeper = path.to_vec();
        deeper.push(name.as_str());
        sub = sub.mut_subcommand(&name, |s| hide_unused(s, &deeper));
    }
    sub
}

/// Parse the process's arguments (exits with usage on errors, as clap does).
pub fn parse() -> Cli {
    use clap::FromArgMatches;
    let mut matches = command().get_matches();
    Cli::from_arg_matches_mut(&mut matches).unwrap_or_else(|e| e.exit())
}

impl GlobalArgs {
    /// The flags given that the simulated cluster ignores (`--theme`, …), as typed.
    pub fn not_for_sim(&self) -> Vec<&'static str> {
        let given = [
            (self.kubeconfig.is_some(), "--kubeconfig"),
            (self.context.is_some(), "--context"),
            (self.namespace.is_some(), "--namespace"),
            (self.read_only, "--read-only"),
            (self.theme.is_some(), "--theme"),
            (self.show_secrets, "--show-secrets"),
            (self.ascii, "--ascii"),
            (self.config.is_some(), "--config"),
        ];
        given
            .into_iter()
            .filter_map(|(set, flag)| set.then_some(flag))
            .collect()
    }
}

fn after_help() -> String {
    format!(
        "Logs are written to {} (override with --log-file; level with FLUXDECK_LOG).\n\
         Config is read from {}.",
        crate::runtime::logging::default_log_path().map_or_else(
            || "(no state directory)".to_string(),
            |p| p.display().to_string()
        ),
        crate::config::default_config_path().map_or_else(
            || "(no config directory)".to_string(),
            |p| p.display().to_string()
        )
    )
}

/// Flags shared by the TUI and the commands that talk to a cluster.
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster).
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,

    /// Kube context to use (default: the current context).
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,

    /// Only show objects in this namespace (default: all namespaces).
    #[arg(short = 'n', long, global = true, value_name = "NAME", value_parser = namespace_name)]
    pub namespace: Option<String>,

    /// Start read-only: no action can write to the cluster, and it cannot be switched off in-session.
    #[arg(long, global = true)]
    pub read_only: bool,

    /// Theme: dark, light, high-contrast, mono, or a YAML file overriding part of a theme.
    #[arg(long, global = true, value_name = "NAME|FILE")]
    pub theme: Option<String>,

    /// Show the values of Secrets in the YAML view (hidden by default: keys and lengths only).
    /// Helm release records stay hidden.
    #[arg(long, global = true)]
    pub show_secrets: bool,

    /// Use ASCII glyphs and tree lines instead of Unicode.
    #[arg(long, global = true)]
    pub ascii: bool,

    /// Write logs to this file instead of the default state directory.
    #[arg(long, global = true, value_name = "PATH")]
    pub log_file: Option<PathBuf>,

    /// Read the config from this file instead of the default location.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
}

pub use crate::domain::flux::namespace_name;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the simulated cluster in-process and open the TUI on it.
    Demo(DemoArgs),
    /// Run the simulated cluster (a Kubernetes API server on loopback with Flux behaviour).
    Sim(SimArgs),
    /// Print the tree of Kustomizations, HelmReleases and managed objects with their states.
    Tree(TreeArgs),
    /// Print the unhealthy Flux objects; exit 0 when all are healthy, 1 when any is failing, 2 on errors.
    Status(OutputArgs),
    /// Print why a Kustomization or HelmRelease is not ready: the dependency chain to the root cause.
    Why(WhyArgs),
    /// Ask Flux to reconcile an object now and wait for the outcome (exit 0 Ready, 1 failed or timed out, 2 error).
    Reconcile(ReconcileArgs),
    /// Suspend an object: Flux leaves it alone until it is resumed.
    Suspend(TargetArgs),
    /// Resume a suspended object and wait for the reconcile that follows.
    Resume(ResumeArgs),
    /// Print the Helm release history of a HelmRelease (from its storage Secrets).
    History(HistoryArgs),
    /// Roll a HelmRelease back to an earlier Helm revision, Flux-safe: suspends it first and leaves it suspended.
    Rollback(RollbackArgs),
    /// Print a unified diff of a HelmRelease's values or drift (exit 0 no difference, 1 differences, 2 error).
    Diff(DiffArgs),
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(subcommand)]
    pub what: DiffCommand,
}

#[derive(Debug, Subcommand)]
pub enum DiffCommand {
    /// Values: deployed release vs desired (spec.values + valuesFrom as Flux would compose them now), or two revisions.
    Values(DiffValuesArgs),
    /// Drift: each live object of the release vs what helm-controller would apply (a server-side apply dry-run).
    Drift(DiffDriftArgs),
}

#[derive(Debug, Args)]
pub struct DiffValuesArgs {
    /// The HelmRelease: NAMESPACE/NAME or hr/NAMESPACE/NAME.
    #[arg(value_name = "HR")]
    pub object: String,

    /// Compare revision A with the deployed one (A), or revision A with revision B (A..B).
    #[arg(long, value_name = "A[..B]", value_parser = parse_revisions)]
    pub revision: Option<Revisions>,

    /// Compare computed values (chart defaults coalesced under the values).
    #[arg(long)]
    pub computed: bool,

    #[command(flatten)]
    pub out: OutputArgs,
}

#[derive(Debug, Args)]
pub struct DiffDriftArgs {
    /// The HelmRelease: NAMESPACE/NAME or hr/NAMESPACE/NAME.
    #[arg(value_name = "HR")]
    pub object: String,

    #[command(flatten)]
    pub out: OutputArgs,
}

/// `--revision A` (A vs the deployed revision) or `A..B`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Revisions {
    pub a: i64,
    /// `None`: the deployed revision.
    pub b: Option<i64>,
}

/// `A` or `A..B`, revisions from 1.
fn parse_revisions(text: &str) -> Result<Revisions, String> {
    let revision = |t: &str| {
        t.trim()
            .parse::<i64>()
            .ok()
            .filter(|v| *v >= 1)
            .ok_or_else(|| format!("{text:?}: expected a revision (1, 2, …) or A..B, e.g. 3..5"))
    };
    match text.split_once("..") {
        Some((a, b)) => Ok(Revisions {
            a: revision(a)?,
            b: Some(revision(b)?),
        }),
        None => Ok(Revisions {
            a: revision(text)?,
            b: None,
        }),
    }
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The HelmRelease: hr/NAMESPACE/NAME.
    #[arg(value_name = "hr/NAMESPACE/NAME")]
    pub object: String,

    #[command(flatten)]
    pub out: OutputArgs,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The HelmRelease: hr/NAMESPACE/NAME.
    #[arg(value_name = "hr/NAMESPACE/NAME")]
    pub object: String,

    /// The revision to roll back to (default: the newest deployed or superseded one older than the latest).
    #[arg(long, value_name = "N")]
    pub to: Option<i64>,

    /// Do not ask: run the plan at once.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Scenario: an embedded name (demo, scale:hr=N,ks=M, ...) or a scenario YAML file.
    #[arg(long, default_value = "demo", value_name = "NAME|FILE")]
    pub scenario: String,

    /// How much faster than real time the simulated controllers run (0.01 to 10000).
    #[arg(long, default_value_t = 30.0, value_name = "X", value_parser = parse_speed)]
    pub speed: f64,
}

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Address to listen on; loopback only. Port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub listen: SocketAddr,

    /// Scenario: an embedded name (demo, scale:hr=N,ks=M, ...) or a scenario YAML file.
    #[arg(long, default_value = "demo", value_name = "NAME|FILE")]
    pub scenario: String,

    /// Write a kubeconfig pointing at the server (context `fluxdeck-sim`) to this path.
    #[arg(long, value_name = "PATH")]
    pub kubeconfig_out: Option<PathBuf>,

    /// Append one line per request (time, method, path, content type, user agent, status).
    #[arg(long, value_name = "PATH")]
    pub access_log: Option<PathBuf>,

    /// How much faster than real time the simulated controllers run (0.01 to 10000).
    #[arg(long, default_value_t = 1.0, value_name = "X", value_parser = parse_speed)]
    pub speed: f64,
}

/// `--speed`: a finite number in the simulated cluster's range.
fn parse_speed(text: &str) -> Result<f64, String> {
    let speed: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    crate::sim::cluster::check_speed(speed).map_err(|_| {
        format!(
            "must be a number from {} to {}",
            crate::sim::cluster::MIN_SPEED,
            crate::sim::cluster::MAX_SPEED
        )
    })
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct TreeArgs {
    #[command(flatten)]
    pub out: OutputArgs,
}

#[derive(Debug, Args)]
pub struct WhyArgs {
    /// The object: KIND/NAMESPACE/NAME, KIND is helmrelease|hr or kustomization|ks.
    #[arg(value_name = "KIND/NAMESPACE/NAME")]
    pub object: String,

    #[command(flatten)]
    pub out: OutputArgs,
}

/// A duration as Flux and Go write them: `30s`, `5m`, `1h30m`, `1.5h`, `500ms`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DurationArg(pub std::time::Duration);

impl std::str::FromStr for DurationArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("{text:?} is not a duration (e.g. 30s, 5m, 1h30m)");
        let mut total = 0f64;
        let mut rest = text.trim();
        if rest.is_empty() {
            return Err(bad());
        }
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(bad)?;
            let number: f64 = rest[..digits].parse().map_err(|_| bad())?;
            rest = &rest[digits..];
            let (unit, len) = if rest.starts_with("ms") {
                (0.001, 2)
            } else if rest.starts_with('s') {
                (1.0, 1)
            } else if rest.starts_with('m') {
                (60.0, 1)
            } else if rest.starts_with('h') {
                (3600.0, 1)
            } else {
                return Err(bad());
            };
            total += number * unit;
            rest = &rest[len..];
        }
        // At most a week: longer waits are surely a typo.
        std::time::Duration::try_from_secs_f64(total)
            .ok()
            .filter(|d| !d.is_zero() && d.as_secs() <= 7 * 24 * 3600)
            .map(DurationArg)
            .ok_or_else(|| format!("{text:?}: a duration from 1ms to 168h"))
    }
}

#[derive(Debug, Args)]
pub struct TargetArgs {
    /// The object: KIND/NAMESPACE/NAME; KIND is any Flux kind, plural or short name (hr, ks, gitrepo, helmrepo, ocirepo, hc, bucket).
    #[arg(value_name = "KIND/NAMESPACE/NAME")]
    pub object: String,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The object: KIND/NAMESPACE/NAME; KIND is any Flux kind, plural or short name (hr, ks, gitrepo, helmrepo, ocirepo, hc, bucket).
    #[arg(value_name = "KIND/NAMESPACE/NAME")]
    pub object: String,

    /// How long to wait for Flux to handle the request and the object to become Ready.
    #[arg(long, default_value = "5m", value_name = "DURATION")]
    pub timeout: DurationArg,
}

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// The object: KIND/NAMESPACE/NAME; KIND is any Flux kind, plural or short name (hr, ks, gitrepo, helmrepo, ocirepo, hc, bucket).
    #[arg(value_name = "KIND/NAMESPACE/NAME")]
    pub object: String,

    /// Reconcile the object's sources first, one after the other (Kustomization, HelmRelease).
    #[arg(long, conflicts_with_all = ["force", "reset"])]
    pub with_source: bool,

    /// HelmRelease: force a one-off install/upgrade (forceAt).
    #[arg(long, conflicts_with = "reset")]
    pub force: bool,

    /// HelmRelease: reset the remediation retry counters (resetAt).
    #[arg(long)]
    pub reset: bool,

    /// How long to wait for Flux to handle the request and the object to become Ready.
    #[arg(long, default_value = "5m", value_name = "DURATION")]
    pub timeout: DurationArg,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn speed_is_a_finite_number_in_range() {
        for bad in ["1e-20", "0", "-1", "nan", "inf", "1e9", "fast", ""] {
            let flag = format!("--speed={bad}");
            let err = Cli::try_parse_from(["fluxdeck", "demo", &flag]).unwrap_err();
            assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation, "{bad}");
            assert!(Cli::try_parse_from(["fluxdeck", "sim", &flag]).is_err());
        }
        match Cli::try_parse_from(["fluxdeck", "sim", "--speed", "0.5"])
            .unwrap()
            .command
        {
            Some(Command::Sim(s)) => assert_eq!(s.speed, 0.5),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn sim_help_lists_only_its_own_flags() {
        let mut cmd = command();
        let sim = cmd.find_subcommand_mut("sim").unwrap();
        let help = sim.render_help().to_string();
        for flag in [
            "--theme",
            "--read-only",
            "--ascii",
            "--kubeconfig <",
            "--namespace",
        ] {
            assert!(!help.contains(flag), "{flag} in sim help:\n{help}");
        }
        assert!(
            help.contains("--listen") && help.contains("--log-file"),
            "{help}"
        );
        // The TUI and the commands still list them.
        let tree = cmd
            .find_subcommand_mut("tree")
            .unwrap()
            .render_help()
            .to_string();
        assert!(tree.contains("--ascii"), "{tree}");
        let cli = Cli::try_parse_from(["fluxdeck", "sim", "--theme", "light"]).unwrap();
        assert_eq!(cli.global.not_for_sim(), ["--theme"]);
    }

    fn help_of(path: &[&str]) -> String {
        let mut cmd = command();
        let mut sub = &mut cmd;
        for name in path {
            sub = sub.find_subcommand_mut(name).unwrap();
        }
        sub.render_help().to_string()
    }

    #[test]
    fn help_lists_only_the_global_flags_a_subcommand_reads() {
        let absent: [(&[&str], &[&str]); 6] = [
            (&["reconcile"], &["--theme", "--ascii", "--show-secrets"]),
            (&["rollback"], &["--theme", "--ascii"]),
            (&["history"], &["--theme", "--read-only", "--ascii"]),
            (&["tree"], &["--theme", "--show-secrets"]),
            (&["diff", "values"], &["--theme", "--read-only"]),
            (&["demo"], &["--kubeconfig", "--context"]),
        ];
        for (path, flags) in absent {
            let help = help_of(path);
            for flag in flags {
                assert!(!help.contains(flag), "{flag} in {path:?} help:\n{help}");
            }
        }
        let present: [(&[&str], &[&str]); 5] = [
            (
                &["demo"],
                &["--theme", "--read-only", "--ascii", "--namespace"],
            ),
            (
                &["tree"],
                &["--ascii", "--read-only", "--namespace", "--context"],
            ),
            (&["reconcile"], &["--read-only", "--kubeconfig"]),
            (
                &["diff", "drift"],
                &["--ascii", "--show-secrets", "--read-only"],
            ),
            (&[], &["--theme", "--read-only", "--ascii"]),
        ];
        for (path, flags) in present {
            let help = help_of(path);
            for flag in flags {
                assert!(help.contains(flag), "{flag} not in {path:?} help:\n{help}");
            }
        }
    }

    #[test]
    fn revisions_are_a_or_a_to_b() {
        assert_eq!(parse_revisions("3"), Ok(Revisions { a: 3, b: None }));
        assert_eq!(parse_revisions("1..4"), Ok(Revisions { a: 1, b: Some(4) }));
        for bad in ["", "0", "-1", "x", "1..", "..2", "1..2..3", "1...2", "1.5"] {
            assert!(parse_revisions(bad).is_err(), "{bad}");
        }
        let cli = Cli::try_parse_from([
            "fluxdeck",
            "diff",
            "values",
            "default/backend",
            "--revision",
            "1..4",
            "-o",
            "json",
        ])
        .unwrap();
        match cli.command {
            Some(Command::Diff(DiffArgs {
                what: DiffCommand::Values(v),
            })) => {
                assert_eq!(v.revision, Some(Revisions { a: 1, b: Some(4) }));
                assert_eq!(v.out.output, OutputFormat::Json);
            }
            other => panic!("unexpected {other:?}"),
        }
        let err = Cli::try_parse_from(["fluxdeck", "diff", "values", "a/b", "--revision", "x"])
            .unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn durations_as_flux_writes_them() {
        use std::time::Duration;
        let d = |s: &str| s.parse::<DurationArg>().map(|d| d.0);
        assert_eq!(d("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(d("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(d("1.5m"), Ok(Duration::from_secs(90)));
        assert_eq!(d("500ms"), Ok(Duration::from_millis(500)));
        for bad in ["", "5", "m", "5x", "-1s", "0s", "200h", "1e9h"] {
            assert!(d(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn namespaces_must_be_dns_labels() {
        for good in ["apps", "a", "flux-system", "x1", &"a".repeat(63)] {
            assert!(namespace_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "a/b",
            "Apps",
            "-a",
            "a-",
            "a.b",
            "a b",
            &"a".repeat(64),
            "ä",
        ] {
            assert!(namespace_name(bad).is_err(), "{bad}");
        }
        let err = Cli::try_parse_from(["fluxdeck", "status", "-n", "a/b"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn global_flags_work_after_subcommands() {
        let cli = Cli::try_parse_from(["fluxdeck", "tree", "-o", "json", "--ascii", "-n", "apps"])
            .unwrap();
        assert!(cli.global.ascii);
        assert_eq!(cli.global.namespace.as_deref(), Some("apps"));
        match cli.command {
            Some(Command::Tree(t)) => assert_eq!(t.out.output, OutputFormat::Json),
            other => panic!("unexpected {other:?}"),
        }
    }
}
