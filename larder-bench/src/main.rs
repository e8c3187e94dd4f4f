//! larder's side-by-side benchmarks against moka, quick_cache, mini-moka and a
//! `Mutex<lru::LruCache>` baseline, all in one run so that their ratios are comparable.
//!
//! ```text
//! cargo run --release -p larder-bench -- <throughput|traces|memory|flight|misses|batch|stores|codecs|chaos|tiers|all> [options]
//!
//!   --write PATH     also replace the scenario's section in PATH (e.g. docs/BENCHMARKS.md),
//!                    and write its SVG plots (traces, throughput) to plots/ beside PATH;
//!                    chaos's section goes to RELIABILITY.md beside PATH
//!   --quick          a smoke run: a tenth of the throughput and misses ops, memory at 100k only,
//!                    tiers with 2 rounds and a tenth of its operations
//!   --only A,B       traces: only these traces (names as in shared/traces/README.md);
//!                    tiers: only these parts (l1, l2, herd, invalidation, down);
//!                    throughput: `expiry` runs only the get-hit with expiry rows,
//!                    `get-hit` only the get-hit rows
//!   --seed N         seed larder's hasher with N (foldhash, as by default), so that a traces
//!                    replay repeats exactly; random per cache otherwise
//!   --kinds A,B      traces: only these caches (labels as in the tables, e.g. "larder S3-FIFO")
//! ```
//!
//! The report is markdown on stdout; progress goes to stderr. Traces are read from
//! `$LARDER_TRACES`, or `../shared/traces` relative to the workspace root.

mod agent;
mod batch;
mod chaos;
mod codecs;
mod decode;
mod expiry_hits;
mod flight;
#[cfg(feature = "count-alloc")]
mod memory;
mod misses;
mod ops;
mod opt;
mod peers;
mod plot;
mod report;
mod stores;
mod throughput;
mod tiers;
mod traces;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;

use report::Section;

/// Counts live heap bytes for the `memory` scenario: one relaxed atomic add per allocation and
/// per free, the same for every cache.
#[cfg(feature = "count-alloc")]
#[global_allocator]
static ALLOCATOR: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

/// The parsed command line.
#[derive(Debug, Default)]
struct Args {
    scenarios: Vec<String>,
    write: Option<PathBuf>,
    quick: bool,
    only: Vec<String>,
    kinds: Vec<String>,
}

const USAGE: &str = "usage: larder-bench <throughput|traces|memory|flight|misses|batch|stores|codecs|chaos|tiers|all> \
                     [--write PATH] [--quick] [--only TRACE,TRACE] [--seed N] [--kinds CACHE,CACHE]";

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args::default();
    while let Some(arg) = argv.next() {
        match arg.as_str() {
            "--write" => {
                let path = argv.next().ok_or("--write needs a path")?;
                args.write = Some(PathBuf::from(path));
            }
            "--quick" => args.quick = true,
            "--only" => {
                let names = argv.next().ok_or("--only needs trace names")?;
                args.only = names.split(',').map(str::to_string).collect();
            }
            "--seed" => {
                let seed = argv.next().ok_or("--seed needs a number")?;
                let seed = seed
                    .parse()
                    .map_err(|_| format!("--seed {seed:?}: not a u64"))?;
                peers::fix_seed(seed);
            }
            "--kinds" => {
                let names = argv.next().ok_or("--kinds needs cache labels")?;
                args.kinds = names.split(',').map(str::to_string).collect();
            }
            "all" => args.scenarios.extend(
                [
                    "throughput",
                    "traces",
                    "memory",
                    "flight",
                    "misses",
                    "batch",
                    "stores",
                    "codecs",
                    "chaos",
                    "tiers",
                    "ops",
                    "agent",
                ]
                .map(String::from),
            ),
            "throughput" | "traces" | "memory" | "flight" | "misses" | "batch" | "stores"
            | "codecs" | "chaos" | "tiers" | "ops" | "agent" => args.scenarios.push(arg),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if args.scenarios.is_empty() {
        return Err("no scenario given".into());
    }
    Ok(args)
}

fn run(scenario: &str, args: &Args, command: &str) -> Result<Option<Section>, String> {
    match scenario {
        "throughput" => Ok(Some(throughput::run(
            &throughput::Config::new(args.quick),
            &args.only,
            command,
        ))),
        "traces" => traces::run(
            &traces::Config::new(args.only.clone(), args.kinds.clone()),
            command,
        )
        .map(Some)
        .map_err(|e| format!("traces: {e}")),
        "memory" => Ok(memory_section(args, command)),
        "flight" => Ok(Some(flight::run(command))),
        "misses" => Ok(Some(misses::run(misses::Config::new(args.quick), command))),
        "batch" => Ok(Some(batch::run(command))),
        "stores" => Ok(stores::run(command)),
        "codecs" => Ok(Some(codecs::run(command))),
        "chaos" => Ok(Some(chaos::run(command))),
        "tiers" => Ok(tiers::run(
            tiers::Size::new(args.quick),
            &args.only,
            command,
        )),
        "ops" => Ok(Some(ops::run(ops::Config::new(args.quick), command))),
        "agent" => Ok(Some(agent::run(args.quick, command))),
        _ => Err(format!("unknown scenario {scenario:?}")),
    }
}

#[cfg(feature = "count-alloc")]
fn memory_section(args: &Args, command: &str) -> Option<Section> {
    let sizes: &[u64] = if args.quick {
        &[100_000]
    } else {
        &[100_000, 1_000_000]
    };
    Some(memory::run(sizes, command))
}

#[cfg(not(feature = "count-alloc"))]
fn memory_section(_: &Args, _: &str) -> Option<Section> {
    eprintln!("memory: skipped (built without the count-alloc feature)");
    None
}

/// Where `--write path` puts `scenario`'s section: the chaos scenario's figures are about
/// reliability, not speed, and live in RELIABILITY.md beside `path` (so that `all --write
/// docs/BENCHMARKS.md` keeps them out of the benchmarks); every other scenario's in `path`.
fn document(path: &std::path::Path, scenario: &str) -> PathBuf {
    if scenario == "chaos" {
        path.with_file_name("RELIABILITY.md")
    } else {
        path.to_path_buf()
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    // The tiers scenario's child processes: this binary again, driven over its stdin.
    if argv.first().map(String::as_str) == Some("tiers-node") {
        return tiers::node::main(&argv[1..]);
    }
    let args = match parse(argv.clone().into_iter()) {
        Ok(args) => args,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("larder-bench: {msg}");
            }
            eprintln!("{USAGE}");
            return if msg.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    let command = format!("cargo run --release -p larder-bench -- {}", argv.join(" "));
    eprintln!("larder-bench: measuring {}", report::revision());
    for scenario in &args.scenarios {
        match run(scenario, &args, &command) {
            Ok(Some(section)) => {
                println!("{}", section.to_markdown());
                // Written as each scenario ends, so a later failure keeps the finished ones.
                if let Some(path) = &args.write {
                    let path = &document(path, scenario);
                    if let Err(e) = report::write_sections(path, &[section]) {
                        eprintln!("larder-bench: writing {}: {e}", path.display());
                        return ExitCode::FAILURE;
                    }
                    eprintln!(
                        "larder-bench: wrote the {scenario} section of {}",
                        path.display()
                    );
                }
            }
            Ok(None) => {}
            Err(msg) => {
                eprintln!("larder-bench: {msg}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
