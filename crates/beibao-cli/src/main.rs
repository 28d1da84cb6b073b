//! `beibao`: the officer's use cases from a terminal. Each verb is one call into beibao-field.
//!
//! The PIN comes from `--pin` or `BEIBAO_PIN`; `--now` sets the clock (demos and tests);
//! `--json` prints machine-readable output. Errors print `error[code]: message` and exit 1.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    let json = args.json;
    // The one runtime of the process: sync and enrollment run on it.
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error[internal]: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cli::run(args, &rt) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            if json {
                println!("{}", serde_json::json!({"code": e.code, "message": e.message}));
            } else {
                eprintln!("error[{}]: {}", e.code, e.message);
            }
            ExitCode::FAILURE
        }
    }
}
