//! `beibao-fixtures`: regenerate the Shanting fixtures, check them, or print a summary.
//!
//! ```text
//! beibao-fixtures generate [--dir fixtures]   # rewrite geo/ and registry/ from the fixed seed
//! beibao-fixtures summary  [--dir fixtures] [--lang zh-CN|en]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use beibao_core::text::Lang;
use beibao_fixtures::{default_dir, generate, load, summary};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut dir = default_dir();
    let mut lang = Lang::Zh;
    let mut verb = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--dir" => match it.next() {
                Some(d) => dir = PathBuf::from(d),
                None => return usage("--dir needs a directory"),
            },
            "--lang" => match it.next().map(String::as_str) {
                Some("zh-CN" | "zh") => lang = Lang::Zh,
                Some("en") => lang = Lang::En,
                _ => return usage("--lang takes zh-CN or en"),
            },
            "generate" | "summary" if verb.is_none() => verb = Some(arg.clone()),
            other => return usage(&format!("unknown argument `{other}`")),
        }
    }
    match verb.as_deref() {
        Some("generate") => {
            let generated = generate::generate(generate::SEED);
            match generate::write(&dir, &generated) {
                Ok(()) => {
                    println!("fixtures written to {}", dir.display());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&format!("cannot write fixtures to {}: {e}", dir.display())),
            }
        }
        Some("summary") => match load(&dir) {
            Ok(fixtures) => {
                print!("{}", summary::render(&fixtures, lang));
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e.to_string()),
        },
        _ => usage("choose a verb: generate or summary"),
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("beibao-fixtures: {problem}\nusage: beibao-fixtures (generate | summary) [--dir DIR] [--lang zh-CN|en]");
    ExitCode::from(2)
}

fn fail(message: &str) -> ExitCode {
    eprintln!("beibao-fixtures: {message}");
    ExitCode::FAILURE
}
