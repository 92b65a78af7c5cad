//! `passerelle`: the Passerelle server and command-line tool. See `passerelle --help`.

/// mimalloc instead of the system allocator: under load the server's model threads (then tokio's blocking pool)
/// spent about a fifth of their time in glibc malloc (arena consolidation); see README.md,
/// "Load harness".
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = passerelle_service::cli::Cli::parse_args();
    match passerelle_service::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // `passerelle score … --output - | head`: the reader asked for no more.
        Err(err) if err.is_closed_stdout() => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::ExitCode::from(err.exit_code())
        }
    }
}
