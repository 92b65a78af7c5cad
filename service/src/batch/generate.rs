//! `passerelle gen-profiles`: a file of synthetic, real-shaped profiles (ROME occupations
//! with random removals and additions, seeded; see `passerelle_model::synth`) for load tests
//! and benchmarks of `passerelle score`. Never real people.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use passerelle_model::synth::ProfileGenerator;

use crate::batch::{format_of, open_output, BatchError, InputFormat};

/// Most profiles one `gen-profiles` run writes (`--count`).
pub const MAX_COUNT: u64 = 10_000_000;

/// `passerelle gen-profiles`.
#[derive(Debug, Args)]
pub struct GenProfilesArgs {
    /// How many profiles, 0..=10000000 (about 1.6 GB of JSON Lines, 0.8 GB of CSV; for more,
    /// write several files with different seeds).
    #[arg(long, default_value_t = 1000, value_parser = crate::cli::whole::<u64>(0..=MAX_COUNT))]
    pub count: u64,
    /// Seed of the generator, 0..=18446744073709551615 (same seed, same file).
    #[arg(long, default_value_t = 1, value_parser = crate::cli::whole::<u64>(0..=u64::MAX))]
    pub seed: u64,
    /// Where to write them, JSON Lines or CSV (`-` for standard output, then give --format).
    /// When the reader of standard output stops early (`| head`), it stops quietly with exit
    /// code 0.
    #[arg(long)]
    pub output: PathBuf,
    /// Format (default: from the extension).
    #[arg(long, value_enum)]
    pub format: Option<InputFormat>,
    /// Folder laid out like France Travail's ROME export (default: embedded ROME v460).
    #[arg(long, env = "PASSERELLE_DATA")]
    pub data: Option<PathBuf>,
}

/// Runs `passerelle gen-profiles`.
///
/// # Errors
/// [`BatchError::Load`], [`BatchError::UnknownFormat`] or [`BatchError::Write`].
pub fn run(args: GenProfilesArgs) -> Result<(), BatchError> {
    let format = format_of(&args.output, args.format, "format")?;
    let catalogue = match &args.data {
        Some(dir) => passerelle_model::catalogue::Catalogue::load_dir(dir)?,
        None => passerelle_model::embedded::catalogue()?,
    };
    let mut out = open_output(&args.output)?;
    let fail = |source| BatchError::Write { path: args.output.clone(), source };
    if format == InputFormat::Csv {
        writeln!(out, "id,occupation_code,item_codes,removed_item_codes").map_err(fail)?;
    }
    for p in ProfileGenerator::new(&catalogue, args.seed).take(usize::try_from(args.count).unwrap_or(usize::MAX)) {
        match format {
            InputFormat::Jsonl => {
                let value = serde_json::json!({
                    "id": p.id,
                    "occupation_code": p.profile.occupation_code,
                    "item_codes": p.profile.item_codes,
                    "removed_item_codes": p.profile.removed_item_codes,
                });
                writeln!(out, "{value}").map_err(fail)?;
            }
            InputFormat::Csv => {
                writeln!(
                    out,
                    "{},{},{},{}",
                    p.id,
                    p.profile.occupation_code.unwrap_or_default(),
                    p.profile.item_codes.join(";"),
                    p.profile.removed_item_codes.join(";")
                )
                .map_err(fail)?;
            }
        }
    }
    out.flush().map_err(fail)?;
    Ok(())
}
