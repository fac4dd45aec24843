//! The languages openum speaks: a dial plan's, a mailbox's or an attendant's
//! prompts (`prompts/<code>/`) and the speech grammar (`ivr::speech`). Part of
//! the object model, so the directory names it without reaching into `ivr`.

/// A language the grammar speaks (and a prompt set, `prompts/<code>/`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Lang {
    #[default]
    EnUs,
    FrFr,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::EnUs, Lang::FrFr];

    /// From a culture name (`en-US`, `fr-FR`; case and `_` tolerated).
    pub fn parse(code: &str) -> Option<Lang> {
        match code.to_ascii_lowercase().replace('_', "-").as_str() {
            "en-us" | "en" => Some(Lang::EnUs),
            "fr-fr" | "fr" => Some(Lang::FrFr),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::EnUs => "en-US",
            Lang::FrFr => "fr-FR",
        }
    }
}
