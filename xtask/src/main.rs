//! `cargo xtask`: the project's checks and tasks, in Rust so they run the same on
//! every machine. `cargo xtask --help` lists the commands.

mod bench;
mod browser;
mod demo;
mod e2e;
mod flags;
mod peers;
mod postgres;
mod test;
mod tools;

use std::process::ExitCode;

type Result<T = (), E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

fn main() -> ExitCode {
    let flags = flags::Xtask::from_env_or_exit();
    let result = match flags.subcommand {
        flags::XtaskCmd::Test(cmd) => test::run(&cmd),
        flags::XtaskCmd::Demo(cmd) => demo::run(&cmd),
        flags::XtaskCmd::Bench(cmd) => bench::run(&cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err}");
            ExitCode::FAILURE
        }
    }
}
