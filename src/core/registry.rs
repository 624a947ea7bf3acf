//! The agency registry the service starts with: seed sections 3.5 and 3.11.
//! Where the seed names a class ("each primary school"), it is one entry per class.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::core::ladder::Partner;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Agency {
    /// A stable slug, e.g. `kingston-council`.
    pub id: String,
    pub name: String,
    pub kind: String,
    /// `la`, `icb`, `police`, or null for an agency that is not a statutory partner.
    pub statutory_partner: Option<Partner>,
}

const SEED: &[(&str, &str, &str, Option<Partner>)] = &[
    (
        "kingston-council",
        "Royal Borough of Kingston upon Thames",
        "local_authority",
        Some(Partner::La),
    ),
    (
        "kingston-public-health",
        "Kingston Council: Public Health",
        "council_service",
        None,
    ),
    (
        "kingston-adult-services",
        "Kingston Council: Adult Services",
        "council_service",
        None,
    ),
    (
        "kingston-housing",
        "Kingston Council: Housing",
        "council_service",
        None,
    ),
    (
        "kingston-community-safety",
        "Kingston Council: Community Safety",
        "council_service",
        None,
    ),
    (
        "kingston-youth-offending",
        "Kingston Council: Youth Offending",
        "council_service",
        None,
    ),
    (
        "richmond-council",
        "London Borough of Richmond upon Thames",
        "local_authority",
        Some(Partner::La),
    ),
    (
        "richmond-public-health",
        "Richmond Council: Public Health",
        "council_service",
        None,
    ),
    (
        "richmond-adult-services",
        "Richmond Council: Adult Services",
        "council_service",
        None,
    ),
    (
        "richmond-housing",
        "Richmond Council: Housing",
        "council_service",
        None,
    ),
    (
        "richmond-community-safety",
        "Richmond Council: Community Safety",
        "council_service",
        None,
    ),
    (
        "richmond-youth-offending",
        "Richmond Council: Youth Offending",
        "council_service",
        None,
    ),
    (
        "sw-london-icb",
        "NHS South West London Integrated Care Board",
        "icb",
        Some(Partner::Icb),
    ),
    (
        "metropolitan-police",
        "Metropolitan Police Service, South West BCU",
        "police",
        Some(Partner::Police),
    ),
    (
        "early-years-providers",
        "Early years providers",
        "education_early_years",
        None,
    ),
    (
        "primary-schools",
        "Primary schools",
        "education_primary",
        None,
    ),
    (
        "secondary-schools",
        "Secondary schools",
        "education_secondary",
        None,
    ),
    (
        "special-schools",
        "Special schools",
        "education_special",
        None,
    ),
    (
        "independent-schools",
        "Independent schools",
        "education_independent",
        None,
    ),
    (
        "post-16-education",
        "16 to 18 education providers",
        "education_post_16",
        None,
    ),
    ("probation-service", "Probation Service", "probation", None),
    (
        "achieving-for-children",
        "Achieving for Children",
        "childrens_social_care",
        None,
    ),
    (
        "hounslow-richmond-community-healthcare",
        "Hounslow & Richmond Community Healthcare NHS Trust",
        "nhs_trust",
        None,
    ),
    (
        "central-london-community-healthcare",
        "Central London Community Healthcare NHS Trust",
        "nhs_trust",
        None,
    ),
    (
        "your-healthcare",
        "Your Healthcare CIC",
        "health_provider",
        None,
    ),
    (
        "kingston-hospital",
        "Kingston Hospital NHS Foundation Trust",
        "nhs_trust",
        None,
    ),
    (
        "swl-st-georges-mental-health",
        "South West London & St George's Mental Health NHS Trust",
        "nhs_trust",
        None,
    ),
    (
        "west-middlesex-hospital",
        "West Middlesex University Hospital (Chelsea & Westminster NHS Trust)",
        "nhs_trust",
        None,
    ),
    (
        "london-ambulance-service",
        "London Ambulance Service",
        "ambulance",
        None,
    ),
    (
        "private-health-providers",
        "Private health providers",
        "health_provider",
        None,
    ),
    (
        "named-health-professionals",
        "Named health professionals of each health provider",
        "health_professionals",
        None,
    ),
    (
        "voluntary-sector",
        "Voluntary sector providers for children",
        "voluntary_sector",
        None,
    ),
    (
        "childrens-homes",
        "Children's home providers",
        "childrens_home",
        None,
    ),
    ("cafcass", "CAFCASS", "cafcass", None),
    (
        "fire-and-rescue",
        "London Fire Brigade (fire and rescue service)",
        "fire_rescue",
        None,
    ),
];

/// The registry as first seeded.
pub fn seed() -> Vec<Agency> {
    SEED.iter()
        .map(|(id, name, kind, partner)| Agency {
            id: id.to_string(),
            name: name.to_string(),
            kind: kind.to_string(),
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
    }
}
