//! The `e173gw` command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use e173gw::settings::{self, Settings};
use e173gw_core::config::env::ProcessEnv;

/// mimalloc: the SIP path allocates many small, short-lived buffers.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit status for a bad configuration (EX_USAGE).
const EXIT_CONFIG: u8 = 64;

/// SIP to GSM-modem call-routing gateway for Huawei E173-class dongles.
#[derive(Parser, Debug)]
#[command(name = "e173gw", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the gateway.
    Run(ConfigArg),
    /// Check a configuration and its modem profiles; print every problem with its key.
    CheckConfig(ConfigArg),
    /// Apply pending storage migrations (PostgreSQL schema, or the SQLite file), then exit.
    Migrate(ConfigArg),
    /// Screen a number with the configured filter rules, without placing a call: prints
    /// the trace of every stage and the verdict. Exit status 0 allowed, 1 rejected,
    /// 2 diverted to the agent.
    CheckNumber {
        #[command(flatten)]
        config: ConfigArg,
        #[command(flatten)]
        args: e173gw::check_number::CheckNumberArgs,
    },
    /// Run the pty modem simulator, or send it a command.
    Sim(e173gw::sim_cmd::SimArgs),
    /// Print the running gateway's modems as a table (state and its reason, signal,
    /// operator, calls today, limits left, last error).
    Modems(e173gw::ops_cmd::OpsArgs),
    /// Print the running gateway's calls in progress as a table.
    Calls(e173gw::ops_cmd::OpsArgs),
}

#[derive(clap::Args, Debug)]
struct ConfigArg {
    /// Configuration file (TOML). Every key can be overridden with E173GW_<SECTION>__<KEY>.
    #[arg(
        long,
        short,
        env = "E173GW_CONFIG",
        default_value = "config/default.toml"
    )]
    config: PathBuf,
}

fn load_or_report(path: &std::path::Path) -> Result<Settings, ExitCode> {
    settings::load(path, &ProcessEnv).map_err(|problems| {
        eprintln!("{}: {problems}", path.display());
        ExitCode::from(EXIT_CONFIG)
    })
}

fn print_ops(what: &str, args: &e173gw::ops_cmd::OpsArgs) -> ExitCode {
    match actix::System::new().block_on(e173gw::ops_cmd::run(what, args)) {
        Ok(text) => {
            #[allow(clippy::print_stdout)]
            {
                print!("{text}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("e173gw {what}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig(ConfigArg { config }) => match load_or_report(&config) {
            Ok(s) => {
                #[allow(clippy::print_stdout)]
                {
                    println!(
                        "{}: ok ({} configured devices, discovery {:?}, {} profiles: {})",
                        config.display(),
                        s.config.modems.device.len(),
                        s.config.modems.discovery.mode,
                        s.profiles.len(),
                        s.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
                    );
                }
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Run(ConfigArg { config }) => {
            let s = match load_or_report(&config) {
                Ok(s) => s,
                Err(code) => return code,
            };
            let _log = e173gw::logging::init(&s.config.log);
            let result = actix::System::new().block_on(e173gw::app::run(s));
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = %anyhow::Error::from(e), "Gateway failed.");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Migrate(ConfigArg { config }) => {
            let s = match load_or_report(&config) {
                Ok(s) => s,
                Err(code) => return code,
            };
            let _log = e173gw::logging::init(&s.config.log);
            let done = actix::System::new()
                .block_on(e173gw::storage::migrate(&s.config.storage, &s.base_dir));
            match done {
                Ok(report) => {
                    #[allow(clippy::print_stdout)]
                    {
                        println!("{report}");
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("e173gw migrate: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::CheckNumber { config, args } => {
            let s = match load_or_report(&config.config) {
                Ok(s) => s,
                Err(code) => return code,
            };
            let done = actix::System::new().block_on(e173gw::check_number::check(&s, &args));
            match done {
                Ok((v, text)) => {
                    #[allow(clippy::print_stdout)]
                    {
                        print!("{text}");
                    }
                    ExitCode::from(e173gw::check_number::exit_code(&v))
                }
                Err(e) => {
                    eprintln!("e173gw check-number: {e}");
                    ExitCode::from(3)
                }
            }
        }
        Command::Modems(args) => print_ops("modems", &args),
        Command::Calls(args) => print_ops("calls", &args),
        Command::Sim(args) => match e173gw::sim_cmd::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("e173gw sim: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}
