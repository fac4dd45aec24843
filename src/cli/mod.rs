//! The `openum` command: `serve`, and admin verbs named after the Exchange UM
//! cmdlets they stand for, one file per UM object (the mini-redis `cmd/`
//! pattern). A verb finds a running server from the data directory
//! (`runtime.json` for its address, `admin.token` for the local admin
//! credential) and goes through its API; with the server stopped it works on
//! the store itself, through the same `openum::objects` path the API takes.
//! After the first start no verb needs `--config` again: the model is in the
//! store. Never imports `openum::admin` (it is a client of it).

pub mod autoattendant;
pub mod calls;
pub mod cdr;
pub mod certificate;
pub mod config;
pub mod connectivity;
pub mod dialplan;
pub mod events;
pub mod gateway;
pub mod greeting;
pub mod huntgroup;
pub mod mailbox;
pub mod mailbox_enable;
pub mod message;
pub mod policy;
pub mod serve;
pub mod service;
pub mod token;

use clap::{Args, Parser, Subcommand};
use openum::config::Config;
use openum::server::{self, Runtime};
use openum::store::{StoreError, sled::SledStore};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

#[derive(Parser)]
#[command(
    name = "openum",
    version,
    about = "Open Unified Messaging: voicemail, auto attendant and subscriber access over SIP"
)]
pub struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Args, Clone)]
pub struct Common {
    /// TOML configuration: bootstraps a new data directory (default: the
    /// embedded demo configuration); later the model lives in the store.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Data directory (store, certificates, runtime file); the Debian
    /// package's service sets OPENUM_DATA=/var/lib/openum.
    #[arg(long, global = true, env = "OPENUM_DATA", default_value = "./data")]
    pub data: PathBuf,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the server.
    Serve(serve::ServeArgs),
    /// Voicemail messages (Get-/Export- style verbs).
    Message {
        #[command(subcommand)]
        cmd: message::MessageCmd,
    },
    /// UM dial plans (New-/Set-/Get-/Remove-UMDialPlan).
    #[command(name = "dialplan")]
    DialPlan {
        #[command(subcommand)]
        cmd: dialplan::DialPlanCmd,
    },
    /// IP gateways (New-/Set-/Get-/Remove-UMIPGateway) and their probe state.
    Gateway {
        #[command(subcommand)]
        cmd: gateway::GatewayCmd,
    },
    /// UM hunt groups (New-/Get-/Remove-UMHuntGroup).
    #[command(name = "huntgroup")]
    HuntGroup {
        #[command(subcommand)]
        cmd: huntgroup::HuntGroupCmd,
    },
    /// UM mailbox policies (New-/Set-/Get-/Remove-UMMailboxPolicy).
    Policy {
        #[command(subcommand)]
        cmd: policy::PolicyCmd,
    },
    /// The UM service itself (Set-UMService).
    Service {
        #[command(subcommand)]
        cmd: service::ServiceCmd,
    },
    /// TLS certificates (Import-/Enable-/Get-ExchangeCertificate).
    Certificate {
        #[command(subcommand)]
        cmd: certificate::CertificateCmd,
    },
    /// UM mailboxes (Enable-/Set-/Get-/Disable-UMMailbox, Set-UMMailboxPIN, unlock).
    Mailbox {
        #[command(subcommand)]
        cmd: mailbox::MailboxCmd,
    },
    /// Auto attendants (New-/Set-/Get-/Remove-UMAutoAttendant, and importing
    /// custom greetings).
    #[command(name = "autoattendant")]
    AutoAttendant {
        #[command(subcommand)]
        cmd: autoattendant::AaCmd,
    },
    /// API bearer tokens: new, list, revoke.
    Token {
        #[command(subcommand)]
        cmd: token::TokenCmd,
    },
    /// The whole model: check a file, export, import.
    Config(config::ConfigArgs),
    /// The running server's recent events (--follow: as they happen).
    Events(events::EventsArgs),
    /// The calls in progress (Get-UMActiveCalls).
    Calls(calls::CallsArgs),
    /// Call data records (Get-UMCallDataRecord, Get-UMCallSummaryReport).
    Cdr {
        #[command(subcommand)]
        cmd: cdr::CdrCmd,
    },
    /// Place a test call to a pilot and check each step (Test-UMConnectivity).
    #[command(name = "test-connectivity")]
    TestConnectivity(connectivity::ConnectivityArgs),
}

pub fn run() -> Result<(), String> {
    match Cli::parse().cmd {
        Cmd::Serve(a) => serve::run(a),
        Cmd::TestConnectivity(a) => connectivity::run(a),
        Cmd::Message { cmd } => message::run(cmd),
        Cmd::DialPlan { cmd } => dialplan::run(cmd),
        Cmd::Gateway { cmd } => gateway::run(cmd),
        Cmd::HuntGroup { cmd } => huntgroup::run(cmd),
        Cmd::Policy { cmd } => policy::run(cmd),
        Cmd::Service { cmd } => service::run(cmd),
        Cmd::Certificate { cmd } => certificate::run(cmd),
        Cmd::AutoAttendant { cmd } => autoattendant::run(cmd),
        Cmd::Mailbox { cmd } => mailbox::run(cmd),
        Cmd::Token { cmd } => token::run(cmd),
        Cmd::Config(a) => config::run(a),
        Cmd::Calls(a) => calls::run(a),
        Cmd::Events(a) => events::run(a),
        Cmd::Cdr { cmd } => cdr::run(cmd),
    }
}

/// Print a value as pretty JSON (the `--json` of the reading verbs).
pub fn print_json(v: &impl serde::Serialize) -> Result<(), String> {
    println!(
        "{}",
        serde_json::to_string_pretty(v).map_err(|e| e.to_string())?
    );
    Ok(())
}

/// The configuration file's text (or the embedded demo's) and what to call it.
pub fn config_text(common: &Common) -> Result<(String, String), String> {
    match &common.config {
        None => Ok((
            openum::config::DEMO_TOML.to_string(),
            "embedded demo config".into(),
        )),
        Some(p) => Ok((
            std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display())),
            p.display().to_string(),
        ))
        .and_then(|(t, w)| Ok((t?, w))),
    }
}

/// The model in force: the running server's, else the store's, else (a data
/// directory never started) the configuration file's.
pub fn load_config(common: &Common) -> Result<Config, String> {
    if let Some(r) = running(&common.data) {
        return Config::parse_value(
            served_doc(&r.admin_url)?,
            &|_| true,
            &openum::config::system_resolve,
        )
        .map_err(|e| format!("the server's model: {e}"));
    }
    if let Some(s) = open_store(&common.data)? {
        let o = server::startup::objects_of(&s, &common.data);
        if let Some((_, cfg)) = o.config().map_err(|e| e.to_string())? {
            return Ok(cfg);
        }
    }
    let (text, what) = config_text(common)?;
    Config::parse(&text, &openum::config::system_resolve).map_err(|e| format!("{what}: {e}"))
}

/// The store of `data`, opened once per process (sled allows one opener);
/// None when there is none yet. Locked (a server runs) is an error here.
fn open_store(data: &Path) -> Result<Option<SledStore>, String> {
    static OPEN: OnceLock<Mutex<Vec<(PathBuf, SledStore)>>> = OnceLock::new();
    let path = server::store_path(data);
    let mut open = OPEN
        .get_or_init(|| Mutex::new(Vec::new()))
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some((_, s)) = open.iter().find(|(p, _)| p == &path) {
        return Ok(Some(s.clone()));
    }
    if !path.exists() {
        return Ok(None);
    }
    match SledStore::open(&path) {
        Ok(s) => {
            open.push((path, s.clone()));
            Ok(Some(s))
        }
        Err(StoreError::Locked) => Err(format!(
            "the store {} is in use but no server answers for it (is another openum running on it?)",
            path.display()
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// Either the store itself (server stopped) or the running server's admin URL.
pub enum Access {
    Direct(SledStore),
    Remote(String),
}

pub fn access(data: &Path) -> Result<Access, String> {
    if let Some(r) = running(data) {
        return Ok(Access::Remote(r.admin_url));
    }
    match open_store(data)? {
        Some(s) => Ok(Access::Direct(s)),
        None => Err(format!(
            "no store at {} (has the server run with --data {}?)",
            server::store_path(data).display(),
            data.display()
        )),
    }
}

/// The running server of `data`, if one is: its runtime file names it, its
/// local credential is readable, and its process is alive.
pub fn running(data: &Path) -> Option<Runtime> {
    let text = std::fs::read_to_string(server::runtime_path(data)).ok()?;
    let r: Runtime = serde_json::from_str(&text).ok()?;
    if !Path::new(&format!("/proc/{}", r.pid)).exists() {
        return None;
    }
    if let Some(t) = openum::tokens::read_local(data) {
        let _ = TOKEN.set(t);
    }
    Some(r)
}

/// The bearer token sent to the API: `OPENUM_TOKEN`, else the local admin
/// credential of the server found.
static TOKEN: OnceLock<String> = OnceLock::new();

fn token() -> Option<String> {
    std::env::var("OPENUM_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .or_else(|| TOKEN.get().cloned())
}

/// An API request with the bearer token.
pub fn request(method: &str, url: &str) -> ureq::Request {
    let r = ureq::AgentBuilder::new()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .request(method, url);
    match token() {
        Some(t) => r.set("Authorization", &format!("Bearer {t}")),
        None => r,
    }
}

/// What an API refusal says (its problem `detail`, else the body).
pub fn api_error(url: &str, e: ureq::Error) -> String {
    match e {
        ureq::Error::Status(code, r) => {
            let body = r.into_string().unwrap_or_default();
            let detail = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| {
                    v["detail"]
                        .as_str()
                        .or(v["error"].as_str())
                        .map(str::to_string)
                });
            match detail {
                Some(d) if code == 401 || code == 403 => format!("{d} (HTTP {code})"),
                Some(d) => d,
                None => format!("{url}: HTTP {code}: {body}"),
            }
        }
        e => format!("the server's admin API at {url} is not reachable: {e}"),
    }
}

pub fn http_get(url: &str) -> Result<ureq::Response, String> {
    request("GET", url).call().map_err(|e| api_error(url, e))
}

pub fn http_post(url: &str, body: serde_json::Value) -> Result<serde_json::Value, String> {
    request("POST", url)
        .send_json(body)
        .map_err(|e| api_error(url, e))?
        .into_json()
        .map_err(|e| e.to_string())
}

/// How a change was applied, for the verb's last words.
pub enum Applied {
    /// By the running server: in effect now.
    Live(serde_json::Value),
    /// On the stopped server's store: at the next start.
    Stored(serde_json::Value),
}

impl Applied {
    pub fn answer(&self) -> &serde_json::Value {
        match self {
            Applied::Live(v) | Applied::Stored(v) => v,
        }
    }

    /// "… (in effect now)" or "…; it takes effect when the service starts".
    pub fn say(&self, what: &str) {
        match self {
            Applied::Live(v) if v["restart_required"] == true => {
                println!("{what} (kept; the running service uses it after a restart)")
            }
            Applied::Live(_) => println!("{what} (in effect now)"),
            Applied::Stored(_) => println!("{what}; it takes effect when the service starts"),
        }
    }
}

/// Make a change (its JSON form, see `openum::config::change::from_json`), with
/// an optional PIN, through the running server or on the store.
pub fn change(
    common: &Common,
    changes: serde_json::Value,
    pin: serde_json::Value,
    dry_run: bool,
) -> Result<Applied, String> {
    if let Some(r) = running(&common.data) {
        let url = format!("{}/api/changes", r.admin_url);
        let v = http_post(
            &url,
            serde_json::json!({"changes": changes, "pin": pin, "dry_run": dry_run}),
        )
        .map_err(|e| format!("refused: {e}"))?;
        return Ok(Applied::Live(v));
    }
    // Never a new store here: a verb run from the wrong directory must not
    // leave a stray data directory behind.
    let Access::Direct(s) = access(&common.data)? else {
        return Err("the server went away meanwhile: try again".into());
    };
    let o = server::startup::objects_of(&s, &common.data);
    let (text, what) = config_text(common)?;
    o.bootstrap(&text, &common.data, std::time::SystemTime::now())
        .map_err(|e| format!("{what}: {e}"))?;
    let req = openum::objects::Request {
        change: openum::config::change::from_json(&changes)?,
        pin: openum::objects::pin_request(&pin)?,
        who: "cli".into(),
        dry_run,
    };
    let out = o
        .apply(req, std::time::SystemTime::now())
        .map_err(|e| format!("refused: {e}"))?;
    Ok(Applied::Stored(out.to_json()))
}

/// A Set- verb: change the given fields of one object (refused when no flag
/// gave any), then say `done`.
pub fn update(
    common: &Common,
    kind: openum::config::change::Kind,
    key: &str,
    set: serde_json::Map<String, serde_json::Value>,
    done: &str,
) -> Result<(), String> {
    if set.is_empty() {
        return Err("nothing to change: give at least one flag".into());
    }
    let c = serde_json::json!({"op": "update", "kind": kind.array(), "key": key, "set": set});
    change(common, c, serde_json::Value::Null, false)?.say(done);
    Ok(())
}

/// A Remove- (or Disable-) verb: remove one object, then say `done`.
pub fn remove(
    common: &Common,
    kind: openum::config::change::Kind,
    key: &str,
    done: &str,
) -> Result<(), String> {
    let c = serde_json::json!({"op": "remove", "kind": kind.array(), "key": key});
    change(common, c, serde_json::Value::Null, false)?.say(done);
    Ok(())
}

/// Set `field` in a change's `set` when the flag was given.
pub fn put(
    set: &mut serde_json::Map<String, serde_json::Value>,
    field: &str,
    v: Option<impl Into<serde_json::Value>>,
) {
    if let Some(v) = v {
        set.insert(field.into(), v.into());
    }
}

/// A comma-separated flag as a list.
pub fn list_of(s: &str) -> Vec<String> {
    s.split(',')
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// The objects of a kind as the model has them (running server, store or file).
pub fn objects_of_kind(
    common: &Common,
    kind: openum::config::change::Kind,
) -> Result<Vec<serde_json::Value>, String> {
    Ok(openum::config::change::objects_json(
        &model_doc(common)?,
        kind,
    ))
}

/// The model a running server serves (`GET /api/config`).
fn served_doc(admin_url: &str) -> Result<toml::Value, String> {
    let v: serde_json::Value = http_get(&format!("{admin_url}/api/config"))?
        .into_json()
        .map_err(|e| e.to_string())?;
    toml::from_str(v["toml"].as_str().unwrap_or_default())
        .map_err(|e| format!("the server's model: {e}"))
}

/// The model's document (what `config export` prints).
pub fn model_doc(common: &Common) -> Result<toml::Value, String> {
    if let Some(r) = running(&common.data) {
        return served_doc(&r.admin_url);
    }
    if let Some(s) = open_store(&common.data)? {
        let o = server::startup::objects_of(&s, &common.data);
        if let Some((_, doc)) = o.current().map_err(|e| e.to_string())? {
            return Ok(doc);
        }
    }
    let (text, _) = config_text(common)?;
    let mut doc: toml::Value = toml::from_str(&text).map_err(|e| e.to_string())?;
    openum::config::change::strip_pins(&mut doc);
    Ok(doc)
}

/// One object of a kind, printed as JSON or as `field  value` lines.
pub fn show_object(
    common: &Common,
    kind: openum::config::change::Kind,
    key: Option<&str>,
    json: bool,
) -> Result<(), String> {
    let all = objects_of_kind(common, kind)?;
    let chosen: Vec<_> = all
        .into_iter()
        .filter(|o| key.is_none_or(|k| o[kind.key()].as_str() == Some(k)))
        .collect();
    if let Some(k) = key
        && chosen.is_empty()
    {
        return Err(format!("no {} {k:?}", kind.noun()));
    }
    if json {
        return match key {
            Some(_) => print_json(&chosen[0]),
            None => print_json(&chosen),
        };
    }
    for (i, o) in chosen.iter().enumerate() {
        if i > 0 {
            println!();
        }
        if let Some(m) = o.as_object() {
            for (k, v) in m {
                let shown = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                println!("{k:<34} {shown}");
            }
        }
    }
    Ok(())
}
