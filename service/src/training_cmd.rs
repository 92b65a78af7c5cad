//! `passerelle plan` and `passerelle explore`: training plans and multi-step pathways,
//! computed locally and printed as JSON (domain field names).

use std::path::PathBuf;

use clap::Args;
use passerelle_model::embedded;
use passerelle_model::engine::Engine;
use passerelle_model::explore::{explore, ExploreQuery, SCORE_BASIS};
use passerelle_model::training::catalogue::TrainingCatalogue;
use passerelle_model::training::plan::{PlanConstraints, PlanQuery, Planner};

use crate::cli::ProfileItemsArgs;
use crate::cli::{CliError, SourceArgs};
use crate::grpc::training_convert::{summary, TRAINING_BASIS};
use crate::server::EngineSource;

/// The profile and constraints shared by `plan` and `explore`.
#[derive(Debug, Args, Clone)]
pub struct PlanProfileArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub profile: ProfileItemsArgs,
    /// Largest total training duration, hours (0 < h <= 10000).
    #[arg(long)]
    pub max_hours: Option<f64>,
    /// Highest qualification level (1-8) of a proposed certification.
    #[arg(long, value_parser = crate::cli::whole::<u32>(1..=8))]
    pub max_level: Option<u32>,
    /// A certification already held (`code_ogr`); repeat for several.
    #[arg(long = "held", allow_hyphen_values = true)]
    pub held: Vec<String>,
    /// Operator training catalogue, CSV (certification,level,hours,cost,region,provider,
    /// covered_items); bad rows are reported on stderr with their line and skipped.
    #[arg(long, env = "PASSERELLE_TRAINING_CATALOGUE")]
    pub training_catalogue: Option<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub source: SourceArgs,
}

impl PlanProfileArgs {
    fn constraints(&self) -> PlanConstraints {
        PlanConstraints {
            max_total_hours: self.max_hours,
            max_level: self.max_level,
            held_certifications: self.held.clone(),
        }
    }

    /// Loads the engine and the training catalogue; refused operator rows go to stderr.
    fn load(&self) -> Result<(Engine, TrainingCatalogue), CliError> {
        let source = EngineSource { training_catalogue: self.training_catalogue.clone(), ..self.source.clone().into() };
        let engine = source.load()?;
        let (training, issues) = source.read_training(engine.catalogue())?;
        for issue in &issues {
            eprintln!("warning: row refused: {issue}");
        }
        Ok((engine, training))
    }
}

/// `passerelle plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Target occupation, ROME code (e.g. F1623).
    #[arg(long)]
    pub target: String,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub profile: PlanProfileArgs,
}

/// `passerelle explore`.
#[derive(Debug, Args)]
pub struct ExploreArgs {
    /// Target set the last step must reach: ALL, DIGITAL_INFRASTRUCTURE, or a set of
    /// --target-sets. Default here: DIGITAL_INFRASTRUCTURE (the gRPC ExplorePathways,
    /// given no set, explores into ALL).
    #[arg(long, default_value = "DIGITAL_INFRASTRUCTURE")]
    pub target_set: String,
    /// Largest number of intermediate occupations (0-2).
    #[arg(long, default_value_t = passerelle_model::explore::MAX_INTERMEDIATES,
          value_parser = crate::cli::whole::<u32>(0..=u64::from(passerelle_model::explore::MAX_INTERMEDIATES)))]
    pub max_intermediates: u32,
    /// Number of paths (1-20).
    #[arg(long, default_value_t = passerelle_model::explore::DEFAULT_PATHS,
          value_parser = crate::cli::whole::<u32>(1..=u64::from(passerelle_model::explore::MAX_PATHS)))]
    pub top_k: u32,
    /// Moves tried per step (1-10).
    #[arg(long, default_value_t = passerelle_model::explore::DEFAULT_FAN_OUT,
          value_parser = crate::cli::whole::<u32>(1..=u64::from(passerelle_model::explore::MAX_FAN_OUT)))]
    pub fan_out: u32,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub profile: PlanProfileArgs,
}

/// Runs `passerelle plan`.
///
/// # Errors
/// [`CliError`] naming the file and line, or the field, at fault.
pub fn plan_command(args: PlanArgs) -> Result<(), CliError> {
    let (engine, training) = args.profile.load()?;
    let planner = Planner::new(&engine, &training)?;
    let plan = planner.plan(&PlanQuery {
        profile: args.profile.profile.query(),
        target_occupation_code: args.target,
        constraints: args.profile.constraints(),
    })?;
    crate::cli::print_json(&serde_json::json!({
        "summary": summary(&plan),
        "plan": plan,
        "training_basis": TRAINING_BASIS,
        "data_source": embedded::ROME_ATTRIBUTION,
        "operator_catalogue": training.operator_file,
    }))
}

/// Runs `passerelle explore`.
///
/// # Errors
/// [`CliError`] naming the file and line, or the field, at fault.
pub fn explore_command(args: ExploreArgs) -> Result<(), CliError> {
    let (engine, training) = args.profile.load()?;
    let answer = explore(
        &engine,
        &training,
        &ExploreQuery {
            profile: args.profile.profile.query(),
            target_set: args.target_set,
            max_intermediates: Some(args.max_intermediates),
            top_k: Some(args.top_k),
            fan_out: Some(args.fan_out),
            constraints: args.profile.constraints(),
        },
    )?;
    crate::cli::print_json(&serde_json::json!({
        "exploration": answer,
        "score_basis": SCORE_BASIS,
        "training_basis": TRAINING_BASIS,
        "probability_basis": crate::grpc::convert::probability_basis(engine.model_info().calibrated),
        "data_source": embedded::ROME_ATTRIBUTION,
        "operator_catalogue": training.operator_file,
    }))
}
