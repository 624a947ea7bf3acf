//! The portable schema, hand-written for both backends (see `migrations/`).

diesel::table! {
    agencies (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        statutory_partner -> Nullable<Text>,
        retired_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    ledger_entries (seq) {
        seq -> BigInt,
        recorded_at -> Timestamp,
        dispute_id -> Nullable<Text>,
        event -> Text,
        actor_sub -> Text,
        actor_role -> Text,
        actor_agency -> Nullable<Text>,
        actor_partner -> Nullable<Text>,
        facts -> Text,
        payload_hash -> Binary,
        prev_hash -> Binary,
        entry_hash -> Binary,
    }
}

diesel::table! {
    ledger_payloads (seq) {
        seq -> BigInt,
        payload -> Nullable<Text>,
    }
}

diesel::table! {
    disputes (id) {
        id -> Text,
        policy -> Text,
        status -> Text,
        rung -> Text,
        raised_by_sub -> Text,
        raised_by_agency -> Nullable<Text>,
        urgent -> Bool,
        complex -> Bool,
        opened_at -> Timestamp,
        updated_at -> Timestamp,
        raised_seq -> BigInt,
        rung_entered_at -> Timestamp,
        whistleblowing -> Bool,
    }
}

diesel::table! {
    dispute_parties (dispute_id, agency_id) {
        dispute_id -> Text,
        agency_id -> Text,
        position -> Integer,
    }
}

diesel::table! {
    proposals (id) {
        id -> Text,
        dispute_id -> Text,
        rung -> Text,
        status -> Text,
        proposed_by -> Text,
        proposed_at -> Timestamp,
        seq -> BigInt,
    }
}

diesel::table! {
    proposal_acceptances (proposal_id, acceptor) {
        proposal_id -> Text,
        acceptor -> Text,
        seq -> BigInt,
    }
}

diesel::table! {
    bench_inserts (id) {
        id -> BigInt,
        note -> Text,
    }
}

diesel::joinable!(ledger_payloads -> ledger_entries (seq));
diesel::joinable!(dispute_parties -> disputes (dispute_id));
diesel::joinable!(proposals -> disputes (dispute_id));
diesel::joinable!(proposal_acceptances -> proposals (proposal_id));

diesel::allow_tables_to_appear_in_same_query!(
    agencies,
    ledger_entries,
    ledger_payloads,
    disputes,
    dispute_parties,
    proposals,
    proposal_acceptances,
);

diesel::table! {
    merkle_nodes (level, idx) {
        level -> Integer,
        idx -> BigInt,
        hash -> Binary,
    }
}

diesel::table! {
    checkpoints (size) {
        size -> BigInt,
        root -> Binary,
        note -> Text,
        signed_at -> Timestamp,
    }
}

diesel::table! {
    witnesses (name) {
        name -> Text,
        key -> Text,
        registered_seq -> BigInt,
        url -> Nullable<Text>,
    }
}

diesel::table! {
    cosignatures (size, witness) {
        size -> BigInt,
        witness -> Text,
        timestamp -> BigInt,
        line -> Text,
    }
}

diesel::table! {
    redactions (seq) {
        seq -> BigInt,
        requested_seq -> BigInt,
        approved_seq -> Nullable<BigInt>,
    }
}

diesel::table! {
    mediations (id) {
        id -> Text,
        dispute_id -> Nullable<Text>,
        ladder -> Bool,
        status -> Text,
        opened_seq -> BigInt,
        opened_at -> Timestamp,
        closed_seq -> Nullable<BigInt>,
        outcome_proposal_id -> Nullable<Text>,
    }
}

diesel::table! {
    mediation_agencies (mediation_id, position) {
        mediation_id -> Text,
        position -> Integer,
        agency_id -> Text,
    }
}

diesel::table! {
    mediation_sessions (seq) {
        seq -> BigInt,
        mediation_id -> Text,
        held_on -> Text,
        attendees -> Text,
    }
}

diesel::table! {
    reviews (id) {
        id -> Text,
        dispute_id -> Text,
        status -> Text,
        on_behalf -> Bool,
        requested_by_role -> Text,
        requested_by_agency -> Nullable<Text>,
        requested_seq -> BigInt,
        requested_at -> Timestamp,
        decided_seq -> Nullable<BigInt>,
        findings_seq -> Nullable<BigInt>,
    }
}

diesel::table! {
    recommendations (id) {
        id -> Text,
        dispute_id -> Nullable<Text>,
        response_due -> Text,
        issued_seq -> BigInt,
        issued_at -> Timestamp,
        response_seq -> Nullable<BigInt>,
        accepted -> Nullable<Bool>,
    }
}

diesel::table! {
    deadline_misses (dispute_id, rung) {
        dispute_id -> Text,
        rung -> Text,
        due_at -> Timestamp,
        seq -> BigInt,
    }
}

diesel::table! {
    deadline_warnings (dispute_id, rung) {
        dispute_id -> Text,
        rung -> Text,
        due_at -> Timestamp,
        seq -> BigInt,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Text,
        target_kind -> Text,
        target -> Text,
        url -> Text,
        secret -> Text,
        active -> Bool,
        registered_seq -> BigInt,
        deactivated_seq -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        webhook_id -> Nullable<Text>,
        seq -> BigInt,
        event -> Text,
        body -> Nullable<Text>,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        last_attempt_at -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        channel -> Text,
        recipient -> Nullable<Text>,
        dispute_id -> Nullable<Text>,
    }
}

diesel::joinable!(outbox -> webhooks (webhook_id));
diesel::allow_tables_to_appear_in_same_query!(webhooks, outbox);

diesel::table! {
    whistleblower_identities (pseudonym) {
        pseudonym -> Text,
        sub -> Text,
        agency -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    policies (version) {
        version -> Text,
        sha256 -> Text,
        document -> Text,
    }
}

diesel::table! {
    policy_activations (seq) {
        seq -> BigInt,
        version -> Text,
        activated_at -> Timestamp,
    }
}

diesel::joinable!(policy_activations -> policies (version));
diesel::allow_tables_to_appear_in_same_query!(policies, policy_activations);

diesel::table! {
    witness_pushes (witness) {
        witness -> Text,
        old_size -> Nullable<BigInt>,
        attempts -> Integer,
        retry_at -> Nullable<Timestamp>,
        alert_size -> Nullable<BigInt>,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(witness_pushes -> witnesses (witness));
diesel::allow_tables_to_appear_in_same_query!(witnesses, witness_pushes);

diesel::table! {
    console_links (token_hash) {
        token_hash -> Text,
        sub -> Text,
        role -> Text,
        agency -> Nullable<Text>,
        partner -> Nullable<Text>,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        next -> Nullable<Text>,
    }
}

diesel::table! {
    console_oidc_flows (id_hash) {
        id_hash -> Text,
        state -> Text,
        nonce -> Text,
        pkce_verifier -> Text,
        next -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    console_sessions (id_hash) {
        id_hash -> Text,
        sub -> Text,
        role -> Text,
        agency -> Nullable<Text>,
        partner -> Nullable<Text>,
        csrf -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
    }
}

diesel::table! {
    email_recipients (target_kind, target) {
        target_kind -> Text,
        target -> Text,
        addresses -> Text,
        set_seq -> BigInt,
    }
}
