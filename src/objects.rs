//! Run-time administration of the object model: the one path every change takes,
//! whether it comes from the REST API of a running server or from the CLI on a
//! stopped server's store.
//!
//! 1. The change ([`Change`]) is applied to the stored model's document.
//! 2. The whole document is validated by the rules used at start
//!    ([`Config::parse_value`]): errors name object and field.
//! 3. A PIN that comes with it (Enable-UMMailbox) is checked against the new
//!    model's policy and hashed.
//! 4. Document, audit records and PIN state are committed in one atomic write,
//!    against the version the change was made on (see `store::objects`).
//!
//! A refusal at any step leaves no trace. The first start of a data directory
//! bootstraps the model from the configuration file (or the embedded demo),
//! taking in the overlay files and gateway settings earlier versions kept
//! beside the store. Depends on `config`, `store` and `directory`; no IO but
//! the store's and reading those legacy files at bootstrap.

use crate::config::change::{self, Change, ChangeError, Done};
use crate::config::{Config, ConfigError};
use crate::store::objects::{AuditRecord, ModelCommit, ObjectStore, StoredModel};
use crate::store::pins::{NewPin, SetPinError, prepare_pin};
use crate::store::{MailboxStore, PinState, StoreError};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// A PIN set with the change (Enable-UMMailbox).
#[derive(Debug, Clone)]
pub struct PinRequest {
    pub extension: String,
    pub how: NewPin,
    pub expired: bool,
}

/// A change and who makes it.
#[derive(Debug, Clone)]
pub struct Request {
    pub change: Change,
    pub pin: Option<PinRequest>,
    /// For the audit trail: a token's id and role, or `cli`.
    pub who: String,
    /// Validate only; write nothing.
    pub dry_run: bool,
}

/// A change made (or, dry, that would be made).
#[derive(Debug, Clone)]
pub struct Outcome {
    pub version: u64,
    pub config: Config,
    pub done: Vec<Done>,
    /// The PIN, when it was generated (shown once).
    pub generated_pin: Option<String>,
    /// Configured PINs hashed into the store with the change.
    pub pins_seeded: usize,
}

impl Outcome {
    /// What the API answers and the CLI prints from.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "version": self.version,
            "done": self.done.iter().map(|d| serde_json::json!({
                "action": d.action, "kind": d.kind, "name": d.name,
            })).collect::<Vec<_>>(),
            "generated_pin": self.generated_pin,
            "restart_required": self.done.iter().any(|d| d.kind == "service"),
        })
    }
}

/// The `pin` of a change request in JSON: `{"extension", "pin" | "generate":
/// true, "expired"}`, or null.
pub fn pin_request(v: &serde_json::Value) -> Result<Option<PinRequest>, String> {
    if v.is_null() {
        return Ok(None);
    }
    let extension = v["extension"]
        .as_str()
        .ok_or("pin needs \"extension\"")?
        .to_string();
    let how = match (v["pin"].as_str(), v["generate"].as_bool().unwrap_or(false)) {
        (Some(p), false) => NewPin::Given(p.to_string()),
        (None, true) => NewPin::Generate,
        _ => return Err("pin: give either \"pin\" or \"generate\": true".into()),
    };
    Ok(Some(PinRequest {
        extension,
        how,
        expired: v["expired"].as_bool().unwrap_or(false),
    }))
}

#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("{0}")]
    Change(#[from] ChangeError),
    #[error("PIN refused for {extension}: {reason}")]
    Pin { extension: String, reason: String },
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl ObjectError {
    /// The object and field a refusal names, when it names one.
    pub fn field(&self) -> Option<(&str, &str, &str)> {
        match self {
            ObjectError::Change(ChangeError::Invalid(ConfigError::Invalid {
                kind,
                name,
                field,
                ..
            })) => Some((kind, name, field)),
            ObjectError::Pin { extension, .. } => Some(("mailbox", extension, "pin")),
            _ => None,
        }
    }
}

/// The administration of one store's model.
pub struct Objects {
    store: Arc<dyn ObjectStore>,
    mailboxes: Arc<dyn MailboxStore>,
    /// Where imported prompts live (an attendant may name them).
    prompts_dir: PathBuf,
    resolve: fn(&str) -> Vec<std::net::IpAddr>,
    /// One change at a time in this process (the store's compare-and-set
    /// refuses a change made against an older version from elsewhere).
    lock: Mutex<()>,
}

/// A digest of a configuration text (is the file the one bootstrapped from?).
pub fn digest(text: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    d.as_ref()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

impl Objects {
    pub fn new(
        store: Arc<dyn ObjectStore>,
        mailboxes: Arc<dyn MailboxStore>,
        data: &Path,
        resolve: fn(&str) -> Vec<std::net::IpAddr>,
    ) -> Self {
        Objects {
            store,
            mailboxes,
            prompts_dir: crate::ivr::prompts::custom_dir(data),
            resolve,
            lock: Mutex::new(()),
        }
    }

    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The stored model and its document; None before the first start.
    pub fn current(&self) -> Result<Option<(StoredModel, toml::Value)>, ObjectError> {
        let Some(m) = self.store.model()? else {
            return Ok(None);
        };
        let doc: toml::Value = toml::from_str(&m.doc)
            .map_err(|e| ObjectError::Store(StoreError::Corrupt(format!("object model: {e}"))))?;
        Ok(Some((m, doc)))
    }

    /// A model document, validated by the start-up rules (imported prompts
    /// known, gateway FQDNs resolved).
    pub fn validate(&self, doc: toml::Value) -> Result<Config, ObjectError> {
        let custom = crate::ivr::prompts::custom_names(&self.prompts_dir);
        Config::parse_value(doc, &|n| custom.iter().any(|c| c == n), &self.resolve)
            .map_err(|e| ObjectError::Change(ChangeError::Invalid(e)))
    }

    /// The model in force: its version and validated configuration.
    pub fn config(&self) -> Result<Option<(u64, Config)>, ObjectError> {
        match self.current()? {
            None => Ok(None),
            Some((m, doc)) => Ok(Some((m.version, self.validate(doc)?))),
        }
    }

    /// Apply a change: validated whole, PIN checked, committed atomically with
    /// its audit records; one `object_changed` event per part.
    pub fn apply(&self, req: Request, now: SystemTime) -> Result<Outcome, ObjectError> {
        let _one = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let (stored, doc) = self.current()?.ok_or_else(|| {
            ObjectError::Store(StoreError::Corrupt(
                "the store has no object model yet (start the server once)".into(),
            ))
        })?;
        let (mut new_doc, done) = change::apply(&doc, &req.change)?;
        // An imported model may seed PINs; the model never keeps them.
        let seeded = change::strip_pins(&mut new_doc);
        let config = self.validate(new_doc.clone())?;
        let mut pins: Vec<(String, PinState)> = Vec::new();
        let mut generated_pin = None;
        if let Some(p) = req.pin.clone() {
            let (state, generated) = prepare_pin(
                self.mailboxes.as_ref(),
                &config.directory,
                &p.extension,
                p.how,
                p.expired,
                now,
            )
            .map_err(|e| ObjectError::Pin {
                extension: p.extension.clone(),
                reason: match e {
                    SetPinError::Refused(r) => r.to_string(),
                    SetPinError::Failed(s) => s,
                },
            })?;
            pins.push((p.extension, state));
            generated_pin = generated;
        }
        let seeded = self.seed_pins(seeded, now)?;
        let pins_seeded = seeded.len();
        pins.extend(seeded);
        let text = toml::to_string(&new_doc).map_err(|e| StoreError::Io(e.to_string()))?;
        let records = audit(&done, &req.who, now);
        let version = if req.dry_run {
            stored.version
        } else {
            self.store.commit_model(ModelCommit {
                expected: stored.version,
                doc: &text,
                source_digest: None,
                audit: &records,
                pins: &pins,
            })?
        };
        if !req.dry_run {
            for r in &records {
                log_change(version, r);
            }
        }
        Ok(Outcome {
            version,
            config,
            done,
            generated_pin,
            pins_seeded,
        })
    }

    /// The first start of a data directory: the model from the configuration
    /// `text` (validated), with the objects earlier versions kept in overlay
    /// files of `data` taken in; seeded PINs hashed into the store. Returns
    /// None (and changes nothing) when the store has a model already.
    pub fn bootstrap(
        &self,
        text: &str,
        data: &Path,
        now: SystemTime,
    ) -> Result<Option<Outcome>, String> {
        let _one = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        if self.store.model().map_err(|e| e.to_string())?.is_some() {
            return Ok(None);
        }
        let legacy = Legacy::read(data)?;
        let mut doc = legacy.doc(text)?;
        let seeded = change::strip_pins(&mut doc);
        let config = self.validate(doc.clone()).map_err(|e| e.to_string())?;
        let pins = self.seed_pins(seeded, now).map_err(|e| e.to_string())?;
        let doc_text = toml::to_string(&doc).map_err(|e| e.to_string())?;
        let mut done = vec![Done {
            action: "bootstrap",
            kind: "model",
            name: "model".into(),
            before: None,
            after: None,
        }];
        for f in &legacy.files {
            done.push(Done {
                action: "migrate",
                kind: "model",
                name: f.display().to_string(),
                before: None,
                after: None,
            });
        }
        let records = audit(&done, "bootstrap", now);
        let version = self
            .store
            .commit_model(ModelCommit {
                expected: 0,
                doc: &doc_text,
                source_digest: Some(&digest(text)),
                audit: &records,
                pins: &pins,
            })
            .map_err(|e| e.to_string())?;
        for r in &records {
            log_change(version, r);
        }
        legacy.retire(data);
        Ok(Some(Outcome {
            version,
            config,
            pins_seeded: pins.len(),
            done,
            generated_pin: None,
        }))
    }
}

impl Objects {
    /// The PIN states a document's seeded PINs give, for the mailboxes that
    /// have none stored yet (a PIN changed since is kept: configuration only
    /// seeds).
    fn seed_pins(
        &self,
        seeded: Vec<(String, String)>,
        now: SystemTime,
    ) -> Result<Vec<(String, PinState)>, StoreError> {
        let mut out = Vec::new();
        for (ext, pin) in seeded {
            if self.mailboxes.pin_state(&ext)?.is_none() {
                out.push((ext, seed_pin(&pin, now)?));
            }
        }
        Ok(out)
    }
}

/// A configured (seed) PIN's state: hashed, never kept in clear.
fn seed_pin(pin: &str, now: SystemTime) -> Result<PinState, StoreError> {
    use rand::RngCore;
    let mut salt = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    let hash =
        crate::directory::pin::hash_pin(pin, salt).map_err(|e| StoreError::Io(e.to_string()))?;
    Ok(PinState {
        hash,
        set_at: rfc3339(now),
        ..PinState::default()
    })
}

fn audit(done: &[Done], who: &str, now: SystemTime) -> Vec<AuditRecord> {
    done.iter()
        .map(|d| AuditRecord {
            version: 0,
            at: rfc3339(now),
            who: who.to_string(),
            action: d.action.to_string(),
            kind: d.kind.to_string(),
            name: d.name.clone(),
            before: d.before.as_ref().map(change::to_json),
            after: d.after.as_ref().map(change::to_json),
        })
        .collect()
}

fn log_change(version: u64, r: &AuditRecord) {
    let show =
        |v: &Option<serde_json::Value>| v.as_ref().map_or_else(String::new, |v| v.to_string());
    tracing::info!(
        event = "object_changed",
        version,
        who = %r.who,
        action = %r.action,
        kind = %r.kind,
        name = %r.name,
        before = %show(&r.before),
        after = %show(&r.after),
    );
}

/// What earlier versions kept beside the store: run-time auto attendants and
/// mailboxes (`autoattendants.toml`, `mailboxes.toml`) and `openum gateway set`
/// changes (in `service.json`).
struct Legacy {
    attendants: Option<String>,
    mailboxes: Option<String>,
    gateways: Vec<(String, crate::config::GatewayChange)>,
    files: Vec<PathBuf>,
}

impl Legacy {
    fn read(data: &Path) -> Result<Legacy, String> {
        use crate::config::overlay::{ATTENDANTS, MAILBOXES, path_of};
        let read = |p: PathBuf| match std::fs::read_to_string(&p) {
            Ok(t) => Ok(Some((t, p))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", p.display())),
        };
        let mut files = Vec::new();
        let mut take = |r: Option<(String, PathBuf)>| {
            r.map(|(t, p)| {
                files.push(p);
                t
            })
        };
        let attendants = take(read(path_of(ATTENDANTS, data))?);
        let mailboxes = take(read(path_of(MAILBOXES, data))?);
        let settings = crate::datadir::load_settings(data)?;
        let gateways: Vec<_> = settings.gateways.into_iter().collect();
        if !gateways.is_empty() {
            files.push(crate::datadir::settings_path(data));
        }
        Ok(Legacy {
            attendants,
            mailboxes,
            gateways,
            files,
        })
    }

    /// The configuration text with the legacy objects laid over it.
    fn doc(&self, text: &str) -> Result<toml::Value, String> {
        // Checked as text first, so that a schema error gives its line.
        Config::parse(text, &|_| vec!["127.0.0.1".parse().expect("an IP literal")])
            .map(|_| ())
            .or_else(|e| match e {
                // Imported prompts and FQDNs are checked with the model below.
                ConfigError::Invalid { .. } => Ok(()),
                e => Err(e.to_string()),
            })?;
        let mut doc: toml::Value = toml::from_str(text).map_err(|e| e.to_string())?;
        if let Some(a) = &self.attendants {
            crate::config::overlay::apply(&mut doc, a).map_err(|e| e.to_string())?;
        }
        if let Some(m) = &self.mailboxes {
            crate::config::overlay::apply_kind(&mut doc, crate::config::overlay::MAILBOXES, m)
                .map_err(|e| e.to_string())?;
        }
        for (name, c) in &self.gateways {
            let Some(list) = doc.get_mut("ip_gateway").and_then(|v| v.as_array_mut()) else {
                continue;
            };
            let Some(t) = list
                .iter_mut()
                .filter_map(|v| v.as_table_mut())
                .find(|t| t.get("name").and_then(|n| n.as_str()) == Some(name))
            else {
                tracing::warn!(event = "gateway_change_ignored", gateway = %name, reason = "no such gateway");
                continue;
            };
            for (k, v) in c.fields() {
                t.insert(k.into(), v);
            }
        }
        Ok(doc)
    }

    /// Rename the overlay files taken in (`*.migrated`) and take the gateway
    /// changes out of `service.json` (its startup modes stay): the store holds
    /// their objects now.
    fn retire(&self, data: &Path) {
        let settings = crate::datadir::settings_path(data);
        for f in &self.files {
            let r = if f == &settings {
                crate::datadir::load_settings(data).and_then(|mut s| {
                    s.gateways.clear();
                    crate::datadir::save_settings(data, &s)
                })
            } else {
                let to = f.with_extension("toml.migrated");
                std::fs::rename(f, &to).map_err(|e| e.to_string())
            };
            match r {
                Ok(()) => tracing::info!(event = "legacy_file_migrated", file = %f.display()),
                Err(e) => {
                    tracing::warn!(event = "legacy_file_kept", file = %f.display(), error = %e)
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "objects_tests.rs"]
mod tests;
