use std::process::ExitCode;

fn main() -> ExitCode {
    escalation_ledger::cli::commands::main()
}
