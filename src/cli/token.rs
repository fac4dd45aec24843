//! `openum token new|list|revoke`: API bearer tokens. `new` prints the token
//! alone on its last line (the only time it is shown; the store keeps its hash).
//! Works on the store, so a running server is asked through its API.

use super::{Access, Common, access, http_get, print_json, request};
use clap::Subcommand;
use openum::store::objects::ObjectStore;
use openum::tokens::{self, Role};

#[derive(Subcommand)]
pub enum TokenCmd {
    /// A new token: --role admin, or mailbox:EXT (sees only that mailbox).
    New {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        role: String,
        /// What it is for (shown by `list`).
        #[arg(long)]
        label: Option<String>,
    },
    /// The tokens kept (ids and roles, never the tokens).
    List {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id.
    Revoke {
        #[command(flatten)]
        common: Common,
        id: String,
    },
}

pub fn run(cmd: TokenCmd) -> Result<(), String> {
    match cmd {
        TokenCmd::New {
            common,
            role,
            label,
        } => {
            let role = Role::parse(&role)?;
            let (token, id) = match access(&common.data)? {
                Access::Direct(s) => {
                    let (t, rec) = tokens::create(&s, &role, label, std::time::SystemTime::now())
                        .map_err(|e| e.to_string())?;
                    (t, rec.id)
                }
                Access::Remote(url) => {
                    let v = super::http_post(
                        &format!("{url}/api/tokens"),
                        serde_json::json!({"role": role.name(), "label": label}),
                    )?;
                    (
                        v["token"].as_str().unwrap_or_default().to_string(),
                        v["id"].as_str().unwrap_or_default().to_string(),
                    )
                }
            };
            println!("token {id} for role {} (shown once; keep it):", role.name());
            println!("{token}");
            Ok(())
        }
        TokenCmd::List { common, json } => {
            let list: Vec<serde_json::Value> = match access(&common.data)? {
                Access::Direct(s) => s
                    .tokens()
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .map(|t| serde_json::json!({"id": t.id, "role": t.role, "created_at": t.created_at, "label": t.label}))
                    .collect(),
                Access::Remote(url) => http_get(&format!("{url}/api/tokens"))?
                    .into_json()
                    .map_err(|e| e.to_string())?,
            };
            if json {
                return print_json(&list);
            }
            println!("{:<14} {:<16} {:<22} LABEL", "ID", "ROLE", "CREATED");
            for t in list {
                println!(
                    "{:<14} {:<16} {:<22} {}",
                    t["id"].as_str().unwrap_or(""),
                    t["role"].as_str().unwrap_or(""),
                    t["created_at"].as_str().unwrap_or(""),
                    t["label"].as_str().unwrap_or("")
                );
            }
            Ok(())
        }
        TokenCmd::Revoke { common, id } => {
            let gone = match access(&common.data)? {
                Access::Direct(s) => s.remove_token(&id).map_err(|e| e.to_string())?,
                Access::Remote(url) => {
                    let u = format!("{url}/api/tokens/{id}");
                    match request("DELETE", &u).call() {
                        Ok(_) => true,
                        Err(ureq::Error::Status(404, _)) => false,
                        Err(e) => return Err(super::api_error(&u, e)),
                    }
                }
            };
            if !gone {
                return Err(format!("no token {id:?} (see `openum token list`)"));
            }
            println!("token {id} revoked");
            Ok(())
        }
    }
}
