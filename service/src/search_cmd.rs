//! `passerelle search`: occupations (or items) from words, printed as JSON.

use clap::Args;
use passerelle_model::embedded;
use passerelle_model::search::{DEFAULT_SEARCH_TOP_K, MAX_SEARCH_TOP_K};

use crate::cli::{CliError, SourceArgs};
use crate::server::EngineSource;

/// `passerelle search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The words to look for, e.g. "monteuse raccordeuse FTTH" (at most 200 characters). A
    /// text may start with one '-' (`search -5G`); one starting with '--' is refused as a
    /// misspelled option.
    #[arg(allow_hyphen_values = true,
          value_parser = clap::builder::TypedValueParser::try_map(clap::builder::OsStringValueParser::new(), |text| {
              search_text(text.to_str().ok_or(crate::cli::NOT_UTF8)?)
          }))]
    pub text: String,
    /// Search items (savoir-faire, savoirs, certifications) instead of occupations.
    #[arg(long)]
    pub skills: bool,
    /// Number of results (1..=50).
    #[arg(long, default_value_t = DEFAULT_SEARCH_TOP_K, value_parser = crate::cli::whole::<u32>(1..=u64::from(MAX_SEARCH_TOP_K)))]
    pub top_k: u32,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub source: SourceArgs,
}

/// Parses the search text: any text but one starting with `--`, which can only be a
/// misspelled option (`--topk`, `--skils`) taken for the text because a text may start with
/// a dash; searching it would answer a typo with fuzzy matches.
///
/// # Errors
/// A text starting with `--`: a message pointing to `passerelle search --help`, which clap
/// prints after the argument's name (`invalid value '--skils' for '<TEXT>': …`).
pub fn search_text(text: &str) -> Result<String, String> {
    if text.starts_with("--") {
        return Err(
            "a text starting with '--' is taken for a misspelled option (see `passerelle search --help`)".to_string()
        );
    }
    Ok(text.to_string())
}

/// Runs `passerelle search`.
///
/// # Errors
/// [`CliError::Data`] if the data cannot be loaded, [`CliError::Query`] for an empty or too
/// long text, [`CliError::Write`] if standard output cannot be written (a closed pipe is a
/// quiet stop).
pub fn search_command(args: SearchArgs) -> Result<(), CliError> {
    let engine = EngineSource::from(args.source).load()?;
    let out = if args.skills {
        serde_json::json!({
            "skills": engine.search_skills(&args.text, Some(args.top_k))?,
            "data_source": embedded::ROME_ATTRIBUTION,
        })
    } else {
        serde_json::json!({
            "occupations": engine.search_occupations(&args.text, Some(args.top_k))?,
            "data_source": embedded::ROME_ATTRIBUTION,
        })
    };
    crate::cli::print_json(&out)
}
