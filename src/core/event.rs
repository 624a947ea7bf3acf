//! Every kind of ledger entry, by the name its `event` field holds: one enum,
//! so that a reader of the ledger (`service::verify`'s replay) matches on all
//! of them and the compiler names a kind it forgot. Pure.

use std::fmt;

/// The kind of a ledger entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LedgerEvent {
    // ---- the partnership's setup, no dispute ----
    /// The agency registry, seeded once.
    RegistrySeeded,
    /// An agency added to the registry by `partnership_admin` (name in the payload).
    AgencyRegistered,
    /// An agency renamed or given another kind (name in the payload).
    AgencyUpdated,
    /// An agency retired: it stays in old disputes, new ones cannot name it.
    AgencyRetired,
    /// A ladder policy document activated.
    PolicyActivated,
    WitnessRegistered,
    WebhookRegistered,
    WebhookDeactivated,
    /// Who gets email for an agency or a role (the addresses in the payload).
    EmailRecipientsSet,
    /// A payload's erasure asked for (partnership_admin) ...
    RedactionRequested,
    /// ... and approved by a scrutineer, in the transaction that erases it.
    RedactionApproved,
    /// The log's checkpoint signing key (its C2SP verifier key), recorded at
    /// the first start and at each rotation: checkpoints covering later
    /// entries must be signed by it.
    LogKeyRecorded,
    // ---- a dispute's steps on the ladder (`core::ladder::Event`) ----
    Raised,
    ProposalMade,
    ProposalAccepted,
    ProposalRejected,
    Escalated,
    DeadlineMissed,
    Resolved,
    Withdrawn,
    PolicyMigrated,
    /// The sweeper's warning that a dispute's deadline is near (no state change).
    DeadlineApproaching,
    // ---- the scrutineer's work beside the ladder ----
    Scrutiny(ScrutinyEvent),
}

/// The scrutineer's ledger events (seed 4.3, 5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScrutinyEvent {
    MediationOpened,
    MediationSessionRecorded,
    MediationClosed,
    ReviewRequested,
    ReviewAccepted,
    ReviewDeclined,
    ReviewFindingsRecorded,
    RecommendationIssued,
    RecommendationResponseRecorded,
}

impl ScrutinyEvent {
    pub const ALL: [ScrutinyEvent; 9] = [
        ScrutinyEvent::MediationOpened,
        ScrutinyEvent::MediationSessionRecorded,
        ScrutinyEvent::MediationClosed,
        ScrutinyEvent::ReviewRequested,
        ScrutinyEvent::ReviewAccepted,
        ScrutinyEvent::ReviewDeclined,
        ScrutinyEvent::ReviewFindingsRecorded,
        ScrutinyEvent::RecommendationIssued,
        ScrutinyEvent::RecommendationResponseRecorded,
    ];

    /// The event's name in the ledger.
    pub const fn as_str(self) -> &'static str {
        match self {
            ScrutinyEvent::MediationOpened => "mediation_opened",
            ScrutinyEvent::MediationSessionRecorded => "mediation_session_recorded",
            ScrutinyEvent::MediationClosed => "mediation_closed",
            ScrutinyEvent::ReviewRequested => "review_requested",
            ScrutinyEvent::ReviewAccepted => "review_accepted",
            ScrutinyEvent::ReviewDeclined => "review_declined",
            ScrutinyEvent::ReviewFindingsRecorded => "review_findings_recorded",
            ScrutinyEvent::RecommendationIssued => "recommendation_issued",
            ScrutinyEvent::RecommendationResponseRecorded => "recommendation_response_recorded",
        }
    }

    /// The scrutiny event named `name`, if it is one.
    pub fn parse(name: &str) -> Option<ScrutinyEvent> {
        ScrutinyEvent::ALL.into_iter().find(|e| e.as_str() == name)
    }
}

impl LedgerEvent {
    /// Every kind but the scrutiny ones, which [`ScrutinyEvent::ALL`] lists.
    const PLAIN: [LedgerEvent; 22] = [
        LedgerEvent::RegistrySeeded,
        LedgerEvent::AgencyRegistered,
        LedgerEvent::AgencyUpdated,
        LedgerEvent::AgencyRetired,
        LedgerEvent::PolicyActivated,
        LedgerEvent::WitnessRegistered,
        LedgerEvent::WebhookRegistered,
        LedgerEvent::WebhookDeactivated,
        LedgerEvent::EmailRecipientsSet,
        LedgerEvent::RedactionRequested,
        LedgerEvent::RedactionApproved,
        LedgerEvent::LogKeyRecorded,
        LedgerEvent::Raised,
        LedgerEvent::ProposalMade,
        LedgerEvent::ProposalAccepted,
        LedgerEvent::ProposalRejected,
        LedgerEvent::Escalated,
        LedgerEvent::DeadlineMissed,
        LedgerEvent::Resolved,
        LedgerEvent::Withdrawn,
        LedgerEvent::PolicyMigrated,
        LedgerEvent::DeadlineApproaching,
    ];

    /// Every kind of entry.
    pub fn all() -> impl Iterator<Item = LedgerEvent> {
        LedgerEvent::PLAIN
            .into_iter()
            .chain(ScrutinyEvent::ALL.into_iter().map(LedgerEvent::Scrutiny))
    }

    /// The name an entry's `event` field holds.
    pub const fn as_str(self) -> &'static str {
        match self {
            LedgerEvent::RegistrySeeded => "registry_seeded",
            LedgerEvent::AgencyRegistered => "agency_registered",
            LedgerEvent::AgencyUpdated => "agency_updated",
            LedgerEvent::AgencyRetired => "agency_retired",
            LedgerEvent::PolicyActivated => "policy_activated",
            LedgerEvent::WitnessRegistered => "witness_registered",
            LedgerEvent::WebhookRegistered => "webhook_registered",
            LedgerEvent::WebhookDeactivated => "webhook_deactivated",
            LedgerEvent::EmailRecipientsSet => "email_recipients_set",
            LedgerEvent::RedactionRequested => "redaction_requested",
            LedgerEvent::RedactionApproved => "redaction_approved",
            LedgerEvent::LogKeyRecorded => "log_key_recorded",
            LedgerEvent::Raised => "raised",
            LedgerEvent::ProposalMade => "proposal_made",
            LedgerEvent::ProposalAccepted => "proposal_accepted",
            LedgerEvent::ProposalRejected => "proposal_rejected",
            LedgerEvent::Escalated => "escalated",
            LedgerEvent::DeadlineMissed => "deadline_missed",
            LedgerEvent::Resolved => "resolved",
            LedgerEvent::Withdrawn => "withdrawn",
            LedgerEvent::PolicyMigrated => "policy_migrated",
            LedgerEvent::DeadlineApproaching => "deadline_approaching",
            LedgerEvent::Scrutiny(e) => e.as_str(),
        }
    }

    /// The kind named `name`, if there is one.
    pub fn parse(name: &str) -> Option<LedgerEvent> {
        LedgerEvent::all().find(|e| e.as_str() == name)
    }
}

impl fmt::Display for LedgerEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for ScrutinyEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_and_names_are_distinct() {
        let all: Vec<LedgerEvent> = LedgerEvent::all().collect();
        assert_eq!(all.len(), 31);
        let names: std::collections::BTreeSet<&str> = all.iter().map(|e| e.as_str()).collect();
        assert_eq!(names.len(), all.len());
        for e in all {
            assert_eq!(LedgerEvent::parse(e.as_str()), Some(e));
        }
        assert_eq!(LedgerEvent::parse("no_such_event"), None);
        assert_eq!(
            LedgerEvent::parse("review_requested"),
            Some(LedgerEvent::Scrutiny(ScrutinyEvent::ReviewRequested))
        );
    }
}
