//! `openum huntgroup new|get|list|remove` (New-/Get-/Remove-UMHuntGroup): a
//! hunt group links an IP gateway and a pilot number to a dial plan.

use super::{Common, change, show_object};
use clap::Subcommand;
use openum::config::change::Kind;

#[derive(Subcommand)]
pub enum HuntGroupCmd {
    /// New-UMHuntGroup NAME --gateway G --pilot P --dial-plan D.
    New {
        #[command(flatten)]
        common: Common,
        name: String,
        #[arg(long)]
        gateway: String,
        /// The pilot identifier (empty: every call of the gateway).
        #[arg(long, default_value = "")]
        pilot: String,
        #[arg(long)]
        dial_plan: String,
    },
    /// Get-UMHuntGroup.
    Get {
        #[command(flatten)]
        common: Common,
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Every hunt group made (a gateway's default one is not listed).
    List {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        json: bool,
    },
    /// Remove-UMHuntGroup.
    Remove {
        #[command(flatten)]
        common: Common,
        name: String,
    },
}

pub fn run(cmd: HuntGroupCmd) -> Result<(), String> {
    match cmd {
        HuntGroupCmd::New {
            common,
            name,
            gateway,
            pilot,
            dial_plan,
        } => {
            let c = serde_json::json!({"op": "create", "kind": "hunt_group", "object": {
                "name": name, "gateway": gateway, "pilot": pilot, "dial_plan": dial_plan}});
            change(&common, c, serde_json::Value::Null, false)?.say(&format!(
                "UM hunt group {name} created: pilot {pilot:?} on {gateway} → dial plan {dial_plan}"
            ));
            Ok(())
        }
        HuntGroupCmd::Get { common, name, json } => {
            show_object(&common, Kind::HuntGroup, Some(&name), json)
        }
        HuntGroupCmd::List { common, json } => {
            let all = super::objects_of_kind(&common, Kind::HuntGroup)?;
            if json {
                return super::print_json(&all);
            }
            println!("{:<22} {:<16} {:<10} DIAL PLAN", "NAME", "GATEWAY", "PILOT");
            for h in all {
                println!(
                    "{:<22} {:<16} {:<10} {}",
                    h["name"].as_str().unwrap_or(""),
                    h["gateway"].as_str().unwrap_or(""),
                    h["pilot"].as_str().unwrap_or(""),
                    h["dial_plan"].as_str().unwrap_or("")
                );
            }
            Ok(())
        }
        HuntGroupCmd::Remove { common, name } => super::remove(
            &common,
            Kind::HuntGroup,
            &name,
            &format!("UM hunt group {name} removed"),
        ),
    }
}
