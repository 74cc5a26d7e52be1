//! The `perfgate` command line: a thin layer over `perfgate_check` and `perfgate_report`.

use clap::{Parser, Subcommand, ValueEnum};
use perfgate_report::{Decision, Format};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod alloc;
mod bench;

#[derive(Parser)]
#[command(
    name = "perfgate",
    version,
    about = "Static performance and concurrency verifier for Rust and Python"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Analyse files and directories (default: .)
    Check(CheckArgs),
    /// List every rule, or show one rule's documentation
    Rules {
        /// A rule id, e.g. blocking-io-in-async
        id: Option<String>,
    },
    /// Record benchmark results into the history, or compare runs
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Read criterion, pytest-benchmark and hyperfine results and store them as one run
    Record(RecordArgs),
    /// Compare the latest run (or --current) with a baseline run
    Compare(CompareArgs),
}

#[derive(clap::Args)]
struct RecordArgs {
    /// Result files or folders (default: target/criterion)
    paths: Vec<PathBuf>,
    /// History database (default: .perfgate/history.sqlite)
    #[arg(long)]
    db: Option<PathBuf>,
    /// A name to find this run by (`--baseline NAME`)
    #[arg(long)]
    name: Option<String>,
    /// Commit (default: `git rev-parse HEAD`)
    #[arg(long)]
    commit: Option<String>,
    /// Branch (default: the current git branch)
    #[arg(long)]
    branch: Option<String>,
    #[arg(long)]
    quiet: bool,
}

#[derive(clap::Args)]
struct CompareArgs {
    /// The baseline: a run name, branch, commit or #id
    #[arg(long)]
    baseline: String,
    /// The run to judge (default: the latest)
    #[arg(long)]
    current: Option<String>,
    /// History database (default: .perfgate/history.sqlite)
    #[arg(long)]
    db: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    format: OutFormat,
    /// Smallest relative change that counts (default 0.05 = 5%)
    #[arg(long, default_value_t = 0.05)]
    min_effect: f64,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutFormat {
    Text,
    Markdown,
    Json,
    Sarif,
    Html,
}

#[derive(Clone, Copy, ValueEnum)]
enum FailOn {
    Warn,
    Fail,
    Never,
}

#[derive(clap::Args)]
struct CheckArgs {
    /// Files or directories to check
    paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    format: OutFormat,
    /// Write the report here instead of stdout (written atomically)
    #[arg(long)]
    output: Option<PathBuf>,
    /// Configuration file (default: discovered upward from the first path, stopping below
    /// the directories in PERFGATE_CONFIG_CEILING)
    #[arg(long)]
    config: Option<PathBuf>,
    /// Only these rules (ids or categories)
    #[arg(long, value_delimiter = ',')]
    select: Option<Vec<String>>,
    /// All rules but these (ids or categories)
    #[arg(long, value_delimiter = ',')]
    ignore: Vec<String>,
    /// Exit 1 at or above this decision (default: fail)
    #[arg(long, value_enum)]
    fail_on: Option<FailOn>,
    /// Worker threads (default: all cores)
    #[arg(long)]
    jobs: Option<usize>,
    /// No progress output on stderr
    #[arg(long)]
    quiet: bool,
    /// Also compare the latest recorded benchmark run with its baseline and check targets
    #[arg(long)]
    bench: bool,
    /// History database for --bench (default: the bench.db setting, else .perfgate/history.sqlite)
    #[arg(long)]
    db: Option<PathBuf>,
    /// Baseline run for --bench: a name, branch, commit or #id
    #[arg(long)]
    baseline: Option<String>,
}

fn main() -> ExitCode {
    alloc::init();
    perfgate_model::timings::mark("main");
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => check(args),
        Command::Rules { id } => rules(id.as_deref()),
        Command::Bench(BenchCommand::Record(a)) => bench::record(a),
        Command::Bench(BenchCommand::Compare(a)) => bench::compare(a),
    }
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("perfgate: error: {msg}");
    ExitCode::from(2)
}

fn check(args: CheckArgs) -> ExitCode {
    let started = std::time::Instant::now();
    let opts = perfgate_check::Options {
        paths: args.paths.clone(),
        config: args.config.clone(),
        select: args.select.clone(),
        ignore: args.ignore.clone(),
        jobs: args.jobs,
        exit_after: true,
        bench: args.bench.then(|| perfgate_check::bench::BenchOptions {
            db: args.db.clone(),
            baseline: args.baseline.clone(),
        }),
    };
    let outcome = match perfgate_check::run(&opts) {
        // The process exits once the report is written: left to the OS, the report's
        // strings (tens of thousands on a large project) are not freed one by one.
        Ok(o) => std::mem::ManuallyDrop::new(o),
        Err(e) => return fail(e),
    };
    let report = &outcome.report;
    let format = match args.format {
        OutFormat::Text => Format::Text,
        OutFormat::Markdown => Format::Markdown,
        OutFormat::Json => Format::Json,
        OutFormat::Sarif => Format::Sarif,
        OutFormat::Html => Format::Html,
    };
    let color = args.output.is_none()
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    // On the check's own worker threads: writers render in parallel.
    let write = |out: &mut (dyn Write + Send)| {
        outcome
            .workers
            .install(|| perfgate_report::write(report, format, color, out))
    };
    let written = match &args.output {
        Some(p) => write_output(p, write),
        None => {
            let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout());
            write(&mut out).and_then(|_| out.flush())
        }
    };
    perfgate_model::timings::mark("report");
    if let Err(e) = written {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            let target = args.output.as_deref().unwrap_or(Path::new("<stdout>"));
            return fail(format!("{}: {e}", target.display()));
        }
    }
    if !args.quiet {
        eprintln!(
            "perfgate: {} in {} files, {:.0?}",
            report.decision.as_str(),
            report.files.analyzed,
            started.elapsed()
        );
    }
    let fail_on = match args.fail_on {
        Some(FailOn::Warn) => Some(Decision::Warn),
        Some(FailOn::Fail) => Some(Decision::Fail),
        Some(FailOn::Never) => None,
        None => match outcome.config_fail_on.as_deref() {
            Some("warn") => Some(Decision::Warn),
            Some("never") => None,
            Some("fail") | None => Some(Decision::Fail),
            Some(other) => {
                return fail(format!(
                    "gate.fail-on = \"{other}\" in the configuration: expected warn, fail or never"
                ))
            }
        },
    };
    match fail_on {
        Some(threshold) if report.decision >= threshold => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    }
}

/// Write a report where `--output` says. A regular file (or a new one) is replaced
/// atomically: written beside it and renamed over it, so that a killed run never leaves half
/// a report. A symlink is followed, and the file it points to replaced. Anything else
/// (`/dev/null`, `/dev/stdout`, a named pipe) is written in place: renaming over it would
/// replace the device or pipe itself with a file.
fn write_output(
    path: &Path,
    write: impl FnOnce(&mut (dyn Write + Send)) -> std::io::Result<()>,
) -> std::io::Result<()> {
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        let f = std::fs::OpenOptions::new().write(true).open(path)?;
        let mut out = std::io::BufWriter::with_capacity(1 << 16, f);
        return write(&mut out).and_then(|_| out.flush());
    }
    // A symlink names the file to replace; one whose file does not exist yet names where to
    // create it.
    let target = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path).or_else(|_| {
            let to = std::fs::read_link(path)?;
            Ok::<_, std::io::Error>(path.parent().unwrap_or(Path::new(".")).join(to))
        })?,
        _ => path.to_path_buf(),
    };
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, tmp.as_file_mut());
        write(&mut out)?;
        out.flush()?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(&target).map_err(|e| e.error)?;
    Ok(())
}

fn rules(id: Option<&str>) -> ExitCode {
    let mut out = String::new();
    match id {
        None => {
            let metas = perfgate_rules::metas();
            let w = metas.iter().map(|m| m.id.len()).max().unwrap_or(0);
            out.push_str(&format!(
                "{:w$}  {:12} {:9} {:14} summary\n",
                "id", "category", "severity", "languages"
            ));
            for m in metas {
                let langs: Vec<&str> = m.languages.iter().map(|l| l.name()).collect();
                out.push_str(&format!(
                    "{:w$}  {:12} {:9} {:14} {}\n",
                    m.id,
                    m.category.as_str(),
                    m.severity.as_str(),
                    langs.join(","),
                    m.summary
                ));
            }
        }
        Some(id) => {
            let Some(m) = perfgate_rules::find(id) else {
                return fail(format!(
                    "unknown rule `{id}` (run `perfgate rules` for the list)"
                ));
            };
            let langs: Vec<&str> = m.languages.iter().map(|l| l.name()).collect();
            out.push_str(&format!(
                "# {}\n\n{}\n\nCategory: {} · Default severity: {} · Languages: {}\n\n{}",
                m.id,
                m.summary,
                m.category.as_str(),
                m.severity.as_str(),
                langs.join(", "),
                m.doc
            ));
        }
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    ExitCode::SUCCESS
}

#[cfg(test)]
mod scratch_tests {
    use perfgate_model::scratch;

    /// The address of a fresh block made in a scratch run.
    fn scratch_block() -> usize {
        scratch::run(
            || Box::new([7u8; 100]),
            |b| &**b as *const [u8; 100] as usize,
        )
    }

    #[test]
    fn scratch_memory_is_rewound_kept_copies_are_packed_and_panics_leave_it_alone() {
        crate::alloc::init();
        // What `keep` copies out outlives the run; the rest goes with it.
        let copied = scratch::run(
            || {
                let tree: Vec<Box<u64>> = (0..10_000).map(Box::new).collect();
                let total: u64 = tree.iter().map(|b| **b).sum();
                scratch::dispose(tree);
                (total, "made on scratch".to_string())
            },
            |made| made.1.clone() + &made.0.to_string(),
        );
        assert_eq!(copied, "made on scratch49995000");
        // Rewound: the next run's first block is where the last run's was.
        assert_eq!(scratch_block(), scratch_block());
        // A run inside a run allocates where the outer one does, and the outer one goes on
        // in its arena afterwards, right above what the inner one made.
        let (before, after) = scratch::run(
            || {
                let before = Box::new(1u64);
                let inner = scratch::run(|| vec![3u8; 100], |v| v.len());
                let after = Box::new(2u64);
                (
                    &*before as *const u64 as usize,
                    &*after as *const u64 as usize,
                    inner,
                )
            },
            |&(before, after, inner)| {
                assert_eq!(inner, 100);
                (before, after)
            },
        );
        assert!(
            after > before && after - before < 4096,
            "{before:x} {after:x}"
        );
        // Kept copies are packed end to end, and live on through later runs.
        let first = scratch::run(|| 1u8, |_| Box::new([1u8; 64]));
        let second = scratch::run(|| 2u8, |_| Box::new([2u8; 64]));
        let gap = &*second as *const [u8; 64] as usize - &*first as *const [u8; 64] as usize;
        assert_eq!(gap, 64);
        scratch::run(|| vec![[9u8; 64]; 1000], |v| v.len());
        assert!(first.iter().all(|&x| x == 1) && second.iter().all(|&x| x == 2));
        // A panic inside: its message was made on scratch memory, which is then left as it
        // is, so that later runs do not write over the message.
        let caught = std::panic::catch_unwind(|| {
            scratch::run(
                || -> Vec<u8> { panic!("{}", "front end bug ".repeat(4)) },
                |v| v.len(),
            )
        });
        let payload = caught.expect_err("the panic reaches the caller");
        let filler = scratch::run(|| vec!["x".repeat(56); 10_000], |v| v.len());
        let message = payload
            .downcast_ref::<String>()
            .expect("a formatted message");
        assert_eq!(
            message.trim_end(),
            "front end bug front end bug front end bug front end bug"
        );
        assert_eq!(filler, 10_000);
        // A run past what stays resident hands the pages above back; the next run that
        // reaches that far has them faulted in again, zeroed where it asks for zeros.
        for round in 0..2u8 {
            let seen = scratch::run(
                || {
                    let mut v = vec![0u8; 80 << 20];
                    let ends = [0, v.len() / 2, v.len() - 1];
                    let zeroed = ends.iter().all(|&i| v[i] == 0);
                    ends.iter().for_each(|&i| v[i] = round + 1);
                    (zeroed, ends.iter().map(|&i| v[i]).sum::<u8>())
                },
                |r| *r,
            );
            assert_eq!(seen, (true, 3 * (round + 1)));
        }
        // Outside runs, memory is the usual heap's: it lives on.
        let after: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
        assert_eq!(after[999], "999");
        // A lazy value a run makes first, for later, is made outside it (a source file's text
        // read again): it survives the run and the runs that reuse its memory, and the run
        // goes on in its arena after it, where it left off.
        let lazy = std::sync::OnceLock::new();
        let (before, after) = scratch::run(
            || {
                let before = Box::new(1u64);
                lazy.get_or_init(|| scratch::outside(|| "made for later ".repeat(8)));
                let after = Box::new(2u64);
                (
                    &*before as *const u64 as usize,
                    &*after as *const u64 as usize,
                )
            },
            |r| *r,
        );
        assert!(
            after > before && after - before < 64,
            "{before:x} {after:x}"
        );
        scratch::run(|| vec!["y".repeat(120); 10_000], |v| v.len());
        assert_eq!(
            lazy.get().map(String::as_str),
            Some(&*"made for later ".repeat(8))
        );
    }
}
