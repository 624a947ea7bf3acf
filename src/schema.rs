//! The portable schema, hand-written for both backends (see `migrations/`).

diesel::table! {
    agencies (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        statutory_partner -> Nullable<Text>,
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
        webhook_id -> Text,
        seq -> BigInt,
        event -> Text,
        body -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        last_attempt_at -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(outbox -> webhooks (webhook_id));
diesel::allow_tables_to_appear_in_same_query!(webhooks, outbox);
