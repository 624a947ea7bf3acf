//! Audit bundles, by their old names: the format and the offline check are
//! [`crate::core::audit`]'s, the export [`crate::service::export`]'s and the
//! synthetic writer [`crate::service::synth`]'s.

pub use crate::core::audit::{
    audit_lines, AuditOptions, AuditReport, Auditor, EntryLine, Finding, Header, Outcome, Payloads,
    FILE_NAME, FORMAT, PROGRESS_EVERY,
};
pub use crate::service::export::{
    audit_file, begin_export, bundle_path, export, export_dir, export_entries, header_line,
    write_side_files, BATCH,
};
pub use crate::service::synth::synth;
