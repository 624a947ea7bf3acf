//! The agency registry: the agencies disputes name. The partnership starts
//! with seed sections 3.5 and 3.11 ([`seed`]; where the seed names a class,
//! "each primary school", it is one entry per class) and then adds a
//! particular school or provider, renames one or retires one, each a ledger
//! entry. The rules for those steps are here, pure, so that the use cases
//! (`service::registry`) and `verify`'s replay ([`Registry`]) apply the same
//! ones.
//!
//! An agency has a kind ([`AgencyKind`]). Education and childcare providers
//! are kinds of their own: the Children's Wellbeing and Schools Act 2026 (s2,
//! amending Children Act 2004 s16E) brings them into the arrangements.
//! Ledgers seeded before kinds were a closed set hold the older, finer names
//! (`education_primary`, `nhs_trust`, ...); [`AgencyKind::parse`] reads those
//! as the kind they belong to, so such a ledger still verifies.

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::core::ladder::Partner;

/// What kind of body an agency is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgencyKind {
    /// A council and its services (public health, adult services, housing, ...).
    LocalAuthority,
    /// An Integrated Care Board.
    Icb,
    Police,
    /// NHS trusts, community and private health providers, ambulance services,
    /// named health professionals.
    HealthProvider,
    /// Schools of every type and 16 to 18 education providers.
    Education,
    /// Early years and childcare providers, childminders included.
    Childcare,
    /// A children's social care provider acting for the councils (Achieving for Children).
    ChildrensSocialCare,
    Probation,
    ChildrensHome,
    /// Voluntary sector providers for children.
    Voluntary,
    FireRescue,
    Cafcass,
    Other,
}

impl AgencyKind {
    pub const ALL: [AgencyKind; 13] = [
        AgencyKind::LocalAuthority,
        AgencyKind::Icb,
        AgencyKind::Police,
        AgencyKind::HealthProvider,
        AgencyKind::Education,
        AgencyKind::Childcare,
        AgencyKind::ChildrensSocialCare,
        AgencyKind::Probation,
        AgencyKind::ChildrensHome,
        AgencyKind::Voluntary,
        AgencyKind::FireRescue,
        AgencyKind::Cafcass,
        AgencyKind::Other,
    ];

    /// The kind's name, as the API and the ledger write it.
    pub const fn as_str(self) -> &'static str {
        match self {
            AgencyKind::LocalAuthority => "local_authority",
            AgencyKind::Icb => "icb",
            AgencyKind::Police => "police",
            AgencyKind::HealthProvider => "health_provider",
            AgencyKind::Education => "education",
            AgencyKind::Childcare => "childcare",
            AgencyKind::ChildrensSocialCare => "childrens_social_care",
            AgencyKind::Probation => "probation",
            AgencyKind::ChildrensHome => "childrens_home",
            AgencyKind::Voluntary => "voluntary",
            AgencyKind::FireRescue => "fire_rescue",
            AgencyKind::Cafcass => "cafcass",
            AgencyKind::Other => "other",
        }
    }

    /// A kind by its name, or by a name the first seed used for it.
    pub fn parse(s: &str) -> Option<AgencyKind> {
        if let Some(k) = AgencyKind::ALL.into_iter().find(|k| k.as_str() == s) {
            return Some(k);
        }
        Some(match s {
            "council_service" => AgencyKind::LocalAuthority,
            "education_early_years" => AgencyKind::Childcare,
            "education_primary"
            | "education_secondary"
            | "education_special"
            | "education_independent"
            | "education_post_16" => AgencyKind::Education,
            "nhs_trust" | "ambulance" | "health_professionals" => AgencyKind::HealthProvider,
            "voluntary_sector" => AgencyKind::Voluntary,
            _ => return None,
        })
    }

    /// The kind a statutory partner's agency has.
    pub fn of_partner(p: Partner) -> AgencyKind {
        match p {
            Partner::La => AgencyKind::LocalAuthority,
            Partner::Icb => AgencyKind::Icb,
            Partner::Police => AgencyKind::Police,
        }
    }
}

impl std::fmt::Display for AgencyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A kind written by the seed entry: today's names or the first seed's.
fn any_kind<'de, D: Deserializer<'de>>(d: D) -> Result<AgencyKind, D::Error> {
    let s = String::deserialize(d)?;
    AgencyKind::parse(&s)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown agency kind '{s}'")))
}

/// One agency as the `registry_seeded` entry records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedAgency {
    pub id: String,
    pub name: String,
    #[serde(deserialize_with = "any_kind")]
    pub kind: AgencyKind,
    pub statutory_partner: Option<Partner>,
}

/// An agency in the registry, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Agency {
    /// A stable slug, e.g. `kingston-council`: 2 to 64 of `a-z`, `0-9`, `-`.
    pub id: String,
    pub name: String,
    pub kind: AgencyKind,
    /// `la`, `icb`, `police`, or null for an agency that is not a statutory partner.
    pub statutory_partner: Option<Partner>,
    /// When the agency was retired (RFC 3339, UTC); null while it is active.
    /// A retired agency stays in the disputes that name it; new ones cannot.
    pub retired_at: Option<String>,
}

impl From<SeedAgency> for Agency {
    fn from(a: SeedAgency) -> Self {
        Agency {
            id: a.id,
            name: a.name,
            kind: a.kind,
            statutory_partner: a.statutory_partner,
            retired_at: None,
        }
    }
}

/// Why a registry step was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// Malformed input (400).
    #[error("{0}")]
    Invalid(String),
    #[error("no agency '{0}' in the registry")]
    NotFound(String),
    /// The step conflicts with the agency's state (409).
    #[error("{0}")]
    Conflict(String),
    /// Well formed but against the rules (422).
    #[error("{0}")]
    Unprocessable(String),
}

/// The most characters an agency's name may hold.
pub const NAME_LIMIT: usize = 200;

/// An agency id: 2 to 64 characters of `a-z`, `0-9` and `-`, starting and
/// ending with a letter or digit.
pub fn agency_id(id: &str) -> Result<&str, RegistryError> {
    let ok = (2..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
        && !id.ends_with('-');
    if ok {
        Ok(id)
    } else {
        Err(RegistryError::Invalid(
            "an agency id is 2 to 64 characters of a-z, 0-9 and '-', starting and ending with a letter or digit".into(),
        ))
    }
}

/// An agency's name: trimmed, 1 to [`NAME_LIMIT`] characters, with no control
/// characters and no bidirectional overrides.
pub fn agency_name(name: &str) -> Result<String, RegistryError> {
    let t = name.trim();
    let bidi = |c: char| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    if t.is_empty() || t.chars().count() > NAME_LIMIT {
        return Err(RegistryError::Invalid(format!(
            "name must be 1 to {NAME_LIMIT} characters"
        )));
    }
    if t.chars().any(|c| c.is_control() || bidi(c)) {
        return Err(RegistryError::Invalid(
            "name must not hold control characters or bidirectional overrides".into(),
        ));
    }
    Ok(t.to_string())
}

/// Adding `id`: refused if any agency, retired or not, already has it.
pub fn check_new(existing: Option<&Agency>, id: &str) -> Result<(), RegistryError> {
    agency_id(id)?;
    match existing {
        Some(a) if a.retired_at.is_some() => Err(RegistryError::Conflict(format!(
            "agency '{id}' is in the registry, retired; an id is never reused"
        ))),
        Some(_) => Err(RegistryError::Conflict(format!(
            "agency '{id}' is already in the registry"
        ))),
        None => Ok(()),
    }
}

/// Renaming or changing the kind of `current`: the agency it becomes. A
/// retired agency is not changed; a statutory partner keeps its partner's kind.
pub fn check_update(
    id: &str,
    current: Option<&Agency>,
    name: Option<String>,
    kind: Option<AgencyKind>,
) -> Result<Agency, RegistryError> {
    let a = current.ok_or_else(|| RegistryError::NotFound(id.to_string()))?;
    if a.retired_at.is_some() {
        return Err(RegistryError::Conflict(format!(
            "agency '{id}' is retired and is not changed"
        )));
    }
    if let (Some(p), Some(k)) = (a.statutory_partner, kind) {
        if k != AgencyKind::of_partner(p) {
            return Err(RegistryError::Unprocessable(format!(
                "agency '{id}' is a statutory partner ({}): its kind stays {}",
                p.as_str(),
                AgencyKind::of_partner(p)
            )));
        }
    }
    Ok(Agency {
        name: name.unwrap_or_else(|| a.name.clone()),
        kind: kind.unwrap_or(a.kind),
        ..a.clone()
    })
}

/// Retiring `current`: not twice, and never a statutory partner's agency (the
/// ladder's statutory partners rung needs it).
pub fn check_retire(id: &str, current: Option<&Agency>) -> Result<(), RegistryError> {
    let a = current.ok_or_else(|| RegistryError::NotFound(id.to_string()))?;
    if a.retired_at.is_some() {
        return Err(RegistryError::Conflict(format!(
            "agency '{id}' is already retired"
        )));
    }
    if let Some(p) = a.statutory_partner {
        return Err(RegistryError::Unprocessable(format!(
            "agency '{id}' is a statutory partner ({}) and cannot be retired",
            p.as_str()
        )));
    }
    Ok(())
}

/// Refuse unless every id names an agency in the registry that is not retired.
pub fn check_active<'a>(
    ids: &[String],
    find: impl Fn(&str) -> Option<&'a Agency>,
) -> Result<(), RegistryError> {
    let unknown: Vec<&str> = ids
        .iter()
        .filter(|i| find(i).is_none())
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(RegistryError::Unprocessable(format!(
            "unknown agency ids: {}",
            unknown.join(", ")
        )));
    }
    let retired: Vec<&str> = ids
        .iter()
        .filter(|i| find(i).is_some_and(|a| a.retired_at.is_some()))
        .map(String::as_str)
        .collect();
    if !retired.is_empty() {
        return Err(RegistryError::Unprocessable(format!(
            "retired agencies cannot be named in anything new: {}",
            retired.join(", ")
        )));
    }
    Ok(())
}

/// The registry as a replay rebuilds it, entry by entry, with the same rules
/// as the use cases. A name whose payload was erased is not known.
#[derive(Debug, Default, Clone)]
pub struct Registry {
    agencies: Vec<Agency>,
    unnamed: std::collections::BTreeSet<String>,
}

impl Registry {
    /// Every agency, retired ones included.
    pub fn agencies(&self) -> &[Agency] {
        &self.agencies
    }

    pub fn get(&self, id: &str) -> Option<&Agency> {
        self.agencies.iter().find(|a| a.id == id)
    }

    fn get_mut(&mut self, id: &str) -> Option<&mut Agency> {
        self.agencies.iter_mut().find(|a| a.id == id)
    }

    /// The `registry_seeded` entry's agencies.
    pub fn seed(&mut self, list: Vec<SeedAgency>) -> Result<(), RegistryError> {
        for a in list {
            check_new(self.get(&a.id), &a.id)?;
            self.agencies.push(a.into());
        }
        Ok(())
    }

    /// An `agency_registered` entry (`name` is `None` if its payload was erased).
    pub fn register(
        &mut self,
        id: &str,
        kind: AgencyKind,
        name: Option<String>,
    ) -> Result<(), RegistryError> {
        check_new(self.get(id), id)?;
        self.set_name_known(id, name.is_some());
        self.agencies.push(Agency {
            id: id.to_string(),
            name: name.unwrap_or_default(),
            kind,
            statutory_partner: None,
            retired_at: None,
        });
        Ok(())
    }

    /// An `agency_updated` entry: the agency's name and kind after it.
    pub fn update(
        &mut self,
        id: &str,
        kind: AgencyKind,
        name: Option<String>,
    ) -> Result<(), RegistryError> {
        let known = name.is_some();
        let next = check_update(id, self.get(id), name, Some(kind))?;
        self.set_name_known(id, known);
        if let Some(a) = self.get_mut(id) {
            *a = next;
        }
        Ok(())
    }

    /// An `agency_retired` entry recorded at `at` (RFC 3339).
    pub fn retire(&mut self, id: &str, at: String) -> Result<(), RegistryError> {
        check_retire(id, self.get(id))?;
        if let Some(a) = self.get_mut(id) {
            a.retired_at = Some(at);
        }
        Ok(())
    }

    /// Refuse unless every id is an agency not retired at this point.
    pub fn check_active(&self, ids: &[String]) -> Result<(), RegistryError> {
        check_active(ids, |id| self.get(id))
    }

    fn set_name_known(&mut self, id: &str, known: bool) {
        if known {
            self.unnamed.remove(id);
        } else {
            self.unnamed.insert(id.to_string());
        }
    }

    /// How `stored` (the agencies table) differs from this replay, if it does.
    pub fn differs(&self, stored: &[Agency]) -> Option<String> {
        for a in &self.agencies {
            let Some(s) = stored.iter().find(|s| s.id == a.id) else {
                return Some(format!(
                    "agency {} is in the ledger but not in the table",
                    a.id
                ));
            };
            let name_ok = self.unnamed.contains(&a.id) || s.name == a.name;
            if !name_ok || s.kind != a.kind || s.statutory_partner != a.statutory_partner {
                return Some(format!(
                    "agency {} in the table differs from the ledger",
                    a.id
                ));
            }
            if s.retired_at != a.retired_at {
                return Some(format!(
                    "agency {}: retired_at {} in the table, {} in the ledger",
                    a.id,
                    s.retired_at.as_deref().unwrap_or("null"),
                    a.retired_at.as_deref().unwrap_or("null")
                ));
            }
        }
        stored
            .iter()
            .find(|s| self.get(&s.id).is_none())
            .map(|s| format!("agency {} is in the table but not in the ledger", s.id))
    }
}

const SEED: &[(&str, &str, AgencyKind, Option<Partner>)] = &[
    (
        "kingston-council",
        "Royal Borough of Kingston upon Thames",
        AgencyKind::LocalAuthority,
        Some(Partner::La),
    ),
    (
        "kingston-public-health",
        "Kingston Council: Public Health",
        AgencyKind::LocalAuthority,
        None,
    ),
    (
        "kingston-adult-services",
        "Kingston Council: Adult Services",
        AgencyKind::LocalAuthority,
        None,
    ),
    (
        "kingston-housing",
        "Kingston Council: Housing",
        AgencyKind::LocalAuthority,
        None,
    ),
    (
        "kingston-community-safety",
        "Kingston Council: Community Safety",
        AgencyKind::LocalAuthority,
        None,
    ),
    (
        "kingston-youth-offending",
        "Kingston Council: Youth Offending",
        AgencyKind::LocalAuthority,
        None,
    ),
    (
        "richmond-council",
        "London Borough of Richmond upon Thames",
        AgencyKind::LocalAuthority,
        Some(Partner::La),
    ),
    (
        "richmond-public-health",
        "Richmond Council: Public Health",
        AgencyKind::LocalAuthority,
        None,
    ),
    (
        "richmond-adult-services",
        "Richmond Council: Adult Services",
        AgencyKind::LocalAuthority,
        None,
    ),
    (
        "richmond-housing",
        "Richmond Council: Housing",
        AgencyKind::LocalAuthority,
        None,
    ),
    (
        "richmond-community-safety",
        "Richmond Council: Community Safety",
        AgencyKind::LocalAuthority,
        None,
    ),
    (
        "richmond-youth-offending",
        "Richmond Council: Youth Offending",
        AgencyKind::LocalAuthority,
        None,
    ),
    (
        "sw-london-icb",
        "NHS South West London Integrated Care Board",
        AgencyKind::Icb,
        Some(Partner::Icb),
    ),
    (
        "metropolitan-police",
        "Metropolitan Police Service, South West BCU",
        AgencyKind::Police,
        Some(Partner::Police),
    ),
    (
        "early-years-providers",
        "Early years providers",
        AgencyKind::Childcare,
        None,
    ),
    (
        "primary-schools",
        "Primary schools",
        AgencyKind::Education,
        None,
    ),
    (
        "secondary-schools",
        "Secondary schools",
        AgencyKind::Education,
        None,
    ),
    (
        "special-schools",
        "Special schools",
        AgencyKind::Education,
        None,
    ),
    (
        "independent-schools",
        "Independent schools",
        AgencyKind::Education,
        None,
    ),
    (
        "post-16-education",
        "16 to 18 education providers",
        AgencyKind::Education,
        None,
    ),
    (
        "probation-service",
        "Probation Service",
        AgencyKind::Probation,
        None,
    ),
    (
        "achieving-for-children",
        "Achieving for Children",
        AgencyKind::ChildrensSocialCare,
        None,
    ),
    (
        "hounslow-richmond-community-healthcare",
        "Hounslow & Richmond Community Healthcare NHS Trust",
        AgencyKind::HealthProvider,
        None,
    ),
    (
        "central-london-community-healthcare",
        "Central London Community Healthcare NHS Trust",
        AgencyKind::HealthProvider,
        None,
    ),
    (
        "your-healthcare",
        "Your Healthcare CIC",
        AgencyKind::HealthProvider,
        None,
    ),
    (
        "kingston-hospital",
        "Kingston Hospital NHS Foundation Trust",
        AgencyKind::HealthProvider,
        None,
    ),
    (
        "swl-st-georges-mental-health",
        "South West London & St George's Mental Health NHS Trust",
        AgencyKind::HealthProvider,
        None,
    ),
    (
        "west-middlesex-hospital",
        "West Middlesex University Hospital (Chelsea & Westminster NHS Trust)",
        AgencyKind::HealthProvider,
        None,
    ),
    (
        "london-ambulance-service",
        "London Ambulance Service",
        AgencyKind::HealthProvider,
        None,
    ),
    (
        "private-health-providers",
        "Private health providers",
        AgencyKind::HealthProvider,
        None,
    ),
    (
        "named-health-professionals",
        "Named health professionals of each health provider",
        AgencyKind::HealthProvider,
        None,
    ),
    (
        "voluntary-sector",
        "Voluntary sector providers for children",
        AgencyKind::Voluntary,
        None,
    ),
    (
        "childrens-homes",
        "Children's home providers",
        AgencyKind::ChildrensHome,
        None,
    ),
    ("cafcass", "CAFCASS", AgencyKind::Cafcass, None),
    (
        "fire-and-rescue",
        "London Fire Brigade (fire and rescue service)",
        AgencyKind::FireRescue,
        None,
    ),
];

/// The registry as first seeded.
pub fn seed() -> Vec<SeedAgency> {
    SEED.iter()
        .map(|(id, name, kind, partner)| SeedAgency {
            id: id.to_string(),
            name: name.to_string(),
            kind: *kind,
            statutory_partner: *partner,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn seed_ids_are_unique_slugs_and_cover_the_statutory_partners() {
        let agencies = seed();
        let ids: HashSet<_> = agencies.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids.len(), agencies.len());
        assert!(ids.iter().all(|id| id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')));
        for p in crate::core::ladder::ALL_PARTNERS {
            assert!(agencies.iter().any(|a| a.statutory_partner == Some(p)));
        }
        for a in &agencies {
            assert_eq!(agency_id(&a.id), Ok(a.id.as_str()));
            if let Some(p) = a.statutory_partner {
                assert_eq!(a.kind, AgencyKind::of_partner(p), "{}", a.id);
            }
        }
        // Education and childcare are kinds of their own (CWSA 2026).
        let kind = |id: &str| agencies.iter().find(|a| a.id == id).map(|a| a.kind);
        assert_eq!(kind("primary-schools"), Some(AgencyKind::Education));
        assert_eq!(kind("early-years-providers"), Some(AgencyKind::Childcare));
    }

    #[test]
    fn kinds_parse_back_and_the_first_seeds_names_are_read() {
        for k in AgencyKind::ALL {
            assert_eq!(AgencyKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        assert_eq!(
            AgencyKind::parse("education_primary"),
            Some(AgencyKind::Education)
        );
        assert_eq!(
            AgencyKind::parse("education_early_years"),
            Some(AgencyKind::Childcare)
        );
        assert_eq!(
            AgencyKind::parse("nhs_trust"),
            Some(AgencyKind::HealthProvider)
        );
        assert_eq!(AgencyKind::parse("school"), None);
        // The API takes today's names only.
        assert!(serde_json::from_str::<AgencyKind>("\"nhs_trust\"").is_err());
        let old: SeedAgency = serde_json::from_value(serde_json::json!(
            {"id": "vs", "name": "VS", "kind": "voluntary_sector", "statutory_partner": null}
        ))
        .unwrap();
        assert_eq!(old.kind, AgencyKind::Voluntary);
    }

    #[test]
    fn ids_and_names_are_checked() {
        for ok in ["st-marys-primary", "a1", "school-42"] {
            assert!(agency_id(ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(65);
        for bad in [
            "",
            "a",
            "-ab",
            "ab-",
            "Ab",
            "a b",
            "a\0b",
            "a_b",
            "école",
            long.as_str(),
        ] {
            assert!(
                matches!(agency_id(bad), Err(RegistryError::Invalid(_))),
                "{bad:?}"
            );
        }
        assert_eq!(agency_name("  St Mary's  ").unwrap(), "St Mary's");
        for bad in ["", "  ", "a\nb", "a\u{202E}b", &"n".repeat(201)] {
            assert!(agency_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_registry_replays_with_the_use_cases_rules() {
        let mut r = Registry::default();
        r.seed(seed()).unwrap();
        assert!(r.seed(seed()).is_err(), "seeded twice");
        r.register("st-marys", AgencyKind::Education, Some("St Mary's".into()))
            .unwrap();
        assert!(matches!(
            r.register("st-marys", AgencyKind::Education, None),
            Err(RegistryError::Conflict(_))
        ));
        r.update(
            "st-marys",
            AgencyKind::Childcare,
            Some("St Mary's Nursery".into()),
        )
        .unwrap();
        assert_eq!(r.get("st-marys").unwrap().name, "St Mary's Nursery");
        assert!(r.check_active(&["st-marys".into()]).is_ok());
        r.retire("st-marys", "2026-12-01T12:00:00.000000Z".into())
            .unwrap();
        assert!(matches!(
            r.check_active(&["st-marys".into(), "kingston-council".into()]),
            Err(RegistryError::Unprocessable(m)) if m.contains("st-marys")
        ));
        assert!(matches!(
            r.retire("st-marys", "x".into()),
            Err(RegistryError::Conflict(_))
        ));
        assert!(matches!(
            r.update("st-marys", AgencyKind::Other, None),
            Err(RegistryError::Conflict(_))
        ));
        assert!(matches!(
            r.retire("nope", "x".into()),
            Err(RegistryError::NotFound(_))
        ));
        // Statutory partners keep their kind and are never retired.
        assert!(matches!(
            r.update("kingston-council", AgencyKind::Education, None),
            Err(RegistryError::Unprocessable(_))
        ));
        assert!(r
            .update(
                "kingston-council",
                AgencyKind::LocalAuthority,
                Some("RBK".into())
            )
            .is_ok());
        assert!(matches!(
            r.retire("metropolitan-police", "x".into()),
            Err(RegistryError::Unprocessable(_))
        ));
        // The table is held to the replay.
        let table = r.agencies().to_vec();
        assert_eq!(r.differs(&table), None);
        let mut forged = table.clone();
        forged[0].kind = AgencyKind::Other;
        assert!(r.differs(&forged).is_some());
        assert!(r.differs(&table[1..]).is_some());
    }
}
