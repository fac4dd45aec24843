//! Objects made at run time (`openum autoattendant new|set|remove`,
//! New-/Set-/Remove-UMAutoAttendant) live in `DATA/autoattendants.toml`, laid over
//! the configuration file at every load: an `[[auto_attendant]]` there replaces the
//! configuration's one of the same name or adds one; `removed = [names]` takes
//! configuration ones away. The file is written whole (temp file + rename).

use super::ConfigError;

/// The overlay's file in the data directory.
pub fn path(data: &std::path::Path) -> std::path::PathBuf {
    data.join("autoattendants.toml")
}

fn aa_name(t: &toml::Value) -> Option<&str> {
    t.get("name")?.as_str()
}

/// The overlay's attendants and removed names.
fn parse(overlay: &str) -> Result<(Vec<toml::Value>, Vec<String>), ConfigError> {
    let o: toml::Value = toml::from_str(overlay)
        .map_err(|e| ConfigError::Toml(format!("autoattendants.toml: {e}")))?;
    let removed = o
        .get("removed")
        .and_then(|r| r.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let added = o
        .get("auto_attendant")
        .and_then(|a| a.as_array())
        .cloned()
        .unwrap_or_default();
    Ok((added, removed))
}

/// Lay `overlay` over the configuration `base`.
pub fn apply(base: &mut toml::Value, overlay: &str) -> Result<(), ConfigError> {
    let (added, removed) = parse(overlay)?;
    let Some(table) = base.as_table_mut() else {
        return Err(ConfigError::Toml("the configuration is not a table".into()));
    };
    let list = table
        .entry("auto_attendant")
        .or_insert_with(|| toml::Value::Array(Vec::new()));
    let Some(list) = list.as_array_mut() else {
        return Err(ConfigError::Toml(
            "auto_attendant must be an array of tables".into(),
        ));
    };
    list.retain(|a| {
        aa_name(a).is_none_or(|n| {
            !removed.iter().any(|r| r == n) && !added.iter().any(|b| aa_name(b) == Some(n))
        })
    });
    list.extend(added);
    Ok(())
}

/// The overlay as editable values: (attendants, removed names).
pub fn load(text: &str) -> Result<(Vec<toml::Value>, Vec<String>), ConfigError> {
    parse(text)
}

/// Write the overlay back as TOML text.
pub fn render(aas: &[toml::Value], removed: &[String]) -> String {
    let mut t = toml::map::Map::new();
    if !removed.is_empty() {
        t.insert(
            "removed".into(),
            toml::Value::Array(removed.iter().cloned().map(toml::Value::String).collect()),
        );
    }
    if !aas.is_empty() {
        t.insert("auto_attendant".into(), toml::Value::Array(aas.to_vec()));
    }
    toml::to_string_pretty(&toml::Value::Table(t)).unwrap_or_default()
}

/// The configuration's own attendant `name`, as a table (to copy into the overlay
/// before a change).
pub fn base_attendant(base: &str, name: &str) -> Option<toml::Value> {
    let v: toml::Value = toml::from_str(base).ok()?;
    v.get("auto_attendant")?
        .as_array()?
        .iter()
        .find(|a| aa_name(a) == Some(name))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, DEMO_TOML};

    #[test]
    fn overlay_adds_replaces_and_removes_attendants() {
        let overlay = r#"
removed = ["MainAA"]

[[auto_attendant]]
name = "SalesAA"
dial_plan = "Demo"
pilots = ["4300"]
enabled = false
"#;
        let c = Config::parse_layers(DEMO_TOML, Some(overlay), &|_| false, &|_| vec![]).unwrap();
        let names: Vec<&str> = c
            .directory
            .auto_attendants
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(names, ["SalesAA"]);
        assert!(!c.directory.auto_attendants[0].enabled);
        // Replacing: the overlay's MainAA wins over the file's.
        let mut main = base_attendant(DEMO_TOML, "MainAA").unwrap();
        main.as_table_mut()
            .unwrap()
            .insert("enabled".into(), toml::Value::Boolean(false));
        let text = render(&[main], &[]);
        let c = Config::parse_layers(DEMO_TOML, Some(&text), &|_| false, &|_| vec![]).unwrap();
        assert_eq!(c.directory.auto_attendants.len(), 1);
        assert!(!c.directory.auto_attendants[0].enabled);
        let (aas, removed) = load(&text).unwrap();
        assert_eq!((aas.len(), removed.len()), (1, 0));
        // A broken overlay names its file.
        let e = Config::parse_layers(DEMO_TOML, Some("[[x"), &|_| false, &|_| vec![]).unwrap_err();
        assert!(e.to_string().contains("autoattendants.toml"), "{e}");
    }

    #[test]
    fn imported_prompts_are_accepted_only_when_known() {
        let overlay = r#"
[[auto_attendant]]
name = "MainAA"
dial_plan = "Demo"
pilots = ["4100"]
greetings = { business = "MainAA-business" }
"#;
        let e =
            Config::parse_layers(DEMO_TOML, Some(overlay), &|_| false, &|_| vec![]).unwrap_err();
        assert!(e.to_string().contains("nor an imported one"), "{e}");
        let known = |n: &str| n == "MainAA-business";
        let c = Config::parse_layers(DEMO_TOML, Some(overlay), &known, &|_| vec![]).unwrap();
        assert_eq!(
            c.directory.auto_attendants[0].greetings.business.as_deref(),
            Some("MainAA-business")
        );
    }
}
