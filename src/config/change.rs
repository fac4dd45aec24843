//! Changes to the object model, made on its document (the TOML form the store
//! keeps and `openum config export` prints): create, update, remove one object,
//! change service settings, replace the whole model (import), or several of
//! these as one change (an auto attendant with the hunt group its pilot needs).
//!
//! Applying a change only edits the document and refuses what the document alone
//! shows wrong (no such object, a duplicate, an object still in use, named by its
//! users); the caller then validates the whole result with [`super::Config::parse_value`],
//! by the rules used at start. Pure: no IO, no clock.

use super::ConfigError;
use toml::Value;
use toml::map::Map;

/// A kind of UM object: its array in the document and the field naming one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Policy,
    DialPlan,
    Gateway,
    HuntGroup,
    AutoAttendant,
    Mailbox,
    MailboxNode,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Policy,
        Kind::DialPlan,
        Kind::Gateway,
        Kind::HuntGroup,
        Kind::AutoAttendant,
        Kind::Mailbox,
        Kind::MailboxNode,
    ];

    /// The document's array (and the name validation errors use).
    pub fn array(self) -> &'static str {
        match self {
            Kind::Policy => "mailbox_policy",
            Kind::DialPlan => "dial_plan",
            Kind::Gateway => "ip_gateway",
            Kind::HuntGroup => "hunt_group",
            Kind::AutoAttendant => "auto_attendant",
            Kind::Mailbox => "mailbox",
            Kind::MailboxNode => "mailbox_node",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Kind::Mailbox => "extension",
            _ => "name",
        }
    }

    /// How messages name it.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Policy => "UM mailbox policy",
            Kind::DialPlan => "UM dial plan",
            Kind::Gateway => "UM IP gateway",
            Kind::HuntGroup => "UM hunt group",
            Kind::AutoAttendant => "UM auto attendant",
            Kind::Mailbox => "UM mailbox",
            Kind::MailboxNode => "mailbox node",
        }
    }

    /// Its collection in the REST API (`/api/<path>`).
    pub fn path(self) -> &'static str {
        match self {
            Kind::Policy => "policies",
            Kind::DialPlan => "dialplans",
            Kind::Gateway => "gateways",
            Kind::HuntGroup => "huntgroups",
            Kind::AutoAttendant => "autoattendants",
            Kind::Mailbox => "mailboxes",
            Kind::MailboxNode => "nodes",
        }
    }

    pub fn from_path(p: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.path() == p)
    }

    pub fn from_array(a: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.array() == a)
    }
}

/// One change to the model.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A new object (its key field included).
    Create {
        kind: Kind,
        object: Map<String, Value>,
    },
    /// Set fields of an object (`set`), and take others back to their defaults
    /// (`unset`); its key cannot change.
    Update {
        kind: Kind,
        key: String,
        set: Map<String, Value>,
        unset: Vec<String>,
    },
    /// Remove an object; refused while others use it.
    Remove { kind: Kind, key: String },
    /// Set or unset `[service]` fields (most take effect at the next start).
    Service {
        set: Map<String, Value>,
        unset: Vec<String>,
    },
    /// The whole model (`openum config import`).
    Replace { doc: Value },
    /// Several changes, applied in order, committed as one.
    Many(Vec<Change>),
}

/// Why a change was refused before validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    #[error("no {} {key:?}", kind.noun())]
    NotFound { kind: Kind, key: String },
    #[error("{} {key:?} exists already", kind.noun())]
    Exists { kind: Kind, key: String },
    #[error("{} {key:?} is in use by {}: change or remove those first", kind.noun(), users.join(", "))]
    InUse {
        kind: Kind,
        key: String,
        users: Vec<String>,
    },
    /// The object (or the model with the change) breaks a rule; names object and field.
    #[error("{0}")]
    Invalid(ConfigError),
}

impl From<ConfigError> for ChangeError {
    fn from(e: ConfigError) -> Self {
        ChangeError::Invalid(e)
    }
}

/// What one part of a change did, for the audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct Done {
    /// create, update, remove, service, import.
    pub action: &'static str,
    /// The document's array name, `service` or `model`.
    pub kind: &'static str,
    pub name: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

fn invalid(kind: Kind, name: &str, field: &'static str, problem: impl Into<String>) -> ChangeError {
    ChangeError::Invalid(ConfigError::Invalid {
        kind: kind.array(),
        name: name.to_string(),
        field,
        problem: problem.into(),
    })
}

/// The objects of `kind` in a document.
pub fn objects(doc: &Value, kind: Kind) -> Vec<&Map<String, Value>> {
    doc.get(kind.array())
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_table).collect())
        .unwrap_or_default()
}

fn key_of(kind: Kind, t: &Map<String, Value>) -> Option<&str> {
    t.get(kind.key()).and_then(Value::as_str)
}

/// One object of a document.
pub fn object<'a>(doc: &'a Value, kind: Kind, key: &str) -> Option<&'a Map<String, Value>> {
    objects(doc, kind)
        .into_iter()
        .find(|t| key_of(kind, t) == Some(key))
}

fn array_mut(doc: &mut Value, kind: Kind) -> Result<&mut Vec<Value>, ChangeError> {
    let table = doc.as_table_mut().ok_or_else(|| {
        ChangeError::Invalid(ConfigError::Schema("the model is not a table".into()))
    })?;
    table
        .entry(kind.array())
        .or_insert_with(|| Value::Array(Vec::new()))
        .as_array_mut()
        .ok_or_else(|| {
            ChangeError::Invalid(ConfigError::Schema(format!(
                "{} is not an array",
                kind.array()
            )))
        })
}

fn str_field<'a>(t: &'a Map<String, Value>, f: &str) -> Option<&'a str> {
    t.get(f).and_then(Value::as_str)
}

/// The auto attendants' key mappings that name `target` in field `field`.
fn aa_keys_naming(doc: &Value, field: &str, target: &str) -> Vec<String> {
    let mut out = Vec::new();
    for a in objects(doc, Kind::AutoAttendant) {
        let name = key_of(Kind::AutoAttendant, a).unwrap_or("?");
        let mut hit = false;
        for list in ["business_keys", "after_hours_keys"] {
            for k in a.get(list).and_then(Value::as_array).into_iter().flatten() {
                if k.get(field).and_then(Value::as_str) == Some(target) {
                    hit = true;
                }
            }
        }
        if field == "transfer" && str_field(a, "operator") == Some(target) {
            hit = true;
        }
        if hit {
            out.push(format!("auto attendant {name}"));
        }
    }
    out
}

/// What uses the object (`hunt group CorpHG`, `mailbox 6001`, …): removing it
/// would leave them dangling.
pub fn users(doc: &Value, kind: Kind, key: &str) -> Vec<String> {
    let by = |k: Kind, field: &str, label: &str| -> Vec<String> {
        objects(doc, k)
            .into_iter()
            .filter(|t| str_field(t, field) == Some(key))
            .map(|t| format!("{label} {}", key_of(k, t).unwrap_or("?")))
            .collect::<Vec<_>>()
    };
    let mut out = Vec::new();
    match kind {
        Kind::Policy => {
            out.extend(by(Kind::DialPlan, "mailbox_policy", "dial plan"));
            out.extend(by(Kind::Mailbox, "policy", "mailbox"));
        }
        Kind::DialPlan => {
            out.extend(by(Kind::Gateway, "dial_plan", "IP gateway"));
            out.extend(by(Kind::HuntGroup, "dial_plan", "hunt group"));
            out.extend(by(Kind::AutoAttendant, "dial_plan", "auto attendant"));
            out.extend(by(Kind::Mailbox, "dial_plan", "mailbox"));
        }
        Kind::Gateway => out.extend(by(Kind::HuntGroup, "gateway", "hunt group")),
        Kind::AutoAttendant => out.extend(
            aa_keys_naming(doc, "attendant", key)
                .into_iter()
                .filter(|u| u != &format!("auto attendant {key}")),
        ),
        Kind::Mailbox => {
            let mut v = aa_keys_naming(doc, "transfer", key);
            for u in aa_keys_naming(doc, "leave_message", key) {
                if !v.contains(&u) {
                    v.push(u);
                }
            }
            out.extend(v);
        }
        Kind::HuntGroup | Kind::MailboxNode => {}
    }
    out
}

/// Apply `change` to a copy of `doc`: the new document and what was done.
pub fn apply(doc: &Value, change: &Change) -> Result<(Value, Vec<Done>), ChangeError> {
    let mut out = doc.clone();
    let mut done = Vec::new();
    apply_into(&mut out, change, &mut done)?;
    Ok((out, done))
}

fn apply_into(doc: &mut Value, change: &Change, done: &mut Vec<Done>) -> Result<(), ChangeError> {
    match change {
        Change::Create { kind, object: obj } => {
            let kind = *kind;
            let Some(key) = key_of(kind, obj).map(str::to_string) else {
                return Err(invalid(kind, "", kind_key_static(kind), "is required"));
            };
            if key.trim().is_empty() {
                return Err(invalid(
                    kind,
                    &key,
                    kind_key_static(kind),
                    "must not be empty",
                ));
            }
            if object(doc, kind, &key).is_some() {
                return Err(ChangeError::Exists { kind, key });
            }
            array_mut(doc, kind)?.push(Value::Table(obj.clone()));
            done.push(Done {
                action: "create",
                kind: kind.array(),
                name: key,
                before: None,
                after: Some(Value::Table(obj.clone())),
            });
        }
        Change::Update {
            kind,
            key,
            set,
            unset,
        } => {
            let kind = *kind;
            if let Some(v) = set.get(kind.key())
                && v.as_str() != Some(key.as_str())
            {
                return Err(invalid(
                    kind,
                    key,
                    kind_key_static(kind),
                    "cannot be changed: create a new object and remove this one",
                ));
            }
            if unset.iter().any(|f| f == kind.key()) {
                return Err(invalid(kind, key, kind_key_static(kind), "cannot be unset"));
            }
            let list = array_mut(doc, kind)?;
            let Some(t) = list
                .iter_mut()
                .filter_map(Value::as_table_mut)
                .find(|t| key_of(kind, t) == Some(key.as_str()))
            else {
                return Err(ChangeError::NotFound {
                    kind,
                    key: key.clone(),
                });
            };
            let before = t.clone();
            for f in unset {
                t.remove(f);
            }
            for (k, v) in set {
                t.insert(k.clone(), v.clone());
            }
            done.push(Done {
                action: "update",
                kind: kind.array(),
                name: key.clone(),
                before: Some(Value::Table(before)),
                after: Some(Value::Table(t.clone())),
            });
        }
        Change::Remove { kind, key } => {
            let kind = *kind;
            if object(doc, kind, key).is_none() {
                return Err(ChangeError::NotFound {
                    kind,
                    key: key.clone(),
                });
            }
            let users = users(doc, kind, key);
            if !users.is_empty() {
                return Err(ChangeError::InUse {
                    kind,
                    key: key.clone(),
                    users,
                });
            }
            let list = array_mut(doc, kind)?;
            let pos = list
                .iter()
                .position(|v| v.as_table().and_then(|t| key_of(kind, t)) == Some(key.as_str()));
            let before = pos.map(|p| list.remove(p));
            done.push(Done {
                action: "remove",
                kind: kind.array(),
                name: key.clone(),
                before,
                after: None,
            });
        }
        Change::Service { set, unset } => {
            let table = doc.as_table_mut().ok_or_else(|| {
                ChangeError::Invalid(ConfigError::Schema("the model is not a table".into()))
            })?;
            let svc = table
                .entry("service")
                .or_insert_with(|| Value::Table(Map::new()))
                .as_table_mut()
                .ok_or_else(|| {
                    ChangeError::Invalid(ConfigError::Schema("service is not a table".into()))
                })?;
            let before = svc.clone();
            for f in unset {
                svc.remove(f);
            }
            for (k, v) in set {
                svc.insert(k.clone(), v.clone());
            }
            done.push(Done {
                action: "update",
                kind: "service",
                name: "service".into(),
                before: Some(Value::Table(before)),
                after: Some(Value::Table(svc.clone())),
            });
        }
        Change::Replace { doc: new } => {
            *doc = new.clone();
            done.push(Done {
                action: "import",
                kind: "model",
                name: "model".into(),
                before: None,
                after: None,
            });
        }
        Change::Many(list) => {
            for c in list {
                apply_into(doc, c, done)?;
            }
        }
    }
    Ok(())
}

fn kind_key_static(kind: Kind) -> &'static str {
    kind.key()
}

/// Take the clear-text PINs out of a document's mailboxes (a configuration may
/// seed them; the model never keeps them): `(extension, pin)` pairs.
pub fn strip_pins(doc: &mut Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(list) = doc.get_mut("mailbox").and_then(Value::as_array_mut) {
        for t in list.iter_mut().filter_map(Value::as_table_mut) {
            if let Some(Value::String(p)) = t.remove("pin")
                && let Some(ext) = t.get("extension").and_then(Value::as_str)
            {
                out.push((ext.to_string(), p));
            }
        }
    }
    out
}

/// A JSON object (an API body) as a document table. JSON `null`s are dropped:
/// the caller treats them as "unset".
pub fn table_from_json(v: &serde_json::Value) -> Result<Map<String, Value>, String> {
    let serde_json::Value::Object(m) = v else {
        return Err("the body must be a JSON object".into());
    };
    let mut out = Map::new();
    for (k, v) in m {
        if v.is_null() {
            continue;
        }
        out.insert(k.clone(), value_from_json(k, v)?);
    }
    Ok(out)
}

fn value_from_json(field: &str, v: &serde_json::Value) -> Result<Value, String> {
    Ok(match v {
        serde_json::Value::Null => return Err(format!("{field}: null inside a value")),
        serde_json::Value::Bool(b) => Value::Boolean(*b),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Value::Integer(i),
            (None, Some(f)) => Value::Float(f),
            _ => return Err(format!("{field}: {n} is out of range")),
        },
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| value_from_json(field, x))
                .collect::<Result<_, _>>()?,
        ),
        serde_json::Value::Object(_) => Value::Table(table_from_json(v)?),
    })
}

/// A document value as JSON (API answers, audit records).
pub fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Integer(i) => serde_json::Value::from(*i),
        Value::Float(f) => serde_json::Value::from(*f),
        Value::Boolean(b) => serde_json::Value::Bool(*b),
        Value::Datetime(d) => serde_json::Value::String(d.to_string()),
        Value::Array(a) => serde_json::Value::Array(a.iter().map(to_json).collect()),
        Value::Table(t) => {
            serde_json::Value::Object(t.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
    }
}

#[cfg(test)]
#[path = "change_tests.rs"]
mod tests;
