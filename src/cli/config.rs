//! `openum config [check|export|import FILE [--dry-run]]`: the whole model.
//! `check` (the default) validates a file and prints its objects; `export`
//! prints the model in force as TOML (no PIN); `import` replaces it with a
//! file's, validated whole (a file's PINs seed mailboxes that have none).

use super::{Common, change, config_text, model_doc, print_json};
use clap::Subcommand;
use std::path::PathBuf;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ConfigArgs {
    #[command(subcommand)]
    cmd: Option<ConfigCmd>,
    #[command(flatten)]
    common: Common,
}

#[derive(Subcommand)]
enum ConfigCmd {
    /// Validate the --config file (or the demo) and print its objects.
    Check {
        #[command(flatten)]
        common: Common,
    },
    /// Print the model in force (running server, else the store) as TOML.
    Export {
        #[command(flatten)]
        common: Common,
    },
    /// Replace the model with FILE's, validated whole.
    Import {
        #[command(flatten)]
        common: Common,
        file: PathBuf,
        /// Validate only; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

fn check(common: &Common) -> Result<(), String> {
    let (text, what) = config_text(common)?;
    let cfg = openum::config::Config::parse(&text, &openum::config::system_resolve)
        .map_err(|e| format!("{what}: {e}"))?;
    openum::server::startup::check_files(&cfg).map_err(|e| format!("{what}: {e}"))?;
    print_json(&cfg.directory)
}

pub fn run(a: ConfigArgs) -> Result<(), String> {
    match a.cmd {
        None => check(&a.common),
        Some(ConfigCmd::Check { common }) => check(&common),
        Some(ConfigCmd::Export { common }) => {
            let doc = model_doc(&common)?;
            print!("{}", toml::to_string(&doc).map_err(|e| e.to_string())?);
            Ok(())
        }
        Some(ConfigCmd::Import {
            common,
            file,
            dry_run,
        }) => {
            let text =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            // Checked as a file first, so that errors give their line.
            openum::config::Config::parse(&text, &openum::config::system_resolve)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            let c = serde_json::json!({"op": "import", "toml": text});
            let how = change(&common, c, serde_json::Value::Null, dry_run)?;
            if dry_run {
                println!("{}: valid; nothing changed (--dry-run)", file.display());
            } else {
                how.say(&format!(
                    "model replaced by {} (version {})",
                    file.display(),
                    how.answer()["version"]
                ));
            }
            Ok(())
        }
    }
}
